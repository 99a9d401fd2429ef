//! Butterworth low-/high-pass filters as a cascade of biquads, designed and run in f32.
//!
//! Design: the analogue Butterworth prototype (poles on the unit circle), mapped to digital by the
//! bilinear transform with the cut-off pre-warped, `K = tan(π·fc/fs)`. An even order `n` gives
//! `n/2` biquads with `Q_k = 1 / (2·sin(π(2k−1)/(2n)))`; an odd order adds one first-order section.
//! The magnitude response is exactly `|H(f)|² = 1 / (1 + (tan(π f/fs) / K)^(2n))` (low-pass; the
//! ratio is inverted for high-pass), and −3 dB at the cut-off.
//!
//! Running: transposed direct form II, state starting at zero (a causal, single-pass filter, so a
//! phase shift and a start-up transient; the spectral block removes the mean first, which keeps
//! the transient small).

use core::f32::consts::PI;

use crate::DspError;

/// The highest filter order.
pub const MAX_FILTER_ORDER: u8 = 8;
const MAX_SECTIONS: usize = (MAX_FILTER_ORDER as usize).div_ceil(2);

/// A filter applied to each axis before the FFT.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Filter {
    /// No filter.
    #[default]
    None,
    /// Butterworth low-pass.
    LowPass {
        /// −3 dB frequency, above 0 and below the Nyquist frequency.
        #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
        cutoff_hz: f32,
        /// Order, 1 to 8 (roll-off 6·order dB per octave).
        #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 8)))]
        order: u8,
    },
    /// Butterworth high-pass.
    HighPass {
        /// −3 dB frequency, above 0 and below the Nyquist frequency.
        #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
        cutoff_hz: f32,
        /// Order, 1 to 8.
        #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 8)))]
        order: u8,
    },
}

/// One second-order section `(b0 + b1 z⁻¹ + b2 z⁻²) / (1 + a1 z⁻¹ + a2 z⁻²)` with its state.
#[derive(Debug, Clone, Copy, Default)]
struct Section {
    b0: f32,
    b1: f32,
    b2: f32,
    a1: f32,
    a2: f32,
    s1: f32,
    s2: f32,
}

/// A designed filter: up to four sections, no allocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cascade {
    sections: [Section; MAX_SECTIONS],
    len: usize,
}

impl Filter {
    /// Checks the filter against the sampling rate.
    pub(crate) fn validate(&self, rate_hz: f32) -> Result<(), DspError> {
        match *self {
            Filter::None => Ok(()),
            Filter::LowPass { cutoff_hz, order } | Filter::HighPass { cutoff_hz, order } => {
                if !(1..=MAX_FILTER_ORDER).contains(&order) {
                    return Err(DspError::OutOfRange {
                        parameter: "filter.order",
                        value: f32::from(order),
                        allowed: "1 to 8",
                    });
                }
                if !(cutoff_hz.is_finite() && cutoff_hz > 0.0) {
                    return Err(DspError::OutOfRange {
                        parameter: "filter.cutoff_hz",
                        value: cutoff_hz,
                        allowed: "above 0 Hz and below the Nyquist frequency",
                    });
                }
                let nyquist_hz = rate_hz / 2.0;
                if cutoff_hz >= nyquist_hz {
                    return Err(DspError::AboveNyquist {
                        parameter: "filter.cutoff_hz",
                        value_hz: cutoff_hz,
                        nyquist_hz,
                    });
                }
                Ok(())
            }
        }
    }

    /// Designs the cascade for `rate_hz`; `None` for no filter. Call `validate` first.
    pub(crate) fn design(&self, rate_hz: f32) -> Option<Cascade> {
        let (cutoff_hz, order, high_pass) = match *self {
            Filter::LowPass { cutoff_hz, order } => (cutoff_hz, order, false),
            Filter::HighPass { cutoff_hz, order } => (cutoff_hz, order, true),
            Filter::None => return None,
        };
        let order = usize::from(order.clamp(1, MAX_FILTER_ORDER));
        let k = libm::tanf(PI * cutoff_hz / rate_hz);
        let k2 = k * k;
        let mut cascade = Cascade { sections: [Section::default(); MAX_SECTIONS], len: 0 };
        for pair in 1..=order / 2 {
            let angle = PI * (2 * pair - 1) as f32 / (2 * order) as f32;
            let q = 1.0 / (2.0 * libm::sinf(angle));
            let norm = 1.0 / (1.0 + k / q + k2);
            let (b0, b1, b2) =
                if high_pass { (norm, -2.0 * norm, norm) } else { (k2 * norm, 2.0 * k2 * norm, k2 * norm) };
            cascade.push(Section {
                b0,
                b1,
                b2,
                a1: 2.0 * (k2 - 1.0) * norm,
                a2: (1.0 - k / q + k2) * norm,
                s1: 0.0,
                s2: 0.0,
            });
        }
        if order % 2 == 1 {
            let norm = 1.0 / (1.0 + k);
            let (b0, b1) = if high_pass { (norm, -norm) } else { (k * norm, k * norm) };
            cascade.push(Section { b0, b1, b2: 0.0, a1: (k - 1.0) * norm, a2: 0.0, s1: 0.0, s2: 0.0 });
        }
        Some(cascade)
    }
}

impl Cascade {
    fn push(&mut self, section: Section) {
        if let Some(slot) = self.sections.get_mut(self.len) {
            *slot = section;
            self.len += 1;
        }
    }

    /// Filters `signal` in place, starting from zero state.
    pub(crate) fn run(&mut self, signal: &mut [f32]) {
        for section in &mut self.sections[..self.len] {
            section.s1 = 0.0;
            section.s2 = 0.0;
        }
        for value in signal.iter_mut() {
            let mut x = *value;
            for section in &mut self.sections[..self.len] {
                let y = section.b0 * x + section.s1;
                section.s1 = section.b1 * x - section.a1 * y + section.s2;
                section.s2 = section.b2 * x - section.a2 * y;
                x = y;
            }
            *value = x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steady-state gain in dB of a sine at `freq_hz` through the filter (last half of 20 s).
    fn measured_gain_db(filter: Filter, rate_hz: f32, freq_hz: f32) -> f64 {
        let n = (20.0 * rate_hz) as usize;
        let mut signal: Vec<f32> = (0..n)
            .map(|i| {
                (2.0 * core::f64::consts::PI * f64::from(freq_hz) * i as f64 / f64::from(rate_hz)).sin()
                    as f32
            })
            .collect();
        filter.design(rate_hz).unwrap().run(&mut signal);
        let tail = &signal[n / 2..];
        let mean_square = tail.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / tail.len() as f64;
        10.0 * (mean_square / 0.5).log10()
    }

    /// The exact Butterworth response after the bilinear transform with pre-warping, in dB.
    fn expected_gain_db(filter: Filter, rate_hz: f32, freq_hz: f32) -> f64 {
        let (cutoff, order, high_pass) = match filter {
            Filter::LowPass { cutoff_hz, order } => (cutoff_hz, order, false),
            Filter::HighPass { cutoff_hz, order } => (cutoff_hz, order, true),
            _ => unreachable!(),
        };
        let pi = core::f64::consts::PI;
        let ratio = (pi * f64::from(freq_hz) / f64::from(rate_hz)).tan()
            / (pi * f64::from(cutoff) / f64::from(rate_hz)).tan();
        let ratio = if high_pass { 1.0 / ratio } else { ratio };
        -10.0 * (1.0 + ratio.powi(2 * i32::from(order))).log10()
    }

    #[test]
    fn butterworth_attenuation_matches_theory_within_1_db() {
        // (filter, rate_hz, test frequency, rough expected dB as a sanity anchor)
        let low = |cutoff_hz, order| Filter::LowPass { cutoff_hz, order };
        let high = |cutoff_hz, order| Filter::HighPass { cutoff_hz, order };
        let cases = [
            (low(3.0, 2), 100.0, 20.0, -35.4),
            (low(3.0, 4), 100.0, 20.0, -70.9),
            (low(3.0, 1), 100.0, 20.0, -17.8),
            (low(3.0, 3), 100.0, 20.0, -53.1),
            (low(3.0, 6), 62.5, 6.0, -37.3),
            (low(3.0, 6), 100.0, 3.0, -3.0),
            (low(3.0, 6), 100.0, 1.0, 0.0),
            (high(5.0, 2), 100.0, 0.5, -40.1),
            (high(5.0, 5), 100.0, 2.5, -30.4),
            (high(5.0, 8), 100.0, 30.0, 0.0),
            (low(1000.0, 4), 16_000.0, 4000.0, -56.1),
        ];
        for (filter, rate_hz, freq_hz, anchor_db) in cases {
            filter.validate(rate_hz).unwrap();
            let expected = expected_gain_db(filter, rate_hz, freq_hz);
            let measured = measured_gain_db(filter, rate_hz, freq_hz);
            assert!(
                (expected - anchor_db).abs() < 0.5,
                "{filter:?} at {freq_hz} Hz: theory {expected:.2} dB"
            );
            assert!(
                (measured - expected).abs() <= 1.0,
                "{filter:?} at {freq_hz} Hz, fs {rate_hz}: measured {measured:.2} dB, expected {expected:.2} dB"
            );
        }
    }

    #[test]
    fn bad_filters_are_errors() {
        let cases = [
            (Filter::LowPass { cutoff_hz: 3.0, order: 0 }, 100.0),
            (Filter::LowPass { cutoff_hz: 3.0, order: 9 }, 100.0),
            (Filter::HighPass { cutoff_hz: 0.0, order: 2 }, 100.0),
            (Filter::HighPass { cutoff_hz: f32::NAN, order: 2 }, 100.0),
            (Filter::LowPass { cutoff_hz: 5.0, order: 2 }, 10.0),
            (Filter::LowPass { cutoff_hz: 60.0, order: 2 }, 100.0),
        ];
        for (filter, rate_hz) in cases {
            assert!(filter.validate(rate_hz).is_err(), "{filter:?} at {rate_hz} Hz");
        }
        assert_eq!(
            Filter::LowPass { cutoff_hz: 60.0, order: 2 }.validate(100.0),
            Err(DspError::AboveNyquist { parameter: "filter.cutoff_hz", value_hz: 60.0, nyquist_hz: 50.0 })
        );
    }
}
