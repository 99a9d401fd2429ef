//! The account of lines that were not readings: how many, and the first few as examples.

use std::fmt;

use serde::Serialize;

/// How many garbage lines a [`GarbageReport`] keeps as examples.
pub const MAX_GARBAGE_EXAMPLES: usize = 5;

/// Most characters of a line's text kept in a [`GarbageLine`] example.
const MAX_EXAMPLE_CHARS: usize = 120;

/// Why a line was not taken as a reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GarbageReason {
    /// A token does not parse as a number.
    NonNumericToken { token: String },
    /// A token parses as a number but is NaN or infinite.
    NonFiniteValue { token: String },
    /// The line holds another number of values than the stream's axis count.
    WrongAxisCount { expected: usize, found: usize },
    /// The line has no values at all.
    EmptyLine,
    /// The line is longer than [`super::MAX_LINE_BYTES`].
    LineTooLong { byte_count: usize },
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The port went away before the line's `\n` arrived.
    CutOffByDisconnect,
}

impl fmt::Display for GarbageReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GarbageReason::NonNumericToken { token } => {
                write!(formatter, "`{token}` is not a number")
            }
            GarbageReason::NonFiniteValue { token } => {
                write!(formatter, "`{token}` is not a finite number")
            }
            GarbageReason::WrongAxisCount { expected, found } => {
                write!(formatter, "{found} values where the stream has {expected} axes")
            }
            GarbageReason::EmptyLine => formatter.write_str("the line has no values"),
            GarbageReason::LineTooLong { byte_count } => write!(
                formatter,
                "the line is {byte_count} bytes long, more than the {} allowed",
                super::MAX_LINE_BYTES
            ),
            GarbageReason::InvalidUtf8 => formatter.write_str("the line is not valid UTF-8"),
            GarbageReason::CutOffByDisconnect => {
                formatter.write_str("the port went away before the end of the line")
            }
        }
    }
}

/// One garbage line kept as an example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GarbageLine {
    /// 1-based number of the line since the port was opened.
    pub line_number: u64,
    /// The line's text; invalid UTF-8 shows as `U+FFFD`, long lines are cut and end in `…`.
    pub text: String,
    pub reason: GarbageReason,
}

impl fmt::Display for GarbageLine {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "line {}: {:?}: {}", self.line_number, self.text, self.reason)
    }
}

/// Every garbage line counted, the first [`MAX_GARBAGE_EXAMPLES`] kept as examples.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GarbageReport {
    pub line_count: u64,
    pub examples: Vec<GarbageLine>,
}

impl GarbageReport {
    /// Counts one garbage line and keeps it if there is room for another example.
    pub(crate) fn record(&mut self, line_number: u64, text: &str, reason: GarbageReason) {
        self.line_count += 1;
        if self.examples.len() < MAX_GARBAGE_EXAMPLES {
            let text = match text.char_indices().nth(MAX_EXAMPLE_CHARS) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text.to_owned(),
            };
            self.examples.push(GarbageLine { line_number, text, reason });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.line_count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_line_but_keeps_only_the_first_examples() {
        let mut report = GarbageReport::default();
        for line_number in 1..=(MAX_GARBAGE_EXAMPLES as u64 + 3) {
            report.record(line_number, "hello", GarbageReason::EmptyLine);
        }
        assert_eq!(report.line_count, MAX_GARBAGE_EXAMPLES as u64 + 3);
        let kept: Vec<u64> = report.examples.iter().map(|example| example.line_number).collect();
        assert_eq!(kept, (1..=MAX_GARBAGE_EXAMPLES as u64).collect::<Vec<_>>());
    }

    #[test]
    fn long_example_text_is_cut() {
        let mut report = GarbageReport::default();
        report.record(1, &"é".repeat(500), GarbageReason::InvalidUtf8);
        assert_eq!(report.examples[0].text.chars().count(), MAX_EXAMPLE_CHARS + 1);
    }

    #[test]
    fn serializes_with_a_reason_kind() {
        let mut report = GarbageReport::default();
        report.record(4, "1,2", GarbageReason::WrongAxisCount { expected: 3, found: 2 });
        let json = serde_json::to_value(&report).expect("report serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "line_count": 1,
                "examples": [{
                    "line_number": 4,
                    "text": "1,2",
                    "reason": {"kind": "wrong_axis_count", "expected": 3, "found": 2}
                }]
            })
        );
    }

    #[test]
    fn explains_itself_in_one_line() {
        let example = GarbageLine {
            line_number: 7,
            text: "1,x,3".into(),
            reason: GarbageReason::NonNumericToken { token: "x".into() },
        };
        assert_eq!(example.to_string(), "line 7: \"1,x,3\": `x` is not a number");
    }
}
