//! Training curves: loss and accuracy per epoch, training against validation, in two panels.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::theme::{self, AXIS, AXIS_TITLE_SIZE, GRID, LABEL_SIZE, integer_ticks, text, tick_label};
use crate::{Plot, ReportError};

/// One epoch's metrics. Accuracies are fractions (0.0–1.0) and are drawn as percentages;
/// non-finite values (a diverged loss) are left out of the lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochMetrics {
    /// Epoch number, usually starting at 1.
    pub epoch: u32,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy, 0.0–1.0.
    pub train_accuracy: f64,
    /// Validation loss, if a validation set exists.
    pub validation_loss: Option<f64>,
    /// Validation accuracy, 0.0–1.0, if a validation set exists.
    pub validation_accuracy: Option<f64>,
}

/// Loss (left panel) and accuracy (right panel) per epoch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainingCurves {
    /// Shown above both panels; may be empty.
    pub title: String,
    /// The epochs, in order.
    pub epochs: Vec<EpochMetrics>,
}

type Series = Vec<(i64, f64)>;

impl TrainingCurves {
    fn series(&self, pick: impl Fn(&EpochMetrics) -> Option<f64>) -> Series {
        self.epochs
            .iter()
            .filter_map(|m| pick(m).filter(|v| v.is_finite()).map(|v| (i64::from(m.epoch), v)))
            .collect()
    }
}

impl Plot for TrainingCurves {
    fn check(&self) -> Result<(), ReportError> {
        if self.epochs.is_empty() {
            return Err(ReportError::InvalidInput("training curves need at least one epoch".into()));
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError> {
        self.check()?;
        let body = theme::titled(root, &self.title)?;
        let panels = body.split_evenly((1, 2));
        let first = self.epochs.iter().map(|m| m.epoch).min().unwrap_or(0);
        let last = self.epochs.iter().map(|m| m.epoch).max().unwrap_or(0);

        let loss = [
            ("Training", self.series(|m| Some(m.train_loss))),
            ("Validation", self.series(|m| m.validation_loss)),
        ];
        let max_loss = loss.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)).fold(0.0f64, f64::max);
        let loss_top = if max_loss > 0.0 { max_loss * 1.08 } else { 1.0 };
        panel(
            &panels[0],
            "Loss",
            (first, last),
            0.0..loss_top,
            &loss,
            SeriesLabelPosition::UpperRight,
            false,
        )?;

        let percent = |v: Option<f64>| v.map(|v| v * 100.0);
        let accuracy = [
            ("Training", self.series(|m| percent(Some(m.train_accuracy)))),
            ("Validation", self.series(|m| percent(m.validation_accuracy))),
        ];
        let min_accuracy = accuracy.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)).fold(100.0f64, f64::min);
        let bottom = ((min_accuracy - 5.0) / 10.0).floor().clamp(0.0, 9.0) * 10.0;
        panel(
            &panels[1],
            "Accuracy",
            (first, last),
            bottom..101.0,
            &accuracy,
            SeriesLabelPosition::LowerRight,
            true,
        )?;
        Ok(())
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    name: &str,
    (first, last): (u32, u32),
    y_range: std::ops::Range<f64>,
    series: &[(&str, Series)],
    legend_at: SeriesLabelPosition,
    percent: bool,
) -> Result<(), ReportError> {
    let ticks = integer_ticks(i64::from(first), i64::from(last));
    let y_span = y_range.end - y_range.start;
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .margin_right(18)
        .x_label_area_size(44)
        .y_label_area_size(if percent { 58 } else { 64 })
        .build_cartesian_2d((i64::from(first) - 1..i64::from(last) + 1).with_key_points(ticks), y_range)?;
    chart
        .configure_mesh()
        .x_desc("Epoch")
        .y_desc(if percent { "Accuracy (%)" } else { name })
        .axis_desc_style(text(AXIS_TITLE_SIZE))
        .label_style(text(LABEL_SIZE))
        .x_label_formatter(&|v| v.to_string())
        .y_label_formatter(&|v| tick_label(*v, y_span))
        .y_labels(6)
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .draw()?;
    let n_points = series.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
    for (index, (label, points)) in series.iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        let color = theme::color(index);
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3)));
        if n_points <= 40 {
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .position(legend_at)
        .margin(12)
        .label_font(text(LABEL_SIZE))
        .background_style(WHITE.mix(0.9))
        .border_style(GRID)
        .draw()?;
    Ok(())
}
