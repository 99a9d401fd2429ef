//! Golden tests of the spectral block: band powers, peaks, RMS, DC removal, noise, filtering.

mod common;

use common::{XorShift, interleave, run, sine};
use mote_dsp::{Bands, Filter, Spectral};

fn edges(values: &[f32]) -> Bands {
    Bands::from_edges(values).unwrap()
}

fn block(fft_length: u16, bands: Bands, n_peaks: u8) -> Spectral {
    Spectral { fft_length, filter: Filter::None, bands, n_peaks, peak_threshold: 0.1, log_power: false }
}

/// One axis's features split into (rms, peaks as (hz, height), band powers).
fn split(features: &[f32], n_peaks: usize) -> (f32, Vec<(f32, f32)>, Vec<f32>) {
    let peaks = features[1..1 + 2 * n_peaks].chunks(2).map(|pair| (pair[0], pair[1])).collect();
    (features[0], peaks, features[1 + 2 * n_peaks..].to_vec())
}

/// A sine of amplitude A puts A²/2 into the band that holds it (±2 %), less than 1 % of that
/// elsewhere; the highest peak lies within one bin of the sine and holds at least 45 % of its power;
/// the RMS is A/√2 (±2 %).
#[test]
fn sine_power_lands_in_its_band() {
    // (rate_hz, fft_length, window_samples, freq_hz, bands, band holding the sine)
    let cases = [
        (100.0, 128, 128, 10.0, Bands::Equal(8), 1), // one frame, off-bin
        (100.0, 128, 128, 10.15625, Bands::Equal(8), 1), // exactly on bin 13
        (10.0, 128, 100, 1.5, edges(&[0.1, 0.5, 1.0, 2.0, 5.0]), 2), // BasicMotions-like, zero-padded
        (1000.0, 256, 2000, 123.0, edges(&[0.0, 100.0, 150.0, 500.0]), 1), // Welch, 14 frames
        (50.0, 64, 64, 9.0, Bands::Equal(4), 1),
        (16_000.0, 512, 4000, 2800.0, Bands::Equal(16), 5),
    ];
    let amplitude = 2.0f32; // physical units: 10 000 counts × 0.0002
    for (rate_hz, fft_length, window_samples, freq_hz, bands, band) in cases {
        let spectral = block(fft_length, bands.clone(), 3);
        let window = sine(rate_hz, freq_hz, 10_000.0, window_samples);
        let features = run(&spectral, &window, 1, &[amplitude / 10_000.0], rate_hz as f32);
        let (rms, peaks, powers) = split(&features, 3);
        let expected = amplitude * amplitude / 2.0;
        let context = format!("{freq_hz} Hz at {rate_hz} Hz, fft {fft_length}, {bands:?}: {powers:?}");
        assert!((powers[band] - expected).abs() <= 0.02 * expected, "{context}");
        let elsewhere: f32 = powers.iter().enumerate().filter(|(i, _)| *i != band).map(|(_, p)| p).sum();
        assert!(elsewhere < 0.01 * expected, "{context}");
        let bin_hz = rate_hz as f32 / f32::from(fft_length);
        assert!((peaks[0].0 - freq_hz as f32).abs() <= bin_hz, "peak at {} Hz; {context}", peaks[0].0);
        // Hann: the peak bin holds 2/3 of a sine on a bin, 0.48 of one half-way between bins.
        assert!(peaks[0].1 > 0.45 * expected, "peak height {}; {context}", peaks[0].1);
        assert!((rms - amplitude / 2f32.sqrt()).abs() <= 0.02 * amplitude, "rms {rms}; {context}");
    }
}

/// DC is removed before anything else: a constant axis has no RMS, no peaks and no band power,
/// whatever the filter.
#[test]
fn dc_is_removed() {
    for filter in [
        Filter::None,
        Filter::LowPass { cutoff_hz: 3.0, order: 6 },
        Filter::HighPass { cutoff_hz: 1.0, order: 3 },
    ] {
        let spectral = Spectral { filter, ..Spectral::default() };
        let window = interleave(&[vec![1234; 100], vec![-32768; 100]]);
        let features = run(&spectral, &window, 2, &[0.01, 0.001], 10.0);
        for (axis, axis_features) in features.chunks(spectral.features_per_axis()).enumerate() {
            let (rms, peaks, powers) = split(axis_features, 3);
            assert!(rms < 1e-5, "axis {axis}, {filter:?}: rms {rms}");
            assert!(peaks.iter().all(|p| *p == (0.0, 0.0)), "axis {axis}, {filter:?}: {peaks:?}");
            assert!(powers.iter().all(|p| *p < 1e-10), "axis {axis}, {filter:?}: {powers:?}");
        }
    }
}

/// Uniform white noise (variance 1/3 in physical units) spreads evenly: each of 8 equal bands
/// holds 1/24 ± 15 %, and together they hold 1/3 ± 3 %.
#[test]
fn white_noise_has_flat_band_powers() {
    let mut rng = XorShift(0x1234_5678);
    let window: Vec<i16> = (0..8192).map(|_| rng.next_i16()).collect();
    let spectral = block(256, Bands::Equal(8), 0);
    let features = run(&spectral, &window, 1, &[1.0 / 32768.0], 100.0);
    let (_, _, powers) = split(&features, 0);
    let total: f32 = powers.iter().sum();
    assert!((total - 1.0 / 3.0).abs() < 0.03 / 3.0, "total {total}");
    for (band, power) in powers.iter().enumerate() {
        assert!((power - 1.0 / 24.0).abs() < 0.15 / 24.0, "band {band}: {power} of {powers:?}");
    }
}

/// A 3 Hz low-pass takes 20 Hz down by the Butterworth response (±1 dB): the 18–22 Hz band's
/// power with and without the filter differ by `10·log10(1 / (1 + (tan(π·20/fs)/tan(π·3/fs))^2n))`.
#[test]
fn low_pass_attenuates_the_stop_band() {
    let rate_hz = 100.0;
    let low = sine(rate_hz, 1.0, 8000.0, 2048);
    let high = sine(rate_hz, 20.0, 8000.0, 2048);
    let window: Vec<i16> = low.iter().zip(&high).map(|(a, b)| a / 2 + b / 2).collect();
    let bands = edges(&[0.5, 1.5, 18.0, 22.0]);
    let unfiltered = run(&block(256, bands.clone(), 0), &window, 1, &[0.001], rate_hz as f32);
    for order in [1u8, 2, 3] {
        let spectral =
            Spectral { filter: Filter::LowPass { cutoff_hz: 3.0, order }, ..block(256, bands.clone(), 0) };
        let filtered = run(&spectral, &window, 1, &[0.001], rate_hz as f32);
        let pi = std::f64::consts::PI;
        let ratio = (pi * 20.0 / rate_hz).tan() / (pi * 3.0 / rate_hz).tan();
        let expected_db = -10.0 * (1.0 + ratio.powi(2 * i32::from(order))).log10();
        let measured_db = 10.0 * f64::from(filtered[3] / unfiltered[3]).log10();
        assert!(
            (measured_db - expected_db).abs() <= 1.0,
            "order {order}: {measured_db:.2} dB vs {expected_db:.2} dB"
        );
        // The 1 Hz pass band keeps its power (3 Hz cut-off: −0.0 to −0.5 dB at 1 Hz).
        let pass_db = 10.0 * f64::from(filtered[1] / unfiltered[1]).log10();
        assert!(pass_db.abs() < 0.6, "order {order}: pass band {pass_db:.2} dB");
    }
}

/// Peaks come highest first, as (frequency, height); missing ones are (0, 0); `log_power` turns
/// heights and band powers into dB and leaves the rest alone.
#[test]
fn peaks_are_ordered_and_log_power_is_db() {
    let rate_hz = 10.0;
    let a = sine(rate_hz, 1.5, 5000.0, 100);
    let b = sine(rate_hz, 3.5, 10_000.0, 100);
    let window: Vec<i16> = a.iter().zip(&b).map(|(a, b)| a + b).collect();
    let linear = block(128, Bands::Equal(4), 3);
    let features = run(&linear, &window, 1, &[0.0002], rate_hz as f32);
    let (_, peaks, powers) = split(&features, 3);
    let bin_hz = rate_hz as f32 / 128.0;
    assert!((peaks[0].0 - 3.5).abs() <= bin_hz && (peaks[1].0 - 1.5).abs() <= bin_hz, "{peaks:?}");
    assert!(peaks[0].1 > 3.0 * peaks[1].1, "{peaks:?}");
    assert_eq!(peaks[2], (0.0, 0.0));

    let log = Spectral { log_power: true, ..linear };
    let log_features = run(&log, &window, 1, &[0.0002], rate_hz as f32);
    let (log_rms, log_peaks, log_powers) = split(&log_features, 3);
    assert_eq!(log_rms, features[0]);
    for (linear, db) in powers.iter().zip(&log_powers) {
        assert!((10.0 * linear.max(1e-10).log10() - db).abs() < 1e-3, "{linear} vs {db} dB");
    }
    assert_eq!(log_peaks[0].0, peaks[0].0);
    assert!((10.0 * peaks[0].1.log10() - log_peaks[0].1).abs() < 1e-3);
    assert_eq!(log_peaks[2], (0.0, -100.0));
}

/// Features are axis-major: axis 1's features follow axis 0's, and each axis is computed on its
/// own (swapping axes swaps the feature blocks exactly).
#[test]
fn axes_are_independent_and_in_order() {
    let x = sine(10.0, 1.5, 9000.0, 100);
    let y = sine(10.0, 0.7, 3000.0, 100);
    let spectral = Spectral::default();
    let xy = run(&spectral, &interleave(&[x.clone(), y.clone()]), 2, &[0.01, 0.02], 10.0);
    let yx = run(&spectral, &interleave(&[y, x]), 2, &[0.02, 0.01], 10.0);
    let per_axis = spectral.features_per_axis();
    assert_eq!(per_axis, 1 + 2 * 3 + 4);
    assert_eq!(xy[..per_axis], yx[per_axis..]);
    assert_eq!(xy[per_axis..], yx[..per_axis]);
}
