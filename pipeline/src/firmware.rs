//! Firmware for the boards: where a board's ELF is, building it from this checkout's sources
//! (`scripts/build-firmware.sh`), and the image a real board is flashed with — the ELF's
//! loadable segments, plus a model in slot 0 when asked. The app and `mote flash` both use it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use mote_flash::{
    FlashError, FlashPlan, RealBoard, Segment, find_uf2_drive, flash_with_probe, plan, uf2,
};

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
            FirmwareError::Model(_) => "flash.model",
            FirmwareError::Flash(error) => error.code(),
        }
    }
}

/// The firmware workspace of this checkout, when the sources are here.
pub fn firmware_source() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../device-agent/firmware");
    dir.join("Cargo.toml").exists().then(|| dir.canonicalize().unwrap_or(dir))
}

/// Where the firmware build puts `board`'s ELF (built for `target`): `$MOTE_FIRMWARE_TARGET_DIR`,
/// else the firmware workspace's `target/`.
pub fn board_elf(board: &str, target: &str) -> PathBuf {
    let target_dir = std::env::var_os("MOTE_FIRMWARE_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        firmware_source().unwrap_or_else(|| PathBuf::from("device-agent/firmware")).join("target")
    });
    target_dir.join(target).join("release").join(board)
}

/// Builds `board`'s firmware (a no-op for cargo when nothing changed) and returns the ELF.
pub fn build(board: &str, target: &str) -> Result<PathBuf, FirmwareError> {
    let elf = board_elf(board, target);
    let Some(source) = firmware_source() else {
        return if elf.exists() { Ok(elf) } else { Err(FirmwareError::NotBuilt(elf)) };
    };
    let script = source.join("../../scripts/build-firmware.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(board)
        .stdin(Stdio::null())
        .output()
        .map_err(FirmwareError::RunBuild)?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        if text.trim().is_empty() {
            text = String::from_utf8_lossy(&output.stdout).into_owned();
        }
        return Err(FirmwareError::BuildFailed(text.trim_end().to_string()));
    }
    if elf.exists() { Ok(elf) } else { Err(FirmwareError::NotBuilt(elf)) }
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
