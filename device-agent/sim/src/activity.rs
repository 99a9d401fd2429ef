//! Synthetic wrist motion: what a person wearing the virtual board does, as a function of time.
//!
//! Every value is a pure function of (time, seed), so the accelerometer, the gyroscope and the
//! combined IMU stream agree with each other whichever rates they run at, and a run can be
//! repeated exactly. Each repetition of a gesture draws its own amplitude and tempo, and every
//! sample carries sensor noise, so no two windows are the same.

use std::f32::consts::TAU;
use std::fmt;
use std::str::FromStr;

/// Standard gravity, m/s².
pub const G: f32 = 9.806_65;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// Arm at rest: gravity, a slight tilt, sensor noise.
    Idle,
    /// Waving side to side, ~1.7 Hz.
    Wave,
    /// Drawing circles in the air, ~0.8 Hz.
    Circle,
    /// Shaking vigorously, ~6.5 Hz.
    Shake,
}

impl Activity {
    pub const ALL: [Activity; 4] = [Activity::Idle, Activity::Wave, Activity::Circle, Activity::Shake];

    pub fn name(self) -> &'static str {
        match self {
            Activity::Idle => "idle",
            Activity::Wave => "wave",
            Activity::Circle => "circle",
            Activity::Shake => "shake",
        }
    }

    /// Mean length of one repetition, in seconds.
    fn period_s(self) -> f32 {
        match self {
            Activity::Idle => 2.0,
            Activity::Wave => 0.6,
            Activity::Circle => 1.25,
            Activity::Shake => 0.155,
        }
    }
}

impl fmt::Display for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown activity `{0}` (expected one of: idle, wave, circle, shake)")]
pub struct UnknownActivity(pub String);

impl FromStr for Activity {
    type Err = UnknownActivity;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Activity::ALL
            .into_iter()
            .find(|activity| activity.name() == name.trim())
            .ok_or_else(|| UnknownActivity(name.trim().to_string()))
    }
}

/// Accelerometer (m/s², x y z) and gyroscope (°/s, x y z) at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Motion {
    pub accel: [f32; 3],
    pub gyro: [f32; 3],
}

/// One repetition of a gesture: when it starts, how long it lasts, how strong it is.
#[derive(Debug, Clone, Copy)]
struct Repetition {
    start_us: u64,
    length_us: u64,
    amplitude: f32,
    /// Per-repetition posture: a tilt of the wrist, radians.
    tilt: f32,
    /// The previous repetition's amplitude, tilt and angular rate: a repetition eases from
    /// them into its own, so the motion has no jumps at repetition boundaries.
    from: (f32, f32, f32),
}

/// One activity performed from `start_us` on: its repetitions are drawn as time advances.
#[derive(Debug, Clone)]
pub struct Performance {
    pub activity: Activity,
    pub start_us: u64,
    seed: u64,
    repetitions: Vec<Repetition>,
}

impl Performance {
    pub fn new(activity: Activity, start_us: u64, seed: u64) -> Self {
        Self { activity, start_us, seed, repetitions: Vec::new() }
    }

    /// The wrist's motion at board time `t_us` (≥ `start_us`).
    pub fn motion(&mut self, t_us: u64) -> Motion {
        let t_us = t_us.max(self.start_us);
        let mut repetition = self.repetition_at(t_us);
        let phase = (t_us - repetition.start_us) as f32 / repetition.length_us as f32;
        let own_omega = TAU / (repetition.length_us as f32 * 1e-6);
        let ease = phase * phase * (3.0 - 2.0 * phase);
        let (from_amplitude, from_tilt, from_omega) = repetition.from;
        repetition.amplitude = from_amplitude + (repetition.amplitude - from_amplitude) * ease;
        repetition.tilt = from_tilt + (repetition.tilt - from_tilt) * ease;
        let omega = from_omega + (own_omega - from_omega) * ease;
        let mut motion = shape(self.activity, repetition, phase, omega);
        let noise_key = self.seed ^ t_us.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for axis in 0..3 {
            motion.accel[axis] += 0.04 * gaussian(noise_key, axis as u64);
            motion.gyro[axis] += 0.3 * gaussian(noise_key, 3 + axis as u64);
        }
        motion
    }

    fn repetition_at(&mut self, t_us: u64) -> Repetition {
        loop {
            if let Some(found) = self.find(t_us) {
                return found;
            }
            let index = self.repetitions.len() as u64;
            let start_us = self.repetitions.last().map_or(self.start_us, |r| r.start_us + r.length_us);
            let key = self.seed.wrapping_add(index.wrapping_mul(0xa076_1d64_78bd_642f));
            let tempo = 0.85 + 0.3 * uniform(key, 1);
            let length_us = (((self.activity.period_s() * tempo) * 1e6) as u64).max(1);
            let from = match self.repetitions.last() {
                Some(last) => (last.amplitude, last.tilt, TAU / (last.length_us as f32 * 1e-6)),
                None => (0.0, 0.0, 0.0), // replaced below by the repetition's own values
            };
            self.repetitions.push(Repetition {
                start_us,
                length_us,
                from,
                amplitude: 0.8 + 0.4 * uniform(key, 2),
                // A resting arm keeps its posture; a moving one settles differently each time.
                tilt: match self.activity {
                    Activity::Idle => 0.25 * (uniform(self.seed, 3) - 0.5),
                    _ => 0.25 * (uniform(key, 3) - 0.5),
                },
            });
            if index == 0 {
                let first = self.repetitions.last_mut().expect("just pushed");
                first.from = (first.amplitude, first.tilt, TAU / (first.length_us as f32 * 1e-6));
            }
            // Keep memory bounded on long runs: forget repetitions well in the past.
            if self.repetitions.len() > 4096 {
                self.repetitions.drain(..2048);
            }
        }
    }

    fn find(&self, t_us: u64) -> Option<Repetition> {
        let t_us = t_us.max(self.start_us);
        let idx = self.repetitions.partition_point(|r| r.start_us + r.length_us <= t_us);
        let repetition = self.repetitions.get(idx)?;
        (repetition.start_us <= t_us).then_some(*repetition)
    }
}

/// The noiseless waveform of one repetition at `phase` ∈ [0, 1); `omega` in rad/s.
fn shape(activity: Activity, repetition: Repetition, phase: f32, omega: f32) -> Motion {
    let a = repetition.amplitude;
    let angle = TAU * phase;
    let (sin, cos) = angle.sin_cos();
    let gravity =
        |roll: f32, pitch: f32| [G * pitch.sin(), G * roll.sin() * pitch.cos(), G * roll.cos() * pitch.cos()];
    match activity {
        Activity::Idle => {
            let drift = 0.01 * sin;
            let g = gravity(repetition.tilt + drift, 0.5 * repetition.tilt);
            Motion { accel: g, gyro: [0.6 * cos * a, 0.0, 0.0] }
        }
        Activity::Wave => {
            // The forearm rocks about its long axis (x): roll swings ±0.6 rad.
            let roll = repetition.tilt + 0.6 * a * sin;
            let roll_rate = 0.6 * a * omega * cos;
            let g = gravity(roll, 0.2);
            Motion {
                accel: [g[0] + 1.5 * a * (2.0 * angle).sin(), g[1] + 7.0 * a * sin, g[2]],
                gyro: [roll_rate.to_degrees(), 12.0 * a * (2.0 * angle).cos(), 20.0 * a * sin],
            }
        }
        Activity::Circle => {
            // The hand moves on a circle of ~25 cm in the x-y plane: centripetal accel = r ω².
            let radius = 0.25 * a;
            let centripetal = radius * omega * omega;
            let g = gravity(repetition.tilt, 0.15 * sin);
            Motion {
                accel: [g[0] - centripetal * cos, g[1] - centripetal * sin, g[2] + 0.4 * a * sin],
                gyro: [15.0 * a * sin, 15.0 * a * cos, (0.3 * omega).to_degrees()],
            }
        }
        Activity::Shake => {
            let g = gravity(repetition.tilt, 0.0);
            let jolt = sin + 0.3 * (3.0 * angle).sin();
            Motion {
                accel: [g[0] + 3.0 * a * (angle + 1.0).sin(), g[1] + 16.0 * a * jolt, g[2] + 2.0 * a * cos],
                gyro: [40.0 * a * cos, 160.0 * a * cos, 30.0 * a * (2.0 * angle).sin()],
            }
        }
    }
}

/// A uniform value in [0, 1) from a key and a channel (splitmix64).
pub fn uniform(key: u64, channel: u64) -> f32 {
    let mut z =
        key.wrapping_add(channel.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_add(0x6a09_e667_f3bc_c909);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 40) as f32 / (1u64 << 24) as f32
}

/// An approximately standard normal value (sum of four uniforms, rescaled).
pub fn gaussian(key: u64, channel: u64) -> f32 {
    let sum: f32 = (0..4).map(|k| uniform(key, channel * 4 + k)).sum();
    (sum - 2.0) * 1.732
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms_and_peak_frequency(activity: Activity, seed: u64) -> (f32, f32) {
        let mut performance = Performance::new(activity, 0, seed);
        let rate = 200u64;
        let n = 2000;
        let ys: Vec<f32> = (0..n).map(|i| performance.motion(i * 1_000_000 / rate).accel[1]).collect();
        let mean = ys.iter().sum::<f32>() / n as f32;
        let rms = (ys.iter().map(|y| (y - mean).powi(2)).sum::<f32>() / n as f32).sqrt();
        let crossings = ys.windows(2).filter(|w| (w[0] - mean) < 0.0 && (w[1] - mean) >= 0.0).count();
        (rms, crossings as f32 / (n as f32 / rate as f32))
    }

    #[test]
    fn activities_differ_in_energy_and_tempo() {
        let (idle_rms, _) = rms_and_peak_frequency(Activity::Idle, 1);
        let (wave_rms, wave_hz) = rms_and_peak_frequency(Activity::Wave, 1);
        let (shake_rms, shake_hz) = rms_and_peak_frequency(Activity::Shake, 1);
        assert!(idle_rms < 0.3, "idle is quiet: {idle_rms}");
        assert!(wave_rms > 3.0 && shake_rms > 8.0, "{wave_rms} {shake_rms}");
        assert!((1.2..2.3).contains(&wave_hz), "wave at ~1.7 Hz: {wave_hz}");
        assert!((4.5..9.0).contains(&shake_hz), "shake at ~6.5 Hz: {shake_hz}");
    }

    #[test]
    fn motion_is_a_pure_function_of_time_and_seed() {
        let mut first = Performance::new(Activity::Circle, 1_000, 7);
        let mut second = Performance::new(Activity::Circle, 1_000, 7);
        let late = second.motion(9_000_000);
        let _ = first.motion(2_000_000);
        assert_eq!(first.motion(9_000_000), late);
        assert_ne!(Performance::new(Activity::Circle, 1_000, 8).motion(9_000_000), late);
    }

    #[test]
    fn motion_has_no_jumps_at_repetition_boundaries() {
        for activity in Activity::ALL {
            let mut performance = Performance::new(activity, 0, 5);
            let _ = performance.motion(20_000_000);
            let boundaries: Vec<u64> = performance.repetitions.iter().skip(1).map(|r| r.start_us).collect();
            for boundary in boundaries.into_iter().take(10) {
                let before = shape_only(&mut performance, boundary - 1);
                let after = shape_only(&mut performance, boundary);
                for axis in 0..3 {
                    assert!(
                        (before.gyro[axis] - after.gyro[axis]).abs() < 5.0,
                        "{activity} gyro {axis} at {boundary}"
                    );
                    assert!(
                        (before.accel[axis] - after.accel[axis]).abs() < 0.5,
                        "{activity} accel {axis} at {boundary}"
                    );
                }
            }
        }
    }

    /// The motion without sensor noise (noise is independent per sample by design).
    fn shape_only(performance: &mut Performance, t_us: u64) -> Motion {
        let noisy = performance.motion(t_us);
        let key = performance.seed ^ t_us.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut motion = noisy;
        for axis in 0..3 {
            motion.accel[axis] -= 0.04 * gaussian(key, axis as u64);
            motion.gyro[axis] -= 0.3 * gaussian(key, 3 + axis as u64);
        }
        motion
    }

    #[test]
    fn repetitions_vary() {
        let mut performance = Performance::new(Activity::Wave, 0, 3);
        let _ = performance.motion(30_000_000);
        let lengths: Vec<u64> = performance.repetitions.iter().map(|r| r.length_us).collect();
        let (min, max) = (lengths.iter().min().unwrap(), lengths.iter().max().unwrap());
        assert!(*max as f32 / *min as f32 > 1.15, "tempo varies: {min}..{max}");
    }

    #[test]
    fn names_parse_and_unknown_names_are_refused() {
        assert_eq!("wave".parse::<Activity>(), Ok(Activity::Wave));
        assert_eq!(" shake ".parse::<Activity>(), Ok(Activity::Shake));
        assert!("jump".parse::<Activity>().unwrap_err().to_string().contains("jump"));
    }
}
