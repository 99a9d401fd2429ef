//! Firmware for the boards: where a board's ELF is, building it from this checkout's sources
//! (`scripts/build-firmware.sh`), and the image a real board is flashed with — the ELF's
//! loadable segments, plus a model in slot 0 when asked. The app and `mote flash` both use it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mote_dsp::FeatureBlock as _;
pub use mote_flash::{
    FlashError, FlashPlan, Footprint, RealBoard, Segment, find_uf2_drive, flash_with_probe, footprint, plan,
    uf2,
};
use mote_runtime::Model;

#[derive(Debug, thiserror::Error)]
pub enum FirmwareError {
    #[error(
        "the firmware {} is not built and there is no firmware source here to build it from; pass --elf with a built image",
        .0.display()
    )]
    NotBuilt(PathBuf),
    #[error("building the firmware failed (scripts/build-firmware.sh):\n{0}")]
    BuildFailed(String),
    #[error("cannot run scripts/build-firmware.sh: {0}")]
    RunBuild(std::io::Error),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is not usable firmware: {source}", path.display())]
    NotFirmware { path: PathBuf, source: FlashError },
    #[error("the model is not a Mote model: {0}")]
    Model(mote_runtime::BlobError),
    #[error("there is no lean firmware for the board `{0}`; it is built for: {boards}", boards = LEAN_BOARDS.map(|(board, _)| board).join(", "))]
    UnknownLeanBoard(String),
    #[error("the model's DSP block does not fit its window: {0}")]
    Dsp(mote_dsp::DspError),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Flash(#[from] FlashError),
}

impl FirmwareError {
    pub fn code(&self) -> &'static str {
        match self {
            FirmwareError::NotBuilt(_) => "no_firmware",
            FirmwareError::BuildFailed(_) | FirmwareError::RunBuild(_) => "build_failed",
            FirmwareError::Read { .. } => "io",
            FirmwareError::NotFirmware { .. } => "not_firmware",
            FirmwareError::Model(_) | FirmwareError::Dsp(_) => "flash.model",
            FirmwareError::UnknownLeanBoard(_) => "firmware.board",
            FirmwareError::Write { .. } => "io",
            FirmwareError::Flash(error) => error.code(),
        }
    }
}

/// The firmware workspace of this checkout, when the sources are here.
pub fn firmware_source() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../device-agent/firmware");
    dir.join("Cargo.toml").exists().then(|| dir.canonicalize().unwrap_or(dir))
}

/// Where the firmware build puts its output: `$MOTE_FIRMWARE_TARGET_DIR`, else the firmware
/// workspace's `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("MOTE_FIRMWARE_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        firmware_source().unwrap_or_else(|| PathBuf::from("device-agent/firmware")).join("target")
    })
}

/// Where the firmware build puts `board`'s ELF (built for `target`).
pub fn board_elf(board: &str, target: &str) -> PathBuf {
    target_dir().join(target).join("release").join(board)
}

/// The ELF of a variant build of `board` (`scripts/build-firmware.sh --lean|--portable`: `variant`
/// is `lean` or `portable`), in its own target dir beside the general agent's.
pub fn variant_elf(variant: &str, board: &str, target: &str) -> PathBuf {
    target_dir().join(variant).join(target).join("release").join(board)
}

/// Builds `board`'s firmware (a no-op for cargo when nothing changed) and returns the ELF.
pub fn build(board: &str, target: &str) -> Result<PathBuf, FirmwareError> {
    let elf = board_elf(board, target);
    let Some(source) = firmware_source() else {
        return if elf.exists() { Ok(elf) } else { Err(FirmwareError::NotBuilt(elf)) };
    };
    run_build(Command::new("bash").arg(source.join("../../scripts/build-firmware.sh")).arg(board))?;
    if elf.exists() { Ok(elf) } else { Err(FirmwareError::NotBuilt(elf)) }
}

/// Runs `scripts/build-firmware.sh` as `command` says; its error output when it fails.
fn run_build(command: &mut Command) -> Result<(), FirmwareError> {
    let output = command.stdin(Stdio::null()).output().map_err(FirmwareError::RunBuild)?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        if text.trim().is_empty() {
            text = String::from_utf8_lossy(&output.stdout).into_owned();
        }
        return Err(FirmwareError::BuildFailed(text.trim_end().to_string()));
    }
    Ok(())
}

/// What a real board is flashed with.
#[derive(Debug, Clone)]
pub struct FirmwareImage {
    /// The firmware's ELF.
    pub elf: PathBuf,
    /// Its loadable segments, then the model's (slot 0) when one was placed.
    pub segments: Vec<Segment>,
    pub with_model: bool,
}

/// The image for `board`: the ELF at `elf`, or this checkout's firmware built for the board, and
/// `model` (checked by the runtime first) in slot 0.
pub fn image(
    board: RealBoard,
    elf: Option<&Path>,
    model: Option<&[u8]>,
) -> Result<FirmwareImage, FirmwareError> {
    let elf = match elf {
        Some(path) => path.to_path_buf(),
        None => build(board.name(), board.rust_target())?,
    };
    let bytes = std::fs::read(&elf).map_err(|source| FirmwareError::Read { path: elf.clone(), source })?;
    let mut segments = mote_flash::elf_segments(&bytes)
        .map_err(|source| FirmwareError::NotFirmware { path: elf.clone(), source })?;
    if let Some(blob) = model {
        mote_runtime::Model::parse(blob).map_err(FirmwareError::Model)?;
        segments.extend(mote_flash::model_segments(board, blob)?);
    }
    Ok(FirmwareImage { elf, segments, with_model: model.is_some() })
}

/// The boards a lean firmware is built for, with their compilation targets.
pub const LEAN_BOARDS: [(&str, &str); 2] =
    [("qemu-mps2-an386", "thumbv7em-none-eabihf"), ("microbit-v2", "thumbv7em-none-eabihf")];

/// What a lean firmware for one model is built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeanPlan {
    /// Cargo features of the board crate's dependencies: the DSP block and the kernels the
    /// model runs (fully connected, softmax and reshape are always built).
    pub features: Vec<String>,
    /// Inference buffers: window values, features, DSP scratch values, arena bytes.
    pub memory: [usize; 4],
}

/// The lean build for `model`: only its DSP block and kernels, buffers of exactly its size.
pub fn lean_plan(model: &Model<'_>) -> Result<LeanPlan, FirmwareError> {
    let dsp = model.dsp();
    let mut features = vec![format!("mote-dsp/{}", dsp.name())];
    for feature in model.ops().filter_map(|op| mote_convert::estimate::kernel_feature(&op)) {
        let feature = format!("mote-runtime/{feature}");
        if !features.contains(&feature) {
            features.push(feature);
        }
    }
    let (samples, axes, rate) = (model.window_samples(), model.n_axes(), model.rate_hz());
    let scratch = dsp.scratch_len(samples, axes, rate).map_err(FirmwareError::Dsp)?;
    Ok(LeanPlan { features, memory: [samples * axes, model.n_features(), scratch, model.arena_len()] })
}

/// Builds the lean firmware for `board` with `blob` built in (from this checkout's sources:
/// `scripts/build-firmware.sh --lean`) and returns its ELF. A lean firmware cannot be prebuilt:
/// without the firmware sources this is [`FirmwareError::NotBuilt`].
pub fn build_lean(board: &str, blob: &[u8]) -> Result<PathBuf, FirmwareError> {
    let Some(&(board, target)) = LEAN_BOARDS.iter().find(|(name, _)| *name == board) else {
        return Err(FirmwareError::UnknownLeanBoard(board.to_string()));
    };
    let model = Model::parse(blob).map_err(FirmwareError::Model)?;
    let plan = lean_plan(&model)?;
    let lean_dir = target_dir().join("lean");
    let elf = variant_elf("lean", board, target);
    let Some(source) = firmware_source() else { return Err(FirmwareError::NotBuilt(elf)) };
    std::fs::create_dir_all(&lean_dir)
        .map_err(|source| FirmwareError::Write { path: lean_dir.clone(), source })?;
    // The same bytes keep their file (and time stamp), so cargo rebuilds only for a new model.
    let model_path = lean_dir.join(format!("{board}.mote"));
    if std::fs::read(&model_path).ok().as_deref() != Some(blob) {
        std::fs::write(&model_path, blob)
            .map_err(|source| FirmwareError::Write { path: model_path.clone(), source })?;
    }
    let memory = plan.memory.map(|n| n.to_string()).join(",");
    run_build(
        Command::new("bash")
            .arg(source.join("../../scripts/build-firmware.sh"))
            .args(["--lean", &plan.features.join(" "), board])
            .env("MOTE_LEAN_MODEL", &model_path)
            .env("MOTE_LEAN_MEMORY", memory),
    )?;
    if elf.exists() { Ok(elf) } else { Err(FirmwareError::NotBuilt(elf)) }
}
