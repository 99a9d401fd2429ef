//! What one line from the board is: a reading, the board reporting an error, or garbage.

use super::garbage::GarbageReason;
use super::line_splitter::RawLine;

/// The prefix with which a board reports a fault instead of a reading.
pub(crate) const DEVICE_ERROR_PREFIX: &[u8] = b"ERR";

/// What a line turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LineKind {
    /// Every token is a finite number. The axis count is not checked here.
    Reading(Vec<f64>),
    /// The line starts with `ERR`; carries the line's text.
    DeviceError(String),
    /// Not a reading.
    Garbage(GarbageReason),
}

/// Classifies one line. `expected_axis_count`, when known, turns readings with another number of
/// values into garbage.
pub(crate) fn classify_line(line: &RawLine, expected_axis_count: Option<usize>) -> LineKind {
    let bytes = match line {
        RawLine::TooLong { prefix, byte_count } => {
            if prefix.starts_with(DEVICE_ERROR_PREFIX) {
                return LineKind::DeviceError(line_text(line));
            }
            return LineKind::Garbage(GarbageReason::LineTooLong { byte_count: *byte_count });
        }
        RawLine::Complete(bytes) => bytes,
    };
    if bytes.starts_with(DEVICE_ERROR_PREFIX) {
        return LineKind::DeviceError(line_text(line));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return LineKind::Garbage(GarbageReason::InvalidUtf8);
    };
    let values = match parse_values(text) {
        Ok(values) => values,
        Err(reason) => return LineKind::Garbage(reason),
    };
    match expected_axis_count {
        Some(expected) if expected != values.len() => {
            LineKind::Garbage(GarbageReason::WrongAxisCount { expected, found: values.len() })
        }
        _ => LineKind::Reading(values),
    }
}

/// Parses a line of numbers separated by runs of commas, tabs or spaces.
pub(crate) fn parse_values(text: &str) -> Result<Vec<f64>, GarbageReason> {
    let mut values = Vec::new();
    for token in text.split([',', '\t', ' ']).filter(|token| !token.is_empty()) {
        let value: f64 =
            token.parse().map_err(|_| GarbageReason::NonNumericToken { token: shorten(token) })?;
        if !value.is_finite() {
            return Err(GarbageReason::NonFiniteValue { token: shorten(token) });
        }
        values.push(value);
    }
    if values.is_empty() {
        return Err(GarbageReason::EmptyLine);
    }
    Ok(values)
}

/// The line as text for messages and examples: invalid UTF-8 becomes `U+FFFD`, over-long lines
/// show their beginning followed by `…`.
pub(crate) fn line_text(line: &RawLine) -> String {
    match line {
        RawLine::Complete(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        RawLine::TooLong { prefix, .. } => format!("{}…", String::from_utf8_lossy(prefix)),
    }
}

/// Most characters of a token quoted in a [`GarbageReason`].
const MAX_TOKEN_CHARS: usize = 32;

fn shorten(token: &str) -> String {
    match token.char_indices().nth(MAX_TOKEN_CHARS) {
        Some((cut, _)) => format!("{}…", &token[..cut]),
        None => token.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(text: &[u8]) -> RawLine {
        RawLine::Complete(text.to_vec())
    }

    #[test]
    fn parses_numbers_between_any_separators() {
        let cases: &[(&str, &[f64])] = &[
            ("1,2,3", &[1.0, 2.0, 3.0]),
            ("1\t2\t3", &[1.0, 2.0, 3.0]),
            ("1 2 3", &[1.0, 2.0, 3.0]),
            ("  -1.5,, 2e3 \t\t+3  ", &[-1.5, 2000.0, 3.0]),
            ("0.25", &[0.25]),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_values(text).as_deref(), Ok(*expected), "{text:?}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        let cases: &[(&str, GarbageReason)] = &[
            ("hello", GarbageReason::NonNumericToken { token: "hello".into() }),
            ("1,x,3", GarbageReason::NonNumericToken { token: "x".into() }),
            ("1;2", GarbageReason::NonNumericToken { token: "1;2".into() }),
            ("1,nan,3", GarbageReason::NonFiniteValue { token: "nan".into() }),
            ("inf", GarbageReason::NonFiniteValue { token: "inf".into() }),
            ("", GarbageReason::EmptyLine),
            (" ,\t", GarbageReason::EmptyLine),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_values(text).as_ref(), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn long_tokens_are_shortened_in_reasons() {
        let token = "y".repeat(100);
        let Err(GarbageReason::NonNumericToken { token: quoted }) = parse_values(&token) else {
            panic!("expected a non-numeric token");
        };
        assert_eq!(quoted.chars().count(), MAX_TOKEN_CHARS + 1);
    }

    #[test]
    fn classifies_lines() {
        let cases: Vec<(RawLine, Option<usize>, LineKind)> = vec![
            (complete(b"1,2,3"), None, LineKind::Reading(vec![1.0, 2.0, 3.0])),
            (complete(b"1,2,3"), Some(3), LineKind::Reading(vec![1.0, 2.0, 3.0])),
            (
                complete(b"1,2"),
                Some(3),
                LineKind::Garbage(GarbageReason::WrongAxisCount { expected: 3, found: 2 }),
            ),
            (
                complete(b"ERR: sensor not found"),
                Some(3),
                LineKind::DeviceError("ERR: sensor not found".into()),
            ),
            (complete(b"\xff\xfe,1"), None, LineKind::Garbage(GarbageReason::InvalidUtf8)),
            (complete(b"ERR\xff"), None, LineKind::DeviceError("ERR\u{fffd}".into())),
            (
                RawLine::TooLong { prefix: b"1,1,1".to_vec(), byte_count: 2000 },
                Some(3),
                LineKind::Garbage(GarbageReason::LineTooLong { byte_count: 2000 }),
            ),
            (
                RawLine::TooLong { prefix: b"ERR: long".to_vec(), byte_count: 2000 },
                None,
                LineKind::DeviceError("ERR: long…".into()),
            ),
        ];
        for (line, expected_axis_count, expected) in cases {
            assert_eq!(classify_line(&line, expected_axis_count), expected, "{line:?}");
        }
    }
}
