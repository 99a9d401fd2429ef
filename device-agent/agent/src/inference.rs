//! Continuous on-board classification: sample the model's axes at the model's rate, keep the
//! last window, and every stride run the DSP block and the int8 network on it.

use heapless::Vec;
use mote_dsp::FeatureBlock;
use mote_runtime::{Model, Scratch};
use mote_wire::{DeviceInfo, ErrorCode, MAX_AXES};

use crate::Refusal;

/// Working memory for inference, lent by the board: the window (`i16`, interleaved axes), the
/// feature vector and DSP scratch (`f32`), the runtime's arena and its kernels' scratch.
pub struct InferenceMemory<'m> {
    pub window: &'m mut [i16],
    pub features: &'m mut [f32],
    pub scratch: &'m mut [f32],
    pub arena: &'m mut [u8],
    /// The packed kernels' working memory, kept between inferences; `None` makes one per window.
    pub kernels: Option<&'m mut Scratch>,
}

/// Where a board keeps its inference memory (static arrays on a board, vectors in the simulator).
pub trait InferenceBuffers {
    fn memory(&mut self) -> InferenceMemory<'_>;
}

/// A board that does not run models.
pub struct NoInference;

/// Boards lend static buffers: `&'static mut ArrayBuffers<…>` works as well as owned ones.
impl<T: InferenceBuffers + ?Sized> InferenceBuffers for &mut T {
    fn memory(&mut self) -> InferenceMemory<'_> {
        (**self).memory()
    }
}

impl InferenceBuffers for NoInference {
    fn memory(&mut self) -> InferenceMemory<'_> {
        InferenceMemory {
            window: &mut [],
            features: &mut [],
            scratch: &mut [],
            arena: &mut [],
            kernels: None,
        }
    }
}

/// Fixed-size inference memory for boards: `W` window values, `F` features, `S` scratch values,
/// `A` arena bytes.
pub struct ArrayBuffers<const W: usize, const F: usize, const S: usize, const A: usize> {
    window: [i16; W],
    features: [f32; F],
    scratch: [f32; S],
    arena: [u8; A],
    kernels: Scratch,
}

impl<const W: usize, const F: usize, const S: usize, const A: usize> ArrayBuffers<W, F, S, A> {
    pub const fn new() -> Self {
        Self { window: [0; W], features: [0.0; F], scratch: [0.0; S], arena: [0; A], kernels: Scratch::new() }
    }
}

impl<const W: usize, const F: usize, const S: usize, const A: usize> Default for ArrayBuffers<W, F, S, A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize, const F: usize, const S: usize, const A: usize> InferenceBuffers
    for ArrayBuffers<W, F, S, A>
{
    fn memory(&mut self) -> InferenceMemory<'_> {
        InferenceMemory {
            window: &mut self.window,
            features: &mut self.features,
            scratch: &mut self.scratch,
            arena: &mut self.arena,
            kernels: Some(&mut self.kernels),
        }
    }
}

/// A running classification.
pub(crate) struct Inference {
    pub slot: u8,
    pub size: u32,
    pub sensor: u8,
    pub rate_hz: u32,
    /// Index of each model axis among the sensor's axes.
    pub axis_map: Vec<u8, MAX_AXES>,
    pub scales: Vec<f32, MAX_AXES>,
    pub window_samples: usize,
    pub stride_samples: usize,
    /// Samples in the window buffer.
    pub filled: usize,
    /// Samples to drop before filling again (when the stride exceeds the window).
    pub skip: usize,
    pub echo_windows: bool,
    pub seq: u32,
    /// Own sampling schedule, used while no stream samples the same sensor.
    pub start_us: u64,
    pub next_sample: u64,
}

impl Inference {
    /// Checks the model against the board and sets up a run.
    pub fn new(
        model: &Model<'_>,
        slot: u8,
        size: u32,
        info: &DeviceInfo<'_>,
        memory: &InferenceMemory<'_>,
        echo_windows: bool,
    ) -> Result<Self, Refusal> {
        if !model.has_classifier() && model.anomaly().is_none() {
            return Err(Refusal::new(
                ErrorCode::MODEL_INVALID,
                "the model neither classifies nor scores anomalies",
            ));
        }
        // The first sensor that has every axis the model reads.
        let (sensor_idx, sensor, axis_map) = info
            .sensors
            .iter()
            .enumerate()
            .find_map(|(idx, sensor)| {
                let mut map: Vec<u8, MAX_AXES> = Vec::new();
                for axis in model.axes() {
                    let pos = sensor.axes.iter().position(|a| a.name == axis)?;
                    map.push(pos as u8).ok()?;
                }
                Some((idx, sensor, map))
            })
            .ok_or(Refusal::new(ErrorCode::UNKNOWN_SENSOR, "no sensor has the axes the model reads"))?;
        let rate = model.rate_hz();
        let rate_hz = libm::roundf(rate) as u32;
        if rate_hz as f32 != rate || !sensor.rates_hz.contains(&rate_hz) {
            return Err(Refusal::new(
                ErrorCode::UNSUPPORTED_RATE,
                "the sensor cannot sample at the model's rate",
            ));
        }
        let n_axes = axis_map.len();
        let window_samples = model.window_samples();
        let dsp = model.dsp();
        let scratch = dsp.scratch_len(window_samples, n_axes, rate).map_err(|_| {
            Refusal::new(ErrorCode::MODEL_INVALID, "the model's DSP block does not fit its window")
        })?;
        let too_large = |what| Err(Refusal::new(ErrorCode::MODEL_TOO_LARGE, what));
        if window_samples.saturating_mul(n_axes) > memory.window.len() {
            return too_large("the model's window is larger than this board's window buffer");
        }
        if model.n_features() > memory.features.len() || scratch > memory.scratch.len() {
            return too_large("the model's DSP block needs more memory than this board has");
        }
        if model.arena_len() > memory.arena.len() {
            return too_large("the model needs a larger arena than this board has");
        }
        let scales = axis_map.iter().map(|&axis| sensor.axes[usize::from(axis)].scale).collect();
        Ok(Self {
            slot,
            size,
            sensor: sensor_idx as u8,
            rate_hz,
            axis_map,
            scales,
            window_samples,
            stride_samples: model.stride_samples(),
            filled: 0,
            skip: 0,
            echo_windows,
            seq: 0,
            start_us: 0,
            next_sample: 0,
        })
    }

    pub fn n_axes(&self) -> usize {
        self.axis_map.len()
    }

    /// Adds one sensor sample (all the sensor's axes); true when a window is ready.
    pub fn push(&mut self, sensor_values: &[i16], window: &mut [i16]) -> bool {
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        let n_axes = self.n_axes();
        let start = self.filled * n_axes;
        if let Some(slot) = window.get_mut(start..start + n_axes) {
            for (value, &axis) in slot.iter_mut().zip(&self.axis_map) {
                *value = sensor_values.get(usize::from(axis)).copied().unwrap_or(0);
            }
            self.filled += 1;
        }
        self.filled >= self.window_samples
    }

    /// After a window was classified: keep its last `window − stride` samples.
    pub fn advance(&mut self, window: &mut [i16]) {
        let n_axes = self.n_axes();
        if self.stride_samples >= self.window_samples {
            self.filled = 0;
            self.skip = self.stride_samples - self.window_samples;
        } else {
            let len = self.window_samples * n_axes;
            window.copy_within(self.stride_samples * n_axes..len, 0);
            self.filled = self.window_samples - self.stride_samples;
        }
        self.seq = self.seq.wrapping_add(1);
    }

    pub fn sample_time_us(&self, index: u64) -> u64 {
        self.start_us + index.saturating_mul(1_000_000) / u64::from(self.rate_hz.max(1))
    }

    pub fn due_samples(&self, now_us: u64) -> u64 {
        now_us.saturating_sub(self.start_us).saturating_mul(u64::from(self.rate_hz)) / 1_000_000 + 1
    }
}
