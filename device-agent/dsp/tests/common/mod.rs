//! Signal generators shared by the integration tests: deterministic, no external data.
#![allow(dead_code)]

use std::f64::consts::PI;

/// A sine of `amplitude_raw` counts at `freq_hz`, rounded to i16.
pub fn sine(rate_hz: f64, freq_hz: f64, amplitude_raw: f64, n: usize) -> Vec<i16> {
    (0..n).map(|i| (amplitude_raw * (2.0 * PI * freq_hz * i as f64 / rate_hz).sin()).round() as i16).collect()
}

/// Interleaves equally long axes into one window.
pub fn interleave(axes: &[Vec<i16>]) -> Vec<i16> {
    let n = axes[0].len();
    (0..n).flat_map(|i| axes.iter().map(move |axis| axis[i])).collect()
}

/// xorshift32: a seeded, deterministic stream of u32.
pub struct XorShift(pub u32);

impl XorShift {
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// Uniform i16 over the whole range (variance ≈ 32768² / 3).
    pub fn next_i16(&mut self) -> i16 {
        (self.next_u32() >> 16) as u16 as i16
    }

    /// Uniform in [-amplitude, amplitude].
    pub fn next_in(&mut self, amplitude: i32) -> i16 {
        ((self.next_u32() % (2 * amplitude as u32 + 1)) as i32 - amplitude) as i16
    }
}

/// Runs a block with freshly sized buffers and returns its output.
pub fn run(
    block: &impl mote_dsp::FeatureBlock,
    window: &[i16],
    n_axes: usize,
    scales: &[f32],
    rate_hz: f32,
) -> Vec<f32> {
    let window_samples = window.len() / n_axes;
    let out_len = block.output_len(window_samples, n_axes, rate_hz).expect("valid block");
    let scratch_len = block.scratch_len(window_samples, n_axes, rate_hz).expect("valid block");
    let mut out = vec![f32::NAN; out_len];
    let mut scratch = vec![f32::NAN; scratch_len];
    let written = block.compute(window, n_axes, scales, rate_hz, &mut out, &mut scratch).expect("compute");
    assert_eq!(written, out_len);
    assert!(out.iter().all(|v| v.is_finite()), "non-finite feature in {out:?}");
    out
}
