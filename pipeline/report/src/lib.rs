//! Plots (PNG and SVG) with plotters: training curves, confusion matrix, feature scatter, raw samples.
//!
//! Every plot is plain data (a struct of numbers and strings) that implements [`Plot`]:
//! `plot.save(path)` writes a PNG or an SVG, picked by the path's extension, and `plot.to_svg()`
//! returns the SVG text (the app shows it inline). Text is drawn with DejaVu Sans, embedded in the
//! binary and registered with plotters' `ab_glyph` support, so rendering needs no system fonts and
//! looks the same everywhere; SVGs name the font `sans-serif` and let the viewer pick its own.
//!
//! Plots are 800 × 500 pixels on white, with one palette ([`PALETTE`], Tableau 10) for
//! categories: training vs validation, labels, axes.
//!
//! | plot | shows |
//! |---|---|
//! | [`TrainingCurves`] | loss and accuracy per epoch, training and validation, two panels |
//! | [`ConfusionMatrix`] | counts and row percentages, coloured by row percentage |
//! | [`FeatureScatter`] | two features per sample, coloured by label |
//! | [`SamplePlot`] | a recorded sample's axes against time in seconds |

mod confusion_matrix;
mod error;
mod feature_scatter;
mod png_backend;
mod sample_plot;
mod theme;
mod training_curves;

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

pub use confusion_matrix::ConfusionMatrix;
pub use error::ReportError;
pub use feature_scatter::{FeatureScatter, ScatterPoint};
pub use sample_plot::{AxisSeries, SamplePlot};
pub use theme::{PALETTE, SIZE, color};
pub use training_curves::{EpochMetrics, TrainingCurves};

/// Something that can be drawn: the data of one plot.
pub trait Plot {
    /// Checks that the data can be plotted (`draw` and `save` call it first).
    fn check(&self) -> Result<(), ReportError>;

    /// Draws the plot onto `root` (any plotters backend), background included.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError>;

    /// Writes the plot to `path`: a PNG for `.png`, an SVG for `.svg` (case-insensitive).
    /// Bad data is refused before any file is created.
    fn save(&self, path: impl AsRef<Path>) -> Result<(), ReportError>
    where
        Self: Sized,
    {
        save(self, path.as_ref())
    }

    /// The plot as SVG text.
    fn to_svg(&self) -> Result<String, ReportError>
    where
        Self: Sized,
    {
        to_svg(self)
    }
}

/// Writes `plot` to `path`; see [`Plot::save`].
pub fn save(plot: &impl Plot, path: &Path) -> Result<(), ReportError> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        // Checked before the file exists: plotters' bitmap backend writes its file when dropped.
        Some("png") => {
            plot.check()?;
            let root = png_backend::PngBackend::new(path, SIZE).into_drawing_area();
            plot.draw(&root)?;
            root.present().map_err(|error| ReportError::Write {
                path: path.to_path_buf(),
                source: error.to_string().into(),
            })
        }
        Some("svg") => {
            let svg = to_svg(plot)?;
            std::fs::write(path, svg)
                .map_err(|error| ReportError::Write { path: path.to_path_buf(), source: error.into() })
        }
        _ => Err(ReportError::UnsupportedExtension { path: path.to_path_buf() }),
    }
}

/// `plot` as SVG text; see [`Plot::to_svg`].
pub fn to_svg(plot: &impl Plot) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        plot.draw(&root)?;
        root.present()?;
    }
    Ok(svg)
}
