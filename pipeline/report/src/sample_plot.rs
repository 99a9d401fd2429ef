//! Raw sample plot: every axis of one recorded sample against time in seconds.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::theme::{self, AXIS, AXIS_TITLE_SIZE, GRID, LABEL_SIZE, Marker, padded, text, tick_label};
use crate::{Plot, ReportError};

/// One axis of a sample, in physical units.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AxisSeries {
    /// Axis name, e.g. `"accX"`.
    pub name: String,
    /// Unit, e.g. `"m/s²"`; may be empty.
    pub unit: String,
    /// Values at `rate_hz`, the first at time 0.
    pub values: Vec<f64>,
}

/// A multi-axis time series. Long series are reduced to each pixel column's minimum and maximum,
/// so spikes stay visible and a minute of 16 kHz audio stays a small SVG.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SamplePlot {
    /// Shown above the plot; may be empty.
    pub title: String,
    /// Sampling rate in Hz.
    pub rate_hz: f64,
    /// The axes, drawn and listed in order.
    pub axes: Vec<AxisSeries>,
}

/// Series longer than this are drawn as a min/max envelope of `BUCKETS` time buckets.
const MAX_POINTS: usize = 1200;
/// About one bucket per pixel column of the plot area.
const BUCKETS: usize = 600;

/// How one axis is drawn.
#[derive(Debug, Clone, PartialEq)]
enum Trace {
    /// Every finite `(time, value)`, joined by a line.
    Line(Vec<(f64, f64)>),
    /// Per time bucket, `(centre time, min)` and `(centre time, max)`: filled between, outlined.
    /// Spikes stay visible, audio looks like a waveform, and a minute of 16 kHz audio stays a
    /// small SVG.
    Envelope { lower: Vec<(f64, f64)>, upper: Vec<(f64, f64)> },
}

impl Trace {
    /// Non-finite values are left out.
    fn of(values: &[f64], rate_hz: f64) -> Trace {
        let at = |i: usize| i as f64 / rate_hz;
        if values.len() <= MAX_POINTS {
            return Trace::Line(
                values.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(i, v)| (at(i), *v)).collect(),
            );
        }
        let (mut lower, mut upper) = (Vec::with_capacity(BUCKETS), Vec::with_capacity(BUCKETS));
        for bucket in 0..BUCKETS {
            let (start, end) = (bucket * values.len() / BUCKETS, (bucket + 1) * values.len() / BUCKETS);
            let finite = values[start..end].iter().copied().filter(|v| v.is_finite());
            let (low, high) =
                finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
            if low <= high {
                let centre = (at(start) + at(end - 1)) / 2.0;
                lower.push((centre, low));
                upper.push((centre, high));
            }
        }
        Trace::Envelope { lower, upper }
    }

    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        let (first, second) = match self {
            Trace::Line(points) => (points.as_slice(), [].as_slice()),
            Trace::Envelope { lower, upper } => (lower.as_slice(), upper.as_slice()),
        };
        first.iter().chain(second).map(|p| p.1)
    }
}

impl Plot for SamplePlot {
    fn check(&self) -> Result<(), ReportError> {
        if !(self.rate_hz.is_finite() && self.rate_hz > 0.0) {
            return Err(ReportError::InvalidInput(format!(
                "rate_hz is {}; it must be above 0",
                self.rate_hz
            )));
        }
        let longest = self.axes.iter().map(|a| a.values.len()).max().unwrap_or(0);
        if longest == 0 {
            return Err(ReportError::InvalidInput(
                "a sample plot needs at least one axis with values".into(),
            ));
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError> {
        self.check()?;
        let longest = self.axes.iter().map(|a| a.values.len()).max().unwrap_or(0);
        let traces: Vec<Trace> = self.axes.iter().map(|a| Trace::of(&a.values, self.rate_hz)).collect();
        let (low, high) = traces
            .iter()
            .flat_map(Trace::values)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let y_range = padded(low, high, 0.06);
        let duration = (longest.saturating_sub(1)).max(1) as f64 / self.rate_hz;

        let names: Vec<String> = self
            .axes
            .iter()
            .map(|a| if a.unit.is_empty() { a.name.clone() } else { format!("{} ({})", a.name, a.unit) })
            .collect();
        let first_unit = self.axes.first().map(|a| a.unit.as_str()).unwrap_or("");
        let y_title = if !first_unit.is_empty() && self.axes.iter().all(|a| a.unit == first_unit) {
            format!("Value ({first_unit})")
        } else {
            "Value".to_string()
        };

        let body = theme::titled(root, &self.title)?;
        let legend_width = theme::legend_width(&body, "Axis", &names)?;
        let (width, _) = body.dim_in_pixel();
        let (plot_area, legend_area) = body.split_horizontally(width.saturating_sub(legend_width));
        let y_span = y_range.end - y_range.start;
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(10)
            .margin_right(16)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(0.0..duration, y_range)?;
        chart
            .configure_mesh()
            .x_desc("Time (s)")
            .y_desc(y_title)
            .axis_desc_style(text(AXIS_TITLE_SIZE))
            .label_style(text(LABEL_SIZE))
            .x_label_formatter(&|v| tick_label(*v, duration))
            .y_label_formatter(&|v| tick_label(*v, y_span))
            .x_labels(10)
            .y_labels(7)
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(AXIS)
            .draw()?;
        for (index, trace) in traces.iter().enumerate() {
            let color = theme::color(index);
            match trace {
                Trace::Line(points) => {
                    let width = if points.len() > 400 { 1 } else { 2 };
                    chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(width)))?;
                }
                Trace::Envelope { lower, upper } => {
                    let outline: Vec<(f64, f64)> = upper.iter().chain(lower.iter().rev()).copied().collect();
                    chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.7).filled())))?;
                    for edge in [upper, lower] {
                        chart.draw_series(LineSeries::new(edge.iter().copied(), color.stroke_width(1)))?;
                    }
                }
            }
        }

        let entries: Vec<(String, RGBColor, Marker)> =
            names.into_iter().enumerate().map(|(i, name)| (name, theme::color(i), Marker::Line)).collect();
        theme::draw_legend(&legend_area, "Axis", &entries)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_series_keep_their_extremes() {
        let mut values: Vec<f64> = (0..100_000).map(|i| (i as f64 * 0.01).sin()).collect();
        values[54_321] = 10.0;
        values[7] = -10.0;
        values[99] = f64::NAN;
        let Trace::Envelope { lower, upper } = Trace::of(&values, 16_000.0) else {
            panic!("not an envelope")
        };
        assert_eq!((lower.len(), upper.len()), (BUCKETS, BUCKETS));
        assert!(upper.iter().any(|p| p.1 == 10.0) && lower.iter().any(|p| p.1 == -10.0));
        assert!(upper.windows(2).all(|w| w[0].0 < w[1].0), "time order");
        assert!(lower.iter().zip(&upper).all(|(l, u)| l.1 <= u.1));
        assert_eq!(Trace::of(&[1.0, f64::NAN, 3.0], 2.0), Trace::Line(vec![(0.0, 1.0), (1.0, 3.0)]));
    }
}
