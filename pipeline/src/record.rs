//! Turning a capture from a board into a project sample — the same rule for the CLI and the
//! app: only a complete capture is stored; anything else says what happened and what was lost.

use mote_project::{Axis, NewSample, Recording, Split};

use crate::link::forwarder;
use crate::link::stream::{Capture, CaptureEnd};

/// How far a data-forwarder board's measured rate may be from the project's, in percent. Such a
/// board declares nothing: its rate is measured from line arrival times on the host, which USB
/// and the OS blur by a few percent.
pub const FORWARDER_RATE_TOLERANCE_PERCENT: f64 = 5.0;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the board disconnected after {samples} samples ({reason}); this recording was not stored")]
    Disconnected { samples: usize, reason: String },
    #[error("the recording was cancelled after {samples} samples and not stored")]
    Cancelled { samples: usize },
    #[error("{lost} samples were lost on the way (line errors); this recording was not stored — try again")]
    Lost { lost: u64 },
    #[error(
        "the board prints {found} values per line but the project records {expected} axes ({axes}); \
         this recording was not stored"
    )]
    AxisCount { found: usize, expected: usize, axes: String },
    #[error(
        "the board prints at {measured:.1} Hz but the project records at {expected} Hz (more than \
         {FORWARDER_RATE_TOLERANCE_PERCENT} % apart); this recording was not stored"
    )]
    Rate { measured: f64, expected: f64 },
    #[error("no readings arrived in {seconds:.1} s; nothing was stored")]
    Empty { seconds: f64 },
    #[error("value {index} of the recording is not a finite number; this recording was not stored")]
    NotFinite { index: usize },
}

impl RecordError {
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::Disconnected { .. } => "record.disconnected",
            RecordError::Cancelled { .. } => "record.cancelled",
            RecordError::Lost { .. } => "record.lost",
            RecordError::AxisCount { .. } => "record.axes",
            RecordError::Rate { .. } => "record.rate",
            RecordError::Empty { .. } => "record.empty",
            RecordError::NotFinite { .. } => "record.not_finite",
        }
    }
}

/// The sample to store for a complete capture.
pub fn sample_from_capture(
    captured: Capture,
    name: String,
    label: &str,
    split: Split,
    device: &str,
) -> Result<NewSample, RecordError> {
    let samples = captured.n_samples();
    match &captured.end {
        CaptureEnd::Disconnected { reason } => {
            return Err(RecordError::Disconnected { samples, reason: reason.clone() });
        }
        CaptureEnd::Cancelled => return Err(RecordError::Cancelled { samples }),
        CaptureEnd::Completed if !captured.gaps.is_empty() => {
            return Err(RecordError::Lost { lost: captured.stats.lost_samples });
        }
        CaptureEnd::Completed => {}
    }
    let axes = captured
        .sensor
        .axes
        .iter()
        .map(|a| Axis { name: a.name.clone(), unit: a.unit.clone(), scale: f64::from(a.scale) })
        .collect();
    Ok(NewSample {
        name,
        label: label.to_string(),
        split,
        sensor: captured.sensor.name.clone(),
        device: device.to_string(),
        created: None,
        recording: Recording { axes, rate_hz: f64::from(captured.rate_hz), raw: captured.values },
    })
}

/// What a data-forwarder recording is stored as: the project's sensor name, axes and rate.
#[derive(Debug, Clone)]
pub struct ForwarderTarget<'a> {
    pub sensor: &'a str,
    pub axes: &'a [String],
    pub rate_hz: f64,
}

/// The sample to store for a complete data-forwarder capture. The board's values are physical
/// numbers: they are quantized per axis like an imported file. Its axis count must be the
/// project's, and its measured rate within [`FORWARDER_RATE_TOLERANCE_PERCENT`] of the project's
/// rate, which the sample then carries.
pub fn sample_from_forwarder(
    captured: &forwarder::Capture,
    name: String,
    label: &str,
    split: Split,
    device: &str,
    target: &ForwarderTarget<'_>,
) -> Result<NewSample, RecordError> {
    let samples = captured.sample_count();
    match &captured.report.end {
        forwarder::CaptureEnd::Disconnected { detail } => {
            return Err(RecordError::Disconnected { samples, reason: detail.clone() });
        }
        forwarder::CaptureEnd::Cancelled => return Err(RecordError::Cancelled { samples }),
        forwarder::CaptureEnd::DurationElapsed => {}
    }
    check_forwarder_stream(captured.axis_count, captured.report.timing.measured_rate_hz, target)?;
    if samples == 0 {
        return Err(RecordError::Empty { seconds: captured.report.timing.elapsed_seconds });
    }
    let n_axes = captured.axis_count;
    let (raw, scales) = mote_project::quantize::quantize_interleaved(&captured.values, n_axes)
        .map_err(|index| RecordError::NotFinite { index })?;
    let axes = target
        .axes
        .iter()
        .zip(scales)
        .map(|(name, scale)| Axis { name: name.clone(), unit: String::new(), scale })
        .collect();
    Ok(NewSample {
        name,
        label: label.to_string(),
        split,
        sensor: target.sensor.to_string(),
        device: device.to_string(),
        created: None,
        recording: Recording { axes, rate_hz: target.rate_hz, raw },
    })
}

/// Whether a detected (or captured) forwarder stream fits the project: the same axis count, and
/// a measured rate close to the project's. `None` for the rate skips that check (too few lines
/// to measure one).
pub fn check_forwarder_stream(
    axis_count: usize,
    measured_rate_hz: Option<f64>,
    target: &ForwarderTarget<'_>,
) -> Result<(), RecordError> {
    if axis_count != target.axes.len() {
        return Err(RecordError::AxisCount {
            found: axis_count,
            expected: target.axes.len(),
            axes: target.axes.join(", "),
        });
    }
    if let Some(measured) = measured_rate_hz
        && (measured - target.rate_hz).abs() > target.rate_hz * FORWARDER_RATE_TOLERANCE_PERCENT / 100.0
    {
        return Err(RecordError::Rate { measured, expected: target.rate_hz });
    }
    Ok(())
}

/// The project settings a data-forwarder recording needs, before it starts. A project with
/// samples keeps its settings and the stream must fit them. A project with none takes the
/// stream's axis count (keeping its axis names when the count matches, else `axis0`, `axis1`, …)
/// and its measured rate, rounded to a whole Hz (to 0.1 Hz under 10 Hz), with sensor `forwarder`.
/// Returns the settings to save, or `None` when the project's already fit.
pub fn forwarder_settings(
    config: &mote_project::ProjectConfig,
    has_samples: bool,
    detected: &forwarder::DetectedStream,
) -> Result<Option<mote_project::ProjectConfig>, RecordError> {
    let data = &config.data;
    let target = ForwarderTarget { sensor: &data.sensor, axes: &data.axes, rate_hz: data.rate_hz };
    let fits = check_forwarder_stream(detected.axis_count, Some(detected.sampling_rate_hz), &target);
    match fits {
        Ok(()) => Ok(None),
        Err(error) if has_samples => Err(error),
        Err(_) => {
            let mut adopted = config.clone();
            if data.axes.len() != detected.axis_count {
                adopted.data.axes = (0..detected.axis_count).map(|idx| format!("axis{idx}")).collect();
            }
            let rate = detected.sampling_rate_hz;
            adopted.data.rate_hz = if rate >= 10.0 { rate.round() } else { (rate * 10.0).round() / 10.0 };
            adopted.data.sensor = FORWARDER_SENSOR.to_string();
            Ok(Some(adopted))
        }
    }
}

/// The sensor name of samples recorded from a data-forwarder board into a project that took its
/// settings from the board.
pub const FORWARDER_SENSOR: &str = "forwarder";
