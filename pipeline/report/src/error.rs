//! What can go wrong when drawing a plot.

use std::path::PathBuf;

use plotters::drawing::DrawingAreaErrorKind;

/// Why a plot could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The path's extension picks no backend.
    #[error("cannot write a plot to {path}: the file name must end in .png or .svg")]
    UnsupportedExtension {
        /// The path given.
        path: PathBuf,
    },
    /// The data cannot be plotted (empty, mismatched lengths, a label index out of range, …).
    #[error("cannot plot this data: {0}")]
    InvalidInput(String),
    /// The embedded font could not be loaded (a bug in this crate, not in the data).
    #[error("the embedded DejaVu Sans font could not be loaded")]
    Font,
    /// The drawing backend failed.
    #[error("drawing failed: {0}")]
    Drawing(String),
    /// The file could not be written.
    #[error("cannot write {path}: {source}; check that its folder exists and is writable")]
    Write {
        /// The path given.
        path: PathBuf,
        /// What the backend or the file system said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ReportError {
    /// A stable code for the CLI's `--json` output and the app.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::UnsupportedExtension { .. } => "report.unsupported_extension",
            ReportError::InvalidInput(_) => "report.invalid_input",
            ReportError::Font => "report.font",
            ReportError::Drawing(_) => "report.drawing",
            ReportError::Write { .. } => "report.write",
        }
    }
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ReportError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        ReportError::Drawing(error.to_string())
    }
}
