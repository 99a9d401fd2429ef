//! Quantizing a small network and exporting it: the C header compiles with arm-none-eabi-gcc and
//! the Rust crate builds for thumbv7em-none-eabihf with Debian's toolchain (both installed by the
//! README's test command).

use std::path::{Path, PathBuf};
use std::process::Command;

use mote_convert::{Calibration, ImpulseMeta, QuantizeConfig, QuantizeError, quantize};
use mote_dsp::{DspConfig, FeatureBlock, Flatten};
use mote_runtime::Model;
use mote_train::{Activation, ExportedLayer, ExportedModel, LayerKind, Normalisation};

const WINDOW: usize = 20;

fn meta() -> ImpulseMeta {
    ImpulseMeta {
        name: "Export Test \"quoted\"".into(),
        rate_hz: 100.0,
        window_samples: WINDOW as u32,
        stride_samples: 10,
        axes: vec!["accX".into(), "accY".into(), "accZ".into()],
        dsp: DspConfig::Flatten(Flatten::default()),
    }
}

/// A dense network [n → 8 ReLU → 3 softmax] with fixed pseudo-random weights.
fn network() -> ExportedModel {
    let n = meta().dsp.output_shape(WINDOW, 3, 100.0).unwrap().len();
    let weights = |count: usize, seed: usize| -> Vec<f32> {
        (0..count).map(|i| (((i * 7919 + seed * 104_729) % 201) as f32 - 100.0) / 150.0).collect()
    };
    let dense = |n_in: usize, n_out: usize, activation, seed| ExportedLayer {
        kind: LayerKind::Dense,
        input_shape: vec![n_in],
        output_shape: vec![n_out],
        weights: weights(n_in * n_out, seed),
        weight_shape: vec![n_out, n_in],
        biases: weights(n_out, seed + 1),
        activation,
    };
    ExportedModel {
        n_features: n,
        input_shape: vec![n],
        normalisation: Normalisation { mean: vec![0.5; n], std: vec![2.0; n] },
        layers: vec![dense(n, 8, Activation::Relu, 1), dense(8, 3, Activation::Softmax, 2)],
        label_names: vec!["idle".into(), "wave".into(), "the \"other\" one".into()],
    }
}

fn rows(n_features: usize, count: usize) -> Vec<f32> {
    (0..n_features * count).map(|i| ((i * 2_654_435_761usize) % 1000) as f32 / 100.0 - 4.0).collect()
}

fn blob() -> Vec<u8> {
    let model = network();
    quantize(&model, &meta(), &rows(model.n_features, 200), &QuantizeConfig::default()).unwrap().blob
}

#[test]
fn int8_follows_the_float_network() {
    let float = network();
    let test = rows(float.n_features, 300);
    for calibration in [Calibration::MinMax, Calibration::Percentile { percentile: 99.9 }] {
        let config = QuantizeConfig { calibration_rows: 100, calibration };
        let quantized = quantize(&float, &meta(), &rows(float.n_features, 200), &config).unwrap();
        assert_eq!(quantized.calibration_rows, 100);
        let model = Model::parse(&quantized.blob).unwrap();
        let truth: Vec<usize> = test
            .chunks(float.n_features)
            .map(|row| {
                let p = float.predict_row(row);
                (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap()
            })
            .collect();
        let comparison = mote_convert::compare(&float, &model, &test, &truth, 0.0).unwrap();
        assert_eq!(comparison.float.top1_accuracy, 1.0);
        assert!(comparison.agreement >= 0.95, "{calibration:?}: agreement {}", comparison.agreement);
    }
}

#[test]
fn bad_calibration_data_is_refused() {
    let float = network();
    let config = QuantizeConfig::default();
    assert!(matches!(quantize(&float, &meta(), &[], &config), Err(QuantizeError::NoCalibrationData)));
    let error = quantize(&float, &meta(), &[1.0; 7], &config).unwrap_err();
    assert!(error.to_string().contains(&format!("the model takes {}", float.n_features)), "{error}");
}

#[test]
fn exports_are_deterministic() {
    let out = tempfile::tempdir().unwrap();
    let first = blob();
    assert_eq!(first, blob(), "same model, same calibration → same bytes");
    for format in ["blob", "c", "rust"] {
        let a = mote_convert::export::write(format, &first, &out.path().join("a")).unwrap();
        let b = mote_convert::export::write(format, &first, &out.path().join("b")).unwrap();
        assert_eq!(a.len(), b.len());
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap(), "{}", a.display());
        }
    }
    assert!(mote_convert::export::write("zip", &first, out.path()).is_err());
}

fn target_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    base.join("thumb-export")
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_c_header_compiles_for_cortex_m4() {
    let out = tempfile::tempdir().unwrap();
    mote_convert::export::write("c", &blob(), out.path()).unwrap();
    let main = out.path().join("main.c");
    std::fs::write(
        &main,
        "#include \"mote_model.h\"\n\
         _Static_assert(sizeof(mote_model_blob) == MOTE_MODEL_SIZE, \"size\");\n\
         _Static_assert(MOTE_MODEL_N_LABELS == 3, \"labels\");\n\
         const uint8_t *model(void) { return mote_model_blob; }\n\
         const char *label(unsigned i) { return i < MOTE_MODEL_N_LABELS ? mote_model_labels[i] : mote_model_axes[0]; }\n\
         unsigned wave(void) { return MOTE_MODEL_LABEL_WAVE; }\n",
    )
    .unwrap();
    run(Command::new("arm-none-eabi-gcc")
        .args([
            "-mcpu=cortex-m4",
            "-mthumb",
            "-mfloat-abi=hard",
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-c",
        ])
        .arg(&main)
        .arg("-o")
        .arg(out.path().join("main.o")));
}

#[test]
fn the_rust_crate_builds_for_thumbv7em() {
    let out = tempfile::tempdir().unwrap();
    let files = mote_convert::export::write("rust", &blob(), out.path()).unwrap();
    let manifest = files.iter().find(|f| f.ends_with("mote-model-export-test-quoted/Cargo.toml")).unwrap();
    // Debian's cargo and rustc with their std source (rustup cannot add thumb targets here).
    run(Command::new("/usr/bin/cargo")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env("PATH", format!("/usr/bin:{}", std::env::var("PATH").unwrap_or_default()))
        .env("CARGO", "/usr/bin/cargo")
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", target_dir())
        .args(["build", "--release", "--quiet", "-Zbuild-std=core", "--target", "thumbv7em-none-eabihf"])
        .arg("--manifest-path")
        .arg(manifest));
}

#[test]
fn exported_dependencies_match_the_workspace_pins() {
    let workspace =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml")).unwrap();
    for (name, spec) in mote_convert::export::DEPENDENCIES {
        let line = format!("{name} = {spec}");
        assert!(
            workspace.lines().any(|l| l.trim() == line),
            "workspace pins differ from the export's `{line}`"
        );
    }
}
