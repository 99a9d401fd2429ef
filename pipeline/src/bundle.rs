//! Projects for CI: a bundle is a plain folder — `mote.toml`, the samples as a Mote dataset
//! (`samples.csv`, `data/*.csv`) and `mote.lock` (the SHA-256 of every file, the Mote version, the
//! seed and the hashes of the impulse's blocks). `build` checks the lock, rebuilds the model in a
//! scratch project inside the artifacts folder, and writes the artifacts; the same bundle always
//! gives byte-identical artifacts (no timestamps, no absolute paths, seeded training).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_convert::estimate::{Footprint, estimate};
use mote_project::{ImportOptions, Project, ProjectConfig, SampleFilter, SystemClock};
use mote_runtime::Model;
use serde::Serialize;
use sha2::Digest as _;

use crate::models::{ModelError, model_blob};
use crate::training::{TrainReport, TrainingError, train_project};

pub use mote_formats::lock::{LOCK_FILE, LOCK_VERSION, Lock, LockError};

/// Why a bundle cannot be used (exit code 2 of `mote build`).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{0} is not a bundle folder")]
    NotAFolder(PathBuf),
    #[error("the bundle has no {LOCK_FILE}; export it with `mote export --out DIR`")]
    MissingLock,
    #[error("{LOCK_FILE} cannot be read: {0}")]
    BadLock(String),
    #[error("{LOCK_FILE} has lock version {0}; this Mote reads version {LOCK_VERSION} (update Mote)")]
    UnknownLockVersion(u32),
    #[error("`{0}` is not a plain path inside the bundle (it would land outside it)")]
    PathTraversal(String),
    #[error("`{0}` is listed in {LOCK_FILE} but missing from the bundle")]
    MissingFile(String),
    #[error("`{0}` does not match its hash in {LOCK_FILE}: the bundle was changed after export")]
    Tampered(String),
    #[error("`{0}` is in the bundle but not in {LOCK_FILE}")]
    Unlisted(String),
    #[error("the artifacts folder {0} is not empty")]
    ArtifactsNotEmpty(PathBuf),
    #[error(transparent)]
    Project(#[from] mote_project::ProjectError),
    #[error(transparent)]
    Training(#[from] TrainingError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the trained model blob does not parse: {0}")]
    Blob(mote_runtime::BlobError),
    #[error("cannot export the model: {0}")]
    Export(#[from] mote_convert::export::ExportError),
    #[error("cannot write metrics.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl BundleError {
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::NotAFolder(_) => "bundle.not_a_folder",
            BundleError::MissingLock => "bundle.missing_lock",
            BundleError::BadLock(_) => "bundle.bad_lock",
            BundleError::UnknownLockVersion(_) => "bundle.lock_version",
            BundleError::PathTraversal(_) => "bundle.path_traversal",
            BundleError::MissingFile(_) => "bundle.missing_file",
            BundleError::Tampered(_) => "bundle.tampered",
            BundleError::Unlisted(_) => "bundle.unlisted",
            BundleError::ArtifactsNotEmpty(_) => "bundle.artifacts_not_empty",
            BundleError::Project(e) => e.code(),
            BundleError::Training(e) => e.code(),
            BundleError::Model(e) => e.code(),
            BundleError::Blob(_) => "bundle.blob",
            BundleError::Export(_) => "bundle.export",
            BundleError::Json(_) => "bundle.json",
            BundleError::Io { .. } => "bundle.io",
        }
    }
}

impl From<LockError> for BundleError {
    fn from(error: LockError) -> Self {
        match error {
            LockError::UnknownVersion(version) => BundleError::UnknownLockVersion(version),
            LockError::NotPlainPath(name) => BundleError::PathTraversal(name),
            LockError::Unreadable(message) => BundleError::BadLock(message),
            // `LockError` is non-exhaustive: anything new is still a lock that cannot be used.
            other => BundleError::BadLock(other.to_string()),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io { path: path.to_path_buf(), source }
}

fn sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn block_hash(block: &mote_project::BlockConfig) -> String {
    let mut table = block.params.clone();
    table.insert("block".into(), toml::Value::String(block.block.clone()));
    sha256(toml::to_string(&table).unwrap_or_default().as_bytes())
}

/// Every file under `dir` (relative, `/`-separated, sorted), except the lock.
fn files_in(dir: &Path) -> Result<Vec<String>, BundleError> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), BundleError> {
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let name: Vec<String> =
                    relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                out.push(name.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.retain(|name| name != LOCK_FILE);
    out.sort();
    Ok(out)
}

/// Writes `project` as a bundle into `out` (a folder that must not exist or be empty, or a
/// `.tar.zst` archive).
pub async fn export_bundle(project: &Project, out: &Path) -> Result<Lock, BundleError> {
    if is_archive(out) {
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let temp = tempfile::tempdir_in(parent).map_err(io(parent))?;
        let folder = temp.path().join("bundle");
        let lock = Box::pin(export_bundle(project, &folder)).await?;
        pack_archive(&folder, out)?;
        return Ok(lock);
    }
    project.export_dataset(out, &SampleFilter::default()).await?;
    let config = project.config();
    let mut files = BTreeMap::new();
    for name in files_in(out)? {
        let path = out.join(&name);
        files.insert(name, sha256(&std::fs::read(&path).map_err(io(&path))?));
    }
    let lock = Lock {
        lock_version: LOCK_VERSION,
        mote_version: env!("CARGO_PKG_VERSION").to_string(),
        seed: config.project.seed,
        dsp_sha256: block_hash(&config.dsp),
        learn_sha256: block_hash(&config.learn),
        files,
    };
    let path = out.join(LOCK_FILE);
    let text = serde_json::to_string_pretty(&lock).map_err(|e| BundleError::BadLock(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(io(&path))?;
    Ok(lock)
}

/// Checks a bundle against its lock: known lock version, plain paths only, every file present
/// with its hash, nothing unlisted.
pub fn verify_bundle(dir: &Path) -> Result<Lock, BundleError> {
    if !dir.is_dir() {
        return Err(BundleError::NotAFolder(dir.to_path_buf()));
    }
    let text = std::fs::read_to_string(dir.join(LOCK_FILE)).map_err(|_| BundleError::MissingLock)?;
    // Every listed path is plain before any file is opened.
    let lock = Lock::parse(&text)?;
    for (name, hash) in &lock.files {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|_| BundleError::MissingFile(name.clone()))?;
        if &sha256(&bytes) != hash {
            return Err(BundleError::Tampered(name.clone()));
        }
    }
    if let Some(extra) = files_in(dir)?.into_iter().find(|name| !lock.files.contains_key(name)) {
        return Err(BundleError::Unlisted(extra));
    }
    Ok(lock)
}

/// What a build measured (written as `metrics.json`; deterministic for a bundle).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildMetrics {
    pub model: String,
    pub labels: Vec<String>,
    pub train_windows: usize,
    pub test_windows: usize,
    pub accuracy: Option<f32>,
    pub int8_accuracy: Option<f32>,
    pub int8_drop: Option<f32>,
    pub agreement: Option<f32>,
    pub blob_bytes: usize,
    pub arena_bytes: usize,
    pub macs: u64,
    pub ram_bytes: u64,
    pub flash_bytes: u64,
    /// Per target id: estimated latency per window in ms.
    pub latency_ms: BTreeMap<String, f32>,
    pub weights_sha256: Option<String>,
    pub blob_sha256: String,
}

/// One `--gate`, e.g. `accuracy>=0.95`, `ram<=8KiB`, `latency_ms@cortex-m4f-64mhz<=20`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub text: String,
    pub metric: String,
    pub at_most: bool,
    pub limit: f64,
}

impl std::str::FromStr for Gate {
    type Err = String;

    fn from_str(text: &str) -> Result<Gate, String> {
        let (metric, at_most, value) = if let Some((m, v)) = text.split_once("<=") {
            (m, true, v)
        } else if let Some((m, v)) = text.split_once(">=") {
            (m, false, v)
        } else {
            return Err(format!("gate `{text}` needs <= or >= (e.g. accuracy>=0.95, ram<=8KiB)"));
        };
        let metric = metric.trim();
        let known = ["accuracy", "int8_accuracy", "int8_drop", "ram", "flash"].contains(&metric)
            || metric
                .strip_prefix("latency_ms@")
                .is_some_and(|target| mote_convert::estimate::TARGETS.iter().any(|t| t.id == target));
        if !known {
            let targets: Vec<&str> = mote_convert::estimate::TARGETS.iter().map(|t| t.id).collect();
            return Err(format!(
                "unknown gate metric `{metric}` (accuracy, int8_accuracy, int8_drop, ram, flash, latency_ms@TARGET with TARGET one of {})",
                targets.join(", ")
            ));
        }
        let value = value.trim();
        let (number, unit) = value
            .find(|c: char| c.is_ascii_alphabetic())
            .map_or((value, ""), |at| (&value[..at], &value[at..]));
        let scale = match unit {
            "" | "B" => 1.0,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            "KB" | "kB" => 1000.0,
            other => return Err(format!("unknown unit `{other}` in gate `{text}` (B, KiB, MiB, KB)")),
        };
        let limit: f64 =
            number.trim().parse().map_err(|_| format!("`{number}` in gate `{text}` is not a number"))?;
        Ok(Gate { text: text.to_string(), metric: metric.to_string(), at_most, limit: limit * scale })
    }
}

/// A gate's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateResult {
    pub gate: String,
    pub value: Option<f64>,
    pub passed: bool,
}

impl Gate {
    pub fn check(&self, metrics: &BuildMetrics) -> GateResult {
        let value = match self.metric.as_str() {
            "accuracy" => metrics.accuracy.map(f64::from),
            "int8_accuracy" => metrics.int8_accuracy.map(f64::from),
            "int8_drop" => metrics.int8_drop.map(f64::from),
            "ram" => Some(metrics.ram_bytes as f64),
            "flash" => Some(metrics.flash_bytes as f64),
            other => other
                .strip_prefix("latency_ms@")
                .and_then(|target| metrics.latency_ms.get(target))
                .map(|&ms| f64::from(ms)),
        };
        let passed = value.is_some_and(|v| if self.at_most { v <= self.limit } else { v >= self.limit });
        GateResult { gate: self.text.clone(), value, passed }
    }
}

/// What `build` produced.
#[derive(Debug, Clone, Serialize)]
pub struct BuildOutcome {
    pub metrics: BuildMetrics,
    pub gates: Vec<GateResult>,
    /// Files written, relative to the artifacts folder.
    pub artifacts: Vec<String>,
}

/// Verifies `bundle`, rebuilds its model and writes the artifacts into `out` (created; must be
/// empty): `model.mote`, `c/mote_model.h`, `rust/<crate>/…`, the plots, `report.html`,
/// `metrics.json`. Nothing is written before the bundle checks out, and nothing outside `out`.
pub async fn build_bundle(bundle: &Path, out: &Path, gates: &[Gate]) -> Result<BuildOutcome, BundleError> {
    let archive = is_archive(bundle);
    if archive {
        if !bundle.is_file() {
            return Err(BundleError::NotAFolder(bundle.to_path_buf()));
        }
    } else {
        verify_bundle(bundle)?;
    }
    let existed = out.exists();
    if existed && std::fs::read_dir(out).map_err(io(out))?.next().is_some() {
        return Err(BundleError::ArtifactsNotEmpty(out.to_path_buf()));
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let work = out.join(".work");
    let result = async {
        let folder = if archive {
            // Unpacked inside the artifacts folder, every entry checked first: nothing lands
            // outside it.
            let folder = work.join("bundle");
            unpack_archive(bundle, &folder)?;
            verify_bundle(&folder)?;
            folder
        } else {
            bundle.to_path_buf()
        };
        build_in(&folder, out, &work.join("project"), gates).await
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    if result.is_err() && !existed {
        let _ = std::fs::remove_dir_all(out);
    }
    result
}

/// Whether `path` names a bundle archive (`.tar.zst`) rather than a folder.
pub fn is_archive(path: &Path) -> bool {
    path.to_string_lossy().ends_with(".tar.zst")
}

/// Packs a bundle folder into a `.tar.zst` deterministically: entries sorted, mode 0644, no
/// owner, time 0 — the same folder always gives the same bytes.
pub fn pack_archive(folder: &Path, archive: &Path) -> Result<(), BundleError> {
    let mut names = files_in(folder)?;
    names.push(LOCK_FILE.to_string());
    names.sort();
    let file = std::fs::File::create(archive).map_err(io(archive))?;
    let encoder = zstd::Encoder::new(file, 9).map_err(io(archive))?;
    let mut builder = tar::Builder::new(encoder);
    builder.mode(tar::HeaderMode::Deterministic);
    for name in &names {
        let path = folder.join(name);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, bytes.as_slice()).map_err(io(archive))?;
    }
    let encoder = builder.into_inner().map_err(io(archive))?;
    encoder.finish().map_err(io(archive))?;
    Ok(())
}

/// Unpacks a `.tar.zst` bundle into `into`, refusing any entry that is not a plain file (or
/// folder) with a plain relative path — `../x`, `/etc/x`, links — before writing anything.
fn unpack_archive(archive: &Path, into: &Path) -> Result<(), BundleError> {
    let unreadable = |e: std::io::Error| BundleError::BadLock(format!("the archive cannot be read: {e}"));
    let file = std::fs::File::open(archive).map_err(io(archive))?;
    let decoder = zstd::Decoder::new(file).map_err(unreadable)?;
    let mut reader = tar::Archive::new(decoder);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in reader.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        let plain = !raw.is_empty()
            && !raw.contains('\\')
            && Path::new(&raw).components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !plain || !(kind.is_file() || kind.is_dir()) {
            return Err(BundleError::PathTraversal(raw));
        }
        if kind.is_file() {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(unreadable)?;
            files.push((raw, bytes));
        }
    }
    for (name, bytes) in files {
        let path = into.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(io(&path))?;
    }
    Ok(())
}

/// Opens `dir` the way the app's "Open project or bundle…" does: a CI bundle (`mote.lock`
/// and no database) is checked against its lock and becomes the project
/// `<projects>/<name>-from-bundle` (reopened as it is when that exists already); any other folder
/// is a project, created when empty.
pub async fn open_folder_or_bundle(dir: &Path, projects: &Path) -> Result<Project, BundleError> {
    let is_bundle = dir.join(LOCK_FILE).exists() && !dir.join(mote_project::DATABASE_FILE).exists();
    if !is_bundle {
        return Ok(Project::open_or_create(dir).await?);
    }
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bundle".into());
    let target = projects.join(format!("{name}-from-bundle"));
    if target.join(mote_project::DATABASE_FILE).exists() {
        return Ok(Project::open(&target).await?);
    }
    open_bundle(dir, &target).await
}

/// Verifies `bundle` and makes it a project in `dir` (created): its samples and exactly its
/// settings. How the app opens a bundle, and where `build` starts.
pub async fn open_bundle(bundle: &Path, dir: &Path) -> Result<Project, BundleError> {
    verify_bundle(bundle)?;
    let mut project = Project::create(dir, None, Arc::new(SystemClock)).await?;
    let filled = async {
        project.import_dir(bundle, &ImportOptions::default()).await?;
        // The bundle's settings, exactly (an import adopts a preset only into a fresh project).
        let config_path = bundle.join(mote_project::config::CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path).map_err(io(&config_path))?;
        let config = ProjectConfig::parse(&text, &config_path).map_err(mote_project::ProjectError::from)?;
        project.save_config(config)?;
        Ok::<_, BundleError>(())
    }
    .await;
    match filled {
        Ok(()) => Ok(project),
        Err(error) => {
            project.close().await;
            let _ = std::fs::remove_dir_all(dir);
            Err(error)
        }
    }
}

async fn build_in(
    bundle: &Path,
    out: &Path,
    work: &Path,
    gates: &[Gate],
) -> Result<BuildOutcome, BundleError> {
    let project = open_bundle(bundle, work).await?;
    let outcome = async {
        let cancel = Arc::new(AtomicBool::new(false));
        let report = train_project(&project, cancel, |_| std::ops::ControlFlow::Continue(())).await?;
        let (stored, blob) = model_blob(&project, Some(report.model)).await?;
        write_artifacts(&project.model_dir(&stored), &blob, &report, out, gates)
    }
    .await;
    project.close().await;
    outcome
}

fn write_artifacts(
    model_dir: &Path,
    blob: &[u8],
    report: &TrainReport,
    out: &Path,
    gates: &[Gate],
) -> Result<BuildOutcome, BundleError> {
    let model = Model::parse(blob).map_err(BundleError::Blob)?;
    let footprint = Footprint::of(&model);
    let comparison = report.int8.comparison.as_ref();
    let metrics = BuildMetrics {
        model: model.name().to_string(),
        labels: report.labels.clone(),
        train_windows: report.train_windows,
        test_windows: comparison.map_or(0, |c| c.windows),
        accuracy: report.test.as_ref().map(|t| t.top1_accuracy),
        int8_accuracy: comparison.map(|c| c.int8.top1_accuracy),
        int8_drop: comparison.map(|c| c.accuracy_drop),
        agreement: comparison.map(|c| c.agreement),
        blob_bytes: blob.len(),
        arena_bytes: model.arena_len(),
        macs: model.macs(),
        ram_bytes: footprint.ram_bytes(),
        flash_bytes: footprint.flash_bytes(),
        latency_ms: estimate(&model).into_iter().map(|e| (e.target.id.to_string(), e.latency_ms)).collect(),
        weights_sha256: report.weights_sha256.clone(),
        blob_sha256: sha256(blob),
    };
    let gate_results: Vec<GateResult> = gates.iter().map(|g| g.check(&metrics)).collect();
    let mut written = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| -> Result<(), BundleError> {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(io(&path))?;
        written.push(name.to_string());
        Ok(())
    };
    write("model.mote", blob)?;
    write("c/mote_model.h", mote_convert::export::c_header(&model).as_bytes())?;
    for (path, bytes) in mote_convert::export::rust_crate(&model)? {
        let name = format!("rust/{}", path.to_string_lossy().replace('\\', "/"));
        write(&name, &bytes)?;
    }
    let mut plots = Vec::new();
    for plot in ["training_curves.svg", "confusion_matrix.svg"] {
        if let Ok(svg) = std::fs::read_to_string(model_dir.join(plot)) {
            write(plot, svg.as_bytes())?;
            plots.push(svg);
        }
    }
    let metrics_json =
        serde_json::to_string_pretty(&serde_json::json!({ "metrics": metrics, "gates": gate_results }))?;
    write("metrics.json", format!("{metrics_json}\n").as_bytes())?;
    write("report.html", report_html(&metrics, &gate_results, &plots, &estimate(&model)).as_bytes())?;
    written.sort();
    Ok(BuildOutcome { metrics, gates: gate_results, artifacts: written })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn report_html(
    metrics: &BuildMetrics,
    gates: &[GateResult],
    plots: &[String],
    estimates: &[mote_convert::estimate::Estimate],
) -> String {
    let percent = |v: Option<f32>| v.map_or("—".to_string(), |v| format!("{:.1} %", v * 100.0));
    let mut html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Mote build: {name}</title>\n\
         <style>body{{font:14px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}}\
         table{{border-collapse:collapse}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}}\
         .pass{{color:#2f855a}}.fail{{color:#c23b3b;font-weight:600}}</style></head><body>\n\
         <h1>Mote build: {name}</h1>\n<p>Labels: {labels}. {train} training windows, {test} test windows.</p>\n\
         <h2>Metrics</h2>\n<table>\n<tr><th>float test accuracy</th><td>{acc}</td></tr>\n\
         <tr><th>int8 test accuracy</th><td>{int8}</td></tr>\n<tr><th>same top class float/int8</th><td>{agree}</td></tr>\n\
         <tr><th>model blob</th><td>{blob} bytes (arena {arena} bytes, {macs} MACs)</td></tr>\n\
         <tr><th>RAM / flash</th><td>{ram} / {flash} bytes</td></tr>\n</table>\n",
        name = escape(&metrics.model),
        labels = escape(&metrics.labels.join(", ")),
        train = metrics.train_windows,
        test = metrics.test_windows,
        acc = percent(metrics.accuracy),
        int8 = percent(metrics.int8_accuracy),
        agree = percent(metrics.agreement),
        blob = metrics.blob_bytes,
        arena = metrics.arena_bytes,
        macs = metrics.macs,
        ram = metrics.ram_bytes,
        flash = metrics.flash_bytes,
    );
    html.push_str("<h2>Estimates per target</h2>\n<table>\n<tr><th>target</th><th>RAM</th><th>flash</th><th>latency</th></tr>\n");
    for e in estimates {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{} B</td><td>{} B</td><td>{:.2} ms</td></tr>\n",
            escape(e.target.name),
            e.ram_bytes,
            e.flash_bytes,
            e.latency_ms
        ));
    }
    html.push_str("</table>\n");
    if !gates.is_empty() {
        html.push_str("<h2>Gates</h2>\n<table>\n<tr><th>gate</th><th>value</th><th>verdict</th></tr>\n");
        for g in gates {
            let (class, verdict) = if g.passed { ("pass", "pass") } else { ("fail", "FAIL") };
            let value = g.value.map_or("—".to_string(), |v| format!("{v}"));
            html.push_str(&format!(
                "<tr><td>{}</td><td>{value}</td><td class=\"{class}\">{verdict}</td></tr>\n",
                escape(&g.gate)
            ));
        }
        html.push_str("</table>\n");
    }
    for svg in plots {
        // Inline, without the XML prolog.
        if let Some(at) = svg.find("<svg") {
            html.push_str(&format!("<figure>{}</figure>\n", svg[at..].trim_end()));
        }
    }
    html.push_str("</body></html>\n");
    html
}
