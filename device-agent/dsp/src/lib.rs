//! DSP feature blocks (raw, statistics, spectral, MFE, MFCC) shared by host and board.
//!
//! A block turns one window of axis-interleaved `i16` samples (physical value = raw ×
//! `scales[axis]`) into `f32` features written into a caller's buffer. The host runs these blocks
//! to make training features; a board runs the same code on live windows, so both see the same
//! numbers (see *Host and board* below).
//!
//! | block | output | shape |
//! |---|---|---|
//! | [`Raw`] | the window × scale | `(samples, axes)` |
//! | [`Flatten`] | statistics per axis | flat, `axes × stats` |
//! | [`Spectral`] | RMS, peaks, band powers per axis | flat, `axes × (1 + 2·peaks + bands)` |
//! | [`Mfe`] | log mel energies (dB) of one audio axis | `(frames, filters)` |
//! | [`Mfcc`] | cepstral coefficients of one audio axis | `(frames, coefficients)` |
//!
//! Each block's doc states its exact definition and feature order. [`DspConfig`] holds any one
//! of them; [`WindowSpec`] cuts a recorded sample into windows.
//!
//! # Using a block
//!
//! Every block implements [`FeatureBlock`]: `validate`, `output_shape` / `output_len`,
//! `scratch_len`, and `compute(window, n_axes, scales, rate_hz, out, scratch)`. The sizes depend
//! on the input shape (`window_samples` per axis, `n_axes`, `rate_hz` — the rate turns MFE's
//! milliseconds into samples). Bad parameters and short buffers come back as [`DspError`] values;
//! nothing panics.
//!
//! # Memory
//!
//! Nothing allocates. Working memory is a caller-provided `&mut [f32]` of at least
//! `scratch_len()` values (0 for raw and flatten; for a 6-axis, 100-sample window with the default
//! spectral block, 393 values; for 1 s of 16 kHz audio with the default MFE block, 1 171), so a
//! board can put it in a `static` sized for its configuration instead of growing its stack by up
//! to 32 KiB for a 4096-point FFT. Scratch contents on entry do not matter.
//!
//! # Host and board
//!
//! The computation is written so that an x86-64 host and a Cortex-M board produce bit-identical
//! features from the same window and parameters:
//! - everything is `f32`, and every operation is an IEEE-754 basic operation (`+ − × ÷`, `sqrt`),
//!   which SSE2 and the Cortex-M4F FPU (and the soft-float routines on M0/M3) round identically;
//! - loops have a fixed order; rustc neither contracts `a·b + c` into an FMA nor reassociates
//!   float arithmetic, and this crate never calls `mul_add`;
//! - transcendental functions (`cos`, `sin`, `tan`, `log10`, `exp10`, `round`) come from `libm`,
//!   the same Rust code on both sides — never `std`'s `f32::cos` and friends, which call the
//!   host's C library. (Several libm `f32` functions compute in `f64` inside; on a Cortex-M4 that
//!   is soft-float: correct, identical, slow — so window and DCT tables are computed once per
//!   `compute` call, not per frame.)
//! - no `f32::min`/`f32::max` on outputs: LLVM's `minnum` may return either zero when given
//!   `+0.0` and `−0.0`; explicit comparisons decide instead;
//! - the FFT is microfft, whose twiddles are constant tables.
//!
//! Where they could still differ: (1) subnormal numbers, if either side runs with flush-to-zero
//! — the Cortex-M4 resets with `FPSCR.FZ = 0` and x86 with MXCSR FTZ/DAZ off, but start-up code
//! or a native library built with `-ffast-math` can set them; (2) a host build for a 32-bit x86
//! target without SSE2 (x87 extended precision) — not a supported host. The tests compare
//! against `f64` references with stated tolerances; bit-identity itself is checked where the
//! board's runtime exists.
//!
//! # Cargo features
//!
//! - `serde` (default): `Serialize`/`Deserialize` for every block's parameters, snake_case, no
//!   allocator needed; a board can read a block's struct with postcard.
//! - `alloc`: also deserialize [`DspConfig`]'s internally tagged form (`block = "spectral"`).
//! - `std`: `alloc`, plus serde's `std`. Off by default; the library never needs it.
//!
//! The `size-4096` feature of microfft that the workspace enables also compiles the FFT tables
//! for sizes up to 8192 into the binary; a board that wants less flash can depend on microfft
//! with a smaller size feature only if it also keeps `fft_length` small (not wired up yet).
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![warn(missing_docs)]

mod block;
mod config;
mod error;
mod fft;
mod filter;
mod flatten;
mod mel;
mod mfcc;
mod mfe;
mod raw;
mod spectral;
mod window_spec;

pub use block::{FeatureBlock, OutputShape};
pub use config::DspConfig;
#[cfg(feature = "schema")]
pub use config::block_schema;
pub use error::DspError;
pub use fft::{MAX_FFT_LENGTH, MIN_FFT_LENGTH};
pub use filter::{Filter, MAX_FILTER_ORDER};
pub use flatten::{Flatten, Stat, StatSet};
pub use mel::{MAX_FILTERS, hz_to_mel, mel_to_hz};
pub use mfcc::Mfcc;
pub use mfe::Mfe;
pub use raw::Raw;
pub use spectral::{Bands, MAX_BAND_EDGES, MAX_PEAKS, Spectral};
pub use window_spec::{WindowRange, WindowSpec, Windows};

/// The larger of two numbers, the first on a tie (unlike `f32::max`, the same on every target
/// for `+0.0` against `−0.0`).
pub(crate) fn larger(a: f32, b: f32) -> f32 {
    if b > a { b } else { a }
}

/// The smaller of two numbers, the first on a tie.
pub(crate) fn smaller(a: f32, b: f32) -> f32 {
    if b < a { b } else { a }
}
