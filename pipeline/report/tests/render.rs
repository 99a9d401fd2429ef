//! Every plot renders to PNG and SVG; the files are real; the SVG carries the labels; bad data
//! and bad paths are errors, not panics.

use std::path::Path;

use mote_report::{
    AxisSeries, ConfusionMatrix, EpochMetrics, FeatureScatter, PALETTE, Plot, ReportError, SamplePlot,
    ScatterPoint, TrainingCurves,
};
use plotters::prelude::*;

fn curves(n_epochs: u32) -> TrainingCurves {
    TrainingCurves {
        title: "Training curves".into(),
        epochs: (1..=n_epochs)
            .map(|epoch| {
                let t = f64::from(epoch);
                EpochMetrics {
                    epoch,
                    train_loss: 1.0 / t,
                    train_accuracy: 1.0 - 0.5 / t,
                    validation_loss: Some(1.2 / t),
                    validation_accuracy: Some(0.95 - 0.5 / t),
                }
            })
            .collect(),
    }
}

fn matrix(labels: &[&str]) -> ConfusionMatrix {
    let n = labels.len();
    ConfusionMatrix {
        title: "Confusion".into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        counts: (0..n)
            .map(|row| (0..n).map(|col| if row == col { 40 } else { (row + 2 * col) as u64 % 4 }).collect())
            .collect(),
    }
}

fn scatter() -> FeatureScatter {
    FeatureScatter {
        title: "Scatter".into(),
        x_title: "accX RMS".into(),
        y_title: "gyrZ peak".into(),
        labels: vec!["idle".into(), "wave".into(), "snake".into()],
        points: (0..90)
            .map(|i| {
                let label = i % 3;
                let t = i as f64 * 0.37;
                ScatterPoint { x: label as f64 * 2.0 + t.sin(), y: label as f64 + t.cos() * 0.5, label }
            })
            .collect(),
        x_guide: Some((3.0, "budget".into())),
    }
}

fn sample(n: usize, rate_hz: f64) -> SamplePlot {
    let axis = |name: &str, unit: &str, phase: f64| AxisSeries {
        name: name.into(),
        unit: unit.into(),
        values: (0..n).map(|i| (i as f64 / rate_hz * 3.0 + phase).sin() * 9.81).collect(),
    };
    SamplePlot {
        title: "Sample".into(),
        rate_hz,
        axes: vec![axis("accX", "m/s²", 0.0), axis("accY", "m/s²", 1.0), axis("gyrZ", "°/s", 2.0)],
    }
}

/// A PNG starts with its signature, then an IHDR chunk holding width and height.
fn check_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}: not a PNG", path.display());
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), mote_report::SIZE);
    assert!(bytes.len() > 8_000, "{}: only {} bytes", path.display(), bytes.len());
}

/// Renders into memory and returns the share of non-white pixels and whether each of the
/// first `n_colors` palette colours appears.
fn pixels(plot: &impl Plot, n_colors: usize) -> (f64, Vec<bool>) {
    let (width, height) = mote_report::SIZE;
    let mut buffer = vec![0u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        plot.draw(&root).unwrap();
        root.present().unwrap();
    }
    let rgb: Vec<(u8, u8, u8)> = buffer.chunks(3).map(|p| (p[0], p[1], p[2])).collect();
    let inked = rgb.iter().filter(|p| **p != (255, 255, 255)).count() as f64 / rgb.len() as f64;
    let seen = PALETTE[..n_colors].iter().map(|c| rgb.contains(&(c.0, c.1, c.2))).collect();
    (inked, seen)
}

fn render_both(plot: &impl Plot, name: &str, texts: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join(format!("{name}.png"));
    let svg = dir.path().join(format!("{name}.SVG")); // the extension is case-insensitive
    plot.save(&png).unwrap();
    plot.save(&svg).unwrap();
    check_png(&png);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{name}: not an SVG");
    for expected in texts {
        assert!(text.contains(expected), "{name}: the SVG lacks {expected:?}");
    }
    assert_eq!(plot.to_svg().unwrap(), text, "{name}: to_svg and save differ");
}

#[test]
fn training_curves_render() {
    let plot = curves(25);
    render_both(
        &plot,
        "curves",
        &["Training curves", "Epoch", "Loss", "Accuracy (%)", "Training", "Validation"],
    );
    let (inked, seen) = pixels(&plot, 2);
    assert!(inked > 0.02, "{inked}");
    assert_eq!(seen, [true, true], "training and validation colours");
    // One epoch and a missing validation set still make a plot.
    let mut single = curves(1);
    single.epochs[0].validation_loss = None;
    single.epochs[0].validation_accuracy = None;
    render_both(&single, "single", &["Training"]);
}

#[test]
fn confusion_matrix_renders() {
    let plot = matrix(&["idle", "wave", "snake & ladder"]);
    render_both(
        &plot,
        "confusion",
        &["Confusion", "idle", "wave", "snake &amp; ladder", "Predicted label", "True label", "40", "95.2%"],
    );
    let (inked, _) = pixels(&plot, 0);
    assert!(inked > 0.2, "{inked}");
    // Many classes with long names switch to vertical column labels and still render.
    let many: Vec<String> = (0..14).map(|i| format!("class number {i} with a long name")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    render_both(&matrix(&many), "many", &["class number 13…"]);
}

#[test]
fn feature_scatter_renders() {
    let plot = scatter();
    render_both(&plot, "scatter", &["Scatter", "accX RMS", "gyrZ peak", "idle", "wave", "snake", "Label"]);
    let (inked, seen) = pixels(&plot, 3);
    assert!(inked > 0.02, "{inked}");
    assert_eq!(seen, [true, true, true], "one colour per label");
}

#[test]
fn sample_plot_renders() {
    let plot = sample(100, 10.0);
    render_both(&plot, "sample", &["Sample", "Time (s)", "accX (m/s²)", "gyrZ (°/s)", "Value"]);
    let (inked, seen) = pixels(&plot, 3);
    assert!(inked > 0.02, "{inked}");
    assert_eq!(seen, [true, true, true], "one colour per axis");
    // A second of 16 kHz audio is reduced to per-pixel extremes: the SVG stays small.
    let audio = SamplePlot {
        title: "keyword".into(),
        rate_hz: 16_000.0,
        axes: vec![AxisSeries {
            name: "audio".into(),
            unit: String::new(),
            values: (0..16_000).map(|i| (i as f64 * 0.05).sin()).collect(),
        }],
    };
    let svg = audio.to_svg().unwrap();
    assert!(svg.len() < 60_000, "{} bytes", svg.len());
    assert!(svg.contains("Value") && !svg.contains("Value ("), "no unit, no unit in the axis title");
}

#[test]
fn bad_data_and_paths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Result<(), ReportError>, &str)> = vec![
        (curves(3).save(dir.path().join("plot.jpg")), "report.unsupported_extension"),
        (curves(3).save(dir.path().join("plot")), "report.unsupported_extension"),
        (curves(0).save(dir.path().join("a.png")), "report.invalid_input"),
        (
            ConfusionMatrix {
                labels: vec!["a".into(), "b".into()],
                counts: vec![vec![1, 2]],
                ..Default::default()
            }
            .save(dir.path().join("b.png")),
            "report.invalid_input",
        ),
        (ConfusionMatrix::default().save(dir.path().join("c.svg")), "report.invalid_input"),
        (
            FeatureScatter {
                labels: vec!["a".into()],
                points: vec![ScatterPoint { x: 0.0, y: 0.0, label: 1 }],
                ..Default::default()
            }
            .save(dir.path().join("d.png")),
            "report.invalid_input",
        ),
        (
            FeatureScatter {
                labels: vec!["a".into()],
                points: vec![ScatterPoint { x: f64::NAN, y: 0.0, label: 0 }],
                ..Default::default()
            }
            .save(dir.path().join("e.png")),
            "report.invalid_input",
        ),
        (
            SamplePlot { rate_hz: 0.0, ..sample(10, 10.0) }.save(dir.path().join("f.png")),
            "report.invalid_input",
        ),
        (
            SamplePlot { axes: vec![], ..sample(10, 10.0) }.save(dir.path().join("g.svg")),
            "report.invalid_input",
        ),
        (curves(3).save(dir.path().join("missing/folder/h.png")), "report.write"),
        (curves(3).save(dir.path().join("missing/folder/h.svg")), "report.write"),
    ];
    for (index, (result, code)) in cases.into_iter().enumerate() {
        let error = result.expect_err("should fail");
        assert_eq!(error.code(), code, "case {index}: {error}");
        assert!(!error.to_string().is_empty());
    }
    // Refused data leaves no file behind.
    assert!(!dir.path().join("a.png").exists() && !dir.path().join("b.png").exists());
}

/// Non-finite values are skipped rather than breaking the axes.
#[test]
fn non_finite_values_are_skipped() {
    let mut plot = curves(10);
    plot.epochs[4].train_loss = f64::INFINITY;
    plot.epochs[5].validation_loss = Some(f64::NAN);
    plot.to_svg().unwrap();
    let mut plot = sample(50, 10.0);
    plot.axes[0].values[7] = f64::NAN;
    plot.to_svg().unwrap();
}
