//! Mote's model in C firmware: `mote deploy --export c-library` and `--export arduino` for two
//! BasicMotions models (statistics → dense, raw → 1-D CNN), compiled as C (and the sketch as
//! C++) against the exported `libmote.a`, run on the host and on emulated boards — Cortex-M4F
//! (`mps2-an386`), Cortex-M33 (`mps2-an505`), Cortex-M0 (`microbit`, the Cortex-M0+ library) and
//! RV32 (`virt`) — and every window's scores compared bit for bit with `mote-runtime` on the host.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mote_e2e::clib::{CNN, DENSE, Machine, mote, printed_windows, sources, train_basic_motions};
use mote_pipeline::export::ExampleWindow;

struct Exported {
    name: &'static str,
    /// The C-library export.
    dir: PathBuf,
    /// The project's test windows and the host's results (mote-runtime, `HostBoard`).
    expected: Vec<ExampleWindow>,
    project: PathBuf,
}

/// The two models, trained and exported once for every test here.
fn exports() -> &'static [Exported] {
    static EXPORTS: OnceLock<Vec<Exported>> = OnceLock::new();
    EXPORTS.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("clib");
        let _ = std::fs::remove_dir_all(&root);
        [("dense", DENSE), ("cnn", CNN)]
            .into_iter()
            .map(|(name, (_, dsp, learn))| {
                let work = root.join(name);
                std::fs::create_dir_all(&work).unwrap();
                let project = train_basic_motions(&work, 10_000, dsp, learn);
                mote(&work, &["deploy", "--project", "p", "--export", "c-library", "--out", "c"]);
                let blob = std::fs::read(project.join("models/1/model.mote")).unwrap();
                let expected = tokio::runtime::Runtime::new().unwrap().block_on(async {
                    let opened = mote_pipeline::project::Project::open(&project).await.unwrap();
                    let windows = mote_pipeline::export::example_windows(&opened, &blob).await.unwrap();
                    opened.close().await;
                    windows
                });
                Exported { name, dir: work.join("c"), expected, project }
            })
            .collect()
    })
}

/// Builds the exported static-buffer example for `machine`, runs it, and checks every window
/// against the host; returns how many windows it printed.
fn example_matches_host(export: &Exported, machine: Machine) -> usize {
    let out = export.dir.join("build");
    std::fs::create_dir_all(&out).unwrap();
    let example = export.dir.join("examples/static_buffer");
    let program = machine.build(
        &out,
        "static_buffer",
        &[export.dir.join("src/mote_model.c"), example.join("main.c")],
        &[export.dir.join("include"), example.clone()],
        &export.dir.join("lib").join(machine.core()).join("libmote.a"),
    );
    let ran = machine.run(&program, false);
    let text = &ran.text;
    assert!(ran.success, "{} on {machine:?}: {}\n{text}", export.name, ran.status);
    let printed = printed_windows(text);
    assert_eq!(
        printed.len(),
        export.expected.len(),
        "{} on {machine:?}: windows printed\n{text}",
        export.name
    );
    for (window, host) in printed.iter().zip(&export.expected) {
        let host_anomaly = host.anomaly.map_or(0x7fc0_0000, f32::to_bits);
        assert_eq!(
            (window.top, &window.scores, window.anomaly_bits),
            (host.top as i64, &host.scores, host_anomaly),
            "{} on {machine:?}, window {} ({}): C library vs mote-runtime on the host",
            export.name,
            window.index,
            host.sample
        );
    }
    assert!(text.contains(&format!("{0} of {0} windows match Mote's results", printed.len())), "{text}");
    printed.len()
}

#[test]
fn the_exported_c_example_computes_the_hosts_scores_on_every_core() {
    for export in exports() {
        // Every BasicMotions test recording is one window (10 s at 10 Hz, stride 10 s).
        assert_eq!(export.expected.len(), 40, "{}: the example embeds every test window", export.name);
        for machine in
            [Machine::Host, Machine::CortexM4f, Machine::Rv32, Machine::CortexM33, Machine::CortexM0]
        {
            assert_eq!(example_matches_host(export, machine), 40);
        }
    }
}

#[test]
fn the_c_api_refuses_bad_input_and_writes_only_into_its_buffers() {
    for export in exports() {
        let out = export.dir.join("build-api");
        std::fs::create_dir_all(&out).unwrap();
        for machine in [Machine::Host, Machine::CortexM4f] {
            let program = machine.build(
                &out,
                "api",
                &[export.dir.join("src/mote_model.c"), sources().join("api.c")],
                &[export.dir.join("include"), export.dir.join("examples/static_buffer")],
                &export.dir.join("lib").join(machine.core()).join("libmote.a"),
            );
            let ran = machine.run(&program, false);
            let text = &ran.text;
            assert!(ran.success, "{} api checks on {machine:?}:\n{text}", export.name);
            assert!(text.contains(", 0 failed"), "{text}");
            assert!(text.contains("streamed: 40 of 40 windows match"), "{text}");
        }
    }
}

#[test]
fn the_cmake_file_builds_the_example_against_the_host_library() {
    let export = &exports()[0];
    let build = export.dir.join("build-cmake");
    let _ = std::fs::remove_dir_all(&build);
    let status = std::process::Command::new("cmake")
        .arg("-S")
        .arg(&export.dir)
        .arg("-B")
        .arg(&build)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("cmake");
    assert!(status.success(), "cmake configure");
    let status = std::process::Command::new("cmake")
        .arg("--build")
        .arg(&build)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("cmake --build");
    assert!(status.success(), "cmake build");
    let output = std::process::Command::new(build.join("static_buffer")).output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("40 of 40 windows match Mote's results"));
}

#[test]
fn an_export_is_the_same_bytes_every_time_and_bad_formats_are_named() {
    let export = &exports()[0];
    let work = export.project.parent().unwrap();
    mote(work, &["deploy", "--project", "p", "--export", "c-library", "--out", "c-again"]);
    for file in [
        "include/mote.h",
        "include/mote_model.h",
        "src/mote_model.c",
        "examples/static_buffer/windows.h",
        "README.md",
        "lib/cortex-m4f/libmote.a",
    ] {
        assert_eq!(
            std::fs::read(export.dir.join(file)).unwrap(),
            std::fs::read(work.join("c-again").join(file)).unwrap(),
            "{file} differs between two exports of one model"
        );
    }
    let output = std::process::Command::new(mote_e2e::workspace_binary("mote"))
        .current_dir(work)
        .args(["deploy", "--project", "p", "--export", "c-lib", "--out", "x"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("c-library") && stderr.contains("arduino"), "the formats are listed: {stderr}");
    assert!(!work.join("x").exists(), "a refused export wrote nothing");
}

#[test]
fn an_installed_mote_exports_with_the_libraries_it_ships() {
    // MOTE_CLIB_DIR is where an installed Mote keeps the archives: used as it is, no toolchain.
    let export = &exports()[0];
    let work = export.project.parent().unwrap();
    let shipped = work.join("shipped");
    let empty = work.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let output = std::process::Command::new(mote_e2e::workspace_binary("mote"))
        .current_dir(work)
        .env("MOTE_CLIB_DIR", &empty)
        .args(["deploy", "--project", "p", "--export", "c-library", "--out", "from-nothing"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("C library for cortex-m0plus is not at") && stderr.contains("empty"), "{stderr}");
    assert!(!work.join("from-nothing").exists(), "a failed export wrote nothing");
    mote_e2e::clib::copy_dir(&export.dir.join("lib"), &shipped);
    let output = std::process::Command::new(mote_e2e::workspace_binary("mote"))
        .current_dir(work)
        .env("MOTE_CLIB_DIR", &shipped)
        .env("PATH", "/nonexistent")
        .args(["deploy", "--project", "p", "--export", "arduino", "--out", "from-shipped"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(work.join("from-shipped/Mote_p.zip").is_file());
}

/// `key=value` lines of `library.properties`.
fn properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not key=value: {line}"));
            (key.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn the_arduino_export_follows_the_library_specification_and_its_sketch_builds_and_runs() {
    let export = &exports()[0];
    let work = export.project.parent().unwrap();
    mote(work, &["deploy", "--project", "p", "--export", "arduino", "--out", "arduino"]);
    let out = work.join("arduino");
    // The zip holds one top folder, the library, with the same files as the folder written beside it.
    let zip_path = out.join("Mote_p.zip");
    let mut zip = zip_reader(&zip_path);
    let mut names: Vec<String> =
        (0..zip.len()).map(|i| zip.by_index(i).unwrap().name().unwrap().to_string()).collect();
    names.sort();
    assert!(names.iter().all(|name| name.starts_with("Mote_p/")), "one top folder: {names:?}");
    let unpacked = out.join("unpacked");
    zip.extract(&unpacked).unwrap();
    let library = unpacked.join("Mote_p");
    for name in &names {
        let relative = name.strip_prefix("Mote_p/").unwrap();
        assert_eq!(
            std::fs::read(library.join(relative)).unwrap(),
            std::fs::read(out.join("Mote_p").join(relative)).unwrap(),
            "{name}"
        );
    }

    // library.properties (Arduino library specification, 1.5 format).
    let props = properties(&std::fs::read_to_string(library.join("library.properties")).unwrap());
    let get = |key: &str| props.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    for required in [
        "name",
        "version",
        "author",
        "maintainer",
        "sentence",
        "paragraph",
        "category",
        "url",
        "architectures",
    ] {
        assert!(get(required).is_some_and(|v| !v.is_empty()), "library.properties lacks {required}");
    }
    let name = get("name").unwrap();
    assert!(name.chars().next().unwrap().is_ascii_alphanumeric(), "a name starts with a letter or digit");
    assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || " _-.".contains(c)), "name {name}");
    assert_eq!(name.replace(' ', "_"), "Mote_p", "the folder is the name with spaces as underscores");
    let version = get("version").unwrap();
    assert_eq!(
        version.split('.').filter(|part| part.parse::<u32>().is_ok()).count(),
        3,
        "semver version {version}"
    );
    let categories = [
        "Display",
        "Communication",
        "Signal Input/Output",
        "Sensors",
        "Device Control",
        "Timing",
        "Data Storage",
        "Data Processing",
        "Other",
    ];
    assert!(categories.contains(&get("category").unwrap()));
    assert_eq!(get("precompiled"), Some("true"));
    assert_eq!(get("ldflags"), Some("-lmote"));
    let include = get("includes").unwrap();
    assert!(library.join("src").join(include).is_file(), "includes={include} is in src/");
    // Precompiled archives where the cores' builders look: src/{build.mcu}[/{fpu}-{float-abi}].
    for folder in [
        "cortex-m0plus",
        "cortex-m4/fpv4-sp-d16-softfp",
        "cortex-m4/fpv4-sp-d16-hard",
        "cortex-m33/fpv5-sp-d16-hard",
        "esp32c3",
    ] {
        let archive = library.join("src").join(folder).join("libmote.a");
        assert!(archive.is_file(), "{} missing", archive.display());
        assert_eq!(&std::fs::read(&archive).unwrap()[..8], b"!<arch>\n", "{folder}: an ar archive");
    }
    let sketch = library.join("examples/classify/classify.ino");
    assert!(sketch.is_file(), "examples/<name>/<name>.ino");

    // The sketch as C++, as the Arduino Mbed core (Nano 33 BLE: Cortex-M4, softfp) and a
    // Cortex-M0+ core compile it, against a stub Arduino.h (tests/clib/arduino: Serial prints
    // over semihosting, micros() is a virtual clock); the M4 build runs on the emulated board.
    let stub = sources().join("arduino");
    let build = out.join("build");
    std::fs::create_dir_all(&build).unwrap();
    let cores = [
        (
            "cortex-m4/fpv4-sp-d16-softfp",
            vec!["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=softfp", "-mfpu=fpv4-sp-d16"],
            true,
        ),
        ("cortex-m0plus", vec!["-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"], false),
    ];
    let picolibc = ["--specs=picolibc.specs", "--oslib=semihost", "--crt0=semihost"];
    let memory = [
        "-Wl,--defsym=__flash=0x0",
        "-Wl,--defsym=__flash_size=0x400000",
        "-Wl,--defsym=__ram=0x20000000",
        "-Wl,--defsym=__ram_size=0x400000",
    ];
    for (folder, flags, runs) in cores {
        let tag = folder.replace('/', "-");
        let object = |name: &str| build.join(format!("{tag}-{name}.o"));
        let compile = |compiler: &str, extra: &[&str], source: &Path, name: &str| {
            let status = std::process::Command::new(compiler)
                .args(&flags)
                .args(picolibc)
                .args(["-O2", "-Wall", "-Werror", "-c"])
                .arg("-I")
                .arg(&stub)
                .arg("-I")
                .arg(library.join("src"))
                .args(extra)
                .arg(source)
                .arg("-o")
                .arg(object(name))
                .status()
                .unwrap();
            assert!(status.success(), "{compiler} {} for {folder}", source.display());
        };
        let cxx = ["-std=gnu++17", "-fno-exceptions", "-fno-rtti"];
        compile(
            "arm-none-eabi-g++",
            &[&cxx[..], &["-include", "Arduino.h", "-x", "c++"]].concat(),
            &sketch,
            "sketch",
        );
        compile("arm-none-eabi-g++", &[&cxx[..], &["-DLOOPS=3000"]].concat(), &stub.join("main.cpp"), "main");
        compile("arm-none-eabi-gcc", &[], &library.join("src/mote_model.c"), "model");
        let elf = build.join(format!("{tag}.elf"));
        let status = std::process::Command::new("arm-none-eabi-gcc")
            .args(&flags)
            .args(picolibc)
            .args(memory)
            .args(["-Wl,--gc-sections", "-Wl,--no-warn-execstack"])
            .args([object("sketch"), object("main"), object("model")])
            .arg("-L")
            .arg(library.join("src").join(folder))
            .args(["-lmote", "-o"])
            .arg(&elf)
            .status()
            .unwrap();
        assert!(status.success(), "linking the sketch for {folder}");
        if runs {
            let ran = Machine::CortexM4f.run(&elf, false);
            let text = &ran.text;
            assert!(ran.success, "the sketch on the emulated board:\n{text}");
            // 3,000 loops of 10 ms at 10 Hz: 300 samples, windows of 100 with stride 100 → 3 results.
            let results = text.lines().filter(|line| line.starts_with("badminton: ")).count();
            assert_eq!(results, 3, "{text}");
            assert!(text.contains("sketch ran 3000 loops"));
        }
    }
}

fn zip_reader(path: &Path) -> zip::ZipArchive<std::fs::File> {
    zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap()
}
