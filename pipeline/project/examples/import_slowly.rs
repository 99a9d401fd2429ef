//! Imports a folder into a project slowly, for the kill-mid-import test
//! (`pipeline/project/tests/kill_mid_import.rs`):
//!
//! `import_slowly <project dir> <folder> <marker file> <marker after N samples> <delay ms per sample>`
//!
//! While writing, it sleeps `delay` after each inserted sample and creates the marker file once `N`
//! samples are inserted (inside the still-open transaction), so a test knows when to kill it.

use std::sync::Arc;
use std::time::Duration;

use mote_project::{ImportOptions, ImportPhase, ImportProgress, Project};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [project_dir, folder, marker, marker_after, delay_ms] = args.as_slice() else {
        eprintln!("usage: import_slowly <project dir> <folder> <marker file> <marker after N> <delay ms>");
        std::process::exit(2);
    };
    let marker = std::path::PathBuf::from(marker);
    let marker_after: usize = marker_after.parse().expect("marker after: a number");
    let delay = Duration::from_millis(delay_ms.parse().expect("delay ms: a number"));
    let progress = move |progress: ImportProgress| {
        if progress.phase == ImportPhase::Writing {
            if progress.done == marker_after {
                std::fs::write(&marker, progress.done.to_string()).expect("write marker");
            }
            std::thread::sleep(delay);
        }
    };
    let options = ImportOptions { progress: Some(Arc::new(progress)), ..ImportOptions::default() };
    let mut project = Project::open_or_create(project_dir).await.expect("open project");
    match project.import_dir(folder.as_ref(), &options).await {
        Ok(report) => println!("imported {}", report.imported.len()),
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(1);
        }
    }
    project.close().await;
}
