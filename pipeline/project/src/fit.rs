//! One sensor, one set of axes and one rate per project. Samples that do not fit the project's
//! `[data]` are refused, whichever way they come in (an import, a recording, a data-forwarder
//! board); a project with no samples instead takes its `[data]` from the first ones it gets, and
//! — while its impulse is still the one it was created with — an impulse that suits that data.

use std::fmt;

use crate::config::{BlockConfig, ProjectConfig, WindowSection};
use crate::error::ProjectError;
use crate::sample::NewSample;

/// A single axis at this rate or faster is audio (a microphone), not motion.
const AUDIO_RATE_HZ: f64 = 4000.0;

/// Two rates this close (relative) are the same rate; the feature extractor uses the same bound.
const RATE_TOLERANCE: f64 = 1e-3;

/// What a project with no samples took from the samples it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct AdoptedSettings {
    pub sensor: String,
    pub axes: Vec<String>,
    pub rate_hz: f64,
    /// The impulse chosen for this kind of data; `None` when the project's impulse had been
    /// edited already and was kept.
    pub impulse: Option<AdoptedImpulse>,
}

/// The window and blocks chosen for newly adopted data.
#[derive(Debug, Clone, PartialEq)]
pub struct AdoptedImpulse {
    pub window: WindowSection,
    pub dsp: String,
    pub learn: String,
}

impl fmt::Display for AdoptedSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sensor `{}`, axes {}, {} Hz", self.sensor, self.axes.join(", "), self.rate_hz)?;
        if let Some(impulse) = &self.impulse {
            write!(
                f,
                "; impulse: {} ms windows every {} ms, {} features, {} classifier",
                impulse.window.length_ms, impulse.window.stride_ms, impulse.dsp, impulse.learn
            )?;
        }
        Ok(())
    }
}

/// The settings `config` must have to hold `samples` besides what the project holds already.
///
/// With samples in the project, every new sample must have the project's sensor and rate and
/// every axis it trains on; otherwise the error names the first sample that does not fit and
/// why. With none, the new samples must agree among themselves; the result is then the adopted
/// settings (or `None` when the project's already fit).
pub(crate) fn fit_samples(
    config: &ProjectConfig,
    has_samples: bool,
    samples: &[&NewSample],
) -> Result<Option<(ProjectConfig, AdoptedSettings)>, ProjectError> {
    let Some(first) = samples.first() else { return Ok(None) };
    if has_samples {
        for sample in samples {
            if let Some(reason) = misfit(&config.data.sensor, &config.data.axes, config.data.rate_hz, sample)
            {
                return Err(ProjectError::DataMismatch {
                    sample: sample.name.clone(),
                    reason,
                    project: describe(&config.data.sensor, &config.data.axes, config.data.rate_hz),
                });
            }
        }
        return Ok(None);
    }

    let axes: Vec<String> = first.recording.axes.iter().map(|axis| axis.name.clone()).collect();
    for sample in &samples[1..] {
        let differs = misfit(&first.sensor, &axes, first.recording.rate_hz, sample).or_else(|| {
            (sample.recording.axes.len() != axes.len()).then(|| {
                format!("it has {} axes, `{}` has {}", sample.recording.axes.len(), first.name, axes.len())
            })
        });
        if let Some(reason) = differs {
            return Err(ProjectError::MixedData {
                sample: sample.name.clone(),
                reason,
                first: first.name.clone(),
                data: describe(&first.sensor, &axes, first.recording.rate_hz),
            });
        }
    }
    let data = &config.data;
    let same_rate = same_rate(data.rate_hz, first.recording.rate_hz);
    if data.sensor == first.sensor && same_rate && data.axes.iter().all(|axis| axes.contains(axis)) {
        return Ok(None);
    }

    let mut adopted = config.clone();
    adopted.data.sensor = first.sensor.clone();
    adopted.data.rate_hz = first.recording.rate_hz;
    if !(data.sensor == first.sensor && data.axes.iter().all(|axis| axes.contains(axis))) {
        adopted.data.axes = axes;
    }
    let untouched = ProjectConfig::new_default(&config.project.name);
    let impulse_untouched =
        config.window == untouched.window && config.dsp == untouched.dsp && config.learn == untouched.learn;
    let impulse = impulse_untouched.then(|| {
        let shortest_ms = samples
            .iter()
            .map(|sample| sample.recording.n_steps() as f64 * 1000.0 / sample.recording.rate_hz)
            .fold(f64::INFINITY, f64::min);
        let (window, dsp, learn) = impulse_for(&adopted, shortest_ms);
        adopted.window = window;
        adopted.dsp = BlockConfig::new(dsp);
        adopted.learn = BlockConfig::new(learn);
        AdoptedImpulse { window, dsp: dsp.to_string(), learn: learn.to_string() }
    });
    let settings = AdoptedSettings {
        sensor: adopted.data.sensor.clone(),
        axes: adopted.data.axes.clone(),
        rate_hz: adopted.data.rate_hz,
        impulse,
    };
    Ok(Some((adopted, settings)))
}

/// Audio (one axis at 4 kHz or faster): MFCC on 1 s windows every 500 ms, as Edge Impulse
/// starts keyword spotting. Motion: the defaults of a new project (2 s every 1 s, statistics,
/// dense), with the window shortened to the shortest sample when that is shorter.
fn impulse_for(config: &ProjectConfig, shortest_ms: f64) -> (WindowSection, &'static str, &'static str) {
    let audio = config.data.axes.len() == 1 && config.data.rate_hz >= AUDIO_RATE_HZ;
    let (length_ms, dsp, learn) = if audio { (1000, "mfcc", "dense") } else { (2000, "flatten", "dense") };
    let length_ms = if shortest_ms.is_finite() && shortest_ms >= 1.0 {
        length_ms.min(shortest_ms.floor() as u32)
    } else {
        length_ms
    };
    (WindowSection { length_ms, stride_ms: (length_ms / 2).max(1) }, dsp, learn)
}

/// Why `sample` does not fit `sensor`/`axes`/`rate_hz`, if it does not.
fn misfit(sensor: &str, axes: &[String], rate_hz: f64, sample: &NewSample) -> Option<String> {
    let found = &sample.recording;
    if sample.sensor != sensor {
        return Some(format!("it comes from sensor `{}`, not `{sensor}`", sample.sensor));
    }
    if !same_rate(rate_hz, found.rate_hz) {
        return Some(format!("it was recorded at {} Hz, not {rate_hz} Hz", found.rate_hz));
    }
    let missing: Vec<&str> =
        axes.iter().filter(|axis| !found.axes.iter().any(|a| &a.name == *axis)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Some(format!("it has no axis {}", missing.join(", ")));
    }
    None
}

fn same_rate(a: f64, b: f64) -> bool {
    (a - b).abs() <= RATE_TOLERANCE * a.abs().max(1.0)
}

fn describe(sensor: &str, axes: &[String], rate_hz: f64) -> String {
    format!("sensor `{sensor}` at {rate_hz} Hz with axes {}", axes.join(", "))
}
