//! Replaying recorded data as a live stream: a CSV of motion, a WAV for the microphone.
//!
//! The recording loops; board time maps onto recording time through a speed factor (2.0 plays
//! twice as fast), and values between recorded samples are interpolated linearly, so any
//! stream rate can be served from any recording rate.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: the file has no header row")]
    NoHeader { path: PathBuf },
    #[error("{path}, line {line}: expected {expected} fields, found {found}")]
    FieldCount { path: PathBuf, line: usize, expected: usize, found: usize },
    #[error("{path}, line {line}, column `{column}`: `{value}` is not a number")]
    NotNumber { path: PathBuf, line: usize, column: String, value: String },
    #[error("{path}: timestamps must increase (line {line})")]
    TimestampsNotIncreasing { path: PathBuf, line: usize },
    #[error("{path}: no timestamp column; give the sampling rate (--replay-rate)")]
    NoRate { path: PathBuf },
    #[error("{path}: needs at least two rows of samples")]
    TooShort { path: PathBuf },
    #[error("{path}: {source}")]
    Wav { path: PathBuf, source: hound::Error },
    #[error("{path}: expected 16-bit PCM mono, found {bits}-bit {format:?} with {channels} channels")]
    WavFormat { path: PathBuf, bits: u16, format: hound::SampleFormat, channels: u16 },
}

/// A recording of `channels` values per row, with each row's time.
#[derive(Debug, Clone)]
pub struct Recording {
    pub columns: Vec<String>,
    times_us: Vec<u64>,
    values: Vec<f32>,
    /// Recording time of one loop: the last row's time plus one sampling interval.
    loop_us: u64,
}

impl Recording {
    /// Reads a CSV with a header row. A `timestamp` column (ms, as Edge Impulse writes it) gives
    /// the times; without one, `rate_hz` must. Every other column is a channel.
    pub fn from_csv(path: &Path, rate_hz: Option<f64>) -> Result<Self, ReplayError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ReplayError::Io { path: path.into(), source })?;
        Self::parse_csv(&text, path, rate_hz)
    }

    fn parse_csv(text: &str, path: &Path, rate_hz: Option<f64>) -> Result<Self, ReplayError> {
        let mut lines = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty());
        let (_, header) = lines.next().ok_or_else(|| ReplayError::NoHeader { path: path.into() })?;
        let names: Vec<String> = header.split(',').map(|name| name.trim().to_string()).collect();
        let time_column = names.iter().position(|name| name.eq_ignore_ascii_case("timestamp"));
        let columns: Vec<String> = names
            .iter()
            .enumerate()
            .filter(|(idx, _)| Some(*idx) != time_column)
            .map(|(_, n)| n.clone())
            .collect();
        let (mut times_us, mut values) = (Vec::new(), Vec::new());
        for (row, (line_idx, line)) in lines.enumerate() {
            let line_no = line_idx + 1;
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != names.len() {
                return Err(ReplayError::FieldCount {
                    path: path.into(),
                    line: line_no,
                    expected: names.len(),
                    found: fields.len(),
                });
            }
            for (idx, field) in fields.iter().enumerate() {
                let value: f64 = field.parse().map_err(|_| ReplayError::NotNumber {
                    path: path.into(),
                    line: line_no,
                    column: names[idx].clone(),
                    value: field.to_string(),
                })?;
                if Some(idx) == time_column {
                    let t_us = (value * 1000.0).round() as u64;
                    if times_us.last().is_some_and(|last| t_us <= *last) {
                        return Err(ReplayError::TimestampsNotIncreasing {
                            path: path.into(),
                            line: line_no,
                        });
                    }
                    times_us.push(t_us);
                } else {
                    values.push(value as f32);
                }
            }
            if time_column.is_none() {
                let rate = rate_hz.ok_or_else(|| ReplayError::NoRate { path: path.into() })?;
                times_us.push((row as f64 * 1e6 / rate).round() as u64);
            }
        }
        if times_us.len() < 2 {
            return Err(ReplayError::TooShort { path: path.into() });
        }
        let first = times_us[0];
        times_us.iter_mut().for_each(|t| *t -= first);
        let last = *times_us.last().expect("two rows or more");
        let interval = last / (times_us.len() as u64 - 1);
        Ok(Self { columns, times_us, values, loop_us: last + interval.max(1) })
    }

    pub fn channels(&self) -> usize {
        self.columns.len()
    }

    /// The channels' values at recording time `t_us` (looped), interpolated.
    pub fn at(&self, t_us: u64, out: &mut [f32]) {
        let t_us = t_us % self.loop_us;
        let n_rows = self.times_us.len();
        let next = self.times_us.partition_point(|time| *time <= t_us).min(n_rows);
        let prev = next.saturating_sub(1);
        let (t_prev, t_next, next) = if next == n_rows {
            (self.times_us[prev], self.loop_us, 0) // wrap to the first row
        } else {
            (self.times_us[prev], self.times_us[next], next)
        };
        let frac = if t_next > t_prev { (t_us - t_prev) as f32 / (t_next - t_prev) as f32 } else { 0.0 };
        let channels = self.channels();
        for (channel, value) in out.iter_mut().enumerate() {
            *value = if channel < channels {
                let a = self.values[prev * channels + channel];
                let b = self.values[next * channels + channel];
                a + (b - a) * frac
            } else {
                0.0
            };
        }
    }
}

/// 16-bit mono PCM audio.
#[derive(Debug, Clone)]
pub struct Audio {
    pub rate_hz: u32,
    samples: Vec<i16>,
}

impl Audio {
    pub fn from_wav(path: &Path) -> Result<Self, ReplayError> {
        let reader =
            hound::WavReader::open(path).map_err(|source| ReplayError::Wav { path: path.into(), source })?;
        let spec = reader.spec();
        if spec.bits_per_sample != 16 || spec.channels != 1 || spec.sample_format != hound::SampleFormat::Int
        {
            return Err(ReplayError::WavFormat {
                path: path.into(),
                bits: spec.bits_per_sample,
                format: spec.sample_format,
                channels: spec.channels,
            });
        }
        let samples = reader
            .into_samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| ReplayError::Wav { path: path.into(), source })?;
        if samples.len() < 2 {
            return Err(ReplayError::TooShort { path: path.into() });
        }
        Ok(Self { rate_hz: spec.sample_rate, samples })
    }

    /// The sample at recording time `t_us` (looped, nearest earlier sample).
    pub fn at(&self, t_us: u64) -> i16 {
        let idx = (t_us as u128 * u128::from(self.rate_hz) / 1_000_000) as usize;
        self.samples[idx % self.samples.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_and_loops() {
        let csv = "timestamp,x,y\n0,0,10\n10,1,20\n20,2,30\n";
        let recording = Recording::parse_csv(csv, Path::new("r.csv"), None).unwrap();
        let mut out = [0.0; 3];
        recording.at(5_000, &mut out);
        assert_eq!(out, [0.5, 15.0, 0.0]);
        recording.at(30_000 + 10_000, &mut out);
        assert_eq!(out[..2], [1.0, 20.0], "loops every 30 ms");
        recording.at(25_000, &mut out);
        assert_eq!(out[..2], [1.0, 20.0], "between the last row and the first of the next loop");
    }

    #[test]
    fn bad_csvs_name_line_and_column() {
        let cases = [
            ("timestamp,x\n0,1\n10,abc\n", "line 3, column `x`: `abc` is not a number"),
            ("timestamp,x\n0,1\n10\n", "line 3: expected 2 fields, found 1"),
            ("timestamp,x\n0,1\n0,2\n", "timestamps must increase (line 3)"),
            ("x,y\n1,2\n3,4\n", "no timestamp column"),
            ("timestamp,x\n0,1\n", "at least two rows"),
        ];
        for (csv, expected) in cases {
            let error = Recording::parse_csv(csv, Path::new("r.csv"), None).unwrap_err().to_string();
            assert!(error.contains(expected), "{csv:?} → {error}");
        }
        assert!(Recording::parse_csv("x\n1\n2\n", Path::new("r.csv"), Some(50.0)).is_ok());
    }
}
