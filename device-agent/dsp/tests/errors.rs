//! Bad parameters and buffers come back as `DspError` values with messages that name the
//! parameter; nothing panics.

use mote_dsp::{Bands, DspConfig, DspError, FeatureBlock, Filter, Flatten, Mfcc, Mfe, Spectral, StatSet};

/// What a case should produce: the error variant, and a word its message must contain.
fn check(
    config: DspConfig,
    window_samples: usize,
    n_axes: usize,
    rate_hz: f32,
    matches: fn(&DspError) -> bool,
    word: &str,
) {
    let error = config.validate(window_samples, n_axes, rate_hz).expect_err("should be refused");
    assert!(matches(&error), "{config:?}: unexpected {error:?}");
    let message = error.to_string();
    assert!(message.contains(word), "{config:?}: message {message:?} should mention {word:?}");
    // Every entry point refuses it the same way (compared as text: NaN != NaN), and compute does
    // not panic.
    let same =
        |result: Result<usize, DspError>| format!("{result:?}") == format!("{:?}", Err::<usize, _>(error));
    assert!(same(config.output_len(window_samples, n_axes, rate_hz)));
    assert!(same(config.scratch_len(window_samples, n_axes, rate_hz)));
    let window = vec![0i16; window_samples * n_axes];
    let scales = vec![1.0; n_axes];
    let mut out = vec![0.0; 100_000];
    let mut scratch = vec![0.0; 100_000];
    assert!(same(config.compute(&window, n_axes, &scales, rate_hz, &mut out, &mut scratch)));
}

#[test]
fn bad_parameters_are_errors() {
    use DspError as E;
    let spectral = Spectral::default();
    let mfe = Mfe::default();
    let mfcc = Mfcc::default();
    // (config, window_samples, n_axes, rate_hz, expected variant, a word the message contains)
    type Case = (DspConfig, usize, usize, f32, fn(&DspError) -> bool, &'static str);
    let cases: Vec<Case> = vec![
        (
            Spectral { fft_length: 100, ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "fft_length", .. }),
            "power of two",
        ),
        (
            Spectral { fft_length: 8192, ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "fft_length", .. }),
            "4096",
        ),
        (
            Mfe { fft_length: 300, ..mfe }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::OutOfRange { parameter: "fft_length", .. }),
            "fft_length",
        ),
        (
            Mfe { n_filters: 0, ..mfe }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::OutOfRange { parameter: "n_filters", .. }),
            "n_filters",
        ),
        (
            Mfcc { n_filters: 0, ..mfcc }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::OutOfRange { parameter: "n_filters", .. }),
            "1 to 256",
        ),
        (
            Mfcc { n_coefficients: 40, ..mfcc }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::MoreCoefficientsThanFilters { .. }),
            "n_coefficients",
        ),
        (
            Mfcc { n_coefficients: 0, ..mfcc }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::OutOfRange { parameter: "n_coefficients", .. }),
            "n_coefficients",
        ),
        (
            Mfcc { cepstral_lifter: Some(-1.0), ..mfcc }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::OutOfRange { parameter: "cepstral_lifter", .. }),
            "cepstral_lifter",
        ),
        (
            Spectral { filter: Filter::LowPass { cutoff_hz: 6.0, order: 4 }, ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::AboveNyquist { parameter: "filter.cutoff_hz", .. }),
            "Nyquist",
        ),
        (
            Spectral { filter: Filter::HighPass { cutoff_hz: 5.0, order: 4 }, ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::AboveNyquist { .. }),
            "filter.cutoff_hz",
        ),
        (
            Spectral { filter: Filter::LowPass { cutoff_hz: 3.0, order: 9 }, ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "filter.order", .. }),
            "1 to 8",
        ),
        (
            Spectral { bands: Bands::from_edges(&[0.1, 0.5, 6.0]).unwrap(), ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::AboveNyquist { parameter: "bands.edges", .. }),
            "bands.edges",
        ),
        (
            Spectral { bands: Bands::from_edges(&[0.1, 0.5, 0.5]).unwrap(), ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::BandEdgesNotIncreasing { index: 2 }),
            "increasing",
        ),
        (
            Spectral { bands: Bands::from_edges(&[1.0]).unwrap(), ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "bands.edges", .. }),
            "edges",
        ),
        (
            Spectral { bands: Bands::from_edges(&[0.02, 0.05, 1.0]).unwrap(), ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::EmptyBand { .. }),
            "fft_length",
        ),
        (
            Spectral { bands: Bands::Equal(0), ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "bands.equal", .. }),
            "bands.equal",
        ),
        (
            Spectral { bands: Bands::Equal(65), ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "bands.equal", .. }),
            "fft_length / 2",
        ),
        (
            Spectral { n_peaks: 17, ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "n_peaks", .. }),
            "0 to 16",
        ),
        (
            Spectral { peak_threshold: f32::NAN, ..spectral.clone() }.into(),
            100,
            3,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "peak_threshold", .. }),
            "peak_threshold",
        ),
        (
            Mfe::default().into(),
            100,
            1,
            16_000.0,
            |e| matches!(e, E::WindowShorterThanFrame { window_samples: 100, frame_samples: 320 }),
            "frame",
        ),
        (
            Mfe { fft_length: 256, ..mfe }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::FrameLongerThanFft { frame_samples: 320, fft_length: 256 }),
            "fft_length",
        ),
        (
            Mfe { high_hz: Some(9000.0), ..mfe }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::AboveNyquist { parameter: "high_hz", .. }),
            "8000",
        ),
        (
            Mfe { low_hz: 5000.0, high_hz: Some(4000.0), ..mfe }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::OutOfRange { parameter: "high_hz", .. }),
            "low_hz",
        ),
        (
            Mfe { pre_emphasis: 1.5, ..mfe }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::OutOfRange { parameter: "pre_emphasis", .. }),
            "pre_emphasis",
        ),
        (
            Mfe { frame_stride_ms: 0.0, ..mfe }.into(),
            16_000,
            1,
            16_000.0,
            |e| matches!(e, E::OutOfRange { parameter: "frame_stride_ms", .. }),
            "frame_stride_ms",
        ),
        (
            Mfe::default().into(),
            16_000,
            2,
            16_000.0,
            |e| matches!(e, E::AxisCount { block: "mfe", expected: 1, got: 2 }),
            "mfe",
        ),
        (
            Mfcc::default().into(),
            16_000,
            3,
            16_000.0,
            |e| matches!(e, E::AxisCount { block: "mfcc", .. }),
            "mfcc",
        ),
        (Flatten { stats: StatSet::EMPTY }.into(), 100, 3, 10.0, |e| matches!(e, E::NoStatistics), "stats"),
        (
            Flatten::default().into(),
            100,
            0,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "n_axes", .. }),
            "n_axes",
        ),
        (
            Flatten::default().into(),
            0,
            3,
            10.0,
            |e| matches!(e, E::OutOfRange { parameter: "window_samples", .. }),
            "window_samples",
        ),
        (
            Spectral::default().into(),
            100,
            3,
            0.0,
            |e| matches!(e, E::OutOfRange { parameter: "rate_hz", .. }),
            "rate_hz",
        ),
        (
            Mfe::default().into(),
            16_000,
            1,
            f32::INFINITY,
            |e| matches!(e, E::OutOfRange { parameter: "rate_hz", .. }),
            "rate_hz",
        ),
    ];
    for (config, window_samples, n_axes, rate_hz, matches, word) in cases {
        check(config, window_samples, n_axes, rate_hz, matches, word);
    }
}

/// Buffers and window shapes are checked too.
#[test]
fn bad_buffers_are_errors() {
    let window = vec![100i16; 600];
    let spectral = DspConfig::from(Spectral::default());
    let out_len = spectral.output_len(100, 6, 10.0).unwrap();
    let scratch_len = spectral.scratch_len(100, 6, 10.0).unwrap();
    let scales = [1.0; 6];
    let (mut out, mut scratch) = (vec![0.0; out_len], vec![0.0; scratch_len]);
    assert_eq!(spectral.compute(&window, 6, &scales, 10.0, &mut out, &mut scratch), Ok(out_len));
    assert_eq!(
        spectral.compute(&window, 6, &scales, 10.0, &mut out[..out_len - 1], &mut scratch),
        Err(DspError::OutputTooSmall { needed: out_len, got: out_len - 1 })
    );
    assert_eq!(
        spectral.compute(&window, 6, &scales, 10.0, &mut out, &mut scratch[..10]),
        Err(DspError::ScratchTooSmall { needed: scratch_len, got: 10 })
    );
    assert_eq!(
        spectral.compute(&window[..599], 6, &scales, 10.0, &mut out, &mut scratch),
        Err(DspError::WindowLength { len: 599, n_axes: 6 })
    );
    assert_eq!(
        spectral.compute(&window, 6, &scales[..5], 10.0, &mut out, &mut scratch),
        Err(DspError::ScaleCount { expected: 6, got: 5 })
    );
    let message = DspError::OutputTooSmall { needed: 33, got: 3 }.to_string();
    assert!(message.contains("33") && message.contains("output"), "{message}");
}
