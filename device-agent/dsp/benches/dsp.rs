//! Throughput of each block on a standard configuration, with plain `std::time` (no criterion).
//!
//! Motion blocks (raw, flatten, spectral): BasicMotions-shaped windows, 6 axes × 100 samples at
//! 10 Hz. Audio blocks (MFE, MFCC): 1 s of 16 kHz audio. Prints µs per window, windows/s and
//! features/s. `cargo test -p mote-dsp --bench dsp` runs it unoptimised (the dev profile: good
//! for comparing changes, not for absolute numbers); `cargo bench -p mote-dsp` runs it optimised.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mote_dsp::{DspConfig, FeatureBlock, Flatten, Mfcc, Mfe, Raw, Spectral};

fn main() {
    // Deterministic test signals: a sum of sines plus a little integer noise.
    let mut seed = 0x2545_f491u32;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed >> 24) as i16 - 128
    };
    let motion: Vec<i16> = (0..100 * 6)
        .map(|i| {
            let (t, axis) = ((i / 6) as f32 / 10.0, (i % 6) as f32);
            (4000.0 * (2.0 * std::f32::consts::PI * (0.5 + axis * 0.4) * t).sin()) as i16 + noise()
        })
        .collect();
    let audio: Vec<i16> = (0..16_000)
        .map(|i| (8000.0 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16_000.0).sin()) as i16 + noise())
        .collect();

    let cases: [(&str, DspConfig, &[i16], usize, f32); 5] = [
        ("raw      (6 × 100 @ 10 Hz)", Raw::default().into(), &motion, 6, 10.0),
        ("flatten  (6 × 100 @ 10 Hz)", Flatten::default().into(), &motion, 6, 10.0),
        ("spectral (6 × 100 @ 10 Hz)", Spectral::default().into(), &motion, 6, 10.0),
        ("mfe      (1 s @ 16 kHz)", Mfe::default().into(), &audio, 1, 16_000.0),
        ("mfcc     (1 s @ 16 kHz)", Mfcc::default().into(), &audio, 1, 16_000.0),
    ];
    println!(
        "{:<28} {:>9} {:>12} {:>14} {:>12}",
        "block", "features", "µs/window", "windows/s", "features/s"
    );
    for (name, config, window, n_axes, rate_hz) in cases {
        let window_samples = window.len() / n_axes;
        let scales = vec![1.0 / 4096.0; n_axes];
        let out_len = config.output_len(window_samples, n_axes, rate_hz).expect("valid config");
        let mut out = vec![0.0f32; out_len];
        let mut scratch =
            vec![0.0f32; config.scratch_len(window_samples, n_axes, rate_hz).expect("valid config")];
        let mut windows = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(500) || windows < 3 {
            config
                .compute(black_box(window), n_axes, &scales, rate_hz, &mut out, &mut scratch)
                .expect("compute");
            black_box(&out);
            windows += 1;
        }
        let seconds = start.elapsed().as_secs_f64();
        let per_second = windows as f64 / seconds;
        println!(
            "{name:<28} {out_len:>9} {:>12.1} {per_second:>14.0} {:>12.0}",
            1e6 / per_second,
            per_second * out_len as f64
        );
    }
}
