//! A process killed (SIGKILL) in the middle of a large import leaves the project as it was: the
//! import is one transaction, and SQLite's write-ahead log drops the uncommitted part on reopen.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use mote_project::{ImportOptions, SampleFilter};

use crate::common::*;

const N_FILES: usize = 2000;

/// `target/debug/examples/import_slowly`, built by `cargo test` next to this test binary's folder.
fn import_slowly_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap(); // target/debug/deps -> target/debug
    let binary = profile_dir.join("examples").join(format!("import_slowly{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run the tests with `cargo test` (it builds examples)",
        binary.display()
    );
    binary
}

#[tokio::test]
async fn killing_an_import_midway_leaves_nothing_half_written() {
    let started = Instant::now();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("project");
    let folder = temp.path().join("big");
    // Enough data (2000 × 400 steps × 3 axes × 2 bytes ≈ 4.8 MB) that SQLite spills uncommitted pages
    // into the WAL before the commit.
    for index in 0..N_FILES {
        let label = ["idle", "wave", "snake"][index % 3];
        write(
            &folder,
            &format!("{label}.{index:04}.csv"),
            ei_csv(&["accX", "accY", "accZ"], 10.0, 400, index as f64 * 0.001),
        );
    }
    let project = create_project(&dir).await;
    let before = logical_snapshot(&project).await;
    project.close().await;

    let marker = temp.path().join("in-transaction");
    let mut child = Command::new(import_slowly_binary())
        .args([dir.as_os_str(), folder.as_os_str(), marker.as_os_str()])
        .args(["1200", "2"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !marker.exists() {
        assert!(child.try_wait().unwrap().is_none(), "import_slowly ended before reaching the marker");
        assert!(Instant::now() < deadline, "import_slowly never reached the marker");
        std::thread::sleep(Duration::from_millis(20));
    }
    let wal = dir.join("mote.db-wal");
    let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import was killed, not finished");
    eprintln!("killed after 1200 of {N_FILES} inserts; WAL held {wal_bytes} bytes of uncommitted pages");
    assert!(wal_bytes > 0, "the kill should hit a transaction that already wrote pages to the WAL");

    let project = open_project(&dir).await;
    assert_eq!(project.integrity_check().await.unwrap(), Ok(()));
    assert_eq!(project.sample_count().await.unwrap(), 0, "none of the killed import's samples are visible");
    assert_eq!(logical_snapshot(&project).await, before);

    // The project works normally afterwards, and the same folder imports completely.
    let mut project = project;
    let report = project.import_dir(&folder, &ImportOptions::default()).await.unwrap();
    assert_eq!(report.imported.len(), N_FILES);
    assert_eq!(project.list_samples(&SampleFilter::all()).await.unwrap().len(), N_FILES);
    assert_eq!(project.integrity_check().await.unwrap(), Ok(()));
    project.close().await;
    eprintln!("kill test took {:?}", started.elapsed());
}
