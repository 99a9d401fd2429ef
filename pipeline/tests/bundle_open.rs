//! Opening a folder as the app does: a CI bundle becomes a project of its own beside the others
//! (checked against its lock first, reopened as it is later); any other folder is a project.

use std::path::Path;
use std::sync::Arc;

use mote_pipeline::bundle::{BundleError, export_bundle, open_folder_or_bundle};
use mote_project::{ImportOptions, Project, SampleFilter, SystemClock};

#[tokio::test]
async fn a_bundle_opens_as_its_own_project_and_a_damaged_one_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let projects = temp.path().join("projects");
    let mut source = Project::create(temp.path().join("motions"), None, Arc::new(SystemClock)).await.unwrap();
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    source.import_dir(&dataset, &ImportOptions::default()).await.unwrap();
    let bundle = temp.path().join("ci-bundle");
    export_bundle(&source, &bundle).await.unwrap();

    let opened = open_folder_or_bundle(&bundle, &projects).await.unwrap();
    assert_eq!(opened.dir(), projects.join("ci-bundle-from-bundle"));
    assert_eq!(opened.list_samples(&SampleFilter::all()).await.unwrap().len(), 80);
    assert_eq!(opened.config().window, source.config().window, "exactly the bundle's settings");
    opened.close().await;
    // Opened again: the same project, not a second import.
    let again = open_folder_or_bundle(&bundle, &projects).await.unwrap();
    assert_eq!(again.list_samples(&SampleFilter::all()).await.unwrap().len(), 80);
    again.close().await;

    // A bundle changed after export is refused, and nothing is made for it.
    let tampered = temp.path().join("tampered");
    export_bundle(&source, &tampered).await.unwrap();
    std::fs::write(tampered.join("mote.toml"), "# changed\n").unwrap();
    let error = open_folder_or_bundle(&tampered, &projects).await.err().expect("refused");
    assert!(matches!(error, BundleError::Tampered(_)), "{error}");
    assert!(!projects.join("tampered-from-bundle").exists());

    // Any other folder is a project (created when empty).
    let plain = open_folder_or_bundle(&temp.path().join("plain"), &projects).await.unwrap();
    assert!(plain.dir().join("mote.db").exists());
    plain.close().await;
    source.close().await;
}
