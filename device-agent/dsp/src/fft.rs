//! Real FFTs of power-of-two sizes (microfft), in place in a caller's slice.

use crate::DspError;

/// The smallest `fft_length` a block accepts.
pub const MIN_FFT_LENGTH: usize = 16;
/// The largest `fft_length` a block accepts.
pub const MAX_FFT_LENGTH: usize = 4096;

/// Checks that `fft_length` is a power of two in `MIN_FFT_LENGTH..=MAX_FFT_LENGTH`.
pub(crate) fn check_fft_length(fft_length: u16) -> Result<usize, DspError> {
    let n = usize::from(fft_length);
    if n.is_power_of_two() && (MIN_FFT_LENGTH..=MAX_FFT_LENGTH).contains(&n) {
        Ok(n)
    } else {
        Err(DspError::OutOfRange {
            parameter: "fft_length",
            value: f32::from(fft_length),
            allowed: "a power of two from 16 to 4096",
        })
    }
}

/// Transforms `buf` (length N, a checked `fft_length`) in place and hands the squared magnitudes
/// `|X_k|²` for `k = 0..=N/2` to `sink(k, power)`, in order. `buf` is left holding microfft's
/// packed spectrum (garbage for the caller).
pub(crate) fn power_spectrum_with(buf: &mut [f32], mut sink: impl FnMut(usize, f32)) -> Result<(), DspError> {
    let n = buf.len();
    macro_rules! dispatch {
        ($($len:literal => $rfft:ident),* $(,)?) => {
            match n {
                $($len => match <&mut [f32; $len]>::try_from(&mut *buf) {
                    Ok(array) => &mut microfft::real::$rfft(array)[..],
                    Err(_) => return Err(bad_length(n)),
                },)*
                _ => return Err(bad_length(n)),
            }
        };
    }
    let spectrum = dispatch!(
        16 => rfft_16, 32 => rfft_32, 64 => rfft_64, 128 => rfft_128, 256 => rfft_256,
        512 => rfft_512, 1024 => rfft_1024, 2048 => rfft_2048, 4096 => rfft_4096,
    );
    // microfft packs the (real) Nyquist coefficient into the imaginary part of the DC bin.
    let (dc, nyquist) = (spectrum[0].re, spectrum[0].im);
    sink(0, dc * dc);
    for (k, value) in spectrum.iter().enumerate().skip(1) {
        sink(k, value.re * value.re + value.im * value.im);
    }
    sink(n / 2, nyquist * nyquist);
    Ok(())
}

/// [`power_spectrum_with`] into `power[..N/2 + 1]`.
pub(crate) fn power_spectrum(buf: &mut [f32], power: &mut [f32]) -> Result<(), DspError> {
    let half = buf.len() / 2;
    if power.len() < half + 1 {
        return Err(DspError::ScratchTooSmall { needed: half + 1, got: power.len() });
    }
    power_spectrum_with(buf, |k, p| power[k] = p)
}

fn bad_length(n: usize) -> DspError {
    DspError::OutOfRange {
        parameter: "fft_length",
        value: n as f32,
        allowed: "a power of two from 16 to 4096",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A naive DFT in f64 as the reference; |X_k|² must agree to 1e-4 relative to the largest bin.
    #[test]
    fn power_spectrum_matches_naive_dft() {
        for n in [16usize, 64, 256, 4096] {
            let signal: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0 + if i % 7 == 0 { 0.5 } else { 0.0 })
                .collect();
            let mut buf = signal.clone();
            let mut power = vec![0.0f32; n / 2 + 1];
            power_spectrum(&mut buf, &mut power).unwrap();
            let mut max = 0.0f64;
            let reference: Vec<f64> = (0..=n / 2)
                .map(|k| {
                    let (mut re, mut im) = (0.0f64, 0.0f64);
                    for (i, x) in signal.iter().enumerate() {
                        let angle = -2.0 * core::f64::consts::PI * (k * i % n) as f64 / n as f64;
                        re += f64::from(*x) * angle.cos();
                        im += f64::from(*x) * angle.sin();
                    }
                    let p = re * re + im * im;
                    max = max.max(p);
                    p
                })
                .collect();
            for (k, (got, want)) in power.iter().zip(&reference).enumerate() {
                assert!((f64::from(*got) - want).abs() <= 1e-4 * max, "n={n} k={k}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn fft_lengths_are_checked() {
        for ok in [16u16, 32, 1024, 4096] {
            assert_eq!(check_fft_length(ok), Ok(usize::from(ok)));
        }
        for bad in [0u16, 1, 8, 100, 8192, 65535] {
            assert!(matches!(
                check_fft_length(bad),
                Err(DspError::OutOfRange { parameter: "fft_length", .. })
            ));
        }
        let mut buf = [0.0f32; 100];
        let mut power = [0.0f32; 51];
        assert!(power_spectrum(&mut buf, &mut power).is_err());
    }
}
