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
