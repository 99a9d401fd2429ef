//! Getting data in: Edge Impulse CSV and JSON, WAV, and Mote's own dataset format.
//!
//! An import is all-or-nothing. Every file is read, parsed, checked and quantized first, without
//! touching the store; if any file is bad the import returns every bad file (file, line or field,
//! what was expected) and the project is not opened for writing at all. Only then are the samples
//! inserted, in one SQLite transaction.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mote_formats::{FileFormat, ParsedFile, parse_bytes, to_recording};

use crate::config::{CONFIG_FILE, ProjectConfig};
use crate::error::{ImportError, ImportErrorKind, ImportErrors, Location, ProjectError};
use crate::fit::{AdoptedSettings, fit_samples};
use crate::mote_format::{self, INDEX_FILE};
use crate::project::{Project, run_blocking};
use crate::sample::{NewSample, Split};
use crate::store::{AddedSample, DuplicateSample};

pub use mote_formats::ei_json::{EMPTY_SIGNATURE, sign as ei_sign};

/// The sensor name of audio imported from WAV files into a project with no samples (the name
/// the virtual board gives its microphone).
pub const MICROPHONE_SENSOR: &str = "mic";

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    pub imported: Vec<AddedSample>,
    /// Files whose data the project already held (or that repeated another file of the import).
    pub duplicates: Vec<DuplicateSample>,
    /// The dataset's `mote.toml` preset replaced the project's untouched default settings.
    pub preset_adopted: bool,
    /// What a project with no samples took from the imported files (sensor, axes, rate, and an
    /// impulse for that data); `None` when its settings already fit.
    pub adopted: Option<AdoptedSettings>,
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
        &mut self,
        files: &[PathBuf],
        options: &ImportOptions,
    ) -> Result<ImportReport, ProjectError> {
        let sources = files
            .iter()
            .map(|path| ImportSource { path: path.clone(), name: None, label: None, split: None })
            .collect();
        self.import_sources(sources, options, None).await
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
        let adopt = match preset {
            Some(mut preset) if self.has_untouched_default_config().await? => {
                preset.project.name = self.config().project.name.clone();
                let preset_text = std::fs::read_to_string(dir.join(CONFIG_FILE)).unwrap_or_default();
                Some((preset, preset_text))
            }
            _ => None,
        };
        self.import_sources(sources, options, adopt).await
    }

    /// True when the project has no samples and `mote.toml` is byte-for-byte the default.
    async fn has_untouched_default_config(&self) -> Result<bool, ProjectError> {
        if self.sample_count().await? > 0 {
            return Ok(false);
        }
        let current = std::fs::read_to_string(self.config_path()).unwrap_or_default();
        Ok(current == ProjectConfig::default_text(&self.config().project.name))
    }

    /// Checks every source, fits the samples to the project (see `fit`), then writes the settings
    /// (a dataset's `preset` with its file's text, or what a project with no samples adopted)
    /// and the samples. If storing the samples fails, `mote.toml` is put back as it was.
    async fn import_sources(
        &mut self,
        sources: Vec<ImportSource>,
        options: &ImportOptions,
        preset: Option<(ProjectConfig, String)>,
    ) -> Result<ImportReport, ProjectError> {
        let total = sources.len();
        let has_samples = self.sample_count().await? > 0;
        let project_sensor = self.config().data.sensor.clone();
        let checked = {
            let options = options.clone();
            // A file that names no sensor is the project's, except a WAV file for a project
            // with no samples yet: that is a microphone's.
            let default_sensor = move |path: &Path| {
                if !has_samples && extension(path) == "wav" {
                    MICROPHONE_SENSOR.to_string()
                } else {
                    project_sensor.clone()
                }
            };
            run_blocking(move || check_all(&sources, &options, &default_sensor)).await?
        };
        let samples = checked.map_err(ProjectError::ImportRejected)?;

        let preset_adopted = preset.is_some();
        let (base, base_text) = match preset {
            Some((preset, text)) => (preset, text),
            None => (self.config().clone(), std::fs::read_to_string(self.config_path()).unwrap_or_default()),
        };
        let new_samples: Vec<&NewSample> = samples.iter().map(|(_, sample)| sample).collect();
        // A sample that does not fit is named by its file.
        let file_of = |name: &str| {
            samples
                .iter()
                .find(|(_, sample)| sample.name == name)
                .and_then(|(path, _)| path.as_ref())
                .map_or_else(|| name.to_string(), |path| path.display().to_string())
        };
        let fitted = fit_samples(&base, has_samples, &new_samples).map_err(|error| match error {
            ProjectError::DataMismatch { sample, reason, project } => {
                ProjectError::DataMismatch { sample: file_of(&sample), reason, project }
            }
            ProjectError::MixedData { sample, reason, first, data } => {
                ProjectError::MixedData { sample: file_of(&sample), reason, first: file_of(&first), data }
            }
            other => other,
        })?;
        let (config, adopted) = match fitted {
            Some((config, adopted)) => (Some(config), Some(adopted)),
            None => (preset_adopted.then_some(base), None),
        };
        let previous = match config {
            Some(config) => Some(self.replace_config(config, &base_text)?),
            None => None,
        };

        let progress = options.progress.clone();
        let mut on_written = move |done: usize| {
            if let Some(progress) = &progress {
                progress(ImportProgress { phase: ImportPhase::Writing, done, total });
            }
        };
        let added = self.insert_all(samples, &mut on_written).await;
        let added = match (added, previous) {
            (Ok(added), _) => added,
            (Err(error), Some((config, text))) => {
                self.restore_config(config, &text);
                return Err(error);
            }
            (Err(error), None) => return Err(error),
        };
        Ok(ImportReport { imported: added.added, duplicates: added.duplicates, preset_adopted, adopted })
    }
}

/// Parses and quantizes every source; all bad files are reported.
fn check_all(
    sources: &[ImportSource],
    options: &ImportOptions,
    default_sensor: &dyn Fn(&Path) -> String,
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
    default_sensor: &dyn Fn(&Path) -> String,
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
        sensor: options.sensor.clone().or(parsed.sensor).unwrap_or_else(|| default_sensor(path)),
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
    let format = FileFormat::of_path(path)?;
    let bytes = std::fs::read(path).map_err(|e| {
        ImportError::new(path, Location::File, ImportErrorKind::Io, format!("cannot read: {e}"))
    })?;
    parse_bytes(path, format, &bytes, hmac_key)
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
}
