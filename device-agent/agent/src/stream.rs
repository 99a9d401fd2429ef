//! One running sensor stream: which samples are due, and batching them into `SampleBatch`es.

use mote_wire::{I16Values, MAX_AXES, MAX_BATCH_BYTES, SampleBatch};

/// A batch is sent when full or when its oldest sample is this old, whichever comes first.
pub(crate) const MAX_BATCH_AGE_US: u64 = 50_000;

pub(crate) struct Stream {
    pub sensor: u8,
    pub n_axes: u8,
    pub rate_hz: u32,
    /// Board time of sample 0.
    pub start_us: u64,
    /// Index of the next sample to take.
    pub next_sample: u64,
    /// Batches sent so far; the next batch's `seq`.
    pub batches: u32,
    /// The batch being filled, as little-endian bytes.
    batch: [u8; MAX_BATCH_BYTES],
    batch_samples: usize,
    batch_first_sample: u64,
}

impl Stream {
    pub fn new(sensor: u8, n_axes: u8, rate_hz: u32, start_us: u64) -> Self {
        Self {
            sensor,
            n_axes,
            rate_hz,
            start_us,
            next_sample: 0,
            batches: 0,
            batch: [0; MAX_BATCH_BYTES],
            batch_samples: 0,
            batch_first_sample: 0,
        }
    }

    /// Board time of sample `index`.
    pub fn sample_time_us(&self, index: u64) -> u64 {
        self.start_us + index.saturating_mul(1_000_000) / u64::from(self.rate_hz.max(1))
    }

    /// How many samples are due by `now_us` (sample `i` is due once its time has come).
    pub fn due_samples(&self, now_us: u64) -> u64 {
        let elapsed = now_us.saturating_sub(self.start_us);
        elapsed.saturating_mul(u64::from(self.rate_hz)) / 1_000_000 + 1
    }

    fn capacity_samples(&self) -> usize {
        MAX_BATCH_BYTES / (2 * usize::from(self.n_axes.max(1)))
    }

    pub fn is_full(&self) -> bool {
        self.batch_samples >= self.capacity_samples()
    }

    pub fn is_empty(&self) -> bool {
        self.batch_samples == 0
    }

    /// Whether the batch's oldest sample has waited long enough at `now_us`.
    pub fn is_stale(&self, now_us: u64) -> bool {
        !self.is_empty()
            && now_us.saturating_sub(self.sample_time_us(self.batch_first_sample)) >= MAX_BATCH_AGE_US
    }

    /// Appends one sample (`n_axes` values) as sample `next_sample`.
    pub fn push(&mut self, values: &[i16]) {
        if self.batch_samples == 0 {
            self.batch_first_sample = self.next_sample;
        }
        let width = 2 * usize::from(self.n_axes);
        let start = self.batch_samples * width;
        if let Some(slot) = self.batch.get_mut(start..start + width) {
            for (bytes, value) in slot.chunks_exact_mut(2).zip(values) {
                bytes.copy_from_slice(&value.to_le_bytes());
            }
            self.batch_samples += 1;
        }
        self.next_sample += 1;
    }

    /// The batch as a message; call [`Stream::clear_batch`] once it has been sent.
    pub fn batch_message(&self, stream: u8) -> SampleBatch<'_> {
        let width = 2 * usize::from(self.n_axes);
        let bytes = &self.batch[..self.batch_samples * width];
        SampleBatch {
            stream,
            seq: self.batches,
            first_sample: self.batch_first_sample,
            t0_us: self.sample_time_us(self.batch_first_sample),
            dt_us: 1_000_000.0 / self.rate_hz as f32,
            values: I16Values::from_le_bytes(bytes).unwrap_or(I16Values::empty()),
        }
    }

    pub fn clear_batch(&mut self) {
        self.batch_samples = 0;
        self.batches = self.batches.wrapping_add(1);
    }
}

/// Scratch for one sample of any sensor.
pub(crate) type SampleBuf = [i16; MAX_AXES];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_fall_due_at_the_rate() {
        let stream = Stream::new(0, 3, 100, 1_000);
        assert_eq!(stream.due_samples(1_000), 1);
        assert_eq!(stream.due_samples(10_999), 1);
        assert_eq!(stream.due_samples(11_000), 2);
        assert_eq!(stream.due_samples(1_001_000), 101);
        assert_eq!(stream.due_samples(0), 1, "a clock before the start never underflows");
    }

    #[test]
    fn batches_fill_to_the_frame_limit() {
        let mut stream = Stream::new(0, 6, 1600, 0);
        let mut pushed = 0;
        while !stream.is_full() {
            stream.push(&[1, 2, 3, 4, 5, 6]);
            pushed += 1;
        }
        assert_eq!(pushed, 40);
        let batch = stream.batch_message(3);
        assert_eq!(batch.values.len(), 240);
        assert_eq!(batch.first_sample, 0);
        assert_eq!(batch.dt_us, 625.0);
        stream.clear_batch();
        stream.push(&[7; 6]);
        let batch = stream.batch_message(3);
        assert_eq!((batch.seq, batch.first_sample, batch.t0_us), (1, 40, 25_000));
    }
}
