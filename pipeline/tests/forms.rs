//! The parameter forms agree with the blocks' own checks (a value a form refuses for its range
//! is refused by the block read from TOML, and the other way round at the edges), and an impulse
//! edited through forms is saved into `mote.toml` with its comments kept; errors land on the
//! field they are about.

use std::sync::Arc;

use mote_pipeline::form::{Field, Kind, NumberSpec};
use mote_pipeline::impulse::{Impulse, ImpulseDraft, ImpulseForms};
use mote_project::{BlockConfig, Project, ProjectConfig, SystemClock};
use serde_json::{Value, json};

fn config(rate_hz: f64, length_ms: u32, axes: usize) -> ProjectConfig {
    let mut config = ProjectConfig::new_default("forms");
    config.data.rate_hz = rate_hz;
    config.data.axes = (0..axes).map(|axis| format!("a{axis}")).collect();
    config.window = mote_project::WindowSection { length_ms, stride_ms: length_ms / 2 };
    config
}

/// Values just outside a number's range, and (for inclusive ends) the ends themselves.
fn probes(spec: &NumberSpec) -> (Vec<f64>, Vec<f64>) {
    let step = if spec.integer { 1.0 } else { 0.01 };
    let (mut outside, mut edges) = (Vec::new(), Vec::new());
    if let Some(min) = spec.min {
        outside.push(if spec.min_exclusive { min } else { min - step });
        if !spec.min_exclusive {
            edges.push(min);
        }
    }
    if let Some(max) = spec.max.filter(|max| *max < 1e6) {
        outside.push(if spec.max_exclusive { max } else { max + step });
        if !spec.max_exclusive {
            edges.push(max);
        }
    }
    (outside, edges)
}

/// `(path, spec)` of every number field, sub-tables included.
fn numbers(fields: &[Field], prefix: &str, out: &mut Vec<(String, NumberSpec)>) {
    for field in fields {
        let path = if prefix.is_empty() { field.key.clone() } else { format!("{prefix}.{}", field.key) };
        match &field.kind {
            Kind::Number(spec) if spec.options.is_empty() => out.push((path, spec.clone())),
            Kind::Group { fields } => numbers(fields, &path, out),
            _ => {}
        }
    }
}

/// The TOML text of `base` with `path` set to `value`.
fn with_value(base: &toml::Table, path: &str, value: f64, integer: bool) -> toml::Table {
    let mut table = base.clone();
    let mut keys: Vec<&str> = path.split('.').collect();
    let last = keys.pop().unwrap();
    let mut at = &mut table;
    for key in keys {
        at = at.entry(key).or_insert_with(|| toml::Value::Table(toml::Table::new())).as_table_mut().unwrap();
    }
    let value = if integer { toml::Value::Integer(value as i64) } else { toml::Value::Float(value) };
    at.insert(last.to_string(), value);
    table
}

/// Whether `[learn]` = `block` + `params` is accepted when read from TOML, as `mote train` reads it.
fn learn_accepts(block: &str, params: &toml::Table) -> bool {
    let mut config = config(100.0, 2000, 3);
    config.learn = BlockConfig { block: block.into(), params: params.clone() };
    Impulse::from_config(&config).is_ok()
}

#[test]
fn learning_form_ranges_are_the_ranges_training_enforces() {
    let forms = ImpulseForms::for_config(&config(100.0, 2000, 3));
    let mut checked = 0;
    for form in &forms.learn {
        let mut fields = Vec::new();
        numbers(&form.fields, "", &mut fields);
        for (path, spec) in fields {
            // Sub-tables need something switched on to be valid at all.
            let base: toml::Table = match path.split('.').next() {
                Some("augment") => "augment = { scale = 0.1, noise = 0.1 }",
                Some("distill") => "distill = { model = 1 }",
                _ => "",
            }
            .parse()
            .unwrap();
            if !form.block.contains("dense") && !form.block.contains("conv") && path.contains('.') {
                continue; // k-means is neither distilled nor pruned
            }
            let (outside, edges) = probes(&spec);
            for value in outside {
                let params = with_value(&base, &path, value, spec.integer);
                assert!(spec.problem(value).is_some(), "{}: the form takes {path} = {value}", form.block);
                assert!(
                    !learn_accepts(&form.block, &params),
                    "{}: training takes {path} = {value}",
                    form.block
                );
                checked += 1;
            }
            for value in edges {
                // The edge a sub-table's `scale`/`noise` base already uses would switch it off.
                let params = with_value(&base, &path, value, spec.integer);
                if value == 0.0 && (path == "augment.scale" || path == "augment.noise") {
                    continue;
                }
                assert!(spec.problem(value).is_none(), "{}: the form refuses {path} = {value}", form.block);
                assert!(
                    learn_accepts(&form.block, &params),
                    "{}: training refuses {path} = {value}",
                    form.block
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} edges checked");
}

#[test]
fn dsp_form_ranges_are_refused_by_the_blocks_too() {
    let cases = [
        ("flatten", config(100.0, 2000, 3)),
        ("spectral", config(100.0, 2000, 3)),
        ("raw", config(100.0, 2000, 3)),
        ("mfe", config(16000.0, 1000, 1)),
        ("mfcc", config(16000.0, 1000, 1)),
    ];
    let mut checked = 0;
    for (block, config) in cases {
        let forms = ImpulseForms::for_config(&config);
        let form = forms.dsp.iter().find(|form| form.block == block).unwrap();
        let mut fields = Vec::new();
        numbers(&form.fields, "", &mut fields);
        for (path, spec) in fields {
            for value in probes(&spec).0 {
                assert!(spec.problem(value).is_some(), "{block}: the form takes {path} = {value}");
                let mut config = config.clone();
                config.dsp = BlockConfig {
                    block: block.into(),
                    params: with_value(&toml::Table::new(), &path, value, spec.integer),
                };
                assert!(Impulse::from_config(&config).is_err(), "{block}: the block takes {path} = {value}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 12, "only {checked} edges checked");
}

fn draft_of(config: &ProjectConfig) -> ImpulseDraft {
    ImpulseDraft::of(config)
}

fn errors_of(config: &ProjectConfig, draft: &ImpulseDraft) -> Vec<(String, String)> {
    let error = draft.apply(config).expect_err("the draft is refused");
    error.field_errors().into_iter().map(|error| (error.field, error.message)).collect()
}

#[test]
fn errors_land_on_the_field_they_are_about() {
    let config = config(100.0, 2000, 3);
    let mut draft = draft_of(&config);
    draft.dsp_block = "spectral".into();
    draft.dsp_params = json!({"n_peaks": 20, "filter": {"low_pass": {"cutoff_hz": 3, "order": 0}}})
        .as_object()
        .unwrap()
        .clone();
    draft.learn_params = json!({"epochs": 0, "augment": {"copies": 2}}).as_object().unwrap().clone();
    let errors = errors_of(&config, &draft);
    let fields: Vec<&str> = errors.iter().map(|(field, _)| field.as_str()).collect();
    assert_eq!(fields, ["dsp.filter.low_pass.order", "dsp.n_peaks", "learn.epochs"]);
    assert_eq!(errors[1].1, "must be between 0 and 16");

    // Within range, but not for this data: the block's own check, on its field.
    draft.dsp_params =
        json!({"filter": {"low_pass": {"cutoff_hz": 80, "order": 4}}}).as_object().unwrap().clone();
    draft.learn_params = json!({"epochs": 10}).as_object().unwrap().clone();
    let errors = errors_of(&config, &draft);
    assert_eq!(errors[0].0, "dsp.filter.cutoff_hz");
    assert!(errors[0].1.contains("Nyquist"), "{}", errors[0].1);

    // A learning-block rule across fields names its table.
    draft.dsp_params.clear();
    draft.learn_params = json!({"augment": {"copies": 2}}).as_object().unwrap().clone();
    let errors = errors_of(&config, &draft);
    assert_eq!(errors[0].0, "learn.augment");
    assert!(errors[0].1.starts_with("turns nothing on"), "{}", errors[0].1);

    // A window too short for the audio frames.
    let audio = ProjectConfig {
        dsp: BlockConfig { block: "mfcc".into(), params: toml::Table::new() },
        ..crate::config(16000.0, 1000, 1)
    };
    let mut draft = draft_of(&audio);
    draft.window_ms = 10;
    draft.stride_ms = 10;
    assert_eq!(errors_of(&audio, &draft)[0].0, "dsp.frame_length_ms");

    draft.dsp_block = "wavelet".into();
    assert_eq!(
        errors_of(&audio, &draft)[0],
        ("dsp.block".to_string(), "there is no block \"wavelet\"".to_string())
    );
}

#[test]
fn the_spectral_form_shows_the_defaults_that_fit_the_window() {
    let short = ImpulseForms::for_config(&config(100.0, 1000, 3));
    let long = ImpulseForms::for_config(&config(100.0, 4000, 3));
    let fft = |forms: &ImpulseForms| {
        let form = forms.dsp.iter().find(|form| form.block == "spectral").unwrap();
        form.fields.iter().find(|field| field.key == "fft_length").unwrap().default.clone()
    };
    assert_eq!(fft(&short), Some(json!(128)));
    assert_eq!(fft(&long), Some(json!(512)));
    let audio = ImpulseForms::for_config(&config(16000.0, 1000, 1));
    let spectral = audio.dsp.iter().find(|form| form.block == "spectral").unwrap();
    assert_eq!(
        spectral.fields.iter().find(|field| field.key == "filter").unwrap().default,
        Some(json!("none"))
    );
    let seed = ImpulseForms::for_config(&ProjectConfig {
        project: mote_project::ProjectSection { seed: 7, ..config(100.0, 1000, 3).project },
        ..config(100.0, 1000, 3)
    });
    let dense = seed.learn.iter().find(|form| form.block == "dense").unwrap();
    assert_eq!(dense.fields.iter().find(|field| field.key == "seed").unwrap().default, Some(json!(7)));
}

#[tokio::test]
async fn a_draft_saves_into_mote_toml_keeping_its_comments() {
    let temp = tempfile::tempdir().unwrap();
    let mut project = Project::create(temp.path().join("p"), None, Arc::new(SystemClock)).await.unwrap();
    let path = temp.path().join("p/mote.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen("[dsp]", "# Features for the gestures.\n[dsp]", 1).replacen(
        "[learn]",
        "[learn]\n# Keep it small.\nepochs = 30 # quick",
        1,
    );
    std::fs::write(&path, &text).unwrap();
    project.reload_config().unwrap();

    let mut draft = ImpulseDraft::of(project.config());
    assert_eq!(draft.learn_params.get("epochs"), Some(&json!(30)));
    draft.dsp_block = "spectral".into();
    draft.dsp_params =
        json!({"n_peaks": 2, "bands": {"equal": 6}, "log_power": true}).as_object().unwrap().clone();
    draft.learn_params.insert("epochs".into(), json!(45));
    draft.learn_params.insert("prune".into(), json!({"target": 0.5}));
    let config = draft.apply(project.config()).unwrap();
    project.save_config(config).unwrap();

    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains("# Features for the gestures.\n[dsp]"), "{saved}");
    assert!(saved.contains("# Keep it small.\nepochs = 45 # quick"), "{saved}");
    let reread: toml::Table = saved.parse().unwrap();
    assert_eq!(reread["dsp"]["block"].as_str(), Some("spectral"));
    assert_eq!(reread["dsp"]["n_peaks"].as_integer(), Some(2));
    assert_eq!(reread["dsp"]["bands"]["equal"].as_integer(), Some(6));
    assert_eq!(reread["learn"]["prune"]["target"].as_float(), Some(0.5));
    // Unset fields stay out of the file: their defaults apply.
    assert!(reread["dsp"].get("fft_length").is_none());

    // Read back, the draft is what was entered.
    project.reload_config().unwrap();
    let again = ImpulseDraft::of(project.config());
    assert_eq!(again.dsp_params, draft.dsp_params);
    assert_eq!(again.learn_params.get("prune"), Some(&json!({"target": 0.5})));
    assert_eq!(again.apply(project.config()).unwrap(), *project.config());
    let _: Value = serde_json::to_value(&again).unwrap();
}
