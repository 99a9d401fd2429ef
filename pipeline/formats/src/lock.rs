//! `mote.lock`, the lock of a CI bundle: the SHA-256 of every file, the Mote version, the seed and
//! the hashes of the impulse's blocks, as JSON.
//!
//! [`Lock::parse`] makes every check that needs no file: a lock this Mote can read, and only plain
//! relative paths. Whoever then opens the listed files (`mote_pipeline::bundle`) cannot be led
//! outside the bundle.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

/// The lock file's name, and the lock format this Mote reads and writes.
pub const LOCK_FILE: &str = "mote.lock";
pub const LOCK_VERSION: u32 = 1;

/// `mote.lock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub lock_version: u32,
    pub mote_version: String,
    pub seed: u64,
    /// SHA-256 of the `[dsp]` and `[learn]` tables (canonical TOML).
    pub dsp_sha256: String,
    pub learn_sha256: String,
    /// Every file of the bundle but the lock: relative path (with `/`) → SHA-256.
    pub files: BTreeMap<String, String>,
}

/// Why a lock cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Not JSON, or not a lock.
    #[error("{LOCK_FILE} cannot be read: {0}")]
    Unreadable(String),
    /// Written by a Mote with another lock format.
    #[error("{LOCK_FILE} has lock version {0}; this Mote reads version {LOCK_VERSION} (update Mote)")]
    UnknownVersion(u32),
    /// A listed file is not a plain relative path (`../x`, `/etc/x`, `a\b`, empty).
    #[error("`{0}` is not a plain path inside the bundle (it would land outside it)")]
    NotPlainPath(String),
}

impl Lock {
    /// Parses the text of `mote.lock`: JSON with `lock_version` [`LOCK_VERSION`], every listed
    /// file a plain relative path.
    pub fn parse(text: &str) -> Result<Lock, LockError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| LockError::Unreadable(e.to_string()))?;
        let version =
            value["lock_version"].as_u64().ok_or_else(|| LockError::Unreadable("no lock_version".into()))?;
        if version != u64::from(LOCK_VERSION) {
            return Err(LockError::UnknownVersion(version as u32));
        }
        let lock: Lock = serde_json::from_value(value).map_err(|e| LockError::Unreadable(e.to_string()))?;
        if let Some(name) = lock.files.keys().find(|name| !is_plain_path(name)) {
            return Err(LockError::NotPlainPath(name.clone()));
        }
        Ok(lock)
    }
}

/// A non-empty relative path of plain names, `/`-separated: no `..`, no root, no `\`.
pub fn is_plain_path(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\\')
        && Path::new(name).components().all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock_text(version: &str, file: &str) -> String {
        format!(
            r#"{{"lock_version": {version}, "mote_version": "0.1.0", "seed": 42, "dsp_sha256": "aa",
                "learn_sha256": "bb", "files": {{"mote.toml": "cc", {file}: "dd"}}}}"#
        )
    }

    #[test]
    fn a_lock_parses_and_survives_a_round_trip() {
        let lock = Lock::parse(&lock_text("1", r#""data/walking.01.csv""#)).unwrap();
        assert_eq!(lock.seed, 42);
        assert_eq!(lock.files.len(), 2);
        let text = serde_json::to_string_pretty(&lock).unwrap();
        assert_eq!(Lock::parse(&text).unwrap(), lock);
    }

    #[test]
    fn bad_locks_are_errors_with_the_messages_of_mote_build() {
        let cases = [
            ("not json".to_string(), "mote.lock cannot be read: expected ident at line 1 column 2"),
            (r#"{"seed": 1}"#.to_string(), "mote.lock cannot be read: no lock_version"),
            ("[1]".to_string(), "mote.lock cannot be read: no lock_version"),
            (
                lock_text("9", r#""a""#),
                "mote.lock has lock version 9; this Mote reads version 1 (update Mote)",
            ),
            (
                r#"{"lock_version": 1, "seed": 1}"#.to_string(),
                "mote.lock cannot be read: missing field `mote_version`",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(Lock::parse(&text).unwrap_err().to_string(), message, "{text}");
        }
    }

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        for name in ["../x", "/etc/passwd", "data\\x.csv", "", "./a", "data/../../x"] {
            let text = lock_text("1", &serde_json::to_string(name).unwrap());
            assert_eq!(
                Lock::parse(&text).unwrap_err(),
                LockError::NotPlainPath(name.to_string()),
                "{name:?}"
            );
        }
        for name in ["a", "data/walking.01.csv", "a b/c"] {
            assert!(is_plain_path(name), "{name:?}");
        }
    }
}
