//! The emulated Cortex-M4 board for tests: the built firmware booted through
//! `mote_pipeline::emulator` (what `mote flash --board qemu-mps2-an386` uses). Stops when dropped.

use std::path::{Path, PathBuf};

use mote_pipeline::emulator::{BootOptions, EmulatedBoard};

/// The firmware ELF (`scripts/build-firmware.sh`, run by the test command, builds it).
pub fn firmware_elf() -> PathBuf {
    let elf = mote_pipeline::emulator::firmware_elf();
    assert!(elf.exists(), "{} is not built; run scripts/build-firmware.sh", elf.display());
    elf
}

pub struct QemuBoard {
    board: EmulatedBoard,
    pub pty: String,
}

impl QemuBoard {
    /// Boots the firmware; returns once QEMU has named the UART's pseudo-terminal.
    pub fn boot() -> QemuBoard {
        QemuBoard::boot_elf(&firmware_elf())
    }

    /// Boots another firmware image (a lean firmware).
    pub fn boot_elf(elf: &Path) -> QemuBoard {
        let board = EmulatedBoard::boot(&BootOptions {
            elf: Some(elf.to_path_buf()),
            register: false,
            monitor: None,
        })
        .unwrap_or_else(|error| panic!("the emulated board boots {}: {error}", elf.display()));
        QemuBoard { pty: board.port.clone(), board }
    }

    /// Whether QEMU is still running (a firmware panic ends it through semihosting).
    pub fn is_running(&mut self) -> bool {
        self.board.is_running()
    }
}

/// An emulated board started by `mote flash --board qemu-mps2-an386 --detach` with the board
/// registry in `registry`, where discovery (and so `mote gateway`) finds it as a user's would.
/// Dropping it kills QEMU, as a pulled cable would.
pub struct RegisteredQemu {
    pub pid: i32,
    pub pty: String,
}

impl RegisteredQemu {
    pub fn start(registry: &Path) -> RegisteredQemu {
        let elf = firmware_elf();
        let output = std::process::Command::new(crate::workspace_binary("mote"))
            .env("MOTE_RUNTIME_DIR", registry)
            .args(["--json", "flash", "--board", "qemu-mps2-an386", "--detach", "--elf"])
            .arg(&elf)
            .output()
            .unwrap();
        assert!(output.status.success(), "mote flash: {}", String::from_utf8_lossy(&output.stderr));
        let started: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        RegisteredQemu {
            pid: started["pid"].as_i64().expect("QEMU's pid") as i32,
            pty: started["port"].as_str().expect("the board's port").to_string(),
        }
    }
}

impl Drop for RegisteredQemu {
    fn drop(&mut self) {
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }
}

/// The firmware's accelerometer scale (1 g = 4096 counts).
pub fn board_scale() -> f32 {
    9.806_65 / 4096.0
}

/// The firmware replays a 10 s table of the accelerometer: its second half (5–10 s of every
/// 10 s, by the board's clock) is the "wave" segment, the first "rest".
pub fn label_at(t_us: u64) -> &'static str {
    if (t_us / 10_000) % 1000 < 500 { "rest" } else { "wave" }
}

/// The label a window of `length_ms` ending at board time `end_us` shows, when all of it lies in
/// one segment of the replay.
pub fn steady_label(end_us: u64, length_ms: u64) -> Option<&'static str> {
    let start_us = end_us.checked_sub((length_ms - 10) * 1000)?;
    (label_at(start_us) == label_at(end_us)).then(|| label_at(end_us))
}

/// Records 12 s of the emulated board's accelerometer at `port` (100 Hz), writes the replay's
/// rest and wave segments as a Mote dataset, and trains project `dir/p` on it with the CLI
/// (flatten → dense [16, 8], 1 s windows every `stride_ms`). Returns the project's path.
pub fn replay_project(port: &str, dir: &Path, stride_ms: u32) -> String {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use mote_pipeline::link::stream::{CaptureRequest, capture};
    use mote_pipeline::link::{Board, ConnectOptions};

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut board = rt.block_on(Board::connect(port, &ConnectOptions::default())).expect("handshake");
    assert_eq!(board.info().board, "qemu-mps2-an386");
    let request = CaptureRequest { sensor: "accel".into(), rate_hz: 100, duration: Duration::from_secs(12) };
    let captured = rt.block_on(capture(&mut board, &request, &AtomicBool::new(false), |_| {})).unwrap();
    assert_eq!(captured.n_samples(), 1200, "every sample of 12 s at 100 Hz");
    assert!(captured.gaps.is_empty());
    drop(board);

    let dataset = dir.join("dataset");
    std::fs::create_dir_all(dataset.join("data")).unwrap();
    let mut segments: Vec<(&str, Vec<[i16; 3]>)> = Vec::new();
    for (index, values) in captured.indexed_samples() {
        let label = label_at(captured.t0_us + index * 10_000);
        match segments.last_mut() {
            Some((last, samples)) if *last == label => samples.push([values[0], values[1], values[2]]),
            _ => segments.push((label, vec![[values[0], values[1], values[2]]])),
        }
    }
    let scale = board_scale();
    let mut index = String::from("name,label,split,file\n");
    for (n, (label, samples)) in segments.iter().enumerate().filter(|(_, (_, s))| s.len() >= 150) {
        let name = format!("{label}.{n}");
        let mut text = format!(
            "# mote-sample 1\n# sensor: accel\n# device: qemu-mps2-an386-1\n# rate_hz: 100\n\
             # units: m/s2,m/s2,m/s2\n# scales: {scale},{scale},{scale}\naccX,accY,accZ\n"
        );
        for s in samples {
            text.push_str(&format!("{},{},{}\n", s[0], s[1], s[2]));
        }
        std::fs::write(dataset.join(format!("data/{name}.csv")), text).unwrap();
        index.push_str(&format!("{name},{label},train,data/{name}.csv\n"));
    }
    std::fs::write(dataset.join("samples.csv"), index).unwrap();
    std::fs::write(
        dataset.join("mote.toml"),
        format!(
            "[project]\nname = \"qemu\"\nseed = 3\n\n[data]\nsensor = \"accel\"\naxes = [\"accX\", \"accY\", \"accZ\"]\n\
             rate_hz = 100.0\nlabels = []\n\n[window]\nlength_ms = 1000\nstride_ms = {stride_ms}\n\n[dsp]\nblock = \"flatten\"\n\n\
             [learn]\nblock = \"dense\"\nhidden = [16, 8]\nepochs = 60\n"
        ),
    )
    .unwrap();
    let project = dir.join("p").to_string_lossy().into_owned();
    crate::mote_ok(&["init", "--project", &project]);
    crate::mote_ok(&["import", "--project", &project, dataset.to_str().unwrap()]);
    crate::mote_ok(&["train", "--project", &project]);
    project
}
