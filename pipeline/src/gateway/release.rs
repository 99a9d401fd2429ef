//! Signed model releases: a project's model, signed with the project's Ed25519 key (ring), for
//! gateways to put on their boards over the air.
//!
//! A release is JSON: `{"manifest": "<text>", "signature": "<hex>"}`. The manifest is the exact
//! text that was signed (itself JSON: format, project, model id, the blob in hex with its CRC and
//! size, what the model reads — axes and rate — and its labels), so nothing has to be
//! re-serialised identically to verify it. The private key is created on the first release and
//! kept in the project (`keys/release.pk8`, readable by its owner only; a bundle export leaves it
//! out); gateways are given the public key (`keys/release.pub`, hex).

use std::path::{Path, PathBuf};

use mote_wire::CRC;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

const FORMAT: &str = "mote-release-1";

/// A model's identity: the CRC-32 its blob ends with (of everything before it). The CRC of a
/// whole blob, which is what a board reports for a slot, is the same for every blob (a CRC over
/// data followed by its own CRC always gives the CRC's residue), so it names no model.
pub fn model_id(blob: &[u8]) -> Option<u32> {
    let tail = blob.len().checked_sub(4)?;
    let id = u32::from_le_bytes(blob[tail..].try_into().ok()?);
    (CRC.checksum(&blob[..tail]) == id).then_some(id)
}

/// What a release says, signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub project: String,
    pub model: i64,
    /// A release number that only grows (milliseconds since 1970 when it was made).
    pub release: u64,
    /// The model's identity ([`model_id`]).
    pub crc: u32,
    pub size: usize,
    pub axes: Vec<String>,
    pub rate_hz: f32,
    pub labels: Vec<String>,
    pub arena_bytes: usize,
    /// The model blob, hex.
    pub blob: String,
}

/// A release as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedRelease {
    pub manifest: String,
    /// Ed25519 over the manifest's bytes, hex.
    pub signature: String,
}

/// A release that verified: its manifest and blob.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub manifest: Manifest,
    pub blob: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReleaseError {
    #[error("the release is not a signed Mote release: {0}")]
    Malformed(String),
    #[error(
        "the release's signature does not verify with this gateway's release key: it was not signed by the project's key, or it was changed"
    )]
    BadSignature,
    #[error("the release's model is damaged: {0}")]
    Damaged(String),
    #[error("the release key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("the public key {0:?} is not 64 hex digits (an Ed25519 key)")]
    PublicKey(String),
}

impl ReleaseError {
    pub fn code(&self) -> &'static str {
        match self {
            ReleaseError::Malformed(_) => "release.malformed",
            ReleaseError::BadSignature => "release.signature",
            ReleaseError::Damaged(_) => "release.damaged",
            ReleaseError::Key { .. } => "release.key",
            ReleaseError::PublicKey(_) => "release.public_key",
        }
    }
}

/// The project's release key, created on first use.
pub struct ReleaseKey {
    pair: Ed25519KeyPair,
}

impl ReleaseKey {
    /// Reads `dir/keys/release.pk8`, or creates it (and `release.pub`) when there is none.
    pub fn for_project(dir: &Path) -> Result<ReleaseKey, ReleaseError> {
        let keys = dir.join("keys");
        let private = keys.join("release.pk8");
        let key_error = |reason: String| ReleaseError::Key { path: private.clone(), reason };
        if !private.exists() {
            std::fs::create_dir_all(&keys).map_err(|e| key_error(e.to_string()))?;
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| key_error("no randomness".into()))?;
            write_private(&private, pkcs8.as_ref()).map_err(|e| key_error(e.to_string()))?;
        }
        let bytes = std::fs::read(&private).map_err(|e| key_error(e.to_string()))?;
        let pair =
            Ed25519KeyPair::from_pkcs8(&bytes).map_err(|e| key_error(format!("not an Ed25519 key: {e}")))?;
        let key = ReleaseKey { pair };
        let public = keys.join("release.pub");
        if std::fs::read_to_string(&public).map(|text| text.trim() != key.public_hex()).unwrap_or(true) {
            std::fs::write(&public, format!("{}\n", key.public_hex()))
                .map_err(|e| key_error(e.to_string()))?;
        }
        Ok(key)
    }

    /// The public key gateways are given, hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.pair.public_key().as_ref())
    }

    /// Signs a release of `blob` (model `model` of `project`).
    pub fn sign(
        &self,
        project: &str,
        model: i64,
        blob: &[u8],
        release: u64,
    ) -> Result<SignedRelease, ReleaseError> {
        let parsed = mote_runtime::Model::parse(blob).map_err(|e| ReleaseError::Damaged(e.to_string()))?;
        let manifest = Manifest {
            format: FORMAT.into(),
            project: project.into(),
            model,
            release,
            crc: model_id(blob)
                .ok_or_else(|| ReleaseError::Damaged("the blob does not end with its CRC".into()))?,
            size: blob.len(),
            axes: parsed.axes().map(str::to_string).collect(),
            rate_hz: parsed.rate_hz(),
            labels: parsed.labels().map(str::to_string).collect(),
            arena_bytes: parsed.arena_len(),
            blob: hex::encode(blob),
        };
        let text = serde_json::to_string(&manifest).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
        let signature = hex::encode(self.pair.sign(text.as_bytes()).as_ref());
        Ok(SignedRelease { manifest: text, signature })
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// A public key from its hex text, or from a file holding it.
pub fn public_key(text_or_path: &str) -> Result<Vec<u8>, ReleaseError> {
    let text = match std::fs::read_to_string(text_or_path) {
        Ok(contents) => contents,
        Err(_) => text_or_path.to_string(),
    };
    let key = hex::decode(text.trim()).map_err(|_| ReleaseError::PublicKey(text.trim().to_string()))?;
    if key.len() != 32 {
        return Err(ReleaseError::PublicKey(text.trim().to_string()));
    }
    Ok(key)
}

/// Checks a release's signature with `public_key`, then its blob (CRC, size, and that the runtime
/// accepts it). Nothing in a release is trusted before its signature verifies.
pub fn verify(bytes: &[u8], public_key: &[u8]) -> Result<Release, ReleaseError> {
    let signed: SignedRelease =
        serde_json::from_slice(bytes).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
    let manifest: Manifest =
        serde_json::from_str(&signed.manifest).map_err(|e| ReleaseError::Malformed(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(ReleaseError::Malformed(format!("format {:?}, expected {FORMAT}", manifest.format)));
    }
    // A blob that does not match its own CRC was damaged on the way (the signature would fail
    // too; this says why). Nothing of the manifest is used before the signature verifies.
    let blob =
        hex::decode(&manifest.blob).map_err(|_| ReleaseError::Damaged("the blob is not hex".into()))?;
    let damaged = blob.len() != manifest.size || model_id(&blob) != Some(manifest.crc);
    if !damaged {
        let signature = hex::decode(&signed.signature).map_err(|_| ReleaseError::BadSignature)?;
        UnparsedPublicKey::new(&ED25519, public_key)
            .verify(signed.manifest.as_bytes(), &signature)
            .map_err(|_| ReleaseError::BadSignature)?;
    }
    if damaged {
        let found = match model_id(&blob) {
            Some(id) => format!("CRC {id:08x}"),
            None => "a CRC that does not match its bytes".to_string(),
        };
        return Err(ReleaseError::Damaged(format!(
            "{} bytes with {found}, the manifest says {} bytes with CRC {:08x}",
            blob.len(),
            manifest.size,
            manifest.crc
        )));
    }
    mote_runtime::Model::parse(&blob).map_err(|e| ReleaseError::Damaged(e.to_string()))?;
    Ok(Release { manifest, blob })
}

/// Why `release` cannot run on `board` (the agent's own rule: the first sensor with every axis the
/// model reads, sampling at the model's rate; and a model slot large enough), or `None` when it
/// fits. The arena is the board's to check: it refuses to start a model that needs more, and the
/// gateway then puts the previous model back.
pub fn misfit(release: &Manifest, board: &crate::link::BoardInfo) -> Option<String> {
    let sensor = board
        .sensors
        .iter()
        .find(|sensor| release.axes.iter().all(|axis| sensor.axes.iter().any(|a| &a.name == axis)));
    let Some(sensor) = sensor else {
        let offered: Vec<String> = board
            .sensors
            .iter()
            .map(|s| {
                format!(
                    "{} ({})",
                    s.name,
                    s.axes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                )
            })
            .collect();
        return Some(format!(
            "the model reads {} but no sensor of this board has them (it has {})",
            release.axes.join(", "),
            offered.join("; ")
        ));
    };
    let rate = release.rate_hz.round() as u32;
    if rate as f32 != release.rate_hz || !sensor.rates_hz.contains(&rate) {
        return Some(format!(
            "the model samples {} at {} Hz, which it does not offer ({:?} Hz)",
            sensor.name, release.rate_hz, sensor.rates_hz
        ));
    }
    let largest = board.model_slots.iter().map(|slot| slot.capacity).max();
    if let Some(largest) = largest.filter(|&largest| release.size > largest as usize) {
        return Some(format!(
            "the model is {} bytes; this board's model slots hold {largest} bytes",
            release.size
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small valid model: 15 statistics of 3 axes → dense 2 → softmax.
    fn blob() -> Vec<u8> {
        use mote_runtime::builder::{
            BlobBuilder, ChannelWeights, ModelMeta, OpSpec, TensorSpec, softmax_table,
        };
        use mote_runtime::kernels::{ActivationRange, Shape3, quantize_multiplier};
        let shape = |n| Shape3 { height: 1, width: 1, channels: n };
        let mut builder = BlobBuilder::new(ModelMeta {
            name: "release test".into(),
            labels: vec!["still".into(), "moving".into()],
            rate_hz: 100.0,
            window_samples: 100,
            stride_samples: 50,
            axes: vec!["accX".into(), "accY".into(), "accZ".into()],
            dsp: mote_dsp::DspConfig::Flatten(mote_dsp::Flatten::default()),
            feature_scale: vec![1.0; 15],
            feature_offset: vec![0.0; 15],
        });
        let input = builder.tensor(TensorSpec { shape: shape(15), scale: 0.1, zero_point: 0 });
        let logits = builder.tensor(TensorSpec { shape: shape(2), scale: 0.1, zero_point: 0 });
        let probs = builder.tensor(TensorSpec { shape: shape(2), scale: 1.0 / 256.0, zero_point: -128 });
        let (multiplier, shift) = quantize_multiplier(0.01);
        let weights = ChannelWeights {
            weights: (0..30).map(|i| (i % 5) as i8 - 2).collect(),
            bias: vec![0, 0],
            multipliers: vec![multiplier; 2],
            shifts: vec![shift; 2],
        };
        builder.op(OpSpec::FullyConnected {
            input,
            output: logits,
            weights,
            activation: ActivationRange::NONE,
        });
        builder.op(OpSpec::Softmax { input: logits, output: probs, table: softmax_table(0.1) });
        builder.io(input, probs);
        builder.build().expect("a valid model")
    }

    #[test]
    fn a_release_verifies_with_its_key_and_with_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let key = ReleaseKey::for_project(dir.path()).unwrap();
        let again = ReleaseKey::for_project(dir.path()).unwrap();
        assert_eq!(key.public_hex(), again.public_hex(), "the key is kept");
        let signed = key.sign("p", 1, &blob(), 7).unwrap();
        let bytes = serde_json::to_vec(&signed).unwrap();
        let public = public_key(&key.public_hex()).unwrap();
        let release = verify(&bytes, &public).unwrap();
        assert_eq!(release.blob, blob());
        assert_eq!(release.manifest.release, 7);

        let other = tempfile::tempdir().unwrap();
        let other_key = public_key(&ReleaseKey::for_project(other.path()).unwrap().public_hex()).unwrap();
        assert_eq!(verify(&bytes, &other_key), Err(ReleaseError::BadSignature));
        let mut changed = signed.clone();
        changed.manifest = changed.manifest.replacen("\"model\":1", "\"model\":2", 1);
        assert_eq!(verify(&serde_json::to_vec(&changed).unwrap(), &public), Err(ReleaseError::BadSignature));
        // A byte of the blob changed on the way: damaged, whoever signed it.
        let mut damaged = signed.clone();
        let at = damaged.manifest.find("\"blob\":\"").unwrap() + 20;
        let flipped = if &damaged.manifest[at..at + 1] == "0" { "1" } else { "0" };
        damaged.manifest.replace_range(at..at + 1, flipped);
        assert!(matches!(
            verify(&serde_json::to_vec(&damaged).unwrap(), &public),
            Err(ReleaseError::Damaged(_))
        ));
        assert!(matches!(verify(b"{}", &public), Err(ReleaseError::Malformed(_))));
        assert!(matches!(public_key("abc"), Err(ReleaseError::PublicKey(_))));
    }

    #[test]
    fn a_release_fits_a_board_with_its_axes_at_its_rate_in_a_slot_large_enough() {
        use crate::link::types::{Axis, BoardInfo, ModelSlot, Sensor, SlotStatus};
        let key = ReleaseKey::for_project(tempfile::tempdir().unwrap().path()).unwrap();
        let signed = key.sign("p", 1, &blob(), 7).unwrap();
        let manifest: Manifest = serde_json::from_str(&signed.manifest).unwrap();
        let axis = |name: &str| Axis { name: name.into(), unit: "g".into(), scale: 1.0 };
        let slot = |slot, capacity| ModelSlot { slot, capacity, state: SlotStatus::Empty, active: slot == 0 };
        let board = |axes: &[&str], rates_hz: Vec<u32>, capacity: u32| BoardInfo {
            protocol_version: 1,
            board: "b".into(),
            firmware_version: "1".into(),
            device_id: "d".into(),
            sensors: vec![Sensor {
                name: "motion".into(),
                axes: axes.iter().map(|a| axis(a)).collect(),
                rates_hz,
            }],
            max_frame: 512,
            model_slots: vec![slot(0, capacity), slot(1, capacity)],
            capabilities: vec![],
        };
        let axes = manifest.axes.iter().map(String::as_str).collect::<Vec<_>>();
        let rate = manifest.rate_hz as u32;
        assert_eq!(misfit(&manifest, &board(&axes, vec![rate], 64 * 1024)), None);
        let no_axes = misfit(&manifest, &board(&["q"], vec![rate], 64 * 1024)).unwrap();
        assert!(no_axes.contains("no sensor of this board has them (it has motion (q))"), "{no_axes}");
        let no_rate = misfit(&manifest, &board(&axes, vec![rate + 1], 64 * 1024)).unwrap();
        assert!(no_rate.contains("which it does not offer"), "{no_rate}");
        let small = misfit(&manifest, &board(&axes, vec![rate], 16)).unwrap();
        assert!(small.contains("slots hold 16 bytes"), "{small}");
    }
}
