//! Feature scatter: two features per sample, coloured by label, with a legend.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::theme::{self, AXIS, AXIS_TITLE_SIZE, GRID, LABEL_SIZE, Marker, padded, text, tick_label};
use crate::{Plot, ReportError};

/// One point: two feature values and the index of its label in [`FeatureScatter::labels`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScatterPoint {
    /// Horizontal value.
    pub x: f64,
    /// Vertical value.
    pub y: f64,
    /// Index into `labels`.
    pub label: usize,
}

/// Points coloured by label; non-finite points are left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureScatter {
    /// Shown above the plot; may be empty.
    pub title: String,
    /// Horizontal axis title, e.g. `"accX RMS"`.
    pub x_title: String,
    /// Vertical axis title.
    pub y_title: String,
    /// Label names; a point's `label` indexes this.
    pub labels: Vec<String>,
    /// The points, drawn in order (later points on top).
    pub points: Vec<ScatterPoint>,
    /// A vertical line at this horizontal value (e.g. a budget), with its caption.
    pub x_guide: Option<(f64, String)>,
}

impl Plot for FeatureScatter {
    fn check(&self) -> Result<(), ReportError> {
        if let Some(point) = self.points.iter().find(|p| p.label >= self.labels.len()) {
            return Err(ReportError::InvalidInput(format!(
                "a point has label index {}, but there are only {} labels",
                point.label,
                self.labels.len()
            )));
        }
        if !self.points.iter().any(|p| p.x.is_finite() && p.y.is_finite()) {
            return Err(ReportError::InvalidInput("a scatter plot needs at least one finite point".into()));
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError> {
        self.check()?;
        let finite: Vec<&ScatterPoint> =
            self.points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()).collect();
        let body = theme::titled(root, &self.title)?;
        let legend_width = theme::legend_width(&body, "Label", &self.labels)?;
        let (width, _) = body.dim_in_pixel();
        let (plot_area, legend_area) = body.split_horizontally(width.saturating_sub(legend_width));

        let guide = self.x_guide.as_ref().filter(|(x, _)| x.is_finite());
        let (x_min, x_max) =
            finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.x), hi.max(p.x)));
        let (x_min, x_max) = guide.map_or((x_min, x_max), |(x, _)| (x_min.min(*x), x_max.max(*x)));
        let (y_min, y_max) =
            finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.y), hi.max(p.y)));
        let (x_range, y_range) = (padded(x_min, x_max, 0.05), padded(y_min, y_max, 0.05));
        let (x_span, y_span) = (x_range.end - x_range.start, y_range.end - y_range.start);
        let (y_low, y_high) = (y_range.start, y_range.end);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(10)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(x_range, y_range)?;
        chart
            .configure_mesh()
            .x_desc(self.x_title.as_str())
            .y_desc(self.y_title.as_str())
            .axis_desc_style(text(AXIS_TITLE_SIZE))
            .label_style(text(LABEL_SIZE))
            .x_label_formatter(&|v| tick_label(*v, x_span))
            .y_label_formatter(&|v| tick_label(*v, y_span))
            .x_labels(8)
            .y_labels(7)
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS)
            .draw()?;
        if let Some((x, caption)) = guide {
            let line = [(*x, y_low), (*x, y_high)];
            chart.draw_series(std::iter::once(PathElement::new(line, AXIS.stroke_width(2))))?;
            chart.draw_series(std::iter::once(Text::new(caption.clone(), (*x, y_high), text(LABEL_SIZE))))?;
        }
        let radius = if finite.len() > 2000 { 2 } else { 4 };
        chart.draw_series(finite.iter().map(|p| {
            let color = theme::color(p.label).mix(0.8);
            let style = if theme::filled_marker(p.label) { color.filled() } else { color.stroke_width(2) };
            Circle::new((p.x, p.y), radius, style)
        }))?;

        let entries: Vec<(String, RGBColor, Marker)> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                (label.clone(), theme::color(i), Marker::Dot { filled: theme::filled_marker(i) })
            })
            .collect();
        theme::draw_legend(&legend_area, "Label", &entries)?;
        Ok(())
    }
}
