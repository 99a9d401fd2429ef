//! Edge Impulse CSV: a `timestamp` column in milliseconds at a constant interval, one column per axis.

use std::path::Path;

use crate::csv_text::{numbered_lines, split_record};
use crate::error::{ImportError, ImportErrorKind, Location};
use crate::import::{ParsedFile, ParsedValues, canonical_rate};

/// How far one step between timestamps may be from the mean interval.
pub const INTERVAL_TOLERANCE: f64 = 0.01;

/// Parses the text of an Edge Impulse CSV file. `path` only names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<ParsedFile, ImportError> {
    let at = |line: usize, column: Option<&str>| Location::Line { line, column: column.map(str::to_string) };
    let mut lines = numbered_lines(text).filter(|(_, line)| !line.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(ImportError::new(
            path,
            Location::File,
            ImportErrorKind::Empty,
            "expected a header row, the file has only blank lines",
        ));
    };
    let header = split_record(header)
        .map_err(|message| ImportError::new(path, at(header_line, None), ImportErrorKind::Csv, message))?;
    let header: Vec<String> = header.into_iter().map(|name| name.trim().to_string()).collect();
    let Some(timestamp_column) = header.iter().position(|name| name == "timestamp") else {
        return Err(ImportError::new(
            path,
            at(header_line, None),
            ImportErrorKind::Timestamps,
            format!(
                "expected a `timestamp` column (milliseconds) in the header, found columns: {}",
                header.join(", ")
            ),
        ));
    };
    let axes: Vec<(String, String)> = header
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != timestamp_column)
        .map(|(_, name)| (name.clone(), String::new()))
        .collect();
    if axes.is_empty() {
        return Err(ImportError::new(
            path,
            at(header_line, None),
            ImportErrorKind::Csv,
            "expected at least one axis column besides `timestamp`",
        ));
    }
    let repeated =
        header.iter().enumerate().find(|(index, name)| name.is_empty() || header[..*index].contains(name));
    if let Some((_, name)) = repeated {
        return Err(ImportError::new(
            path,
            at(header_line, None),
            ImportErrorKind::Csv,
            format!("expected unique, non-empty column names, found `{name}` twice or empty"),
        ));
    }

    let mut timestamps: Vec<(usize, f64)> = Vec::new();
    let mut values = Vec::new();
    for (line_number, line) in lines {
        let fields = split_record(line).map_err(|message| {
            ImportError::new(path, at(line_number, None), ImportErrorKind::Csv, message)
        })?;
        if fields.len() != header.len() {
            return Err(ImportError::new(
                path,
                at(line_number, None),
                ImportErrorKind::Csv,
                format!("expected {} fields like the header, found {}", header.len(), fields.len()),
            ));
        }
        for (column, field) in fields.iter().enumerate() {
            let number =
                field.trim().parse::<f64>().ok().filter(|value| value.is_finite()).ok_or_else(|| {
                    ImportError::new(
                        path,
                        at(line_number, Some(&header[column])),
                        ImportErrorKind::Value,
                        format!("expected a number, found `{field}`"),
                    )
                })?;
            if column == timestamp_column {
                timestamps.push((line_number, number));
            } else {
                values.push(number);
            }
        }
    }
    if timestamps.len() < 2 {
        return Err(ImportError::new(
            path,
            Location::File,
            ImportErrorKind::Timestamps,
            format!("expected at least 2 rows to know the sampling interval, found {}", timestamps.len()),
        ));
    }
    let first = timestamps[0].1;
    let last = timestamps[timestamps.len() - 1].1;
    let interval_ms = (last - first) / (timestamps.len() - 1) as f64;
    if interval_ms.is_nan() || interval_ms <= 0.0 {
        return Err(ImportError::new(
            path,
            at(timestamps[1].0, Some("timestamp")),
            ImportErrorKind::Timestamps,
            "expected increasing timestamps",
        ));
    }
    // Timestamps a whole `f64` range apart give an infinite interval, and subnormal ones an
    // infinite rate: neither is a rate a recording can have.
    let rate_hz = canonical_rate(1000.0 / interval_ms);
    if !rate_hz.is_finite() || rate_hz <= 0.0 {
        return Err(ImportError::new(
            path,
            at(timestamps[1].0, Some("timestamp")),
            ImportErrorKind::Timestamps,
            format!(
                "expected timestamps in milliseconds that give a finite rate > 0 Hz, found an interval of {interval_ms:e} ms"
            ),
        ));
    }
    for pair in timestamps.windows(2) {
        let step = pair[1].1 - pair[0].1;
        if (step - interval_ms).abs() > INTERVAL_TOLERANCE * interval_ms {
            return Err(ImportError::new(
                path,
                at(pair[1].0, Some("timestamp")),
                ImportErrorKind::Timestamps,
                format!(
                    "expected a constant interval of {interval_ms} ms (±1 %), found a step of {step} ms from {} to {}",
                    pair[0].1, pair[1].1
                ),
            ));
        }
    }
    Ok(ParsedFile {
        axes,
        rate_hz,
        values: ParsedValues::Physical(values),
        sensor: None,
        device: None,
        created: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<ParsedFile, ImportError> {
        parse(Path::new("x.csv"), text)
    }

    #[test]
    fn the_timestamp_column_may_be_anywhere_and_gives_the_rate() {
        let parsed = parse_text("accX,timestamp,accY\n1.5,0,2\n-2,16,3\n4,32,-1\n").unwrap();
        assert_eq!(parsed.axes, vec![("accX".into(), String::new()), ("accY".into(), String::new())]);
        assert_eq!(parsed.rate_hz, 62.5);
        assert_eq!(parsed.values, ParsedValues::Physical(vec![1.5, 2.0, -2.0, 3.0, 4.0, -1.0]));
    }

    /// An infinite interval passed the constant-interval check (its comparisons were NaN) and gave
    /// a rate of 0 Hz; a subnormal one gave an infinite rate. Either made a recording whose export
    /// could not be imported again.
    #[test]
    fn timestamps_that_give_no_finite_rate_are_an_error() {
        for text in ["timestamp,a\n-1e308,1\n1e308,2\n", "timestamp,a\n0,1\n1e-320,2\n"] {
            let error = parse_text(text).unwrap_err();
            assert_eq!(error.kind, ImportErrorKind::Timestamps, "{text}");
            assert!(error.to_string().starts_with("x.csv line 3, column `timestamp`: expected timestamps in milliseconds that give a finite rate > 0 Hz"), "{error}");
        }
    }
}
