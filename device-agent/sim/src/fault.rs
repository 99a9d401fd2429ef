//! Fault injection for tests: damaged and lost bytes, stalls, and a pulled cable.
//!
//! Bytes of `SampleBatch` frames are dropped or corrupted with the given probabilities (other
//! frames pass intact, so a handshake still works). Every batch that cannot arrive intact is
//! written to a report — one JSON object a line — *before* its bytes are sent, so a test can
//! compare exactly what the host says it lost with what was lost. A frame is lost when any of
//! its bytes is damaged, and also when the frame before it lost its delimiter (the two run
//! together).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use mote_agent::{Link, LinkError};
use mote_wire::{Decoded, FrameDecoder, Message};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::port::BoardLink;

#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Probability that a byte of a sample frame is corrupted.
    pub corrupt: f64,
    /// Probability that a byte of a sample frame is dropped.
    pub drop: f64,
    /// After this many bytes, stop sending for `stall`.
    pub stall_after_bytes: Option<u64>,
    pub stall: Duration,
    /// After this many bytes, the cable is pulled.
    pub disconnect_after_bytes: Option<u64>,
    pub seed: u64,
}

impl FaultPlan {
    pub fn is_active(&self) -> bool {
        self.corrupt > 0.0
            || self.drop > 0.0
            || self.stall_after_bytes.is_some()
            || self.disconnect_after_bytes.is_some()
    }
}

pub struct FaultyLink<L> {
    inner: L,
    plan: FaultPlan,
    rng: SmallRng,
    report: Option<File>,
    bytes_sent: u64,
    stalled: bool,
    closed: bool,
    /// The last frame's delimiter was damaged: the next frame runs into it.
    next_frame_merged: bool,
}

impl<L: BoardLink> FaultyLink<L> {
    pub fn new(inner: L, plan: FaultPlan, report: Option<&Path>) -> std::io::Result<Self> {
        let report = report.map(File::create).transpose()?;
        let rng = SmallRng::seed_from_u64(plan.seed);
        Ok(Self {
            inner,
            plan,
            rng,
            report,
            bytes_sent: 0,
            stalled: false,
            closed: false,
            next_frame_merged: false,
        })
    }

    pub fn inner(&self) -> &L {
        &self.inner
    }

    fn record_loss(&mut self, frame: &[u8]) {
        let mut decoder = FrameDecoder::<4096>::new();
        let line = match decoder.feed(frame) {
            Decoded::Frame { result: Ok(Message::SampleBatch(batch)), .. } => format!(
                r#"{{"lost":"SampleBatch","stream":{},"seq":{},"first_sample":{},"values":{}}}"#,
                batch.stream,
                batch.seq,
                batch.first_sample,
                batch.values.len()
            ),
            Decoded::Frame { result: Ok(other), .. } => format!(r#"{{"lost":"{}"}}"#, other.name()),
            _ => r#"{"lost":"unknown"}"#.to_string(),
        };
        if let Some(report) = self.report.as_mut() {
            let _ = writeln!(report, "{line}");
            let _ = report.flush();
        }
    }

    fn damage(&mut self, frame: &[u8]) -> (Vec<u8>, bool, bool) {
        let mut out = Vec::with_capacity(frame.len());
        let (mut damaged, mut delimiter_damaged) = (false, false);
        let last = frame.len().saturating_sub(1);
        for (idx, &byte) in frame.iter().enumerate() {
            let roll: f64 = self.rng.random();
            if roll < self.plan.drop {
                damaged = true;
                delimiter_damaged |= idx == last;
            } else if roll < self.plan.drop + self.plan.corrupt {
                out.push(byte ^ self.rng.random_range(1..=255u8));
                damaged = true;
                delimiter_damaged |= idx == last;
            } else {
                out.push(byte);
            }
        }
        (out, damaged, delimiter_damaged)
    }
}

fn is_sample_batch(frame: &[u8]) -> bool {
    let mut decoder = FrameDecoder::<4096>::new();
    matches!(decoder.feed(frame), Decoded::Frame { result: Ok(Message::SampleBatch(_)), .. })
}

impl<L: BoardLink> Link for FaultyLink<L> {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        if self.closed { 0 } else { self.inner.read(buf) }
    }

    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        if self.closed {
            return Err(LinkError);
        }
        let damageable = (self.plan.corrupt > 0.0 || self.plan.drop > 0.0) && is_sample_batch(frame);
        let (bytes, damaged, delimiter_damaged) =
            if damageable { self.damage(frame) } else { (frame.to_vec(), false, false) };
        if damaged || self.next_frame_merged {
            self.record_loss(frame);
        }
        self.next_frame_merged = delimiter_damaged;

        if let Some(limit) = self.plan.disconnect_after_bytes {
            let room = limit.saturating_sub(self.bytes_sent) as usize;
            if bytes.len() >= room {
                let _ = self.inner.write(&bytes[..room]);
                self.bytes_sent = limit;
                self.closed = true;
                return Err(LinkError);
            }
        }
        if let Some(at) = self.plan.stall_after_bytes
            && !self.stalled
            && self.bytes_sent + bytes.len() as u64 >= at
        {
            self.stalled = true;
            std::thread::sleep(self.plan.stall);
        }
        self.bytes_sent += bytes.len() as u64;
        self.inner.write(&bytes)
    }
}

impl<L: BoardLink> BoardLink for FaultyLink<L> {
    fn is_closed(&self) -> bool {
        self.closed || self.inner.is_closed()
    }
}
