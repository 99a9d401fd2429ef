//! Getting data in: Edge Impulse CSV and JSON, WAV, and Mote's own dataset format.
//!
//! An import is all-or-nothing. Every file is read, parsed, checked and quantized first, without
//! touching the store; if any file is bad the import returns every bad file (file, line or field,
//! what was expected) and the project is not opened for writing at all. Only then are the samples
//! inserted, in one SQLite transaction.

mod ei_csv;
pub(crate) mod ei_json;
mod wav;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{CONFIG_FILE, ProjectConfig};
use crate::error::{ImportError, ImportErrorKind, ImportErrors, Location, ProjectError};
use crate::mote_format::{self, INDEX_FILE, SAMPLE_MAGIC};
use crate::project::{Project, run_blocking};
use crate::quantize::quantize_interleaved;
use crate::sample::{Axis, NewSample, Recording, Split};
use crate::store::{AddedSample, DuplicateSample};

pub use ei_json::{EMPTY_SIGNATURE, sign as ei_sign};

/// A parsed file before quantization.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedFile {
    /// (name, unit) per axis.
    pub axes: Vec<(String, String)>,
    pub rate_hz: f64,
    pub values: ParsedValues,
    pub sensor: Option<String>,
    pub device: Option<String>,
    pub created: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParsedValues {
    /// Interleaved physical values, quantized on import.
    Physical(Vec<f64>),
    /// Already quantized (Mote's format): stored exactly as given.
    Raw { raw: Vec<i16>, scales: Vec<f64> },
}

/// Rates derived from an interval (`1000 / interval_ms`) are rounded to 9 significant digits, so
/// a rate written as an interval and read back is the same number (and the content hash too).
pub(crate) fn canonical_rate(rate_hz: f64) -> f64 {
    format!("{rate_hz:.8e}").parse().unwrap_or(rate_hz)
}

/// Choices for an import. Explicit values here win over what a file or dataset says.
#[derive(Clone, Default)]
pub struct ImportOptions {
    /// Label for every sample; otherwise the dataset's label, otherwise the file name up to the
    /// first dot (`wave.01.json` → `wave`), as Edge Impulse does.
    pub label: Option<String>,
    /// Split for every sample; otherwise the dataset's own split, otherwise train.
    pub split: Option<Split>,
    /// Sensor name for formats that carry none; default `[data] sensor` of `mote.toml`.
    pub sensor: Option<String>,
    /// Device recorded for every sample; default the file's device or the import format.
    pub device: Option<String>,
    /// When set, Edge Impulse JSON files must be signed (HS256) with this key.
    pub hmac_key: Option<String>,
    /// Called as files are checked and as samples are written.
    pub progress: Option<Arc<dyn Fn(ImportProgress) + Send + Sync>>,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("label", &self.label)
            .field("split", &self.split)
            .field("sensor", &self.sensor)
            .field("device", &self.device)
            .field("hmac_key", &self.hmac_key.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

/// Which half of an import is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportPhase {
    /// Reading and checking files; nothing is written yet.
    Checking,
    /// Inserting samples inside the import's transaction.
    Writing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    pub phase: ImportPhase,
    pub done: usize,
    pub total: usize,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub imported: Vec<AddedSample>,
    /// Files whose data the project already held (or that repeated another file of the import).
    pub duplicates: Vec<DuplicateSample>,
    /// The dataset's `mote.toml` preset replaced the project's untouched default settings.
    pub preset_adopted: bool,
}

/// One file to import, with what its dataset says about it.
#[derive(Debug, Clone)]
struct ImportSource {
    path: PathBuf,
    name: Option<String>,
    label: Option<String>,
    split: Option<Split>,
}

impl Project {
    /// Imports files (Edge Impulse CSV/JSON, WAV, Mote sample CSV), all or nothing.
    pub async fn import_files(
        &self,
        files: &[PathBuf],
        options: &ImportOptions,
    ) -> Result<ImportReport, ProjectError> {
        let sources = files
            .iter()
            .map(|path| ImportSource { path: path.clone(), name: None, label: None, split: None })
            .collect();
        self.import_sources(sources, options).await
    }

    /// Imports a folder, all or nothing:
    ///
    /// * a Mote dataset (has `samples.csv`): the samples it lists, with their names, labels, splits;
    /// * otherwise every file in it (hidden files skipped), plus `training/` and `testing/`
    ///   subfolders (Edge Impulse's export layout) whose files get that split. A file of unknown
    ///   type is an error; Edge Impulse's `info.labels` is skipped.
    ///
    /// If the folder has a `mote.toml`, it is a preset: it replaces the project's settings when the
    /// project holds no samples and its `mote.toml` is still the default written at creation
    /// (the project keeps its name). Otherwise the preset is ignored.
    pub async fn import_dir(
        &mut self,
        dir: &Path,
        options: &ImportOptions,
    ) -> Result<ImportReport, ProjectError> {
        let (sources, preset) =
            collect_dir(dir).map_err(|e| ProjectError::ImportRejected(ImportErrors(vec![e])))?;
        if sources.is_empty() {
            return Err(ProjectError::ImportRejected(ImportErrors(vec![ImportError::new(
                dir,
                Location::File,
                ImportErrorKind::Empty,
                "expected sample files in the folder, found none",
            )])));
        }
        let preset = match preset {
            Some(path) => {
                Some(read_preset(&path).map_err(|e| ProjectError::ImportRejected(ImportErrors(vec![e])))?)
            }
            None => None,
        };
        let adopt = match &preset {
            Some(_) => self.has_untouched_default_config().await?,
            None => false,
        };
        let mut report = self.import_sources(sources, options).await?;
        if let (true, Some(mut preset)) = (adopt, preset) {
            preset.project.name = self.config().project.name.clone();
            let path = self.config_path();
            let preset_text = std::fs::read_to_string(dir.join(CONFIG_FILE)).unwrap_or_default();
            let text = preset.render_onto(&preset_text)?;
            crate::fs_atomic::write(&path, text.as_bytes()).map_err(|e| ProjectError::io(&path, e))?;
            self.set_config_unchecked(preset);
            report.preset_adopted = true;
        }
        Ok(report)
    }

    /// True when the project has no samples and `mote.toml` is byte-for-byte the default.
    async fn has_untouched_default_config(&self) -> Result<bool, ProjectError> {
        if self.sample_count().await? > 0 {
            return Ok(false);
        }
        let current = std::fs::read_to_string(self.config_path()).unwrap_or_default();
        Ok(current == ProjectConfig::default_text(&self.config().project.name))
    }

    async fn import_sources(
        &self,
        sources: Vec<ImportSource>,
        options: &ImportOptions,
    ) -> Result<ImportReport, ProjectError> {
        let total = sources.len();
        let default_sensor = self.config().data.sensor.clone();
        let checked = {
            let options = options.clone();
            run_blocking(move || check_all(&sources, &options, &default_sensor)).await?
        };
        let samples = checked.map_err(ProjectError::ImportRejected)?;

        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await.map_err(|e| self.db_error(e))?;
        let progress = options.progress.clone();
        let mut on_written = move |done: usize| {
            if let Some(progress) = &progress {
                progress(ImportProgress { phase: ImportPhase::Writing, done, total });
            }
        };
        let added = self.insert_samples(&mut tx, samples, &mut on_written).await?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(ImportReport { imported: added.added, duplicates: added.duplicates, preset_adopted: false })
    }
}

/// Parses and quantizes every source; all bad files are reported.
fn check_all(
    sources: &[ImportSource],
    options: &ImportOptions,
    default_sensor: &str,
) -> Result<Vec<(Option<PathBuf>, NewSample)>, ImportErrors> {
    let mut samples = Vec::with_capacity(sources.len());
    let mut errors = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        match check_one(source, options, default_sensor) {
            Ok(sample) => samples.push((Some(source.path.clone()), sample)),
            Err(error) => errors.push(error),
        }
        if let Some(progress) = &options.progress {
            progress(ImportProgress { phase: ImportPhase::Checking, done: index + 1, total: sources.len() });
        }
    }
    if errors.is_empty() { Ok(samples) } else { Err(ImportErrors(errors)) }
}

fn check_one(
    source: &ImportSource,
    options: &ImportOptions,
    default_sensor: &str,
) -> Result<NewSample, ImportError> {
    let path = &source.path;
    let parsed = parse_file(path, options.hmac_key.as_deref())?;
    let recording = to_recording(path, parsed.axes, parsed.rate_hz, parsed.values)?;
    let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = match file_name.rfind('.') {
        Some(dot) if dot > 0 => &file_name[..dot],
        _ => &file_name,
    };
    let label = options
        .label
        .clone()
        .or_else(|| source.label.clone())
        .unwrap_or_else(|| label_from_file_name(&file_name));
    if label.trim().is_empty() {
        return Err(ImportError::new(
            path,
            Location::File,
            ImportErrorKind::Dataset,
            "expected a label: give one, or name the file `<label>.<anything>.<ext>`",
        ));
    }
    Ok(NewSample {
        name: source.name.clone().unwrap_or_else(|| stem.to_string()),
        label,
        split: options.split.or(source.split).unwrap_or(Split::Train),
        sensor: options.sensor.clone().or(parsed.sensor).unwrap_or_else(|| default_sensor.to_string()),
        device: options
            .device
            .clone()
            .or(parsed.device)
            .unwrap_or_else(|| format!("import:{}", format_name(path))),
        created: parsed.created,
        recording,
    })
}

/// Edge Impulse's rule: the label is the file name up to the first dot (`wave.01.json` → `wave`).
pub fn label_from_file_name(file_name: &str) -> String {
    file_name.split('.').next().unwrap_or_default().to_string()
}

fn format_name(path: &Path) -> &'static str {
    match extension(path).as_str() {
        "csv" => "csv",
        "json" => "ei-json",
        "wav" => "wav",
        _ => "file",
    }
}

fn extension(path: &Path) -> String {
    path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()
}

/// Reads and parses one file by its extension.
pub(crate) fn parse_file(path: &Path, hmac_key: Option<&str>) -> Result<ParsedFile, ImportError> {
    let extension = extension(path);
    if !matches!(extension.as_str(), "csv" | "json" | "wav") {
        return Err(ImportError::new(
            path,
            Location::File,
            ImportErrorKind::UnknownFormat,
            format!(
                "expected a .csv (Edge Impulse or Mote), .json (Edge Impulse) or .wav file, found {}",
                if extension.is_empty() { "no extension".to_string() } else { format!("`.{extension}`") }
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        ImportError::new(path, Location::File, ImportErrorKind::Io, format!("cannot read: {e}"))
    })?;
    if bytes.is_empty() {
        return Err(ImportError::new(
            path,
            Location::File,
            ImportErrorKind::Empty,
            "expected data, the file is empty",
        ));
    }
    match extension.as_str() {
        "wav" => wav::parse(path, &bytes),
        "json" => ei_json::parse(path, &bytes, hmac_key),
        _ => {
            let text = String::from_utf8(bytes).map_err(|e| {
                let line =
                    e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
                ImportError::new(
                    path,
                    Location::Line { line, column: None },
                    ImportErrorKind::Csv,
                    "expected UTF-8 text",
                )
            })?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            if text.starts_with(SAMPLE_MAGIC) {
                mote_format::parse_sample_file(path, text)
            } else {
                ei_csv::parse(path, text)
            }
        }
    }
}

fn to_recording(
    path: &Path,
    axes: Vec<(String, String)>,
    rate_hz: f64,
    values: ParsedValues,
) -> Result<Recording, ImportError> {
    let n_axes = axes.len();
    let (raw, scales) = match values {
        ParsedValues::Raw { raw, scales } => (raw, scales),
        ParsedValues::Physical(values) => quantize_interleaved(&values, n_axes).map_err(|index| {
            ImportError::new(
                path,
                Location::Field(format!("values[{}][{}]", index / n_axes, index % n_axes)),
                ImportErrorKind::Value,
                "expected a finite number",
            )
        })?,
    };
    let axes = axes.into_iter().zip(scales).map(|((name, unit), scale)| Axis { name, unit, scale }).collect();
    Ok(Recording { axes, rate_hz, raw })
}

/// The sources of a folder import, and its preset file if any.
fn collect_dir(dir: &Path) -> Result<(Vec<ImportSource>, Option<PathBuf>), ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::new(dir, Location::File, ImportErrorKind::Io, "expected a folder"));
    }
    let preset = Some(dir.join(CONFIG_FILE)).filter(|path| path.is_file());
    if dir.join(INDEX_FILE).is_file() {
        let sources = mote_format::read_index(dir)?
            .into_iter()
            .map(|entry| ImportSource {
                path: entry.file,
                name: Some(entry.name),
                label: Some(entry.label),
                split: Some(entry.split),
            })
            .collect();
        return Ok((sources, preset));
    }
    let mut sources = Vec::new();
    for (folder, split) in [
        (dir.to_path_buf(), None),
        (dir.join("training"), Some(Split::Train)),
        (dir.join("testing"), Some(Split::Test)),
    ] {
        if !folder.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        let entries = std::fs::read_dir(&folder).map_err(|e| {
            ImportError::new(&folder, Location::File, ImportErrorKind::Io, format!("cannot list: {e}"))
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                ImportError::new(&folder, Location::File, ImportErrorKind::Io, format!("cannot list: {e}"))
            })?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.')
                || !path.is_file()
                || name == "info.labels"
                || (split.is_none() && name == CONFIG_FILE)
            {
                continue;
            }
            files.push(path);
        }
        files.sort();
        sources.extend(files.into_iter().map(|path| ImportSource { path, name: None, label: None, split }));
    }
    Ok((sources, preset))
}

fn read_preset(path: &Path) -> Result<ProjectConfig, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ImportError::new(path, Location::File, ImportErrorKind::Io, format!("cannot read: {e}"))
    })?;
    ProjectConfig::parse(&text, path).map_err(|error| {
        let line = match &error {
            crate::error::ConfigError::Syntax { line, .. }
            | crate::error::ConfigError::Invalid { line, .. }
            | crate::error::ConfigError::UnknownKey { line, .. } => *line,
        };
        ImportError::new(
            path,
            line.map_or(Location::File, |line| Location::Line { line, column: None }),
            ImportErrorKind::Dataset,
            format!("expected a valid project preset: {error}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_file_name_up_to_the_first_dot() {
        for (file, label) in [("wave.01.json", "wave"), ("idle.csv", "idle"), ("up-down.x.y.wav", "up-down")]
        {
            assert_eq!(label_from_file_name(file), label);
        }
    }

    #[test]
    fn canonical_rates_survive_interval_round_trips() {
        for rate in [10.0, 62.5, 100.0 / 3.0, 16000.0, 104.0, 1.0 / 7.0, 12.34567891] {
            let rate = canonical_rate(rate);
            assert_eq!(canonical_rate(1000.0 / (1000.0 / rate)), rate);
            let interval = (1000.0 / rate) * 99.0 / 99.0;
            assert_eq!(canonical_rate(1000.0 / interval), rate);
        }
    }
}
