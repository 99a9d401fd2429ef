//! The virtual board's sensors: accelerometer, gyroscope, both as one 6-axis IMU, and a
//! microphone, fed by synthetic activities, a replayed recording, or a checkable test pattern.

use std::time::Instant;

use mote_agent::{Clock, Refusal, Sensors};
use mote_wire::{AxisInfo, Capabilities, DeviceInfo, ErrorCode, SensorInfo, SimControl};

use crate::activity::{Activity, G, gaussian};
use crate::replay::{Audio, Recording};
use crate::script::Timeline;

pub const ACCEL: u8 = 0;
pub const GYRO: u8 = 1;
pub const IMU: u8 = 2;
pub const MIC: u8 = 3;

/// m/s² per count: ±16 g full scale.
pub const ACCEL_SCALE: f32 = 16.0 * G / 32768.0;
/// °/s per count: ±2000 °/s full scale.
pub const GYRO_SCALE: f32 = 2000.0 / 32768.0;
/// Full scale per count.
pub const MIC_SCALE: f32 = 1.0 / 32768.0;
/// The microphone's one rate.
pub const MIC_RATE_HZ: u32 = 16_000;

/// Motion rates offered unless the command line says otherwise.
pub const DEFAULT_RATES_HZ: [u32; 11] = [10, 20, 25, 50, 62, 100, 200, 400, 800, 1000, 1600];

/// The board's description as the agent sends it in `DeviceInfo`.
pub fn device_info<'a>(device_id: &'a str, motion_rates_hz: &[u32], protocol_version: u16) -> DeviceInfo<'a> {
    let axis = |name, unit, scale| AxisInfo { name, unit, scale };
    let accel = [
        axis("accX", "m/s2", ACCEL_SCALE),
        axis("accY", "m/s2", ACCEL_SCALE),
        axis("accZ", "m/s2", ACCEL_SCALE),
    ];
    let gyro = [
        axis("gyrX", "deg/s", GYRO_SCALE),
        axis("gyrY", "deg/s", GYRO_SCALE),
        axis("gyrZ", "deg/s", GYRO_SCALE),
    ];
    let rates: heapless::Vec<u32, { mote_wire::MAX_RATES }> =
        motion_rates_hz.iter().copied().take(mote_wire::MAX_RATES).collect();
    let sensor = |name, axes: &[AxisInfo<'a>], rates_hz| SensorInfo {
        name,
        axes: axes.iter().copied().collect(),
        rates_hz,
    };
    let mut sensors = heapless::Vec::new();
    let _ = sensors.push(sensor("accel", &accel, rates.clone()));
    let _ = sensors.push(sensor("gyro", &gyro, rates.clone()));
    let imu: Vec<AxisInfo<'a>> = accel.iter().chain(&gyro).copied().collect();
    let _ = sensors.push(sensor("imu", &imu, rates));
    let _ = sensors.push(sensor(
        "mic",
        &[axis("audio", "fs", MIC_SCALE)],
        heapless::Vec::from_slice(&[MIC_RATE_HZ]).unwrap_or_default(),
    ));
    DeviceInfo {
        protocol_version,
        board: "virtual",
        firmware_version: env!("CARGO_PKG_VERSION"),
        device_id,
        sensors,
        max_frame: 0,
        model_slots: heapless::Vec::new(),
        capabilities: Capabilities(Capabilities::SIM_CONTROL),
    }
}

/// The board's clock: microseconds since the virtual board started, optionally running faster
/// than the wall clock (`--time-scale`, for tests that need many windows quickly).
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    epoch: Instant,
    scale: f64,
}

impl SimClock {
    pub fn start() -> Self {
        Self::scaled(1.0)
    }

    /// A clock whose board time runs `scale` times faster than the wall clock.
    pub fn scaled(scale: f64) -> Self {
        Self { epoch: Instant::now(), scale }
    }

    pub fn now_us(&self) -> u64 {
        let elapsed = self.epoch.elapsed().as_micros() as u64;
        if self.scale == 1.0 { elapsed } else { (elapsed as f64 * self.scale) as u64 }
    }
}

impl Clock for SimClock {
    fn now_us(&mut self) -> u64 {
        SimClock::now_us(self)
    }
}

/// Where the motion comes from.
pub enum MotionSource {
    /// A person performing scripted (or app-selected) activities.
    Synthetic(Timeline),
    /// A recording played back, `speed` times real time.
    Replay { recording: Recording, speed: f64 },
    /// Values that are a known function of time, so a receiver can check every one
    /// ([`ramp_value`]).
    Ramp,
}

/// The test pattern: the value of `axis` of `sensor` at board time `t_us`.
pub fn ramp_value(sensor: u8, axis: usize, t_us: u64) -> i16 {
    let mixed = t_us.wrapping_mul(0x9e37_79b9).rotate_right(13) ^ (u64::from(sensor) << 8) ^ axis as u64;
    mixed as i16
}

pub struct VirtualSensors {
    pub motion: MotionSource,
    pub audio: Option<(Audio, f64)>,
    clock: SimClock,
    seed: u64,
}

impl VirtualSensors {
    pub fn new(motion: MotionSource, audio: Option<(Audio, f64)>, clock: SimClock, seed: u64) -> Self {
        Self { motion, audio, clock, seed }
    }

    /// What the wearer does now (synthetic motion only).
    pub fn current_activity(&mut self) -> Option<Activity> {
        let now = self.clock.now_us();
        match &mut self.motion {
            MotionSource::Synthetic(timeline) => Some(timeline.activity_at(now)),
            _ => None,
        }
    }

    fn motion_at(&mut self, t_us: u64) -> ([f32; 3], [f32; 3]) {
        match &mut self.motion {
            MotionSource::Synthetic(timeline) => {
                let motion = timeline.performance_at(t_us).motion(t_us);
                (motion.accel, motion.gyro)
            }
            MotionSource::Replay { recording, speed } => {
                let mut values = [0.0f32; 6];
                recording.at((t_us as f64 * *speed) as u64, &mut values);
                ([values[0], values[1], values[2]], [values[3], values[4], values[5]])
            }
            MotionSource::Ramp => ([0.0; 3], [0.0; 3]),
        }
    }

    fn audio_at(&mut self, t_us: u64) -> i16 {
        if let Some((audio, speed)) = &self.audio {
            return audio.at((t_us as f64 * speed) as u64);
        }
        let loudness = match &mut self.motion {
            MotionSource::Synthetic(timeline) => match timeline.activity_at(t_us) {
                Activity::Idle => 0.003,
                Activity::Circle => 0.01,
                Activity::Wave => 0.02,
                Activity::Shake => 0.06,
            },
            _ => 0.003,
        };
        let hum = 0.002 * (std::f32::consts::TAU * 50.0 * t_us as f32 * 1e-6).sin();
        quantize(loudness * gaussian(self.seed ^ t_us, 99) + hum, MIC_SCALE)
    }
}

fn quantize(value: f32, scale: f32) -> i16 {
    (value / scale).round().clamp(i16::MIN as f32, i16::MAX as f32) as i16
}

impl Sensors for VirtualSensors {
    fn sample(&mut self, sensor: u8, t_us: u64, out: &mut [i16]) {
        if matches!(self.motion, MotionSource::Ramp) {
            for (axis, value) in out.iter_mut().enumerate() {
                *value = ramp_value(sensor, axis, t_us);
            }
            return;
        }
        if sensor == MIC {
            if let Some(value) = out.first_mut() {
                *value = self.audio_at(t_us);
            }
            return;
        }
        let (accel, gyro) = self.motion_at(t_us);
        let mut all = [0i16; 6];
        for axis in 0..3 {
            all[axis] = quantize(accel[axis], ACCEL_SCALE);
            all[3 + axis] = quantize(gyro[axis], GYRO_SCALE);
        }
        let values = match sensor {
            ACCEL => &all[..3],
            GYRO => &all[3..],
            _ => &all[..],
        };
        for (slot, value) in out.iter_mut().zip(values) {
            *slot = *value;
        }
    }

    fn sim_control(&mut self, command: &SimControl<'_>) -> Result<(), Refusal> {
        match command {
            SimControl::SetActivity { name } => {
                let activity: Activity = name.parse().map_err(|_| {
                    Refusal::new(ErrorCode::UNKNOWN_ACTIVITY, "unknown activity (idle, wave, circle, shake)")
                })?;
                let now = self.clock.now_us();
                match &mut self.motion {
                    MotionSource::Synthetic(timeline) => {
                        timeline.switch(activity, now);
                        Ok(())
                    }
                    _ => Err(Refusal::new(ErrorCode::UNSUPPORTED, "the board replays a recording")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::ActivityScript;

    #[test]
    fn idle_reads_one_g_and_the_imu_matches_its_parts() {
        let script: ActivityScript = "idle".parse().unwrap();
        let clock = SimClock::start();
        let mut sensors =
            VirtualSensors::new(MotionSource::Synthetic(Timeline::new(script, 0, 1)), None, clock, 1);
        let (mut accel, mut gyro, mut imu) = ([0i16; 3], [0i16; 3], [0i16; 6]);
        sensors.sample(ACCEL, 1_000_000, &mut accel);
        sensors.sample(GYRO, 1_000_000, &mut gyro);
        sensors.sample(IMU, 1_000_000, &mut imu);
        assert_eq!(imu[..3], accel);
        assert_eq!(imu[3..], gyro);
        let magnitude = accel.iter().map(|&v| (v as f32 * ACCEL_SCALE).powi(2)).sum::<f32>().sqrt();
        assert!((magnitude - G).abs() < 0.5, "{magnitude}");
    }

    #[test]
    fn describes_four_sensors_with_their_axes() {
        let info = device_info("v1", &DEFAULT_RATES_HZ, mote_wire::PROTOCOL_VERSION);
        let names: Vec<&str> = info.sensors.iter().map(|s| s.name).collect();
        assert_eq!(names, ["accel", "gyro", "imu", "mic"]);
        assert_eq!(info.sensors[IMU as usize].axes.len(), 6);
        assert!(info.sensors[ACCEL as usize].rates_hz.contains(&1600));
        assert_eq!(info.sensors[MIC as usize].rates_hz[..], [16_000]);
    }
}
