//! Turning a capture from a board into a project sample — the same rule for the CLI and the
//! app: only a complete capture is stored; anything else says what happened and what was lost.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mote_project::{Axis, DataSection, NewSample, Project, ProjectError, Recording, Split};

use crate::link::BoardInfo;
use crate::link::forwarder::{
    self, CaptureOptions, CaptureProgress, DetectedStream, DetectionOptions, ForwarderError, ForwarderLink,
};
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
    #[error("the board has no sensor `{sensor}` (it has: {available})")]
    NoSensor { sensor: String, available: String },
    #[error("{sensor} does not sample at {rate_hz} Hz (it offers: {offered})")]
    NoRate { sensor: String, rate_hz: u32, offered: String },
    #[error(
        "this project's {held} samples are {project_sensor} at {project_rate} Hz; a project keeps one sensor and \
         rate (start a new project for {sensor} at {rate_hz} Hz)"
    )]
    SensorFixed { held: usize, project_sensor: String, project_rate: f64, sensor: String, rate_hz: u32 },
    #[error(transparent)]
    Forwarder(#[from] ForwarderError),
    #[error(transparent)]
    Project(#[from] ProjectError),
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
            RecordError::NoSensor { .. } | RecordError::NoRate { .. } => "invalid",
            RecordError::SensorFixed { .. } => "record.sensor_fixed",
            RecordError::Forwarder(error) => error.code(),
            RecordError::Project(error) => error.code(),
        }
    }
}

/// Makes `board`'s `sensor` at `rate_hz` what `project` records (its `[data]` sensor, axes and
/// rate) — only while the project has no samples, since a project keeps one sensor and rate. The
/// same sensor at another rate keeps the axes chosen for training. Nothing changes on an error.
pub async fn choose_sensor(
    project: &mut Project,
    board: &BoardInfo,
    sensor: &str,
    rate_hz: u32,
) -> Result<(), RecordError> {
    let found = board.sensors.iter().find(|s| s.name == sensor).ok_or_else(|| RecordError::NoSensor {
        sensor: sensor.to_string(),
        available: board.sensors.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
    })?;
    if !found.rates_hz.contains(&rate_hz) {
        return Err(RecordError::NoRate {
            sensor: sensor.to_string(),
            rate_hz,
            offered: found.rates_hz.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        });
    }
    let data = &project.config().data;
    if data.sensor == sensor && data.rate_hz == f64::from(rate_hz) {
        return Ok(());
    }
    let held = project.sample_count().await?;
    if held > 0 {
        return Err(RecordError::SensorFixed {
            held,
            project_sensor: data.sensor.clone(),
            project_rate: data.rate_hz,
            sensor: sensor.to_string(),
            rate_hz,
        });
    }
    let mut config = project.config().clone();
    if config.data.sensor != sensor {
        config.data.axes = found.axes.iter().map(|axis| axis.name.clone()).collect();
    }
    config.data.sensor = sensor.to_string();
    config.data.rate_hz = f64::from(rate_hz);
    project.save_config(config)?;
    Ok(())
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
    let (raw, scales) = mote_project::raw_counts::to_raw_counts(&captured.values, n_axes)
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

/// A data-forwarder board being recorded into a project, the same way for `mote record
/// --forwarder` and the app: listen to learn its axes and rate ([`ForwarderRecorder::listen`],
/// blocking), fit the project to it ([`ForwarderRecorder::fit`]: a project with no samples takes
/// the board's axes and rate, otherwise the board must fit), then record samples one at a time.
pub struct ForwarderRecorder {
    link: ForwarderLink,
    detected: DetectedStream,
    data: DataSection,
    port: String,
    adopted: bool,
}

impl ForwarderRecorder {
    /// Opens `port` and listens until the board's axes and rate are known (blocking, about 2 s).
    pub fn listen(port: &str, baud: u32) -> Result<(ForwarderLink, DetectedStream), ForwarderError> {
        let mut link = ForwarderLink::open(port, baud)?;
        let detected = link.detect(&DetectionOptions::default())?;
        Ok((link, detected))
    }

    /// Fits `project` to the board found by [`ForwarderRecorder::listen`], saving what a
    /// project with no samples takes from it.
    pub async fn fit(
        project: &mut Project,
        port: &str,
        link: ForwarderLink,
        detected: DetectedStream,
    ) -> Result<ForwarderRecorder, RecordError> {
        let has_samples = project.sample_count().await? > 0;
        let adopted = match forwarder_settings(project.config(), has_samples, &detected)? {
            Some(settings) => {
                project.save_config(settings)?;
                true
            }
            None => false,
        };
        let data = project.config().data.clone();
        Ok(ForwarderRecorder { link, detected, data, port: port.to_string(), adopted })
    }

    /// The board's stream as detected.
    pub fn detected(&self) -> &DetectedStream {
        &self.detected
    }

    /// The project's `[data]` the samples are recorded as.
    pub fn data(&self) -> &DataSection {
        &self.data
    }

    /// Whether the project took its settings from this board.
    pub fn adopted(&self) -> bool {
        self.adopted
    }

    /// Records one sample of `seconds` (blocking); `cancel` ends it early, and then nothing is
    /// returned to store. The caller stores it (`Project::add_samples`).
    pub fn record(
        &mut self,
        name: String,
        label: &str,
        split: Split,
        seconds: f64,
        cancel: Arc<AtomicBool>,
        mut progress: impl FnMut(&CaptureProgress),
    ) -> Result<NewSample, RecordError> {
        let mut options = CaptureOptions::for_duration(Duration::from_secs_f64(seconds));
        options.cancel = Some(cancel);
        let captured = self.link.capture(&self.detected, &options, |update| {
            progress(update);
            ControlFlow::Continue(())
        })?;
        let target =
            ForwarderTarget { sensor: &self.data.sensor, axes: &self.data.axes, rate_hz: self.data.rate_hz };
        sample_from_forwarder(&captured, name, label, split, &self.port, &target)
    }
}
