//! Golden tests of the MFE and MFCC blocks: tone placement, silence, shapes, and one case
//! against an independent numpy implementation (tests/reference/mfcc_reference.py).

mod common;

use common::{XorShift, run, sine};
use mote_dsp::{FeatureBlock, Mfcc, Mfe, OutputShape, hz_to_mel, mel_to_hz};

const RATE: f32 = 16_000.0;

/// Filter centres in Hz, computed here in f64.
fn centres_hz(low_hz: f64, high_hz: f64, n_filters: usize) -> Vec<f64> {
    let mel = |hz: f64| 2595.0 * (1.0 + hz / 700.0).log10();
    let hz = |mel: f64| 700.0 * (10f64.powf(mel / 2595.0) - 1.0);
    let (low, high) = (mel(low_hz), mel(high_hz));
    (1..=n_filters).map(|i| hz(low + (high - low) * i as f64 / (n_filters + 1) as f64)).collect()
}

fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

/// A 1 kHz tone's energy peaks, in every frame, in the filter whose centre lies nearest 1 kHz.
#[test]
fn tone_peaks_in_the_right_mel_filter() {
    // (n_filters, low_hz, high_hz)
    for (n_filters, low_hz, high_hz) in
        [(40u16, 0.0, 8000.0), (32, 300.0, 8000.0), (64, 20.0, 4000.0), (13, 500.0, 2000.0)]
    {
        let centres = centres_hz(f64::from(low_hz), f64::from(high_hz), usize::from(n_filters));
        let expected = (0..centres.len())
            .min_by(|a, b| (centres[*a] - 1000.0).abs().total_cmp(&(centres[*b] - 1000.0).abs()))
            .unwrap();
        let mfe = Mfe { n_filters, low_hz, high_hz: Some(high_hz), ..Mfe::default() };
        let window = sine(f64::from(RATE), 1000.0, 16_000.0, 16_000);
        let features = run(&mfe, &window, 1, &[1.0 / 32768.0], RATE);
        for (frame, energies) in features.chunks(usize::from(n_filters)).enumerate() {
            assert_eq!(argmax(energies), expected, "{n_filters} filters, frame {frame}: {energies:?}");
        }
        // MFCC with every coefficient kept is an orthonormal DCT of the same energies: the
        // inverse DCT (in f64 here) gives MFE back, to 1e-3 dB.
        let mfcc = Mfcc {
            n_filters,
            n_coefficients: n_filters,
            low_hz,
            high_hz: Some(high_hz),
            noise_floor_db: mfe.noise_floor_db,
            pre_emphasis: 0.0,
            frame_stride_ms: mfe.frame_stride_ms,
            ..Mfcc::default()
        };
        let cepstra = run(&mfcc, &window, 1, &[1.0 / 32768.0], RATE);
        assert_eq!(cepstra.len(), features.len());
        let f = usize::from(n_filters);
        for (coefficients, energies) in cepstra.chunks(f).zip(features.chunks(f)) {
            for (j, energy) in energies.iter().enumerate() {
                let inverse: f64 = coefficients
                    .iter()
                    .enumerate()
                    .map(|(n, c)| {
                        let scale = if n == 0 { (1.0 / f as f64).sqrt() } else { (2.0 / f as f64).sqrt() };
                        f64::from(*c)
                            * scale
                            * (std::f64::consts::PI * (n * (2 * j + 1)) as f64 / (2 * f) as f64).cos()
                    })
                    .sum();
                assert!((inverse - f64::from(*energy)).abs() < 1e-3, "filter {j}: {inverse} vs {energy}");
            }
        }
    }
}

/// Silence sits exactly on the noise floor (MFE); its cepstrum is `√F · floor` then zeros
/// (MFCC, ±1e-3). Noise at the level of one count stays finite and at or above the floor.
#[test]
fn silence_and_noise_floor() {
    let silence = vec![0i16; 8000];
    let mfe = Mfe::default();
    let features = run(&mfe, &silence, 1, &[1.0 / 32768.0], RATE);
    assert!(features.iter().all(|v| *v == mfe.noise_floor_db), "{features:?}");

    let mfcc = Mfcc::default();
    let cepstra = run(&mfcc, &silence, 1, &[1.0 / 32768.0], RATE);
    let c0 = (f32::from(mfcc.n_filters)).sqrt() * mfcc.noise_floor_db;
    for frame in cepstra.chunks(usize::from(mfcc.n_coefficients)) {
        assert!((frame[0] - c0).abs() < 1e-3 * c0.abs(), "{frame:?}");
        assert!(frame[1..].iter().all(|c| c.abs() < 1e-3), "{frame:?}");
    }

    let mut rng = XorShift(7);
    let whisper: Vec<i16> = (0..8000).map(|_| rng.next_in(1)).collect();
    let features = run(&mfe, &whisper, 1, &[1.0 / 32768.0], RATE);
    assert!(features.iter().all(|v| *v >= mfe.noise_floor_db), "{features:?}");
}

/// Output shapes are `(frames, filters)` / `(frames, coefficients)`, and the documented scratch
/// size for the default MFE block holds.
#[test]
fn shapes_and_scratch() {
    assert_eq!(
        Mfe::default().output_shape(16_000, 1, RATE),
        Ok(OutputShape::TimeSeries { steps: 99, channels: 40 })
    );
    assert_eq!(
        Mfcc::default().output_shape(16_000, 1, RATE),
        Ok(OutputShape::TimeSeries { steps: 50, channels: 13 })
    );
    assert_eq!(
        Mfe::default().output_shape(320, 1, RATE),
        Ok(OutputShape::TimeSeries { steps: 1, channels: 40 })
    );
    assert_eq!(Mfe::default().scratch_len(16_000, 1, RATE), Ok(1171));
    for hz in [0.0f32, 300.0, 1000.0, 8000.0] {
        assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-2, "{hz}");
    }
    assert!((hz_to_mel(1000.0) - 1000.0).abs() < 0.1); // HTK's scale puts 1 kHz at ≈1000 mel
}

// Generated by tests/reference/mfcc_reference.py (numpy 2.4.6, float64, printed as the nearest f32).
const SIGNAL_CHECKSUM: (i64, i64) = (-5943, 168802245459);
#[rustfmt::skip]
const REFERENCE_MFCC: [[f32; 13]; 8] = [
    [-175.69562, -35.325397, 2.0293512, 39.552265, 116.17573, -149.16695, -396.6871, -252.93158, -0.8187358, -205.03358, -266.9156, -15.125755, 248.45241],
    [-172.01906, -31.975527, -7.496312, 13.953696, 92.041985, -125.103676, -409.48434, -251.42657, -6.7968154, -179.36232, -254.71057, 21.669886, 227.33907],
    [-172.76141, -28.79744, 19.605198, 42.777454, 129.225, -97.75347, -367.64276, -238.02454, 3.3647256, -176.30667, -273.01822, -0.4197137, 283.60196],
    [-173.00623, -36.793747, -4.9208484, 29.2512, 111.85962, -152.51779, -391.1919, -243.4419, -48.894226, -142.88693, -269.07483, -9.435844, 246.9747],
    [-170.97124, -34.997044, -0.016579289, 22.308924, 103.43755, -121.872284, -390.85806, -264.54172, -27.563873, -139.27415, -271.80176, 6.6069856, 233.51407],
    [-171.58319, -39.079575, 9.351688, 36.16467, 106.94932, -130.65863, -377.1726, -255.7984, -8.325356, -157.0157, -284.7567, 3.49541, 268.98178],
    [-171.2238, -34.71085, -7.359246, 6.366025, 96.07785, -144.5217, -363.39893, -285.37225, -19.254276, -150.57108, -285.97678, -1.996771, 256.8668],
    [-172.42111, -29.024649, 4.25885, 64.4479, 143.22778, -117.30145, -361.6944, -244.69688, -31.52114, -122.97696, -251.4862, -27.187456, 269.59708],
];

/// One MFCC case against numpy in float64: pre-emphasis 0.97, 25 ms / 10 ms frames, 26 filters
/// from 100 to 7000 Hz, 13 coefficients, lifter 22. Tolerance: 0.005 absolute (coefficients reach
/// ±400 after the lifter's ×12 gain; f32 against f64 differed by at most 5.4e-4 when written).
#[test]
fn mfcc_matches_numpy_reference() {
    let mut rng = XorShift(0xC0FFEE);
    let window: Vec<i16> = (0..1600)
        .map(|n| {
            let t = n as f64 / 16_000.0;
            let tones = 13_000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                + 6500.0 * (2.0 * std::f64::consts::PI * 1800.0 * t).sin();
            let noise = (rng.next_u32() % 1001) as i64 - 500;
            ((tones + 0.5).floor() as i64 + noise) as i16
        })
        .collect();
    let checksum =
        window.iter().fold((0i64, 0i64), |(s, q), v| (s + i64::from(*v), q + i64::from(*v) * i64::from(*v)));
    assert_eq!(checksum, SIGNAL_CHECKSUM, "the test signal differs from the one numpy saw");
    let mfcc = Mfcc {
        frame_length_ms: 25.0,
        frame_stride_ms: 10.0,
        n_filters: 26,
        fft_length: 512,
        low_hz: 100.0,
        high_hz: Some(7000.0),
        noise_floor_db: -80.0,
        pre_emphasis: 0.97,
        n_coefficients: 13,
        cepstral_lifter: Some(22.0),
    };
    let cepstra = run(&mfcc, &window, 1, &[1.0 / 32768.0], RATE);
    assert_eq!(cepstra.len(), 8 * 13);
    let mut worst = 0.0f32;
    for (frame, (got, want)) in cepstra.chunks(13).zip(REFERENCE_MFCC).enumerate() {
        for (n, (g, w)) in got.iter().zip(want).enumerate() {
            worst = worst.max((g - w).abs());
            assert!((g - w).abs() < 0.005, "frame {frame} c{n}: {g} vs numpy {w}");
        }
    }
    eprintln!("largest difference from numpy: {worst}");
}
