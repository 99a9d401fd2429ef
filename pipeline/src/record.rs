//! Turning a capture from a board into a project sample — the same rule for the CLI and the
//! app: only a complete capture is stored; anything else says what happened and what was lost.

use mote_project::{Axis, NewSample, Recording, Split};

use crate::link::stream::{Capture, CaptureEnd};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the board disconnected after {samples} samples ({reason}); this recording was not stored")]
    Disconnected { samples: usize, reason: String },
    #[error("the recording was cancelled after {samples} samples and not stored")]
    Cancelled { samples: usize },
    #[error("{lost} samples were lost on the way (line errors); this recording was not stored — try again")]
    Lost { lost: u64 },
}

impl RecordError {
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::Disconnected { .. } => "record.disconnected",
            RecordError::Cancelled { .. } => "record.cancelled",
            RecordError::Lost { .. } => "record.lost",
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
