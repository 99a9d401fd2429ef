//! Renders one example of every plot, as PNG and SVG, into `docs/plots/` (or the folder given).
//!
//! `cargo run -p mote-report --example plots [-- <folder>]`. The data is synthetic but shaped like
//! the real thing (BasicMotions: 4 activities, 6 IMU axes at 10 Hz).

use std::path::PathBuf;

use mote_report::{
    AxisSeries, ConfusionMatrix, EpochMetrics, FeatureScatter, Plot, ReportError, SamplePlot, ScatterPoint,
    TrainingCurves,
};

/// A small deterministic generator: uniform in [0, 1) and standard normal (Box–Muller).
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn main() -> Result<(), ReportError> {
    let folder = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/plots"));
    std::fs::create_dir_all(&folder)
        .map_err(|error| ReportError::Write { path: folder.clone(), source: error.into() })?;
    let mut noise = Noise(7);
    let labels: Vec<String> = ["Badminton", "Running", "Standing", "Walking"].map(String::from).to_vec();

    let epochs = (1..=30)
        .map(|epoch| {
            let t = f64::from(epoch);
            let train_loss = 1.35 * (-t / 7.0).exp() + 0.05 + 0.02 * noise.normal();
            let validation_loss = 1.3 * (-t / 8.0).exp() + 0.14 + 0.035 * noise.normal();
            EpochMetrics {
                epoch,
                train_loss,
                train_accuracy: (1.0 - 0.72 * (-t / 5.0).exp() - 0.01 * noise.uniform()).min(1.0),
                validation_loss: Some(validation_loss),
                validation_accuracy: Some((0.95 - 0.7 * (-t / 6.0).exp() + 0.02 * noise.normal()).min(1.0)),
            }
        })
        .collect();
    let curves = TrainingCurves { title: "Training — BasicMotions, 1-D CNN".into(), epochs };

    let matrix = ConfusionMatrix {
        title: "Confusion matrix — test set (80 windows)".into(),
        labels: labels.clone(),
        counts: vec![vec![19, 1, 0, 0], vec![2, 18, 0, 0], vec![0, 0, 20, 0], vec![0, 1, 1, 18]],
    };

    let centres = [(2.8, 1.9), (6.5, 0.9), (0.35, 0.12), (3.6, 0.45)];
    let spreads = [(0.6, 0.45), (0.9, 0.3), (0.12, 0.05), (0.5, 0.15)];
    let points = (0..160)
        .map(|i| {
            let label = i % 4;
            let ((cx, cy), (sx, sy)) = (centres[label], spreads[label]);
            ScatterPoint { x: cx + sx * noise.normal(), y: cy + sy * noise.normal(), label }
        })
        .collect();
    let scatter = FeatureScatter {
        title: "Features — accX RMS against gyrZ RMS".into(),
        x_title: "accX RMS (m/s²)".into(),
        y_title: "gyrZ RMS (rad/s)".into(),
        labels,
        points,
        x_guide: None,
    };

    let rate_hz = 10.0;
    let axis = |name: &str, unit: &str, f: &dyn Fn(f64) -> f64| AxisSeries {
        name: name.into(),
        unit: unit.into(),
        values: (0..100).map(|i| f(i as f64 / rate_hz)).collect(),
    };
    let tau = 2.0 * std::f64::consts::PI;
    let sample = SamplePlot {
        title: "Sample walking.7 — 10 s at 10 Hz".into(),
        rate_hz,
        axes: vec![
            axis("accX", "m/s²", &|t| 1.8 * (tau * 0.9 * t).sin() + 0.4 * (tau * 1.8 * t).sin()),
            axis("accY", "m/s²", &|t| 9.81 + 1.1 * (tau * 0.9 * t + 0.8).sin()),
            axis("accZ", "m/s²", &|t| 0.7 * (tau * 0.45 * t).cos()),
            axis("gyrX", "rad/s", &|t| 0.9 * (tau * 0.45 * t + 1.0).sin()),
            axis("gyrY", "rad/s", &|t| -3.0 + 0.5 * (tau * 0.9 * t).cos()),
            axis("gyrZ", "rad/s", &|t| 4.0 + 0.6 * (tau * 0.45 * t + 2.0).sin()),
        ],
    };

    for (name, plot) in [
        ("training_curves", &curves as &dyn Save),
        ("confusion_matrix", &matrix),
        ("feature_scatter", &scatter),
        ("sample", &sample),
    ] {
        for extension in ["png", "svg"] {
            let path = folder.join(format!("{name}.{extension}"));
            plot.save_to(&path)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// `Plot` is not object-safe (its `draw` is generic over the backend); this lets the loop above
/// treat the four plots alike.
trait Save {
    fn save_to(&self, path: &std::path::Path) -> Result<(), ReportError>;
}

impl<P: Plot> Save for P {
    fn save_to(&self, path: &std::path::Path) -> Result<(), ReportError> {
        self.save(path)
    }
}
