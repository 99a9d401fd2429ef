//! `DspConfig` as a project stores it: serde round trips, defaults, and shapes.

use mote_dsp::{
    Bands, DspConfig, FeatureBlock, Filter, Flatten, Mfcc, Mfe, OutputShape, Raw, Spectral, Stat, StatSet,
    WindowSpec,
};

fn every_block() -> Vec<DspConfig> {
    vec![
        Raw { scale: 0.5 }.into(),
        Flatten { stats: StatSet::of(&[Stat::Rms, Stat::Mean]) }.into(),
        Spectral::default().into(),
        Spectral {
            fft_length: 64,
            filter: Filter::HighPass { cutoff_hz: 0.5, order: 3 },
            bands: Bands::Equal(8),
            n_peaks: 0,
            peak_threshold: 0.0,
            log_power: true,
        }
        .into(),
        Mfe::default().into(),
        Mfcc { cepstral_lifter: Some(22.0), high_hz: Some(7600.0), ..Mfcc::default() }.into(),
    ]
}

#[test]
fn json_and_toml_round_trip() {
    for config in every_block() {
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.starts_with(&format!("{{\"block\":\"{}\"", config.name())), "{json}");
        assert_eq!(serde_json::from_str::<DspConfig>(&json).unwrap(), config, "{json}");
        let text = toml::to_string(&config).unwrap();
        assert_eq!(toml::from_str::<DspConfig>(&text).unwrap(), config, "{text}");
    }
}

/// The TOML a user writes: a block name, only the parameters that differ from the defaults.
#[test]
fn hand_written_toml() {
    let config: DspConfig = toml::from_str(
        r#"
        block = "spectral"
        fft_length = 64
        filter = { low_pass = { cutoff_hz = 2.5, order = 4 } }
        bands = { edges = [0.5, 1.0, 2.0] }
        "#,
    )
    .unwrap();
    let expected = Spectral {
        fft_length: 64,
        filter: Filter::LowPass { cutoff_hz: 2.5, order: 4 },
        bands: Bands::from_edges(&[0.5, 1.0, 2.0]).unwrap(),
        ..Spectral::default()
    };
    assert_eq!(config, DspConfig::Spectral(expected));

    let flatten: DspConfig = toml::from_str("block = \"flatten\"\nstats = [\"kurtosis\", \"mean\"]").unwrap();
    assert_eq!(flatten, DspConfig::Flatten(Flatten { stats: StatSet::of(&[Stat::Mean, Stat::Kurtosis]) }));
    assert_eq!(toml::from_str::<DspConfig>("block = \"mfcc\"").unwrap(), DspConfig::Mfcc(Mfcc::default()));
    assert!(toml::from_str::<DspConfig>("block = \"wavelet\"").is_err());
    assert!(toml::from_str::<DspConfig>("block = \"flatten\"\nstats = [\"median\"]").is_err());

    let no_filter: DspConfig = toml::from_str("block = \"spectral\"\nfilter = \"none\"").unwrap();
    assert_eq!(no_filter, DspConfig::Spectral(Spectral { filter: Filter::None, ..Spectral::default() }));
    let spec: WindowSpec = toml::from_str("length_ms = 2000.0").unwrap();
    assert_eq!(spec, WindowSpec { length_ms: 2000.0, stride_ms: 500.0 });
}

/// A block's own struct goes through postcard (what a board would read, without an allocator).
#[test]
fn postcard_round_trip_of_block_structs() {
    let spectral = Spectral { bands: Bands::Equal(5), ..Spectral::default() };
    let bytes = postcard::to_stdvec(&spectral).unwrap();
    assert_eq!(postcard::from_bytes::<Spectral>(&bytes).unwrap(), spectral);
    let mfcc = Mfcc { cepstral_lifter: Some(22.0), ..Mfcc::default() };
    let bytes = postcard::to_stdvec(&mfcc).unwrap();
    assert_eq!(postcard::from_bytes::<Mfcc>(&bytes).unwrap(), mfcc);
    let flatten = Flatten::default();
    let bytes = postcard::to_stdvec(&flatten).unwrap();
    assert_eq!(postcard::from_bytes::<Flatten>(&bytes).unwrap(), flatten);
}

#[test]
fn output_shapes() {
    // BasicMotions: 6 axes × 100 samples at 10 Hz.
    let shapes: Vec<OutputShape> =
        every_block()[..4].iter().map(|c| c.output_shape(100, 6, 10.0).unwrap()).collect();
    assert_eq!(
        shapes,
        [
            OutputShape::TimeSeries { steps: 100, channels: 6 },
            OutputShape::Flat { len: 12 },
            OutputShape::Flat { len: 6 * (1 + 6 + 4) },
            OutputShape::Flat { len: 6 * (1 + 8) },
        ]
    );
    assert_eq!(shapes[2].len(), 66);
    // The scratch sizes the crate documentation quotes.
    assert_eq!(DspConfig::from(Spectral::default()).scratch_len(100, 6, 10.0), Ok(393));
    assert_eq!(DspConfig::from(Mfe::default()).scratch_len(16_000, 1, 16_000.0), Ok(1171));
}
