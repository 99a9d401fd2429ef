//! The flatten block: summary statistics of each axis over the window.

use crate::block::{FeatureBlock, OutputShape, check_buffers, check_shape, check_window};
use crate::{DspError, larger, smaller};

/// One statistic of an axis. The declaration order is the output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Stat {
    /// Arithmetic mean.
    Mean,
    /// Population standard deviation (divides by N, like `numpy.std`).
    Std,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Root mean square, `sqrt(mean(x²))` (not mean-removed).
    Rms,
    /// Skewness `m3 / m2^1.5` (biased, like `scipy.stats.skew`); 0 for a constant axis.
    Skewness,
    /// Excess kurtosis `m4 / m2² − 3` (Fisher, biased, like `scipy.stats.kurtosis`); 0 for a
    /// constant axis.
    Kurtosis,
}

impl Stat {
    /// Every statistic, in output order.
    pub const ALL: [Stat; 7] =
        [Stat::Mean, Stat::Std, Stat::Min, Stat::Max, Stat::Rms, Stat::Skewness, Stat::Kurtosis];

    /// The statistic's name as spelled in configs.
    pub fn name(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::Std => "std",
            Stat::Min => "min",
            Stat::Max => "max",
            Stat::Rms => "rms",
            Stat::Skewness => "skewness",
            Stat::Kurtosis => "kurtosis",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of statistics. Whatever order they are listed in, they are computed in [`Stat::ALL`]
/// order. Serialized as a list of names, e.g. `["mean", "std", "rms"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct StatSet(u8);

impl StatSet {
    /// No statistic.
    pub const EMPTY: StatSet = StatSet(0);

    /// The set of the given statistics.
    pub fn of(stats: &[Stat]) -> StatSet {
        stats.iter().fold(StatSet::EMPTY, |set, stat| set.with(*stat))
    }

    /// This set plus `stat`.
    pub fn with(self, stat: Stat) -> StatSet {
        StatSet(self.0 | stat.bit())
    }

    /// True if `stat` is in the set.
    pub fn contains(self, stat: Stat) -> bool {
        self.0 & stat.bit() != 0
    }

    /// The number of statistics in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// True if the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The statistics in output order.
    pub fn iter(self) -> impl Iterator<Item = Stat> {
        Stat::ALL.into_iter().filter(move |stat| self.contains(*stat))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for StatSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for stat in self.iter() {
            seq.serialize_element(&stat)?;
        }
        seq.end()
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for StatSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatSetVisitor;
        impl<'de> serde::de::Visitor<'de> for StatSetVisitor {
            type Value = StatSet;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a list of statistics: mean, std, min, max, rms, skewness, kurtosis")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<StatSet, A::Error> {
                let mut set = StatSet::EMPTY;
                while let Some(stat) = seq.next_element::<Stat>()? {
                    set = set.with(stat);
                }
                Ok(set)
            }
        }
        deserializer.deserialize_seq(StatSetVisitor)
    }
}

/// Statistics of each axis.
///
/// Output: flat, axis-major — for each axis in order, the selected statistics in [`Stat::ALL`]
/// order (`mean, std, min, max, rms, skewness, kurtosis`), so `out[axis * stats.len() + j]`.
/// Values are in physical units (raw × axis scale). No scratch: two passes over the window
/// (the mean first, then centred moments, which keeps f32 accurate).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Flatten {
    /// The statistics to compute. Default (as Edge Impulse): mean, std, min, max, rms.
    #[cfg_attr(feature = "schema", schemars(with = "Vec<Stat>", extend("uniqueItems" = true, "minItems" = 1)))]
    pub stats: StatSet,
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten { stats: StatSet::of(&[Stat::Mean, Stat::Std, Stat::Min, Stat::Max, Stat::Rms]) }
    }
}

impl FeatureBlock for Flatten {
    fn validate(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<(), DspError> {
        check_shape(window_samples, n_axes, rate_hz)?;
        if self.stats.is_empty() {
            return Err(DspError::NoStatistics);
        }
        Ok(())
    }

    fn output_shape(
        &self,
        window_samples: usize,
        n_axes: usize,
        rate_hz: f32,
    ) -> Result<OutputShape, DspError> {
        self.validate(window_samples, n_axes, rate_hz)?;
        Ok(OutputShape::Flat { len: n_axes * self.stats.len() })
    }

    fn scratch_len(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<usize, DspError> {
        self.validate(window_samples, n_axes, rate_hz)?;
        Ok(0)
    }

    fn compute(
        &self,
        window: &[i16],
        n_axes: usize,
        scales: &[f32],
        rate_hz: f32,
        out: &mut [f32],
        _scratch: &mut [f32],
    ) -> Result<usize, DspError> {
        let window_samples = check_window(window, n_axes, scales)?;
        let needed = self.output_len(window_samples, n_axes, rate_hz)?;
        check_buffers(out, needed, &[], 0)?;
        let n = window_samples as f32;
        let mut written = 0;
        for (axis, scale) in scales.iter().enumerate() {
            let values = || window.iter().skip(axis).step_by(n_axes).map(|raw| f32::from(*raw) * *scale);
            let (mut sum, mut min, mut max) = (0.0f32, f32::INFINITY, f32::NEG_INFINITY);
            let (mut raw_min, mut raw_max) = (i16::MAX, i16::MIN);
            for (raw, value) in window.iter().skip(axis).step_by(n_axes).zip(values()) {
                sum += value;
                min = smaller(min, value);
                max = larger(max, value);
                raw_min = raw_min.min(*raw);
                raw_max = raw_max.max(*raw);
            }
            let mean = sum / n;
            let (mut m2, mut m3, mut m4, mut sum_squares) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
            for value in values() {
                let d = value - mean;
                let d2 = d * d;
                m2 += d2;
                m3 += d2 * d;
                m4 += d2 * d2;
                sum_squares += value * value;
            }
            let (m2, m3, m4) = (m2 / n, m3 / n, m4 / n);
            // A constant axis has no spread; rounding in the mean must not turn that into noise.
            let constant = raw_min == raw_max || *scale == 0.0;
            for stat in self.stats.iter() {
                out[written] = match stat {
                    Stat::Mean => mean,
                    Stat::Std if constant => 0.0,
                    Stat::Std => libm::sqrtf(m2),
                    Stat::Min => min,
                    Stat::Max => max,
                    Stat::Rms => libm::sqrtf(sum_squares / n),
                    Stat::Skewness if constant || m2 == 0.0 => 0.0,
                    Stat::Skewness => m3 / (m2 * libm::sqrtf(m2)),
                    Stat::Kurtosis if constant || m2 == 0.0 => 0.0,
                    Stat::Kurtosis => m4 / (m2 * m2) - 3.0,
                };
                written += 1;
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_set_keeps_output_order() {
        let set = StatSet::of(&[Stat::Kurtosis, Stat::Mean, Stat::Rms]);
        assert_eq!(set.iter().collect::<Vec<_>>(), [Stat::Mean, Stat::Rms, Stat::Kurtosis]);
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn constant_axis_has_zero_spread() {
        let window = [7i16; 50];
        let mut out = [f32::NAN; 7];
        let all = Flatten { stats: StatSet::of(&Stat::ALL) };
        all.compute(&window, 1, &[0.1], 50.0, &mut out, &mut []).unwrap();
        let c = 7.0f32 * 0.1;
        assert_eq!(out, [out[0], 0.0, c, c, out[4], 0.0, 0.0]);
        assert!((out[0] - c).abs() < 1e-6 && (out[4] - c).abs() < 1e-6, "{out:?}");
    }
}
