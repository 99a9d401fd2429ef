#!/usr/bin/env python3
"""Reference MFCCs for tests/audio.rs, computed in float64 with numpy only (no librosa).

It implements the definition documented in mote-dsp (src/mfe.rs, src/mfcc.rs) independently:
pre-emphasis over the whole window, symmetric Hamming frames zero-padded to fft_length,
|X|^2 / fft_length, HTK-mel triangular filters linear in Hz, 10*log10 with a noise floor,
orthonormal DCT-II, sinusoidal lifter.

Run:  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy
      /tmp/venv/bin/python device-agent/dsp/tests/reference/mfcc_reference.py
and paste the printed constants into tests/audio.rs.
"""
import math

import numpy as np

RATE = 16000.0
N_SAMPLES = 1600
FRAME_LENGTH_MS, FRAME_STRIDE_MS = 25.0, 10.0
FFT_LENGTH = 512
N_FILTERS, N_COEFFICIENTS = 26, 13
LOW_HZ, HIGH_HZ = 100.0, 7000.0
NOISE_FLOOR_DB = -80.0
PRE_EMPHASIS = 0.97
LIFTER = 22.0
SCALE = 1.0 / 32768.0


def xorshift32(state):
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state


def test_signal():
    """Two tones plus integer noise in [-500, 500] counts, exactly as tests/audio.rs makes it."""
    state, samples = 0xC0FFEE, []
    for n in range(N_SAMPLES):
        tones = 13000.0 * math.sin(2.0 * math.pi * 440.0 * n / RATE) + 6500.0 * math.sin(
            2.0 * math.pi * 1800.0 * n / RATE
        )
        state = xorshift32(state)
        noise = state % 1001 - 500
        samples.append(int(math.floor(tones + 0.5)) + noise)
    return np.array(samples, dtype=np.int64)


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mfcc(raw):
    x = raw.astype(np.float64) * SCALE
    y = np.concatenate([x[:1], x[1:] - PRE_EMPHASIS * x[:-1]])
    frame = int(round(FRAME_LENGTH_MS * RATE / 1000.0))
    stride = int(round(FRAME_STRIDE_MS * RATE / 1000.0))
    n_frames = 1 + (len(y) - frame) // stride
    window = np.hamming(frame)
    edges = mel_to_hz(np.linspace(hz_to_mel(LOW_HZ), hz_to_mel(HIGH_HZ), N_FILTERS + 2))
    bins = np.arange(FFT_LENGTH // 2 + 1) * RATE / FFT_LENGTH
    bank = np.zeros((N_FILTERS, len(bins)))
    for j in range(N_FILTERS):
        left, center, right = edges[j : j + 3]
        rising = (bins > left) & (bins <= center)
        falling = (bins > center) & (bins < right)
        bank[j, rising] = (bins[rising] - left) / (center - left)
        bank[j, falling] = (right - bins[falling]) / (right - center)
    n = np.arange(N_COEFFICIENTS)[:, None]
    j = np.arange(N_FILTERS)[None, :]
    dct = np.cos(np.pi * n * (2 * j + 1) / (2 * N_FILTERS)) * np.where(
        n == 0, math.sqrt(1.0 / N_FILTERS), math.sqrt(2.0 / N_FILTERS)
    )
    lifter = 1.0 + (LIFTER / 2.0) * np.sin(np.pi * np.arange(N_COEFFICIENTS) / LIFTER)
    rows = []
    for f in range(n_frames):
        segment = y[f * stride : f * stride + frame] * window
        power = np.abs(np.fft.rfft(segment, n=FFT_LENGTH)) ** 2 / FFT_LENGTH
        energies_db = np.maximum(10.0 * np.log10(np.maximum(bank @ power, 1e-30)), NOISE_FLOOR_DB)
        rows.append((dct @ energies_db) * lifter)
    return np.array(rows)


if __name__ == "__main__":
    raw = test_signal()
    coefficients = mfcc(raw)
    print(f"// numpy {np.__version__}; signal checksum (sum of samples, sum of squares)")
    print(f"const SIGNAL_CHECKSUM: (i64, i64) = ({int(raw.sum())}, {int((raw * raw).sum())});")
    print(f"const REFERENCE_MFCC: [[f32; {N_COEFFICIENTS}]; {len(coefficients)}] = [")
    for row in coefficients:
        # Shortest decimal that reads back as the same f32.
        values = (np.format_float_positional(np.float32(v), unique=True, trim="0") for v in row)
        print("    [" + ", ".join(values) + "],")
    print("];")
