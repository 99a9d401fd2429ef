//! Problems with a stored model, or with re-running a board's window on the host, surface with
//! their own message and code — never as "no model", a silent "verify off", or a board mismatch.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_pipeline::link::board::{Inference, WindowPart};
use mote_pipeline::link::types::{Axis, Sensor};
use mote_pipeline::link::{BoardInfo, Reply};
use mote_pipeline::live::{LiveDecoder, LiveError};
use mote_pipeline::models::{BLOB_FILE, ModelError, ModelMetrics, model_blob};
use mote_pipeline::training::train_project;
use mote_project::{ImportOptions, Project, SystemClock};

fn board() -> BoardInfo {
    let axis = |name: &str| Axis { name: name.into(), unit: String::new(), scale: 1.0 / 1024.0 };
    BoardInfo {
        protocol_version: mote_pipeline::link::PROTOCOL_VERSION,
        board: "test-board".into(),
        firmware_version: "0".into(),
        device_id: "t".into(),
        sensors: vec![Sensor {
            name: "imu".into(),
            axes: ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"].map(axis).to_vec(),
            rates_hz: vec![10],
        }],
        max_frame: 512,
        model_slots: Vec::new(),
        capabilities: Vec::new(),
    }
}

fn inference(seq: u32, scores: Vec<i8>) -> Reply {
    Reply::Inference(Inference {
        seq,
        t_us: 0,
        scores,
        top: 0,
        anomaly: None,
        dsp_us: 0,
        nn_us: 0,
        dsp_instructions: None,
        nn_instructions: None,
    })
}

#[tokio::test]
async fn model_problems_and_host_failures_are_said_with_their_reason() {
    let temp = tempfile::tempdir().unwrap();
    let mut project = Project::create(temp.path().join("p"), None, Arc::new(SystemClock)).await.unwrap();

    // No model yet: that is the one case where live runs without labels and cannot verify.
    assert!(matches!(model_blob(&project, None).await, Err(ModelError::NoModel)));
    let decoder = LiveDecoder::for_project(&project, &board(), true).await.unwrap();
    assert!(!decoder.verify() && decoder.labels().is_empty());

    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    project.import_dir(&dataset, &ImportOptions::default()).await.unwrap();
    let report = train_project(&project, Arc::new(AtomicBool::new(false)), |_| ControlFlow::Continue(()))
        .await
        .unwrap();
    let (stored, blob) = model_blob(&project, None).await.unwrap();
    assert_eq!(stored.id.0, report.model);
    let metrics = ModelMetrics::of(&stored).unwrap();
    assert_eq!((metrics.labels.len(), metrics.blob_bytes), (4, Some(blob.len())));
    assert_eq!(metrics.int8_test_accuracy, report.int8.comparison.as_ref().map(|c| c.int8.top1_accuracy));
    let decoder = LiveDecoder::for_project(&project, &board(), true).await.unwrap();
    assert!(decoder.verify() && decoder.labels().len() == 4);

    // A window the host cannot re-run (its length is wrong) is said, and is not a mismatch.
    let mut decoder = LiveDecoder::new(Some(&blob), &board(), true).unwrap();
    assert!(decoder.on_reply(&inference(1, vec![0; 4])).is_empty(), "waits for its window");
    let shown =
        decoder.on_reply(&Reply::Window(WindowPart { seq: 1, offset: 0, total: 3, values: vec![1, 2, 3] }));
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].parity, None);
    let problem = shown[0].parity_error.as_deref().expect("the host's failure is said");
    assert!(problem.contains("window 1") && problem.contains("the window has 3 values"), "{problem}");
    assert_eq!(
        (decoder.summary.host_failures, decoder.summary.mismatches, decoder.summary.verified),
        (1, 0, 0)
    );

    // A whole window with the host's own scores is identical.
    let model = mote_runtime::Model::parse(&blob).unwrap();
    let window = vec![100i16; model.window_samples() * 6];
    let scales = vec![1.0 / 1024.0; 6];
    let scores = mote_convert::HostBoard::new(&blob, &scales).unwrap().classify(&window).unwrap().scores;
    decoder.on_reply(&inference(2, scores));
    let total = window.len() as u32;
    let shown = decoder.on_reply(&Reply::Window(WindowPart { seq: 2, offset: 0, total, values: window }));
    assert_eq!((shown[0].parity, decoder.summary.verified), (Some(true), 1));

    // The blob cannot be read (here: a folder in its place): said as such, not "trained before
    // Mote quantized models", and live classification refuses rather than turning verify off.
    let path = project.model_dir(&stored).join(BLOB_FILE);
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    let error = model_blob(&project, None).await.unwrap_err();
    assert!(matches!(error, ModelError::Read { .. }), "{error}");
    assert!(error.to_string().contains("cannot read the blob of model"), "{error}");
    assert_eq!(error.code(), "model.read");
    match LiveDecoder::for_project(&project, &board(), false).await {
        Err(LiveError::Model(ModelError::Read { .. })) => {}
        Err(error) => panic!("{error}"),
        Ok(_) => panic!("a blob that cannot be read must not turn into `no model`"),
    }

    // A damaged blob.
    std::fs::remove_dir(&path).unwrap();
    let mut damaged = blob.clone();
    damaged[40] ^= 0xff;
    std::fs::write(&path, &damaged).unwrap();
    let error = model_blob(&project, None).await.unwrap_err();
    assert_eq!(error.code(), "model.damaged", "{error}");
    assert!(error.to_string().contains("is damaged"), "{error}");

    // No blob file at all: a model from before Mote quantized models.
    std::fs::remove_file(&path).unwrap();
    let error = model_blob(&project, None).await.unwrap_err();
    assert!(matches!(error, ModelError::NoBlob(_)), "{error}");
    project.close().await;
}
