//! C programs against the exported C library: projects trained and exported with the `mote` CLI,
//! compilers for each core (the system `gcc`, `arm-none-eabi-gcc` and `riscv64-unknown-elf-gcc`
//! with picolibc), and QEMU machines to run them on, output over semihosting.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::workspace_binary;

/// The `tests/clib` folder (C sources of the tests).
pub fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clib")
}

fn run(command: &mut Command, what: &str) -> Output {
    let output = command.output().unwrap_or_else(|error| panic!("{what}: cannot run: {error}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `mote` with `args` in `dir`; its standard output.
pub fn mote(dir: &Path, args: &[&str]) -> String {
    let output =
        run(Command::new(workspace_binary("mote")).current_dir(dir).args(args), &format!("mote {args:?}"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A model to train on BasicMotions: its name in tables, the `[dsp]` and `[learn]` settings.
pub type ModelSettings = (&'static str, &'static str, &'static str);

/// Statistics → dense: the preset's network.
pub const DENSE: ModelSettings = (
    "BasicMotions: flatten (7 stats) → dense 42-30-16-4",
    "block = \"flatten\"\nstats = [\"mean\", \"std\", \"min\", \"max\", \"rms\", \"skewness\", \"kurtosis\"]",
    "block = \"dense\"\nhidden = [30, 16]\nepochs = 60",
);

/// Raw window → 1-D CNN.
pub const CNN: ModelSettings = (
    "1-D CNN: raw → conv 8,16 (k3, pool 2) → 4",
    "block = \"raw\"",
    "block = \"conv1d\"\nfilters = [8, 16]\nepochs = 8",
);

/// Raw window → depthwise-separable 1-D CNN (the same filters as [`CNN`]).
pub const SEPARABLE_CNN: ModelSettings = (
    "depthwise-separable CNN: raw → (dw k3 + pw) 8,16 (pool 2) → 4",
    "block = \"raw\"",
    "block = \"conv1d\"\nfilters = [8, 16]\nseparable = true\nepochs = 8",
);

/// A BasicMotions project in `work/p` trained with `dsp`/`learn`: one 10 s window per recording,
/// windows every `stride_ms` on a board's stream.
pub fn train_basic_motions(work: &Path, stride_ms: u32, dsp: &str, learn: &str) -> PathBuf {
    let dataset = work.join("dataset");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions"), &dataset);
    let toml = std::fs::read_to_string(dataset.join("mote.toml")).unwrap();
    let start = toml.find("[window]").unwrap();
    let settings = format!(
        "{}[window]\nlength_ms = 10000\nstride_ms = {stride_ms}\n\n[dsp]\n{dsp}\n\n[learn]\n{learn}\n",
        &toml[..start]
    );
    std::fs::write(dataset.join("mote.toml"), settings).unwrap();
    mote(work, &["init", "--project", "p"]);
    mote(work, &["import", "--project", "p", dataset.to_str().unwrap()]);
    mote(work, &["train", "--project", "p"]);
    work.join("p")
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Where a C program is built for and runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// This PC, with the system `gcc`.
    Host,
    /// Cortex-M4F: QEMU `mps2-an386`.
    CortexM4f,
    /// Cortex-M33: QEMU `mps2-an505`.
    CortexM33,
    /// Cortex-M0 (the Cortex-M0+ library; the same Armv6-M instructions): QEMU `microbit`.
    CortexM0,
    /// RV32: QEMU `virt` with a 32-bit core.
    Rv32,
}

impl Machine {
    /// The folder under `lib/` of a C-library export.
    pub fn core(self) -> &'static str {
        match self {
            Machine::Host => "x86_64-linux",
            Machine::CortexM4f => "cortex-m4f",
            Machine::CortexM33 => "cortex-m33",
            Machine::CortexM0 => "cortex-m0plus",
            Machine::Rv32 => "rv32imc",
        }
    }

    pub fn compiler(self) -> &'static str {
        match self {
            Machine::Host => "gcc",
            Machine::Rv32 => "riscv64-unknown-elf-gcc",
            _ => "arm-none-eabi-gcc",
        }
    }

    /// Code generation flags. The RV32 program is built for rv32imac (the nearest picolibc
    /// multilib Debian ships) and linked with the rv32imc library.
    pub fn cflags(self) -> Vec<&'static str> {
        match self {
            Machine::Host => vec![],
            Machine::CortexM4f => vec!["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
            Machine::CortexM33 => {
                vec!["-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"]
            }
            Machine::CortexM0 => vec!["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"],
            Machine::Rv32 => vec!["-march=rv32imac", "-mabi=ilp32"],
        }
    }

    /// Bare-metal linking: picolibc with semihosting, the machine's memory map.
    fn link_flags(self) -> Vec<String> {
        let (flash, flash_size, ram, ram_size) = match self {
            Machine::Host => return vec!["-lm".into()],
            Machine::CortexM4f => (0x0u32, 0x40_0000, 0x2000_0000, 0x40_0000),
            Machine::CortexM33 => (0x1000_0000, 0x40_0000, 0x3800_0000, 0x20_0000),
            Machine::CortexM0 => (0x0, 0x4_0000, 0x2000_0000, 0x4000),
            Machine::Rv32 => (0x8000_0000, 0x40_0000, 0x8040_0000, 0x40_0000),
        };
        let mut flags: Vec<String> = [
            "--specs=picolibc.specs",
            "--oslib=semihost",
            "--crt0=semihost",
            "-Wl,--gc-sections",
            "-Wl,--no-warn-execstack",
        ]
        .map(String::from)
        .to_vec();
        for (name, value) in
            [("__flash", flash), ("__flash_size", flash_size), ("__ram", ram), ("__ram_size", ram_size)]
        {
            flags.push(format!("-Wl,--defsym={name}=0x{value:x}"));
        }
        flags
    }

    /// Compiles `sources` with `include` folders and links `archive`; returns the program.
    pub fn build(
        self,
        out: &Path,
        name: &str,
        sources: &[PathBuf],
        include: &[PathBuf],
        archive: &Path,
    ) -> PathBuf {
        let program = out.join(format!("{name}-{}", self.core()));
        let mut command = Command::new(self.compiler());
        command.args(self.cflags()).args([
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-ffunction-sections",
            "-fdata-sections",
        ]);
        for dir in include {
            command.arg("-I").arg(dir);
        }
        command.args(sources).arg(archive).args(self.link_flags());
        command.arg("-Wl,-Map").arg(program.with_extension("map")).arg("-o").arg(&program);
        run(&mut command, &format!("{} for {}", self.compiler(), self.core()));
        program
    }

    /// Runs `program` to its end (QEMU exits with the program's status through semihosting).
    pub fn run(self, program: &Path, count_instructions: bool) -> Ran {
        let mut command = match self {
            Machine::Host => Command::new(program),
            _ => {
                let (qemu, machine) = match self {
                    Machine::CortexM4f => ("qemu-system-arm", "mps2-an386"),
                    Machine::CortexM33 => ("qemu-system-arm", "mps2-an505"),
                    Machine::CortexM0 => ("qemu-system-arm", "microbit"),
                    _ => ("qemu-system-riscv32", "virt"),
                };
                let mut command = Command::new(qemu);
                command.args(["-M", machine, "-nographic"]);
                command.args(["-semihosting-config", "enable=on,target=native"]);
                if self == Machine::Rv32 {
                    command.args(["-bios", "none"]);
                }
                if count_instructions {
                    command.args(["-icount", "shift=0"]);
                }
                command.arg("-kernel").arg(program);
                command
            }
        };
        command.stdin(Stdio::null());
        let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start the program");
        let pid = child.id();
        let watchdog = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(240));
            // SAFETY: signalling a process id; at worst the process has already exited.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        });
        let output = child.wait_with_output().expect("program output");
        drop(watchdog);
        // QEMU writes the semihosting console to stderr when it is not a terminal.
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ran { success: output.status.success(), status: output.status, text }
    }
}

/// A program's end: its status and everything it printed.
pub struct Ran {
    pub success: bool,
    pub status: std::process::ExitStatus,
    pub text: String,
}

/// One line of the static-buffer example's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedWindow {
    pub index: usize,
    pub top: i64,
    pub scores: Vec<i8>,
    pub anomaly_bits: u32,
}

/// `window N top=T label=L scores=a,b,c anomaly=0xBITS` lines.
pub fn printed_windows(text: &str) -> Vec<PrintedWindow> {
    text.lines()
        .filter(|line| line.starts_with("window "))
        .map(|line| {
            let field = |name: &str| {
                line.split(' ')
                    .find_map(|part| part.strip_prefix(name))
                    .unwrap_or_else(|| panic!("{name} in {line}"))
            };
            let index = line.split(' ').nth(1).unwrap().parse().unwrap();
            let scores = field("scores=");
            PrintedWindow {
                index,
                top: field("top=").parse().unwrap(),
                scores: if scores.is_empty() {
                    vec![]
                } else {
                    scores.split(',').map(|s| s.parse().unwrap()).collect()
                },
                anomaly_bits: u32::from_str_radix(field("anomaly=0x"), 16).unwrap(),
            }
        })
        .collect()
}
