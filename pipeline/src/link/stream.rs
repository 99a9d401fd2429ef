//! Capturing a stream for a while: start it, collect its batches in order, stop it, and say
//! exactly what arrived and what did not.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::board::{Batch, Board, Event, WireSnapshot};
use super::error::LinkError;
use super::stats::StreamStats;
use super::types::Sensor;

#[derive(Debug, Clone)]
pub struct CaptureRequest {
    pub sensor: String,
    pub rate_hz: u32,
    pub duration: Duration,
}

/// How a capture ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "end", rename_all = "snake_case")]
pub enum CaptureEnd {
    Completed,
    Cancelled,
    /// The board went away; what arrived before is kept.
    Disconnected {
        reason: String,
    },
}

/// A run of samples that did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub first_sample: u64,
    pub samples: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Capture {
    pub sensor: Sensor,
    pub rate_hz: u32,
    /// Board time of sample 0, µs; sample `i` was taken at `t0_us + i × 10⁶ / rate_hz`.
    pub t0_us: u64,
    /// Samples received, axes interleaved, in order (gaps are listed in `gaps`).
    #[serde(skip)]
    pub values: Vec<i16>,
    /// Sample index of each received sample is implied: indices run from 0 skipping `gaps`.
    pub gaps: Vec<Gap>,
    pub stats: StreamStats,
    pub wire: WireSnapshot,
    /// Samples the board says it took (when its `StreamStopped` arrived).
    pub board_samples: Option<u64>,
    pub end: CaptureEnd,
}

impl Capture {
    pub fn n_samples(&self) -> usize {
        self.values.len() / self.sensor.axes.len().max(1)
    }

    /// Each received sample with its index in the stream (indices skip the `gaps`).
    pub fn indexed_samples(&self) -> impl Iterator<Item = (u64, &[i16])> {
        let mut gaps = self.gaps.iter().peekable();
        let mut sample_idx = 0u64;
        self.values.chunks(self.sensor.axes.len().max(1)).map(move |sample| {
            while let Some(gap) = gaps.next_if(|gap| gap.first_sample == sample_idx) {
                sample_idx += gap.samples;
            }
            sample_idx += 1;
            (sample_idx - 1, sample)
        })
    }
}

/// What a capture's progress callback sees after each batch.
#[derive(Debug, Clone, Copy)]
pub struct CaptureProgress<'a> {
    pub stats: &'a StreamStats,
    /// Stream index of the batch's first sample (a gap before it shows as a jump).
    pub first_sample: u64,
    /// The batch's raw values, axes interleaved.
    pub values: &'a [i16],
}

/// Streams `request.sensor` for `request.duration` (host time) and returns exactly
/// `rate × duration` samples when they all arrived. `progress` is called after every batch;
/// setting `cancel` ends the capture early (keeping what arrived).
pub async fn capture(
    board: &mut Board,
    request: &CaptureRequest,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&CaptureProgress<'_>),
) -> Result<Capture, LinkError> {
    let sensor_idx = board.info().sensor_index(&request.sensor).ok_or_else(|| {
        let names: Vec<&str> = board.info().sensors.iter().map(|s| s.name.as_str()).collect();
        LinkError::Invalid(format!(
            "the board has no sensor `{}` (it has: {})",
            request.sensor,
            names.join(", ")
        ))
    })?;
    let sensor = board.info().sensors[usize::from(sensor_idx)].clone();
    if !sensor.rates_hz.contains(&request.rate_hz) {
        return Err(LinkError::Invalid(format!(
            "{} does not sample at {} Hz (it offers: {:?})",
            sensor.name, request.rate_hz, sensor.rates_hz
        )));
    }
    let n_axes = sensor.axes.len();
    let target = (request.duration.as_secs_f64() * f64::from(request.rate_hz)).round() as u64;
    let wire_before = board.wire();
    // Batches still queued belong to an earlier stream that may have had the same id.
    board.discard_pending();
    let started = board.start_stream(sensor_idx, request.rate_hz).await?;
    let began = Instant::now();
    let mut collected = Collector {
        stats: StreamStats::new(request.rate_hz, n_axes),
        values: Vec::with_capacity(target as usize * n_axes),
        gaps: Vec::new(),
        next_sample: 0,
        n_axes,
    };
    let mut end = CaptureEnd::Completed;

    loop {
        if cancel.load(Ordering::Relaxed) {
            end = CaptureEnd::Cancelled;
            break;
        }
        let enough = collected.next_sample >= target;
        let overdue = began.elapsed() > request.duration + Duration::from_secs(2);
        if (began.elapsed() >= request.duration && enough) || overdue {
            break;
        }
        match board.next_event(Duration::from_millis(100)).await {
            Some(Event::Batch(batch)) if batch.stream == started.stream => {
                collected.take(&batch);
                progress(&CaptureProgress {
                    stats: &collected.stats,
                    first_sample: batch.first_sample,
                    values: &batch.values,
                });
            }
            Some(Event::Closed(reason)) => {
                end = CaptureEnd::Disconnected { reason };
                break;
            }
            _ => {}
        }
    }

    let mut stopped = None;
    if !matches!(end, CaptureEnd::Disconnected { .. }) {
        match board.stop_stream(started.stream).await {
            Ok(reply) => stopped = reply,
            Err(LinkError::Disconnected { reason, .. }) => end = CaptureEnd::Disconnected { reason },
            Err(error) => return Err(error),
        }
        // Batches sent before the board stopped.
        while let Some(event) = board.next_event(Duration::from_millis(20)).await {
            match event {
                Event::Batch(batch) if batch.stream == started.stream => collected.take(&batch),
                Event::Closed(_) => break,
                _ => {}
            }
        }
    }
    if let Some(stopped) = &stopped {
        collected.stats.finish(stopped);
    }
    if end == CaptureEnd::Completed {
        collected.values.truncate(target as usize * n_axes);
    }
    let wire_after = board.wire();
    Ok(Capture {
        sensor,
        rate_hz: request.rate_hz,
        t0_us: started.t0_us,
        values: collected.values,
        gaps: collected.gaps,
        stats: collected.stats,
        wire: WireSnapshot {
            bytes: wire_after.bytes - wire_before.bytes,
            frames: wire_after.frames - wire_before.frames,
            crc_errors: wire_after.crc_errors - wire_before.crc_errors,
            other_frame_errors: wire_after.other_frame_errors - wire_before.other_frame_errors,
        },
        board_samples: stopped.map(|s| s.samples),
        end,
    })
}

/// Batches of one stream, in order, with the gaps between them.
struct Collector {
    stats: StreamStats,
    values: Vec<i16>,
    gaps: Vec<Gap>,
    next_sample: u64,
    n_axes: usize,
}

impl Collector {
    fn take(&mut self, batch: &Batch) {
        self.stats.observe(batch);
        if batch.first_sample > self.next_sample {
            self.gaps
                .push(Gap { first_sample: self.next_sample, samples: batch.first_sample - self.next_sample });
        }
        self.values.extend_from_slice(&batch.values);
        self.next_sample = batch.first_sample + (batch.values.len() / self.n_axes.max(1)) as u64;
    }
}
