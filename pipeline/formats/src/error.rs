//! Errors of the import formats: which file, where in it, what kind of problem, and what was
//! expected there.
//!
//! Every error has a stable `code()` so the CLI's `--json` output and the app can tell errors apart
//! without matching message text.

use std::fmt;
use std::path::PathBuf;

/// Where in an input file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (empty, unreadable, unknown format, ...).
    File,
    /// A 1-based line of a text file, and the column (by header name) when one is known.
    Line { line: usize, column: Option<String> },
    /// A field of a structured file, as a path such as `payload.values[3][1]`.
    Field(String),
    /// A frame (time step, 0-based) of an audio file.
    Frame(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => Ok(()),
            Location::Line { line, column: None } => write!(f, " line {line}"),
            Location::Line { line, column: Some(column) } => write!(f, " line {line}, column `{column}`"),
            Location::Field(path) => write!(f, " field `{path}`"),
            Location::Frame(frame) => write!(f, " frame {frame}"),
        }
    }
}

/// What kind of problem an [`ImportError`] is; stable for programs (see [`ImportErrorKind::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImportErrorKind {
    /// The file could not be read.
    Io,
    /// The file is empty.
    Empty,
    /// The extension is not one Mote imports.
    UnknownFormat,
    /// A CSV file is malformed (header, row length, quoting).
    Csv,
    /// Timestamps are missing, not increasing or not at a constant interval.
    Timestamps,
    /// A value is not a finite number, or out of range.
    Value,
    /// A JSON file is malformed or a field is missing or of the wrong type.
    Json,
    /// A WAV file is malformed, truncated, or not 16-bit PCM mono.
    Wav,
    /// The HMAC signature of an Edge Impulse file does not match.
    Signature,
    /// A Mote dataset (index or sample file header) is inconsistent.
    Dataset,
}

impl ImportErrorKind {
    /// A stable code for programs.
    pub fn code(self) -> &'static str {
        match self {
            ImportErrorKind::Io => "import.io",
            ImportErrorKind::Empty => "import.empty",
            ImportErrorKind::UnknownFormat => "import.unknown_format",
            ImportErrorKind::Csv => "import.csv",
            ImportErrorKind::Timestamps => "import.timestamps",
            ImportErrorKind::Value => "import.value",
            ImportErrorKind::Json => "import.json",
            ImportErrorKind::Wav => "import.wav",
            ImportErrorKind::Signature => "import.signature",
            ImportErrorKind::Dataset => "import.dataset",
        }
    }
}

/// One bad input file: the file, where in it, and what was expected there.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{location}: {message}", file.display())]
pub struct ImportError {
    pub file: PathBuf,
    pub location: Location,
    pub kind: ImportErrorKind,
    /// "expected X, found Y" style explanation.
    pub message: String,
}

impl ImportError {
    pub fn new(
        file: impl Into<PathBuf>,
        location: Location,
        kind: ImportErrorKind,
        message: impl Into<String>,
    ) -> Self {
        ImportError { file: file.into(), location, kind, message: message.into() }
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// Every bad file of a rejected import (the import wrote nothing). Never empty.
#[derive(Debug, Clone)]
pub struct ImportErrors(pub Vec<ImportError>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => write!(f, "import rejected"),
            [only] => write!(f, "import rejected, nothing was written: {only}"),
            [first, rest @ ..] => write!(
                f,
                "import rejected, nothing was written: {first} (and {} more bad file{})",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            ),
        }
    }
}
