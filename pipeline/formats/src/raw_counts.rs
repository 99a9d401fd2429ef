//! Physical values as raw `i16` counts with a per-axis power-of-two scale: how samples are stored
//! (not to be confused with `mote-convert`, which quantizes models to int8).
//!
//! For each axis the scale is the smallest power of two `2^k` with `max|x| / 2^k <= 32767`, and
//! `raw = round(x / 2^k)` (half away from zero), so raw values stay in −32767..=32767.
//!
//! * **Error bound**: |x − raw × scale| ≤ scale / 2 < max|x| / 32767 (≈ 3.1e-5 of the axis's largest
//!   magnitude): at least 15 bits of the axis's range are used, since `max|raw| >= 16384` whenever the
//!   axis is not all zero. An all-zero axis gets scale 1.
//! * **Exact round trips**: raw × 2^k is exact in `f64`, and its shortest decimal text parses back to
//!   the same `f64`; quantizing those values again picks the same `k` and the same raw values
//!   (proof in the test below and in mote-project's README.md). So export → re-import gives the
//!   same content hash.
//! * Integer data within ±32767 (e.g. 16-bit PCM) keeps every value exactly.

/// Turns interleaved `values` (`n_axes` per time step). Returns the raw values and one scale per
/// axis, or the index of the first value that is not finite.
pub fn to_raw_counts(values: &[f64], n_axes: usize) -> Result<(Vec<i16>, Vec<f64>), usize> {
    if let Some(index) = values.iter().position(|value| !value.is_finite()) {
        return Err(index);
    }
    let mut scales = vec![1.0; n_axes];
    for (axis, scale) in scales.iter_mut().enumerate() {
        let max_abs = values.iter().skip(axis).step_by(n_axes.max(1)).fold(0.0f64, |max, v| max.max(v.abs()));
        *scale = power_of_two_scale(max_abs);
    }
    let raw = values
        .iter()
        .enumerate()
        .map(|(index, value)| (value / scales[index % n_axes]).round().clamp(-32767.0, 32767.0) as i16)
        .collect();
    Ok((raw, scales))
}

/// The smallest power of two `s` with `max_abs / s <= 32767`; 1 for 0.
pub fn power_of_two_scale(max_abs: f64) -> f64 {
    if max_abs == 0.0 || !max_abs.is_finite() {
        return 1.0;
    }
    // Start from an estimate and correct it; powi of 2 is exact over the whole normal range.
    let mut exponent = (max_abs / 32767.0).log2().ceil() as i32;
    exponent = exponent.clamp(-1000, 1000);
    while exponent > -1000 && max_abs / 2f64.powi(exponent - 1) <= 32767.0 {
        exponent -= 1;
    }
    while max_abs / 2f64.powi(exponent) > 32767.0 {
        exponent += 1;
    }
    2f64.powi(exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_is_the_smallest_fitting_power_of_two() {
        let cases = [
            (0.0, 1.0),
            (32767.0, 1.0),
            (32768.0, 2.0),
            (16383.5, 0.5),
            (1.0, 2f64.powi(-14)),
            (9.81, 2f64.powi(-11)),
            (1e-9, 2f64.powi(-44)),
        ];
        for (max_abs, expected) in cases {
            assert_eq!(power_of_two_scale(max_abs), expected, "max_abs {max_abs}");
        }
    }

    #[test]
    fn error_is_within_the_documented_bound() {
        let values: Vec<f64> =
            (0..1000).map(|i| ((i as f64) * 0.37).sin() * 9.81 + 0.001 * i as f64).collect();
        let (raw, scales) = to_raw_counts(&values, 1).unwrap();
        let max_abs = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for (value, raw) in values.iter().zip(&raw) {
            let error = (value - f64::from(*raw) * scales[0]).abs();
            assert!(error <= scales[0] / 2.0 && error < max_abs / 32767.0, "{value} -> {raw}");
        }
        assert!(raw.iter().map(|r| r.unsigned_abs()).max().unwrap() >= 16384);
    }

    #[test]
    fn requantizing_physical_values_is_the_identity() {
        // Edge values around rounding boundaries and both signs, several magnitudes.
        let mut values = Vec::new();
        for magnitude in [1e-6, 0.3, 1.0, 9.81, 1000.0, 32767.0, 1e7] {
            for i in -60..=60 {
                values.push(magnitude * (i as f64 / 60.0) + (i as f64) * 1e-9 * magnitude);
            }
            values.push(-magnitude * 1.0000001);
            values.push(magnitude * 0.99999);
        }
        for chunk in values.chunks(41) {
            let (raw, scales) = to_raw_counts(chunk, 1).unwrap();
            // Physical values through text, as exports write them.
            let text: Vec<String> = raw.iter().map(|r| format!("{}", f64::from(*r) * scales[0])).collect();
            let parsed: Vec<f64> = text.iter().map(|t| t.parse().unwrap()).collect();
            let (raw_again, scales_again) = to_raw_counts(&parsed, 1).unwrap();
            assert_eq!((raw_again, scales_again), (raw, scales));
        }
    }

    #[test]
    fn integers_keep_their_values_and_non_finite_values_are_refused() {
        let pcm = [0.0, 1.0, -3.0, 32767.0, -32767.0];
        let (raw, scales) = to_raw_counts(&pcm, 1).unwrap();
        assert_eq!((raw, scales), (vec![0, 1, -3, 32767, -32767], vec![1.0]));
        let (raw, scales) = to_raw_counts(&[1.0, 100.0, -2.0, 50.0], 2).unwrap();
        assert_eq!(scales, vec![2f64.powi(-13), 2f64.powi(-8)]);
        assert_eq!(raw, vec![8192, 25600, -16384, 12800]);
        assert_eq!(to_raw_counts(&[1.0, f64::NAN], 1), Err(1));
    }
}
