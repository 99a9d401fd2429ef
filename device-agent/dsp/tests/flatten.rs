//! Golden tests of the flatten and raw blocks against statistics computed here in f64.

mod common;

use common::{XorShift, interleave, run};
use mote_dsp::{Flatten, Raw, Stat, StatSet};

/// Mean, population std, min, max, rms, biased skewness and excess kurtosis, in f64.
fn reference(values: &[f64]) -> [f64; 7] {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let moment = |k: i32| values.iter().map(|v| (v - mean).powi(k)).sum::<f64>() / n;
    let (m2, m3, m4) = (moment(2), moment(3), moment(4));
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let rms = (values.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    let (skew, kurt) = if m2 == 0.0 { (0.0, 0.0) } else { (m3 / m2.powf(1.5), m4 / (m2 * m2) - 3.0) };
    [mean, m2.sqrt(), min, max, rms, skew, kurt]
}

/// Every statistic of several axes with different distributions and scales agrees with the f64
/// reference to 1e-4 relative (1e-4 absolute for the shape statistics, which are unitless).
#[test]
fn statistics_match_f64_reference() {
    let mut rng = XorShift(42);
    // (window_samples, per-axis generator, scale)
    let uniform: Vec<i16> = (0..500).map(|_| rng.next_in(20_000)).collect();
    let skewed: Vec<i16> =
        (0..500).map(|_| (rng.next_in(100).unsigned_abs().pow(2) / 2) as i16 - 1000).collect();
    let offset: Vec<i16> = (0..500).map(|_| 30_000 + rng.next_in(50)).collect();
    let spiky: Vec<i16> = (0..500).map(|i| if i % 50 == 0 { 25_000 } else { rng.next_in(10) }).collect();
    let axes = [uniform, skewed, offset, spiky];
    let scales = [0.000_598_5_f32, 0.01, -0.5, 1.0];
    let window = interleave(&axes);
    let flatten = Flatten { stats: StatSet::of(&Stat::ALL) };
    let features = run(&flatten, &window, axes.len(), &scales, 62.5);
    assert_eq!(features.len(), axes.len() * 7);
    for (axis, (values, scale)) in axes.iter().zip(scales).enumerate() {
        let physical: Vec<f64> = values.iter().map(|v| f64::from(*v) * f64::from(scale)).collect();
        let expected = reference(&physical);
        let magnitude = expected[4].max(1e-12); // rms: the axis's scale of values
        for (stat, (got, want)) in Stat::ALL.iter().zip(features[axis * 7..].iter().zip(expected)) {
            let tolerance = match stat {
                Stat::Skewness | Stat::Kurtosis => 1e-4 * want.abs().max(1.0),
                _ => 1e-4 * magnitude,
            };
            assert!((f64::from(*got) - want).abs() <= tolerance, "axis {axis} {stat:?}: {got} vs {want}");
        }
    }
}

/// A DC signal: mean = the DC value, no spread, skewness and kurtosis 0; a subset of statistics
/// comes out in the fixed order whatever order it was listed in.
#[test]
fn dc_and_subsets() {
    let window = interleave(&[vec![500; 64], vec![-20; 64]]);
    let flatten = Flatten { stats: StatSet::of(&[Stat::Kurtosis, Stat::Mean, Stat::Std]) };
    let features = run(&flatten, &window, 2, &[0.02, 0.5], 100.0);
    assert_eq!(features, [10.0, 0.0, 0.0, -10.0, 0.0, 0.0]);

    let default = run(&Flatten::default(), &window, 2, &[0.02, 0.5], 100.0);
    assert_eq!(default, [10.0, 0.0, 10.0, 10.0, 10.0, -10.0, 0.0, -10.0, -10.0, 10.0]);
}

/// Raw: the window as given, × axis scale × block scale.
#[test]
fn raw_is_the_scaled_window() {
    let window = interleave(&[vec![1, 2, 3], vec![-4, -5, -6]]);
    let features = run(&Raw { scale: 10.0 }, &window, 2, &[0.5, 0.25], 10.0);
    assert_eq!(features, [5.0, -10.0, 10.0, -12.5, 15.0, -15.0]);
}
