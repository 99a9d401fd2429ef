//! Mote's own dataset format: a folder with an index `samples.csv` and one CSV file per sample.
//!
//! ```text
//! <dataset>/
//!   samples.csv        name,label,split,file   (one row per sample, sorted by name)
//!   data/<name>.csv    one sample: `# key: value` header lines, a row of axis names, raw i16 rows
//!   mote.toml          optional project preset (see README.md)
//! ```
//!
//! A sample file stores the raw integers and the per-axis scale (physical = raw × scale), so it is
//! lossless, compact and diffs line by line:
//!
//! ```text
//! # mote-sample 1
//! # sensor: imu
//! # device: uea:BasicMotions
//! # rate_hz: 10
//! # units: m/s2,m/s2
//! # scales: 0.0001220703125,0.000244140625
//! accX,accY
//! 648,-7401
//! ```
//!
//! Label and split live only in the index, so relabelling or moving a sample changes one index line.

use std::path::{Path, PathBuf};

use crate::csv_text::{join_record, numbered_lines, split_record};
use crate::error::{ImportError, ImportErrorKind, Location};
use crate::import::{ParsedFile, ParsedValues};
use crate::sample::{Recording, Split};

/// The index file of a Mote dataset folder.
pub const INDEX_FILE: &str = "samples.csv";
/// First line of every Mote sample file.
pub const SAMPLE_MAGIC: &str = "# mote-sample 1";
const INDEX_HEADER: [&str; 4] = ["name", "label", "split", "file"];

/// One sample as written into a dataset folder.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSample {
    pub name: String,
    pub label: String,
    pub split: Split,
    pub sensor: String,
    pub device: String,
    /// UTC ISO-8601; omitted from the file when `None` (the importing project's clock is used).
    pub created: Option<String>,
    pub recording: Recording,
}

/// A row of `samples.csv`, with the sample file resolved against the dataset folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexEntry {
    pub name: String,
    pub label: String,
    pub split: Split,
    pub file: PathBuf,
}

/// The text of one sample file.
pub fn sample_file_text(sample: &DatasetSample) -> String {
    let recording = &sample.recording;
    let mut text = String::new();
    text.push_str(SAMPLE_MAGIC);
    text.push('\n');
    text.push_str(&format!("# sensor: {}\n", one_line(&sample.sensor)));
    text.push_str(&format!("# device: {}\n", one_line(&sample.device)));
    if let Some(created) = &sample.created {
        text.push_str(&format!("# created: {}\n", one_line(created)));
    }
    text.push_str(&format!("# rate_hz: {}\n", recording.rate_hz));
    let units: Vec<&str> = recording.axes.iter().map(|axis| axis.unit.as_str()).collect();
    text.push_str(&format!("# units: {}\n", join_record(&units)));
    let scales: Vec<String> = recording.axes.iter().map(|axis| axis.scale.to_string()).collect();
    text.push_str(&format!("# scales: {}\n", scales.join(",")));
    let names: Vec<&str> = recording.axes.iter().map(|axis| axis.name.as_str()).collect();
    text.push_str(&join_record(&names));
    text.push('\n');
    for row in recording.raw.chunks(recording.n_axes().max(1)) {
        let row: Vec<String> = row.iter().map(i16::to_string).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

/// A header value on one line (line breaks would end the header early).
fn one_line(value: &str) -> String {
    value.replace(['\n', '\r'], " ")
}

/// File names (relative, `/`-separated) for samples, unique and derived from their names.
pub(crate) fn sample_file_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    names
        .map(|name| {
            let stem: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
                .collect();
            let stem = if stem.is_empty() || stem.starts_with('.') { format!("_{stem}") } else { stem };
            let mut candidate = format!("data/{stem}.csv");
            let mut counter = 2;
            while !taken.insert(candidate.to_lowercase()) {
                candidate = format!("data/{stem}-{counter}.csv");
                counter += 1;
            }
            candidate
        })
        .collect()
}

/// The index text for `(sample, file)` pairs, sorted by name.
pub(crate) fn index_text(rows: &[(&DatasetSample, &str)]) -> String {
    let mut sorted: Vec<_> = rows.to_vec();
    sorted.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let mut text = join_record(&INDEX_HEADER);
    text.push('\n');
    for (sample, file) in sorted {
        text.push_str(&join_record(&[&sample.name, &sample.label, sample.split.as_str(), file]));
        text.push('\n');
    }
    text
}

/// Writes a dataset folder: every sample file, then the index. `out_dir` is created if missing.
pub fn write_dataset(out_dir: &Path, samples: &[DatasetSample]) -> std::io::Result<()> {
    std::fs::create_dir_all(out_dir.join("data"))?;
    let files = sample_file_names(samples.iter().map(|sample| sample.name.as_str()));
    for (sample, file) in samples.iter().zip(&files) {
        crate::fs_atomic::write(&out_dir.join(file), sample_file_text(sample).as_bytes())?;
    }
    let rows: Vec<(&DatasetSample, &str)> = samples.iter().zip(files.iter().map(String::as_str)).collect();
    crate::fs_atomic::write(&out_dir.join(INDEX_FILE), index_text(&rows).as_bytes())
}

/// Reads `samples.csv` of the dataset in `dir`.
pub(crate) fn read_index(dir: &Path) -> Result<Vec<IndexEntry>, ImportError> {
    let path = dir.join(INDEX_FILE);
    let text = std::fs::read_to_string(&path).map_err(|error| {
        ImportError::new(&path, Location::File, ImportErrorKind::Io, format!("cannot read: {error}"))
    })?;
    let bad = |line: usize, column: Option<&str>, message: String| {
        ImportError::new(
            &path,
            Location::Line { line, column: column.map(str::to_string) },
            ImportErrorKind::Dataset,
            message,
        )
    };
    let mut lines = numbered_lines(&text).filter(|(_, line)| !line.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(ImportError::new(
            &path,
            Location::File,
            ImportErrorKind::Empty,
            "expected a header `name,label,split,file`, the file is empty",
        ));
    };
    let header = split_record(header).map_err(|message| bad(header_line, None, message))?;
    let column_of = |name: &str| header.iter().position(|column| column == name);
    let columns: Vec<usize> = INDEX_HEADER
        .iter()
        .map(|name| {
            column_of(name).ok_or_else(|| {
                bad(
                    header_line,
                    None,
                    format!("expected a header with columns name,label,split,file; `{name}` is missing"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mut entries: Vec<IndexEntry> = Vec::new();
    for (line_number, line) in lines {
        let fields = split_record(line).map_err(|message| bad(line_number, None, message))?;
        if fields.len() != header.len() {
            return Err(bad(
                line_number,
                None,
                format!("expected {} fields like the header, found {}", header.len(), fields.len()),
            ));
        }
        let field = |index: usize| fields[columns[index]].as_str();
        let name = field(0).to_string();
        if name.is_empty() {
            return Err(bad(
                line_number,
                Some("name"),
                "expected a sample name, found an empty field".into(),
            ));
        }
        if entries.iter().any(|entry| entry.name == name) {
            return Err(bad(
                line_number,
                Some("name"),
                format!("expected unique names, `{name}` is listed twice"),
            ));
        }
        let label = field(1).to_string();
        if label.is_empty() {
            return Err(bad(line_number, Some("label"), "expected a label, found an empty field".into()));
        }
        let split = Split::parse(field(2)).ok_or_else(|| {
            bad(line_number, Some("split"), format!("expected `train` or `test`, found `{}`", field(2)))
        })?;
        let relative = field(3);
        if relative.is_empty()
            || Path::new(relative).is_absolute()
            || relative.split('/').any(|part| part == "..")
        {
            return Err(bad(
                line_number,
                Some("file"),
                format!("expected a path inside the dataset folder, found `{relative}`"),
            ));
        }
        let file = dir.join(relative);
        if !file.is_file() {
            return Err(bad(
                line_number,
                Some("file"),
                format!("expected an existing file, `{relative}` is missing"),
            ));
        }
        entries.push(IndexEntry { name, label, split, file });
    }
    Ok(entries)
}

/// Parses one Mote sample file.
pub(crate) fn parse_sample_file(path: &Path, text: &str) -> Result<ParsedFile, ImportError> {
    let bad = |line: usize, column: Option<&str>, kind: ImportErrorKind, message: String| {
        ImportError::new(path, Location::Line { line, column: column.map(str::to_string) }, kind, message)
    };
    let mut lines = numbered_lines(text).peekable();
    match lines.next() {
        Some((_, first)) if first.trim_end() == SAMPLE_MAGIC => {}
        Some((_, first)) => {
            return Err(bad(
                1,
                None,
                ImportErrorKind::Dataset,
                format!("expected `{SAMPLE_MAGIC}`, found `{first}`"),
            ));
        }
        None => unreachable!("split always yields a line"),
    }
    let (mut sensor, mut device, mut created, mut rate_hz, mut units, mut scales) =
        (None, None, None, None, None, None);
    while let Some((line_number, line)) = lines.next_if(|(_, line)| line.starts_with('#')) {
        let Some((key, value)) = line[1..].split_once(':') else {
            return Err(bad(line_number, None, ImportErrorKind::Dataset, "expected `# key: value`".into()));
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "sensor" => sensor = Some(value.to_string()),
            "device" => device = Some(value.to_string()),
            "created" => created = Some(value.to_string()),
            "rate_hz" => {
                rate_hz = Some(
                    value.parse::<f64>().ok().filter(|rate| rate.is_finite() && *rate > 0.0).ok_or_else(
                        || {
                            bad(
                                line_number,
                                Some("rate_hz"),
                                ImportErrorKind::Value,
                                format!("expected a rate in Hz > 0, found `{value}`"),
                            )
                        },
                    )?,
                )
            }
            "units" => {
                units = Some(
                    split_record(value)
                        .map_err(|m| bad(line_number, Some("units"), ImportErrorKind::Csv, m))?,
                )
            }
            "scales" => {
                let parsed: Result<Vec<f64>, _> = value
                    .split(',')
                    .map(|scale| {
                        scale.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0).ok_or(scale)
                    })
                    .collect();
                scales = Some(parsed.map_err(|scale| {
                    bad(
                        line_number,
                        Some("scales"),
                        ImportErrorKind::Value,
                        format!("expected a scale > 0 per axis, found `{scale}`"),
                    )
                })?);
            }
            other => {
                return Err(bad(
                    line_number,
                    None,
                    ImportErrorKind::Dataset,
                    format!(
                        "unknown header key `{other}` (expected sensor, device, created, rate_hz, units or scales)"
                    ),
                ));
            }
        }
    }
    let Some((header_line, header)) = lines.next() else {
        return Err(bad(
            1,
            None,
            ImportErrorKind::Dataset,
            "expected a row of axis names after the header".into(),
        ));
    };
    let names =
        split_record(header).map_err(|message| bad(header_line, None, ImportErrorKind::Csv, message))?;
    let n_axes = names.len();
    let missing = |key: &str| {
        bad(
            header_line,
            None,
            ImportErrorKind::Dataset,
            format!("expected a `# {key}:` header line before the axis names"),
        )
    };
    let rate_hz = rate_hz.ok_or_else(|| missing("rate_hz"))?;
    let scales = scales.ok_or_else(|| missing("scales"))?;
    let sensor = sensor.ok_or_else(|| missing("sensor"))?;
    let units = units.unwrap_or_else(|| vec![String::new(); n_axes]);
    if scales.len() != n_axes || units.len() != n_axes {
        return Err(bad(
            header_line,
            None,
            ImportErrorKind::Dataset,
            format!(
                "expected as many units and scales as axes ({n_axes}), found {} units and {} scales",
                units.len(),
                scales.len()
            ),
        ));
    }
    let mut raw = Vec::new();
    for (line_number, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != n_axes {
            return Err(bad(
                line_number,
                None,
                ImportErrorKind::Csv,
                format!("expected {n_axes} values, found {}", fields.len()),
            ));
        }
        for (axis, field) in fields.iter().enumerate() {
            let value = field.trim().parse::<i16>().map_err(|_| {
                bad(
                    line_number,
                    Some(&names[axis]),
                    ImportErrorKind::Value,
                    format!("expected an integer in -32768..=32767, found `{field}`"),
                )
            })?;
            raw.push(value);
        }
    }
    if raw.is_empty() {
        return Err(bad(
            header_line,
            None,
            ImportErrorKind::Dataset,
            "expected at least one row of values".into(),
        ));
    }
    Ok(ParsedFile {
        axes: names.into_iter().zip(units).collect(),
        rate_hz,
        values: ParsedValues::Raw { raw, scales },
        sensor: Some(sensor),
        device,
        created,
    })
}
