//! Shared pieces of the end-to-end tests: starting a real `mote-sim` process and finding the
//! workspace's binaries.

pub mod clib;
pub mod gui;
pub mod mqtt;
pub mod peer;
pub mod qemu;
pub mod speech;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A binary built by this workspace (`cargo test --workspace` builds them all).
pub fn workspace_binary(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(path.exists(), "{} is not built; run `cargo test --workspace`", path.display());
    path
}

/// Runs the workspace's `mote` with `args`; panics with its output unless it succeeds.
pub fn mote_ok(args: &[&str]) -> std::process::Output {
    let output = Command::new(workspace_binary("mote")).args(args).output().expect("mote runs");
    assert!(
        output.status.success(),
        "mote {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A project in `dir/gestures` trained on the virtual board's wave, circle and shake, recorded
/// over its PTY with `mote record` as a user would; `stride_ms` replaces the default stride.
pub fn gestures_project(dir: &std::path::Path, stride_ms: Option<u32>) -> String {
    let project = dir.join("gestures").to_string_lossy().into_owned();
    mote_ok(&["init", "--project", &project]);
    if let Some(stride) = stride_ms {
        let path = dir.join("gestures/mote.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("stride_ms = 1000", &format!("stride_ms = {stride}"), 1))
            .unwrap();
    }
    for gesture in ["wave", "circle", "shake"] {
        let sim = SimProcess::start(&["--script", gesture, "--seed", "11"]);
        let port = sim.path();
        mote_ok(&[
            "record",
            "--project",
            &project,
            "--port",
            &port,
            "--label",
            gesture,
            "--seconds",
            "2.5",
            "--count",
            "5",
        ]);
    }
    mote_ok(&["train", "--project", &project]);
    project
}

/// A virtual board running as its own process; killed when dropped.
pub struct SimProcess {
    child: Child,
    pub ready: serde_json::Value,
    pub dir: tempfile::TempDir,
}

impl SimProcess {
    /// Starts `mote-sim` with `args` (plus a private flash file) and waits for its ready line.
    pub fn start(args: &[&str]) -> SimProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let flash = dir.path().join("flash.bin");
        Self::start_in(dir, &flash, args)
    }

    /// Like [`SimProcess::start`], keeping model slots in `flash`.
    pub fn start_in(dir: tempfile::TempDir, flash: &std::path::Path, args: &[&str]) -> SimProcess {
        let registry = dir.path().to_path_buf();
        Self::spawn(dir, &registry, flash, args)
    }

    /// Like [`SimProcess::start_in`], registered in `registry` (`MOTE_RUNTIME_DIR`) where other
    /// processes given the same folder find it, as they find the boards of one machine.
    pub fn start_registered(
        registry: &std::path::Path,
        flash: &std::path::Path,
        args: &[&str],
    ) -> SimProcess {
        Self::spawn(tempfile::tempdir().expect("temp dir"), registry, flash, args)
    }

    fn spawn(
        dir: tempfile::TempDir,
        registry: &std::path::Path,
        flash: &std::path::Path,
        args: &[&str],
    ) -> SimProcess {
        let mut child = Command::new(workspace_binary("mote-sim"))
            .args(args)
            .arg("--flash")
            .arg(flash)
            .arg("--json")
            .env("MOTE_RUNTIME_DIR", registry)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mote-sim starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(Duration::from_secs(20)).expect("mote-sim prints its ready line");
        let ready = serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line {line:?}: {e}"));
        SimProcess { child, ready, dir }
    }

    pub fn path(&self) -> String {
        self.ready["path"].as_str().expect("a PTY path").to_string()
    }

    /// Pulls the cable: kills the process, which closes its end of the PTY.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to end by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
