//! The tuner: trials of a small space on BasicMotions, the project's impulse first; a stopped
//! search resumes without repeating a finished trial; a trial applied to `mote.toml` keeps its
//! comments; a space with impossible combinations records them as failed trials with the reason.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mote_pipeline::tune::{
    Budget, SearchSpace, TuneSettings, WindowChoice, apply_trial, latest_report, tune,
};
use mote_project::{ImportOptions, Project, SystemClock};

async fn basic_motions(dir: &Path) -> Project {
    let mut project = Project::create(dir.join("p"), None, Arc::new(SystemClock)).await.unwrap();
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    project.import_dir(&dataset, &ImportOptions::default()).await.unwrap();
    let mut config = project.config().clone();
    config.learn.params.insert("epochs".into(), toml::Value::Integer(40));
    project.save_config(config).unwrap();
    project
}

fn table(text: &str) -> toml::Table {
    text.parse().unwrap()
}

fn settings(budget: Budget) -> TuneSettings {
    TuneSettings {
        target: "cortex-m4f-64mhz".into(),
        budget,
        space: SearchSpace {
            windows: vec![WindowChoice { length_ms: 10_000, stride_ms: 10_000 }],
            dsp: vec![
                table("block = \"flatten\""),
                table("block = \"raw\""),
                table("block = \"spectral\"\nfft_length = 7"),
            ],
            learn: vec![
                table("block = \"dense\"\nhidden = [12]"),
                table("block = \"conv1d\"\nfilters = [4]"),
            ],
            augment: None,
            prune: vec![0.0],
        },
        seed: 7,
        measure_on_board: false,
    }
}

#[tokio::test]
async fn a_stopped_search_resumes_without_repeating_trials() {
    let temp = tempfile::tempdir().unwrap();
    let mut project = basic_motions(temp.path()).await;
    let settings = settings(Budget { ram_bytes: Some(64 * 1024), ..Budget::default() });

    // Stop after two trials (as the app's cancel or Ctrl-C would).
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let mut seen = Vec::new();
    let first = tune(&project, &settings, false, None, cancel, |progress| {
        seen.push((progress.done, progress.total, progress.eta_s.is_some()));
        if progress.done == 2 {
            flag.store(true, Ordering::Relaxed);
        }
    })
    .await
    .unwrap();
    // The space's 5 combinations that can run (no CNN on statistics) and the project's own
    // impulse (flatten → dense 30-16).
    assert_eq!(first.total, 6);
    assert_eq!(first.trials.len(), 2, "{:?}", first.trials);
    assert!(!first.finished);
    assert_eq!(seen, vec![(1, 6, true), (2, 6, true)]);
    assert!(first.trials[0].baseline, "the project's impulse runs first");
    assert!(
        first.trials[0].description.contains("flatten") && first.trials[0].description.contains("[30, 16]")
    );

    // Resumed: only the three trials not run yet.
    let second =
        tune(&project, &settings, false, None, Arc::new(AtomicBool::new(false)), |_| {}).await.unwrap();
    assert_eq!((second.ran, second.trials.len(), second.tune), (4, 6, first.tune));
    assert!(second.finished);
    assert_eq!(second.trials[..2], first.trials[..2], "finished trials are kept as they were");
    let mut keys: Vec<String> =
        second.trials.iter().map(|t| serde_json::to_string(&t.impulse).unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 6, "no trial ran twice");
    assert!(!second.trials.iter().any(|t| t.description.starts_with("flatten · conv1d")));
    // A DSP setting that cannot run is recorded as failed, with the reason.
    let failed = second.trials.iter().filter(|t| t.result.is_none()).collect::<Vec<_>>();
    assert_eq!(failed.len(), 2, "{failed:?}");
    let reason = failed[0].error.as_ref().unwrap();
    assert!(reason.contains("fft_length"), "{reason}");
    // Every completed trial has its costs; the best fits the budget and is the most accurate there.
    let best = &second.trials[second.best.expect("a trial within budget")];
    let best_accuracy = best.result.as_ref().unwrap().accuracy;
    for trial in second.trials.iter().filter(|t| t.within_budget) {
        let result = trial.result.as_ref().unwrap();
        assert!(result.ram_bytes > 0 && result.flash_bytes > 0 && result.latency_ms > 0.0, "{result:?}");
        assert!(result.accuracy <= best_accuracy);
        assert!(result.test_accuracy.is_some());
    }
    assert!(second.trials.iter().any(|t| t.pareto_latency) && second.trials.iter().any(|t| t.pareto_ram));
    let plots = mote_pipeline::tune::pareto_plots(&second);
    assert_eq!(plots.len(), 2);
    assert!(plots[1].1.contains("budget"), "the RAM budget's line is drawn");

    // Running again finds nothing left to do; `--new` starts over.
    let again =
        tune(&project, &settings, false, None, Arc::new(AtomicBool::new(false)), |_| {}).await.unwrap();
    assert_eq!((again.ran, again.tune), (0, first.tune));
    assert_eq!(latest_report(&project).await.unwrap().trials.len(), 6);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let fresh =
        tune(&project, &settings, true, None, stop, |_| flag.store(true, Ordering::Relaxed)).await.unwrap();
    assert_ne!(fresh.tune, first.tune);
    assert_eq!((fresh.ran, fresh.trials.len()), (1, 1), "a new search starts from its first trial");
    // The newest search is the one shown; the earlier one stays in the project.
    assert_eq!(latest_report(&project).await.unwrap().tune, fresh.tune);
    let resumed =
        tune(&project, &settings, false, None, Arc::new(AtomicBool::new(false)), |_| {}).await.unwrap();
    assert_eq!(resumed.tune, fresh.tune, "equal settings resume the newest search");

    // Applying a trial writes its impulse and keeps mote.toml's comments.
    let raw = second.trials.iter().find(|t| t.description.starts_with("raw · conv1d")).unwrap();
    apply_trial(&mut project, raw.number).await.unwrap();
    let text = std::fs::read_to_string(project.dir().join("mote.toml")).unwrap();
    assert!(text.contains("# one window = one whole 10 s recording"), "{text}");
    let config = mote_project::ProjectConfig::parse(&text, Path::new("mote.toml")).unwrap();
    assert_eq!(config.dsp.block, "raw");
    assert_eq!(config.learn.block, "conv1d");
    assert_eq!(config.learn.params["filters"], toml::Value::Array(vec![toml::Value::Integer(4)]));
    assert_eq!(config.learn.params["epochs"], toml::Value::Integer(40), "training parameters are kept");
    let error = apply_trial(&mut project, 99).await.unwrap_err();
    assert_eq!(error.code(), "tune.unknown_trial");
    project.close().await;
}

#[tokio::test]
async fn a_search_refuses_an_unknown_target_and_an_empty_space() {
    let temp = tempfile::tempdir().unwrap();
    let project = basic_motions(temp.path()).await;
    let mut settings = settings(Budget::default());
    settings.target = "cortex-m99".into();
    let error =
        tune(&project, &settings, false, None, Arc::new(AtomicBool::new(false)), |_| {}).await.unwrap_err();
    assert_eq!(error.code(), "tune.target");
    assert!(error.to_string().contains("cortex-m4f-64mhz"), "the error lists the targets: {error}");
    let mut settings = self::settings(Budget::default());
    settings.space.learn.clear();
    let error =
        tune(&project, &settings, false, None, Arc::new(AtomicBool::new(false)), |_| {}).await.unwrap_err();
    assert_eq!(error.code(), "tune.space");
    assert!(matches!(latest_report(&project).await, Err(e) if e.code() == "tune.none"));
    project.close().await;
}
