//! Features: every window of every sample through the impulse's DSP block — the same
//! `mote-dsp` code a board runs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mote_dsp::{FeatureBlock, WindowSpec};
use mote_project::{Project, ProjectError, Sample, SampleFilter, SampleInfo, Split};
use sha2::{Digest, Sha256};

use crate::impulse::Impulse;

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("sample `{sample}` has no axis `{axis}` (it has: {has}); the impulse needs {needs}")]
    MissingAxis { sample: String, axis: String, has: String, needs: String },
    #[error("sample `{sample}` was recorded at {found} Hz, the impulse expects {expected} Hz")]
    Rate { sample: String, found: f64, expected: f32 },
    #[error("sample `{sample}`: {error}")]
    Dsp { sample: String, error: mote_dsp::DspError },
    #[error("no samples to compute features from")]
    Empty,
    #[error("mote.toml [learn.augment]: {message}")]
    Augment { message: String },
    #[error(transparent)]
    Project(#[from] ProjectError),
}

impl FeatureError {
    pub fn code(&self) -> &'static str {
        match self {
            FeatureError::MissingAxis { .. } => "features.missing_axis",
            FeatureError::Rate { .. } => "features.rate",
            FeatureError::Dsp { .. } => "features.dsp",
            FeatureError::Empty => "features.empty",
            FeatureError::Augment { .. } => "features.augment",
            FeatureError::Project(error) => error.code(),
        }
    }
}

/// One row per window.
#[derive(Debug, Clone, Default)]
pub struct FeatureSet {
    /// Row-major, `n_rows × n_features`.
    pub features: Vec<f32>,
    pub n_features: usize,
    /// The label of each row (its sample's label).
    pub labels: Vec<String>,
    pub splits: Vec<Split>,
    /// Which sample each row came from.
    pub sample_names: Vec<String>,
}

impl FeatureSet {
    pub fn n_rows(&self) -> usize {
        self.labels.len()
    }

    pub fn row(&self, idx: usize) -> &[f32] {
        &self.features[idx * self.n_features..(idx + 1) * self.n_features]
    }

    /// The rows of one split, as a new set.
    pub fn split(&self, split: Split) -> FeatureSet {
        let mut out = FeatureSet { n_features: self.n_features, ..FeatureSet::default() };
        for idx in (0..self.n_rows()).filter(|&idx| self.splits[idx] == split) {
            out.features.extend_from_slice(self.row(idx));
            out.labels.push(self.labels[idx].clone());
            out.splits.push(split);
            out.sample_names.push(self.sample_names[idx].clone());
        }
        out
    }
}

/// A sample's columns in the impulse's axis order, with their scales: what windows are cut from.
pub(crate) struct Selected {
    /// Time-major, `n_steps × axes`.
    pub raw: Vec<i16>,
    pub scales: Vec<f32>,
    pub n_steps: usize,
}

/// The impulse's axes, in the impulse's order, from the sample's columns, after checking its rate.
pub(crate) fn select_axes(sample: &Sample, impulse: &Impulse) -> Result<Selected, FeatureError> {
    let name = &sample.info.name;
    let recording = &sample.recording;
    if (recording.rate_hz - f64::from(impulse.rate_hz)).abs() > 1e-3 * recording.rate_hz.max(1.0) {
        return Err(FeatureError::Rate {
            sample: name.clone(),
            found: recording.rate_hz,
            expected: impulse.rate_hz,
        });
    }
    let columns: Vec<usize> = impulse
        .axes
        .iter()
        .map(|axis| {
            recording.axes.iter().position(|a| &a.name == axis).ok_or_else(|| FeatureError::MissingAxis {
                sample: name.clone(),
                axis: axis.clone(),
                has: recording.axes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
                needs: impulse.axes.join(", "),
            })
        })
        .collect::<Result<_, _>>()?;
    let scales = columns.iter().map(|&c| recording.axes[c].scale as f32).collect();
    let n_steps = recording.n_steps();
    let source_axes = recording.n_axes();
    let mut raw = Vec::with_capacity(n_steps * columns.len());
    for step in 0..n_steps {
        for &column in &columns {
            raw.push(recording.raw[step * source_axes + column]);
        }
    }
    Ok(Selected { raw, scales, n_steps })
}

/// The impulse's DSP block with its buffers, run window by window.
pub(crate) struct Dsp<'i> {
    impulse: &'i Impulse,
    scratch: Vec<f32>,
    pub out: Vec<f32>,
}

impl<'i> Dsp<'i> {
    pub fn new(impulse: &'i Impulse) -> Result<Self, FeatureError> {
        let scratch_len = impulse
            .dsp
            .scratch_len(impulse.window_samples, impulse.axes.len(), impulse.rate_hz)
            .map_err(|error| FeatureError::Dsp { sample: String::new(), error })?;
        Ok(Dsp { impulse, scratch: vec![0f32; scratch_len], out: vec![0f32; impulse.output.len()] })
    }

    /// Computes one window's features into `self.out`.
    pub fn compute(&mut self, window: &[i16], scales: &[f32], sample: &str) -> Result<&[f32], FeatureError> {
        let impulse = self.impulse;
        impulse
            .dsp
            .compute(window, impulse.axes.len(), scales, impulse.rate_hz, &mut self.out, &mut self.scratch)
            .map_err(|error| FeatureError::Dsp { sample: sample.to_string(), error })?;
        Ok(&self.out)
    }
}

/// Cuts every sample into windows and computes each window's features.
pub fn compute_features(samples: &[Sample], impulse: &Impulse) -> Result<FeatureSet, FeatureError> {
    let n_axes = impulse.axes.len();
    let mut set = FeatureSet { n_features: impulse.output.len(), ..FeatureSet::default() };
    let mut window = vec![0i16; impulse.window_samples * n_axes];
    let mut dsp = Dsp::new(impulse)?;
    for sample in samples {
        let name = &sample.info.name;
        let selected = select_axes(sample, impulse)?;
        let dsp_error = |error| FeatureError::Dsp { sample: name.clone(), error };
        for range in impulse.window.windows(selected.n_steps, impulse.rate_hz).map_err(dsp_error)? {
            WindowSpec::copy_window(&selected.raw, n_axes, range, &mut window).map_err(dsp_error)?;
            set.features.extend_from_slice(dsp.compute(&window, &selected.scales, name)?);
            set.labels.push(sample.info.label.clone());
            set.splits.push(sample.info.split);
            set.sample_names.push(name.clone());
        }
    }
    if set.n_rows() == 0 {
        return Err(FeatureError::Empty);
    }
    Ok(set)
}

/// Where a project's features came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureSource {
    /// Read from the project's feature cache: nothing they depend on changed.
    Cached,
    /// Computed from the samples (and cached for next time).
    Computed,
}

/// Cached feature sets a project keeps (the oldest beyond this are removed).
const CACHE_ENTRIES: usize = 6;
/// Bumped when the cache file's layout changes.
pub(crate) const CACHE_FORMAT: u32 = 1;

/// The features of the project's samples that `filter` selects, through `impulse`: from the
/// project's cache (`cache/features/`) when the impulse's window, axes, rate and DSP block, the
/// samples (names, labels, splits, content) and the DSP code are what they were; computed and
/// cached otherwise. A cache file that cannot be read is computed anew; one that cannot be
/// written only costs the next run the time.
pub async fn project_features(
    project: &Project,
    impulse: &Impulse,
    filter: &SampleFilter,
) -> Result<(FeatureSet, FeatureSource), FeatureError> {
    let infos = project.list_samples(filter).await?;
    let dir = project.dir().join("cache").join("features");
    let path = dir.join(format!("{}.bin", cache_key(impulse, &infos)));
    if let Some(set) = read_cache(&path) {
        return Ok((set, FeatureSource::Cached));
    }
    let samples = project.load_samples(filter).await?;
    let set = compute_features(&samples, impulse)?;
    write_cache(&dir, &path, &set);
    Ok((set, FeatureSource::Computed))
}

/// A hash of everything a feature set depends on.
pub(crate) fn cache_key(impulse: &Impulse, infos: &[SampleInfo]) -> String {
    let mut hash = Sha256::new();
    hash.update(CACHE_FORMAT.to_le_bytes());
    hash.update(dsp_code_fingerprint());
    let settings = serde_json::json!({
        "dsp": impulse.dsp, "window": impulse.window, "axes": impulse.axes, "rate_hz": impulse.rate_hz,
    });
    hash.update(settings.to_string().as_bytes());
    for info in infos {
        for field in [info.name.as_str(), info.label.as_str(), split_name(info.split), info.hash.0.as_str()] {
            hash.update((field.len() as u64).to_le_bytes());
            hash.update(field.as_bytes());
        }
    }
    mote_formats::recording::hex(&hash.finalize())
}

/// The DSP crate's sources (as `mote-convert` embeds them): features computed by other code are
/// not reused.
fn dsp_code_fingerprint() -> &'static [u8; 32] {
    static FINGERPRINT: OnceLock<[u8; 32]> = OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        let mut hash = Sha256::new();
        for (name, text) in mote_convert::export::dsp_sources() {
            hash.update(name.as_bytes());
            hash.update(text.as_bytes());
        }
        hash.finalize().into()
    })
}

fn split_name(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Test => "test",
    }
}

/// The cache file: postcard of [`CachedSet`].
#[derive(serde::Serialize, serde::Deserialize)]
struct CachedSet {
    format: u32,
    n_features: u64,
    features: Vec<f32>,
    labels: Vec<String>,
    /// 0 train, 1 test.
    splits: Vec<u8>,
    sample_names: Vec<String>,
}

fn read_cache(path: &Path) -> Option<FeatureSet> {
    let bytes = std::fs::read(path).ok()?;
    let cached: CachedSet = postcard::from_bytes(&bytes).ok()?;
    let n_features = usize::try_from(cached.n_features).ok()?;
    let rows = cached.labels.len();
    let consistent = cached.format == CACHE_FORMAT
        && cached.splits.len() == rows
        && cached.sample_names.len() == rows
        && rows.checked_mul(n_features) == Some(cached.features.len());
    if !consistent {
        return None;
    }
    let splits = cached
        .splits
        .iter()
        .map(|split| match split {
            0 => Some(Split::Train),
            1 => Some(Split::Test),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    touch(path);
    Some(FeatureSet {
        features: cached.features,
        n_features,
        labels: cached.labels,
        splits,
        sample_names: cached.sample_names,
    })
}

fn write_cache(dir: &Path, path: &Path, set: &FeatureSet) {
    let cached = CachedSet {
        format: CACHE_FORMAT,
        n_features: set.n_features as u64,
        features: set.features.clone(),
        labels: set.labels.clone(),
        splits: set.splits.iter().map(|split| u8::from(*split == Split::Test)).collect(),
        sample_names: set.sample_names.clone(),
    };
    if let Ok(bytes) = postcard::to_stdvec(&cached) {
        write_file(dir, path, bytes);
    }
}

/// Marks a cache file as used, so the newest-used entries are the ones kept.
pub(crate) fn touch(path: &Path) {
    let _ = std::fs::File::options()
        .append(true)
        .open(path)
        .and_then(|file| file.set_modified(std::time::SystemTime::now()));
}

pub(crate) fn write_file(dir: &Path, path: &Path, bytes: Vec<u8>) {
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Written beside and renamed: a reader never sees half a file.
    let temporary = path.with_extension("tmp");
    if std::fs::write(&temporary, bytes).is_ok() && std::fs::rename(&temporary, path).is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    prune(dir);
}

/// Keeps the [`CACHE_ENTRIES`] most recently used files.
fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "bin"))
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    files.sort_by(|a, b| b.0.cmp(&a.0));
    for (_, path) in files.into_iter().skip(CACHE_ENTRIES) {
        let _ = std::fs::remove_file(path);
    }
}
