//! Stream statistics measured from the wire: rate on the host's clock, arrival jitter, and
//! exactly what was lost (sequence and sample-index gaps).

use std::time::Instant;

use serde::Serialize;

use super::board::Batch;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StreamStats {
    pub rate_hz: u32,
    pub n_axes: usize,
    pub batches: u64,
    pub samples: u64,
    /// Batches missing from the sequence numbers (counted from the stream's first batch, and
    /// to its last once [`StreamStats::finish`] has the board's totals).
    pub lost_batches: u64,
    /// Samples missing from the sample indices.
    pub lost_samples: u64,
    /// Samples per second received, on the host's clock (0 until two batches arrived).
    pub measured_rate_hz: f64,
    /// Standard deviation of arrival latency (arrival time vs the board's sample time), ms.
    pub jitter_ms: f64,
    /// Longest wait between two batches, ms.
    pub max_gap_ms: f64,
    /// Host seconds since the first batch.
    pub elapsed_s: f64,
    #[serde(skip)]
    tracker: Tracker,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Tracker {
    next_seq: Option<u32>,
    next_sample: Option<u64>,
    first: Option<(Instant, u64, u64)>, // arrival, samples received before it ended, board time of its last sample
    last_arrival: Option<Instant>,
    latency_n: f64,
    latency_mean: f64,
    latency_m2: f64,
}

impl StreamStats {
    pub fn new(rate_hz: u32, n_axes: usize) -> Self {
        Self {
            rate_hz,
            n_axes,
            batches: 0,
            samples: 0,
            lost_batches: 0,
            lost_samples: 0,
            measured_rate_hz: 0.0,
            jitter_ms: 0.0,
            max_gap_ms: 0.0,
            elapsed_s: 0.0,
            tracker: Tracker { next_seq: Some(0), next_sample: Some(0), ..Tracker::default() },
        }
    }

    /// Accounts for batches lost after the last one received, from the board's totals.
    pub fn finish(&mut self, stopped: &mote_wire::StreamStopped) {
        if let Some(next_seq) = self.tracker.next_seq {
            self.lost_batches += u64::from(stopped.batches.wrapping_sub(next_seq));
        }
        if let Some(next_sample) = self.tracker.next_sample {
            self.lost_samples += stopped.samples.saturating_sub(next_sample);
        }
        self.tracker.next_seq = Some(stopped.batches);
        self.tracker.next_sample = Some(stopped.samples);
    }

    pub fn observe(&mut self, batch: &Batch) {
        let n_samples = (batch.values.len() / self.n_axes.max(1)) as u64;
        let tracker = &mut self.tracker;
        if let Some(expected) = tracker.next_seq {
            self.lost_batches += u64::from(batch.seq.wrapping_sub(expected));
        }
        if let Some(expected) = tracker.next_sample {
            self.lost_samples += batch.first_sample.saturating_sub(expected);
        }
        tracker.next_seq = Some(batch.seq.wrapping_add(1));
        tracker.next_sample = Some(batch.first_sample + n_samples);
        self.batches += 1;
        self.samples += n_samples;

        let last_sample_us =
            batch.t0_us + ((n_samples.saturating_sub(1)) as f64 * f64::from(batch.dt_us)) as u64;
        if let Some(previous) = tracker.last_arrival {
            let gap_ms = batch.arrived.duration_since(previous).as_secs_f64() * 1e3;
            self.max_gap_ms = self.max_gap_ms.max(gap_ms);
        }
        tracker.last_arrival = Some(batch.arrived);
        match tracker.first {
            None => tracker.first = Some((batch.arrived, self.samples, last_sample_us)),
            Some((first_arrival, samples_at_first, first_board_us)) => {
                let host_s = batch.arrived.duration_since(first_arrival).as_secs_f64();
                self.elapsed_s = host_s;
                if host_s > 0.0 {
                    self.measured_rate_hz = (self.samples - samples_at_first) as f64 / host_s;
                }
                // Latency relative to the first batch's: host time minus board time.
                let latency_ms = host_s * 1e3 - (last_sample_us.saturating_sub(first_board_us)) as f64 / 1e3;
                tracker.latency_n += 1.0;
                let delta = latency_ms - tracker.latency_mean;
                tracker.latency_mean += delta / tracker.latency_n;
                tracker.latency_m2 += delta * (latency_ms - tracker.latency_mean);
                if tracker.latency_n > 1.0 {
                    self.jitter_ms = (tracker.latency_m2 / (tracker.latency_n - 1.0)).sqrt();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn batch(seq: u32, first_sample: u64, n: usize, arrived: Instant) -> Batch {
        Batch {
            stream: 0,
            seq,
            first_sample,
            t0_us: first_sample * 10_000,
            dt_us: 10_000.0,
            values: vec![0; n * 3],
            arrived,
        }
    }

    #[test]
    fn counts_gaps_and_measures_rate() {
        let start = Instant::now();
        let mut stats = StreamStats::new(100, 3);
        let at = |ms: u64| start + Duration::from_millis(ms);
        stats.observe(&batch(0, 0, 5, at(40)));
        stats.observe(&batch(1, 5, 5, at(90)));
        stats.observe(&batch(3, 15, 5, at(190)));
        assert_eq!((stats.batches, stats.samples), (3, 15));
        assert_eq!((stats.lost_batches, stats.lost_samples), (1, 5));
        // 10 samples after the first batch, over 150 ms; 5 of them were lost → 66.7/s.
        assert!((stats.measured_rate_hz - 10.0 / 0.15).abs() < 1e-6);
        assert!(stats.jitter_ms < 1e-6, "arrivals exactly on schedule");
        assert!((stats.max_gap_ms - 100.0).abs() < 1e-6);
    }
}
