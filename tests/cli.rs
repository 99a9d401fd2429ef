//! The `mote` CLI as a user runs it: a virtual board started by `mote sim`, found by
//! `mote devices`, streamed by `mote stream`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use mote_e2e::workspace_binary;

#[test]
fn sim_devices_and_stream_work_together() {
    let dir = tempfile::tempdir().unwrap();
    let mote = workspace_binary("mote");
    let mut sim = Command::new(&mote)
        .args(["--json", "sim", "--script", "wave", "--device-id", "cli-test", "--flash"])
        .arg(dir.path().join("flash.bin"))
        .env("MOTE_RUNTIME_DIR", dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(sim.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    let ready: serde_json::Value = serde_json::from_str(&ready).unwrap();
    let port = ready["path"].as_str().unwrap().to_string();

    let devices =
        Command::new(&mote).args(["--json", "devices"]).env("MOTE_RUNTIME_DIR", dir.path()).output().unwrap();
    assert!(devices.status.success());
    let devices: serde_json::Value = serde_json::from_slice(&devices.stdout).unwrap();
    let board =
        devices.as_array().unwrap().iter().find(|d| d["path"] == port).expect("the virtual board is listed");
    assert_eq!(board["kind"], "virtual");
    assert_eq!(board["board"]["device_id"], "cli-test");

    let csv = dir.path().join("out.csv");
    let stream = Command::new(&mote)
        .args(["--json", "stream", "--sensor", "imu", "--rate", "50", "--seconds", "2", "--csv"])
        .arg(&csv)
        .env("MOTE_RUNTIME_DIR", dir.path()) // the only board: --port may be left out
        .output()
        .unwrap();
    assert!(stream.status.success(), "{}", String::from_utf8_lossy(&stream.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&stream.stdout).unwrap();
    assert_eq!(summary["stats"]["lost_batches"], 0);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().next().unwrap(), "timestamp,accX,accY,accZ,gyrX,gyrY,gyrZ");
    assert_eq!(text.lines().count(), 101);

    // A wrong sensor is a clear error with a code, and changes nothing.
    let bad = Command::new(&mote)
        .args(["--json", "stream", "--port", &port, "--sensor", "barometer"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let error: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("barometer"), "{error}");

    let _ = sim.kill();
    let _ = sim.wait_timeout_ms(2000);
}

fn mote() -> Command {
    Command::new(workspace_binary("mote"))
}

fn run_ok(command: &mut Command) -> std::process::Output {
    let output = command.output().expect("mote runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn basic_motions() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions")
}

/// `mote stats | head -1`: when the reader of its output has gone, the CLI ends quietly (by
/// SIGPIPE, as Unix tools do), never with a panic and a backtrace.
#[test]
fn a_closed_pipe_ends_the_cli_quietly() {
    use std::os::unix::process::ExitStatusExt as _;

    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    run_ok(mote().arg("import").arg("--project").arg(&project).arg(basic_motions()));

    // A pipe whose reader is already closed: every write fails with EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = mote().arg("stats").arg("--project").arg(&project).stdout(writer).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(output.status.signal(), Some(libc::SIGPIPE), "{:?}: {stderr}", output.status);

    // The shell pipeline a person types.
    let shell = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' stats --project '{}' | head -1",
            workspace_binary("mote").display(),
            project.display()
        ))
        .output()
        .unwrap();
    assert!(shell.status.success());
    assert_eq!(String::from_utf8_lossy(&shell.stdout).lines().count(), 1);
    let stderr = String::from_utf8_lossy(&shell.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}

/// `--json` errors carry the code of the error's own type (project, import, data rule, impulse,
/// bundle, recording), and say each cause once.
#[test]
fn json_errors_carry_the_code_of_their_type() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("p");
    run_ok(mote().arg("import").arg("--project").arg(&project).arg(basic_motions()));
    let error = |command: &mut Command| -> (String, String) {
        let output = command.arg("--json").output().expect("mote runs");
        assert!(!output.status.success(), "{command:?} succeeded");
        // Some commands print a result before the error (`mote record`: what was kept).
        let value = serde_json::Deserializer::from_slice(&output.stdout)
            .into_iter::<serde_json::Value>()
            .filter_map(Result::ok)
            .find(|value| value.get("error").is_some())
            .unwrap_or_else(|| panic!("{command:?}: no error: {}", String::from_utf8_lossy(&output.stdout)));
        (
            value["error"]["code"].as_str().unwrap().to_string(),
            value["error"]["message"].as_str().unwrap().to_string(),
        )
    };

    let (code, _) = error(mote().arg("stats").arg("--project").arg(dir.path().join("none")));
    assert_eq!(code, "project.not_a_project");

    let bad = dir.path().join("bad.01.csv");
    std::fs::write(&bad, "timestamp,accX\n0,1\n10,oops\n").unwrap();
    let (code, message) = error(mote().arg("import").arg("--project").arg(&project).arg(&bad));
    assert_eq!(code, "import.value", "{message}");

    let fast = dir.path().join("fast.01.csv");
    let rows: String = (0..50).map(|i| format!("{},1,2,3,4,5,6\n", i * 10)).collect();
    std::fs::write(&fast, format!("timestamp,accX,accY,accZ,gyrX,gyrY,gyrZ\n{rows}")).unwrap();
    let (code, message) = error(mote().arg("import").arg("--project").arg(&project).arg(&fast));
    assert_eq!(code, "project.data_mismatch", "{message}");
    assert!(message.contains("recorded at 100 Hz, not 10 Hz"), "{message}");

    // A spectral band that holds no FFT bin: the impulse's code, and the reason said once.
    let toml = project.join("mote.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let dsp = text.find("[dsp]").unwrap();
    let end = text[dsp..].find("\n[").map_or(text.len(), |i| dsp + i + 1);
    let edited = format!(
        "{}[dsp]\nblock = \"spectral\"\nfft_length = 16\nbands = {{ edges = [0.1, 0.2, 0.3] }}\n\n{}",
        &text[..dsp],
        &text[end..]
    );
    std::fs::write(&toml, edited).unwrap();
    let (code, message) = error(mote().arg("train").arg("--project").arg(&project));
    assert_eq!(code, "impulse.dsp", "{message}");
    assert_eq!(message.matches("contains no FFT bin").count(), 1, "{message}");

    let (code, _) =
        error(mote().arg("build").arg(dir.path().join("no-bundle")).arg("--out").arg(dir.path().join("a")));
    assert_eq!(code, "bundle.not_a_folder");

    // A board that is pulled mid-recording: the recording error's code.
    let sim = mote_e2e::SimProcess::start(&["--fault-disconnect-after", "4000"]);
    let port = sim.ready["path"].as_str().unwrap().to_string();
    let (code, message) = error(
        mote()
            .args([
                "record",
                "--label",
                "wave",
                "--seconds",
                "3",
                "--sensor",
                "imu",
                "--port",
                &port,
                "--project",
            ])
            .arg(dir.path().join("recorded")),
    );
    assert_eq!(code, "record.disconnected", "{message}");
}

/// `mote init` then `mote import` of Edge Impulse CSVs at 50 Hz: the project takes the files'
/// axes and rate (it said 100 Hz before), says so, and trains.
#[test]
fn a_new_project_takes_the_imported_rate_and_trains() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("w");
    run_ok(mote().arg("init").arg("--project").arg(&project));
    let files = dir.path().join("csv");
    std::fs::create_dir_all(files.join("training")).unwrap();
    std::fs::create_dir_all(files.join("testing")).unwrap();
    for (label, hz) in [("slow", 1.0), ("fast", 4.0)] {
        for n in 0..4 {
            let rows: String = (0..150)
                .map(|i| {
                    let t = f64::from(i) / 50.0;
                    let phase = f64::from(n) * 0.7;
                    let v = (std::f64::consts::TAU * hz * t + phase).sin();
                    format!("{},{v},{},{}\n", i * 20, v * 0.5, 1.0 - v)
                })
                .collect();
            let folder = if n < 3 { "training" } else { "testing" };
            std::fs::write(
                files.join(folder).join(format!("{label}.{n}.csv")),
                format!("timestamp,x,y,z\n{rows}"),
            )
            .unwrap();
        }
    }
    let imported = run_ok(mote().arg("import").arg("--project").arg(&project).arg(&files));
    let said = String::from_utf8_lossy(&imported.stdout);
    assert!(said.contains("took the imported data's settings") && said.contains("50 Hz"), "{said}");
    let toml = std::fs::read_to_string(project.join("mote.toml")).unwrap();
    assert!(toml.contains("rate_hz = 50.0") && toml.contains(r#"axes = ["x", "y", "z"]"#), "{toml}");
    let trained = run_ok(mote().args(["--json", "train", "--project"]).arg(&project));
    let trained: serde_json::Value = serde_json::from_slice(&trained.stdout).unwrap();
    assert!(trained["test"]["top1_accuracy"].as_f64().is_some(), "{trained}");
}

/// Virtual boards started without an id take the first free `virtual-N`, and a stopped board's
/// id is free again: two boards never share an id (or the flash file named after it).
/// `mote blocks` lists each block's parameters from the same forms the app draws: what each
/// takes, its default fitted to the project's data, and what it does.
#[test]
fn mote_blocks_describes_every_parameter() {
    let work = tempfile::tempdir().unwrap();
    run_ok(mote().current_dir(work.path()).args(["init", "--project", "p"]));
    let out = run_ok(mote().current_dir(work.path()).args(["blocks", "--project", "p", "spectral"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("[dsp] block = \"spectral\""), "{text}");
    let line = text.lines().find(|line| line.trim_start().starts_with("n_peaks")).expect("n_peaks listed");
    assert!(line.contains("integer 0 to 16") && line.contains("(default 3)"), "{line}");
    assert!(text.contains("(default { low_pass = { cutoff_hz = 3.0, order = 6 } })"), "{text}");

    let out = run_ok(mote().current_dir(work.path()).args(["--json", "blocks", "--project", "p"]));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let blocks = |section: &str| -> Vec<String> {
        listed[section]
            .as_array()
            .unwrap()
            .iter()
            .map(|form| form["block"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(blocks("dsp"), ["raw", "flatten", "spectral", "mfe", "mfcc"]);
    assert_eq!(blocks("learn"), ["dense", "conv1d", "kmeans"]);

    let out = mote().current_dir(work.path()).args(["blocks", "--project", "p", "wavelet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("there is no block \"wavelet\"; the blocks are raw, flatten")
    );
}

/// `mote gateway` refuses what cannot work before it starts, saying what is wrong.
#[test]
fn mote_gateway_refuses_a_bad_broker_address_and_tls_without_a_usable_ca() {
    let work = tempfile::tempdir().unwrap();
    let state = work.path().join("state");
    let state = state.to_str().unwrap();
    let refused = |args: &[&str], expected: &str| {
        let out = mote().args(["gateway", "--state", state]).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    };
    refused(&["--broker", "http://broker/x"], "is not mqtt://host[:port] or mqtts://host[:port]");
    refused(&["--broker", "mqtt://broker:99999"], "is not mqtt://host[:port]");
    refused(&["--broker", "mqtts://broker"], "mqtts:// needs --ca");
    let missing = work.path().join("missing.pem");
    refused(&["--broker", "mqtts://broker", "--ca", missing.to_str().unwrap()], "the CA file");
    let not_pem = work.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    refused(&["--broker", "mqtts://broker", "--ca", not_pem.to_str().unwrap()], "holds no PEM certificate");
    refused(&["--broker", "mqtt://127.0.0.1:1", "--prefix", "a/#"], "topic prefix");
    refused(
        &["--broker", "mqtt://127.0.0.1:1", "--fleet", "lab", "--release-key", "abc"],
        "is not 64 hex digits",
    );
    // A release needs somewhere to go.
    let out = mote().args(["release", "--project", work.path().to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out FILE, or --broker URL --fleet NAME"));
}

#[test]
fn virtual_boards_take_a_free_id() {
    let runtime = tempfile::tempdir().unwrap();
    let start = |n: u32| {
        let mut child = Command::new(workspace_binary("mote-sim"))
            .args(["--json", "--flash"])
            .arg(runtime.path().join(format!("{n}.flash")))
            .env("MOTE_RUNTIME_DIR", runtime.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
        (child, ready["device_id"].as_str().unwrap().to_string())
    };
    let (mut first, first_id) = start(1);
    let (mut second, second_id) = start(2);
    assert_eq!((first_id.as_str(), second_id.as_str()), ("virtual-1", "virtual-2"));
    let _ = first.kill();
    let _ = first.wait();
    let (mut third, third_id) = start(3);
    assert_eq!(third_id, "virtual-1", "the stopped board's id is free again, virtual-2 is taken");
    for child in [&mut second, &mut third] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

trait WaitTimeout {
    fn wait_timeout_ms(&mut self, ms: u64) -> Option<std::process::ExitStatus>;
}

impl WaitTimeout for std::process::Child {
    fn wait_timeout_ms(&mut self, ms: u64) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + Duration::from_millis(ms);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// `mote tune` killed with `kill -9` mid-search, then stopped with Ctrl-C, resumes each time
/// without repeating a finished trial; finished trials are kept exactly as they were.
#[test]
fn mote_tune_resumes_after_kill_9_and_ctrl_c_without_repeating_trials() {
    let work = tempfile::tempdir().unwrap();
    let dataset = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    let run = |args: &[&str]| {
        Command::new(workspace_binary("mote")).current_dir(work.path()).args(args).output().unwrap()
    };
    assert!(run(&["init", "--project", "p"]).status.success());
    assert!(run(&["import", "--project", "p", dataset.to_str().unwrap()]).status.success());
    let toml_path = work.path().join("p/mote.toml");
    let text = std::fs::read_to_string(&toml_path).unwrap();
    std::fs::write(&toml_path, text.replace("epochs = 300", "epochs = 30")).unwrap();

    // The trials finished so far (none before the search has started).
    let trials = || -> Vec<serde_json::Value> {
        let output = run(&["--json", "tune", "--project", "p", "--show"]);
        if !output.status.success() {
            return Vec::new();
        }
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        report["trials"].as_array().cloned().unwrap_or_default()
    };
    let start = || {
        Command::new(workspace_binary("mote"))
            .current_dir(work.path())
            .args(["--json", "tune", "--project", "p", "--ram", "8"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let wait_for = |count: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        loop {
            let found = trials();
            if found.len() >= count {
                return found;
            }
            assert!(std::time::Instant::now() < deadline, "{} trials after 3 minutes", found.len());
            std::thread::sleep(Duration::from_millis(300));
        }
    };

    let mut search = start();
    wait_for(2);
    search.kill().unwrap(); // SIGKILL
    search.wait().unwrap();
    let after_kill = trials();

    let mut search = start();
    wait_for(after_kill.len() + 2);
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(search.id() as i32, libc::SIGINT) }, 0);
    let status = search.wait().unwrap();
    assert!(status.success(), "Ctrl-C ends the search cleanly: {status}");
    let after_ctrl_c = trials();

    assert!(after_ctrl_c.len() >= after_kill.len() + 2);
    // Finished trials are kept as they were (whether a trial is on the Pareto front may change).
    let kept =
        |trials: &[serde_json::Value]| -> Vec<(serde_json::Value, serde_json::Value, serde_json::Value)> {
            trials.iter().map(|t| (t["number"].clone(), t["impulse"].clone(), t["result"].clone())).collect()
        };
    assert_eq!(
        kept(&after_ctrl_c[..after_kill.len()]),
        kept(&after_kill),
        "finished trials are kept as they were"
    );
    let mut impulses: Vec<String> = after_ctrl_c.iter().map(|t| t["impulse"].to_string()).collect();
    impulses.sort();
    impulses.dedup();
    assert_eq!(impulses.len(), after_ctrl_c.len(), "no trial ran twice");
    let numbers: Vec<u64> = after_ctrl_c.iter().map(|t| t["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=after_ctrl_c.len() as u64).collect::<Vec<_>>());

    // The table and the Pareto plots (with the RAM budget's line) are there for people too.
    let shown = run(&["tune", "--project", "p", "--show"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("best within budget") && text.contains("RAM ≤ 8.0 KiB"), "{text}");
    let mut plots: Vec<String> = std::fs::read_dir(work.path().join("p/tune/1"))
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".svg"))
        .collect();
    plots.sort();
    assert_eq!(plots, ["pareto-latency.svg", "pareto-ram.svg"]);
}
