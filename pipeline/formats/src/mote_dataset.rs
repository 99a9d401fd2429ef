//! Mote's own dataset format: a folder with an index `samples.csv` and one CSV file per sample.
//!
//! ```text
//! <dataset>/
//!   samples.csv        name,label,split,file   (one row per sample, sorted by name)
//!   data/<name>.csv    one sample: `# key: value` header lines, a row of axis names, raw i16 rows
//!   mote.toml          optional project preset (see mote-project's README.md)
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

use std::path::Path;

use crate::csv_text::{join_record, numbered_lines, split_record};
use crate::error::{ImportError, ImportErrorKind, Location};
use crate::import::{ParsedFile, ParsedValues};
use crate::recording::{NewSample, Split};

/// The index file of a Mote dataset folder.
pub const INDEX_FILE: &str = "samples.csv";
/// First line of every Mote sample file.
pub const SAMPLE_MAGIC: &str = "# mote-sample 1";
const INDEX_HEADER: [&str; 4] = ["name", "label", "split", "file"];

/// A row of `samples.csv`: a sample's name, label and split, and its file relative to the dataset
/// folder (`/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    pub name: String,
    pub label: String,
    pub split: Split,
    pub file: String,
}

/// The text of one sample file.
pub fn sample_file_text(sample: &NewSample) -> String {
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
    let units: Vec<String> = recording.axes.iter().map(|axis| one_line(&axis.unit)).collect();
    text.push_str(&format!("# units: {}\n", join_record(&units)));
    let scales: Vec<String> = recording.axes.iter().map(|axis| axis.scale.to_string()).collect();
    text.push_str(&format!("# scales: {}\n", scales.join(",")));
    let names: Vec<String> = recording.axes.iter().map(|axis| one_line(&axis.name)).collect();
    text.push_str(&join_record(&names));
    text.push('\n');
    for row in recording.raw.chunks(recording.n_axes().max(1)) {
        let row: Vec<String> = row.iter().map(i16::to_string).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}

/// A header value, axis name or unit on one line (a line break would end its line early).
fn one_line(value: &str) -> String {
    value.replace(['\n', '\r'], " ")
}

/// File names (relative, `/`-separated) for samples, unique and derived from their names.
pub fn sample_file_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
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

/// The index text for `rows`, sorted by name.
pub fn index_text(rows: &[IndexRow]) -> String {
    let mut sorted: Vec<&IndexRow> = rows.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut text = join_record(&INDEX_HEADER);
    text.push('\n');
    for row in sorted {
        text.push_str(&join_record(&[&row.name, &row.label, row.split.as_str(), &row.file]));
        text.push('\n');
    }
    text
}

/// Parses the text of a dataset's `samples.csv`. `path` only names the file in errors;
/// `file_exists` says whether a listed sample file (relative, as written) is in the dataset folder.
pub fn parse_index(
    path: &Path,
    text: &str,
    mut file_exists: impl FnMut(&str) -> bool,
) -> Result<Vec<IndexRow>, ImportError> {
    let bad = |line: usize, column: Option<&str>, message: String| {
        ImportError::new(
            path,
            Location::Line { line, column: column.map(str::to_string) },
            ImportErrorKind::Dataset,
            message,
        )
    };
    let mut lines = numbered_lines(text).filter(|(_, line)| !line.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(ImportError::new(
            path,
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
    let mut entries: Vec<IndexRow> = Vec::new();
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
        if !file_exists(relative) {
            return Err(bad(
                line_number,
                Some("file"),
                format!("expected an existing file, `{relative}` is missing"),
            ));
        }
        entries.push(IndexRow { name, label, split, file: relative.to_string() });
    }
    Ok(entries)
}

/// Parses the text of one Mote sample file. `path` only names the file in errors.
pub fn parse_sample_file(path: &Path, text: &str) -> Result<ParsedFile, ImportError> {
    let bad = |line: usize, column: Option<&str>, kind: ImportErrorKind, message: String| {
        ImportError::new(path, Location::Line { line, column: column.map(str::to_string) }, kind, message)
    };
    let mut lines = numbered_lines(text).peekable();
    let first = lines.next().map_or("", |(_, line)| line);
    if first.trim_end() != SAMPLE_MAGIC {
        return Err(bad(
            1,
            None,
            ImportErrorKind::Dataset,
            format!("expected `{SAMPLE_MAGIC}`, found `{first}`"),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::{Axis, Recording};

    #[test]
    fn a_sample_file_reads_back_as_written() {
        let sample = NewSample {
            name: "a".into(),
            label: "x".into(),
            split: Split::Test,
            sensor: "imu".into(),
            device: "board\nwith a line break".into(),
            created: Some("2025-11-22T05:40:00Z".into()),
            recording: Recording {
                axes: vec![
                    Axis { name: "#x".into(), unit: "m/s2, raw".into(), scale: 0.000244140625 },
                    Axis { name: "y".into(), unit: String::new(), scale: 3.0 },
                ],
                rate_hz: 62.5,
                raw: vec![1, -2, i16::MIN, i16::MAX],
            },
        };
        let text = sample_file_text(&sample);
        let parsed = parse_sample_file(Path::new("a.csv"), &text).unwrap();
        let names: Vec<(String, String)> =
            sample.recording.axes.iter().map(|axis| (axis.name.clone(), axis.unit.clone())).collect();
        assert_eq!(parsed.axes, names);
        assert_eq!(parsed.rate_hz, 62.5);
        assert_eq!(
            parsed.values,
            ParsedValues::Raw { raw: sample.recording.raw.clone(), scales: vec![0.000244140625, 3.0] }
        );
        assert_eq!(parsed.device.as_deref(), Some("board with a line break"));
        assert_eq!((parsed.sensor.as_deref(), parsed.created), (Some("imu"), sample.created));
    }

    /// Found by the `ei_json` fuzz target: an Edge Impulse file whose units held a line break
    /// imported, but its export as a Mote dataset could not be read.
    #[test]
    fn line_breaks_in_axis_names_and_units_become_spaces() {
        let sample = NewSample {
            name: "a".into(),
            label: "x".into(),
            split: Split::Train,
            sensor: "imu".into(),
            device: "d".into(),
            created: None,
            recording: Recording {
                axes: vec![Axis { name: "acc\nX".into(), unit: "m/s\r\n2".into(), scale: 1.0 }],
                rate_hz: 100.0,
                raw: vec![1, 2],
            },
        };
        let parsed = parse_sample_file(Path::new("a.csv"), &sample_file_text(&sample)).unwrap();
        assert_eq!(parsed.axes, vec![("acc X".to_string(), "m/s  2".to_string())]);
        assert_eq!(parsed.values, ParsedValues::Raw { raw: vec![1, 2], scales: vec![1.0] });
    }

    #[test]
    fn index_rows_parse_and_bad_rows_name_line_and_column() {
        let path = Path::new("samples.csv");
        let text = "file,name,split,label\n\"data/a b.csv\",a,training,x\ndata/b.csv,b,test,y\n";
        let rows = parse_index(path, text, |_| true).unwrap();
        assert_eq!(
            rows[0],
            IndexRow {
                name: "a".into(),
                label: "x".into(),
                split: Split::Train,
                file: "data/a b.csv".into()
            }
        );
        let again = parse_index(path, &index_text(&rows), |_| true).unwrap();
        assert_eq!(again, rows);

        let header = "name,label,split,file\n";
        let cases = [
            ("", "samples.csv: expected a header `name,label,split,file`, the file is empty"),
            (
                "name,label,file\n",
                "samples.csv line 1: expected a header with columns name,label,split,file; `split` is missing",
            ),
            ("a,x,train\n", "samples.csv line 2: expected 4 fields like the header, found 3"),
            (
                ",x,train,d.csv\n",
                "samples.csv line 2, column `name`: expected a sample name, found an empty field",
            ),
            (
                "a,x,train,d.csv\na,y,test,e.csv\n",
                "samples.csv line 3, column `name`: expected unique names, `a` is listed twice",
            ),
            (
                "a,,train,d.csv\n",
                "samples.csv line 2, column `label`: expected a label, found an empty field",
            ),
            (
                "a,x,dev,d.csv\n",
                "samples.csv line 2, column `split`: expected `train` or `test`, found `dev`",
            ),
            (
                "a,x,train,../d.csv\n",
                "samples.csv line 2, column `file`: expected a path inside the dataset folder, found `../d.csv`",
            ),
            (
                "a,x,train,/d.csv\n",
                "samples.csv line 2, column `file`: expected a path inside the dataset folder, found `/d.csv`",
            ),
            (
                "a,x,train,gone.csv\n",
                "samples.csv line 2, column `file`: expected an existing file, `gone.csv` is missing",
            ),
        ];
        for (rows, message) in cases {
            let text = if rows.is_empty() || rows.starts_with("name") {
                rows.to_string()
            } else {
                format!("{header}{rows}")
            };
            let error = parse_index(path, &text, |file| file != "gone.csv").unwrap_err();
            assert_eq!(error.to_string(), message, "{text}");
        }
    }
}
