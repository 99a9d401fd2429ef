//! Mote's own dataset format on disk: writing a dataset folder, and reading its index.
//!
//! The format itself (the index `samples.csv`, one `data/<name>.csv` file per sample) is
//! `mote_formats::mote_dataset`; this module adds the folder.

use std::path::{Path, PathBuf};

pub use mote_formats::mote_dataset::{INDEX_FILE, SAMPLE_MAGIC, sample_file_text};
use mote_formats::mote_dataset::{IndexRow, index_text, parse_index, sample_file_names};

use crate::error::{ImportError, ImportErrorKind, Location};
use crate::sample::{NewSample, Split};

/// A row of `samples.csv`, with the sample file resolved against the dataset folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexEntry {
    pub name: String,
    pub label: String,
    pub split: Split,
    pub file: PathBuf,
}

/// Writes a dataset folder: every sample file, then the index. `out_dir` is created if missing.
pub fn write_dataset(out_dir: &Path, samples: &[NewSample]) -> std::io::Result<()> {
    std::fs::create_dir_all(out_dir.join("data"))?;
    let files = sample_file_names(samples.iter().map(|sample| sample.name.as_str()));
    for (sample, file) in samples.iter().zip(&files) {
        crate::fs_atomic::write(&out_dir.join(file), sample_file_text(sample).as_bytes())?;
    }
    let rows: Vec<IndexRow> = samples
        .iter()
        .zip(files)
        .map(|(sample, file)| IndexRow {
            name: sample.name.clone(),
            label: sample.label.clone(),
            split: sample.split,
            file,
        })
        .collect();
    crate::fs_atomic::write(&out_dir.join(INDEX_FILE), index_text(&rows).as_bytes())
}

/// Reads `samples.csv` of the dataset in `dir`; every sample file it lists must exist.
pub(crate) fn read_index(dir: &Path) -> Result<Vec<IndexEntry>, ImportError> {
    let path = dir.join(INDEX_FILE);
    let text = std::fs::read_to_string(&path).map_err(|error| {
        ImportError::new(&path, Location::File, ImportErrorKind::Io, format!("cannot read: {error}"))
    })?;
    let rows = parse_index(&path, &text, |relative| dir.join(relative).is_file())?;
    Ok(rows
        .into_iter()
        .map(|row| IndexEntry {
            name: row.name,
            label: row.label,
            split: row.split,
            file: dir.join(row.file),
        })
        .collect())
}
