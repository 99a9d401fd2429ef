//! The virtual board: the real mote-agent running on the host, behind a real pseudo-terminal
//! (or TCP on loopback), with sensors fed by synthetic activities or a replayed recording.
//!
//! The whole app works against it with no hardware, and tests use it as a board whose faults
//! can be chosen (see [`fault`]).

pub mod activity;
pub mod fault;
pub mod flash;
pub mod port;
pub mod registry;
pub mod replay;
pub mod script;
pub mod sensors;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mote_agent::{Agent, InferenceBuffers};
use serde::Serialize;

use crate::fault::{FaultPlan, FaultyLink};
use crate::flash::{FileFlash, FlashError};
use crate::port::{BoardLink, PtyLink, TcpLink};
use crate::registry::{Registration, VirtualBoardEntry};
use crate::replay::{Audio, Recording, ReplayError};
use crate::script::{ActivityScript, ScriptError, Timeline};
use crate::sensors::{MotionSource, SimClock, VirtualSensors};

pub use crate::sensors::ramp_value;

/// Everything a virtual board can be told on the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// What the wearer does: `idle:5s,wave:10s,…` (repeats; a last step without a length lasts
    /// forever). Activities: idle, wave, circle, shake.
    #[arg(long, default_value = "idle")]
    pub script: String,
    /// Replay this CSV (header row; `timestamp` column in ms, or give --replay-rate) as the
    /// motion sensors: columns 1–3 are the accelerometer, 4–6 the gyroscope.
    #[arg(long, value_name = "CSV")]
    pub replay: Option<PathBuf>,
    /// Sampling rate of a --replay file without timestamps.
    #[arg(long, value_name = "HZ")]
    pub replay_rate: Option<f64>,
    /// Replay this 16-bit mono WAV as the microphone.
    #[arg(long, value_name = "WAV")]
    pub replay_wav: Option<PathBuf>,
    /// Play recordings this many times faster than real time.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Run board time this many times faster than the wall clock (sampling, activities and
    /// inference alike); for tests and demos that need many windows quickly.
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    pub time_scale: f64,
    /// Send a test pattern whose every value the receiver can check (see `ramp_value`).
    #[arg(long)]
    pub ramp: bool,
    /// Listen on TCP at this loopback address (e.g. 127.0.0.1:0) instead of a pseudo-terminal.
    #[arg(long, value_name = "ADDR")]
    pub tcp: Option<SocketAddr>,
    /// The board's device id [default: the first `virtual-N` that no running board uses]. The
    /// default flash file is named after it, so two boards never share one by accident.
    #[arg(long)]
    pub device_id: Option<String>,
    /// Motion sensor rates offered, in Hz (comma-separated; at most 12).
    #[arg(long, value_delimiter = ',', default_values_t = sensors::DEFAULT_RATES_HZ)]
    pub rates: Vec<u32>,
    /// File that keeps the model slots across restarts [default: in the user's data folder].
    #[arg(long, value_name = "FILE")]
    pub flash: Option<PathBuf>,
    /// Seed for the synthetic motion.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Announce this protocol version instead of the real one (to test hosts).
    #[arg(long, hide = true)]
    pub protocol_version: Option<u16>,
    /// Corrupt this fraction of the bytes of sample frames.
    #[arg(long, default_value_t = 0.0)]
    pub fault_corrupt: f64,
    /// Drop this fraction of the bytes of sample frames.
    #[arg(long, default_value_t = 0.0)]
    pub fault_drop: f64,
    /// Stop sending for --stall-ms after this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub fault_stall_after: Option<u64>,
    #[arg(long, default_value_t = 1000)]
    pub stall_ms: u64,
    /// Pull the cable after this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub fault_disconnect_after: Option<u64>,
    /// Seed for the faults.
    #[arg(long, default_value_t = 7)]
    pub fault_seed: u64,
    /// Write every frame the faults destroy to this file (one JSON object a line).
    #[arg(long, value_name = "FILE")]
    pub fault_report: Option<PathBuf>,
}

impl Default for SimArgs {
    fn default() -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: SimArgs,
        }
        Wrapper::parse_from(["mote-sim"]).args
    }
}

/// Where a started board can be reached.
#[derive(Debug, Clone, Serialize)]
pub struct Ready {
    pub device_id: String,
    pub path: Option<String>,
    pub tcp: Option<SocketAddr>,
    pub flash: PathBuf,
    /// Something the user should know (e.g. a flash file that could not be read).
    pub warning: Option<String>,
}

/// Why a board stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Exit {
    /// `stop` was set.
    Stopped,
    /// Fault injection pulled the cable.
    Disconnected,
}

/// The default flash file: in the user's data folder, one per device id.
pub fn default_flash_path(device_id: &str) -> PathBuf {
    let base = directories::ProjectDirs::from("", "", "mote")
        .map(|dirs| dirs.data_local_dir().to_path_buf())
        .unwrap_or_else(std::env::temp_dir);
    base.join("virtual-boards").join(format!("{device_id}.flash"))
}

/// Why a virtual board could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Invalid(&'static str),
    #[error("--script: {0}")]
    Script(#[from] ScriptError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error(transparent)]
    Flash(#[from] FlashError),
    #[error("cannot create a pseudo-terminal: {0}")]
    Pty(serialport::Error),
    #[error("--tcp must be a loopback address, not {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot write the fault report: {0}")]
    FaultReport(std::io::Error),
}

/// Runs a virtual board until `stop` is set (or fault injection disconnects it). `on_ready` is
/// called once the board can be reached.
pub fn run(args: &SimArgs, stop: &AtomicBool, on_ready: impl FnOnce(&Ready)) -> Result<Exit, SimError> {
    let ensure = |ok: bool, why: &'static str| if ok { Ok(()) } else { Err(SimError::Invalid(why)) };
    ensure(
        args.time_scale > 0.0 && args.time_scale <= 1000.0,
        "--time-scale must be above 0 and at most 1000",
    )?;
    let clock = SimClock::scaled(args.time_scale);
    let motion = if args.ramp {
        MotionSource::Ramp
    } else if let Some(path) = &args.replay {
        let recording = Recording::from_csv(path, args.replay_rate)?;
        MotionSource::Replay { recording, speed: args.speed }
    } else {
        let script: ActivityScript = args.script.parse()?;
        MotionSource::Synthetic(Timeline::new(script, 0, args.seed))
    };
    let audio = args.replay_wav.as_deref().map(Audio::from_wav).transpose()?.map(|audio| (audio, args.speed));
    ensure(args.speed > 0.0 && args.speed.is_finite(), "--speed must be a positive number")?;
    ensure(!args.rates.is_empty(), "--rates needs at least one rate")?;
    let sensors = VirtualSensors::new(motion, audio, clock, args.seed);

    let device_id = args.device_id.clone().unwrap_or_else(|| registry::free_device_id(&[]));
    let flash_path = args.flash.clone().unwrap_or_else(|| default_flash_path(&device_id));
    let (flash, warning) = FileFlash::open(&flash_path)?;
    let version = args.protocol_version.unwrap_or(mote_wire::PROTOCOL_VERSION);
    let info = sensors::device_info(&device_id, &args.rates, version);
    let plan = FaultPlan {
        corrupt: args.fault_corrupt,
        drop: args.fault_drop,
        stall_after_bytes: args.fault_stall_after,
        stall: Duration::from_millis(args.stall_ms),
        disconnect_after_bytes: args.fault_disconnect_after,
        seed: args.fault_seed,
    };

    let mut ready = Ready { device_id: device_id.clone(), path: None, tcp: None, flash: flash_path, warning };
    if let Some(addr) = args.tcp {
        if !addr.ip().is_loopback() {
            return Err(SimError::NotLoopback(addr));
        }
        let link = TcpLink::bind(addr).map_err(|source| SimError::Listen { addr, source })?;
        ready.tcp = Some(link.local_addr().map_err(|source| SimError::Listen { addr, source })?);
        let link =
            FaultyLink::new(link, plan, args.fault_report.as_deref()).map_err(SimError::FaultReport)?;
        serve(
            Agent::new(info, link, sensors, clock, flash).with_inference(InferenceMemory::new()),
            stop,
            &ready,
            on_ready,
        )
    } else {
        let link = PtyLink::open().map_err(SimError::Pty)?;
        ready.path = Some(link.path().to_string());
        let link =
            FaultyLink::new(link, plan, args.fault_report.as_deref()).map_err(SimError::FaultReport)?;
        serve(
            Agent::new(info, link, sensors, clock, flash).with_inference(InferenceMemory::new()),
            stop,
            &ready,
            on_ready,
        )
    }
}

/// The virtual board's inference memory: generous, it is a host process (a 16 kHz microphone
/// window of several seconds fits).
struct InferenceMemory {
    window: Vec<i16>,
    features: Vec<f32>,
    scratch: Vec<f32>,
    arena: Vec<u8>,
    kernels: Box<mote_agent::Scratch>,
}

impl InferenceMemory {
    fn new() -> Self {
        Self {
            window: vec![0; 128 * 1024],
            features: vec![0.0; 64 * 1024],
            scratch: vec![0.0; 256 * 1024],
            arena: vec![0; 1024 * 1024],
            kernels: Box::default(),
        }
    }
}

impl InferenceBuffers for InferenceMemory {
    fn memory(&mut self) -> mote_agent::InferenceMemory<'_> {
        mote_agent::InferenceMemory {
            window: &mut self.window,
            features: &mut self.features,
            scratch: &mut self.scratch,
            arena: &mut self.arena,
            kernels: Some(&mut self.kernels),
        }
    }
}

fn serve<L: BoardLink>(
    mut agent: Agent<'_, FaultyLink<L>, VirtualSensors, SimClock, FileFlash, InferenceMemory>,
    stop: &AtomicBool,
    ready: &Ready,
    on_ready: impl FnOnce(&Ready),
) -> Result<Exit, SimError> {
    let _registration = Registration::register(&VirtualBoardEntry {
        pid: std::process::id(),
        device_id: ready.device_id.clone(),
        path: ready.path.clone(),
        tcp: ready.tcp.map(|addr| addr.to_string()),
        kind: None,
    });
    on_ready(ready);
    while !stop.load(Ordering::Relaxed) {
        agent.poll();
        if agent.link_mut().is_closed() {
            return Ok(Exit::Disconnected);
        }
        // Samples are taken by timestamp, so waking every half millisecond keeps batches and
        // replies prompt without spinning.
        std::thread::sleep(Duration::from_micros(500));
    }
    Ok(Exit::Stopped)
}
