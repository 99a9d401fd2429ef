//! The look every plot shares: the embedded font, palette, text sizes, legends and tick labels.

use std::ops::Range;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::ReportError;

/// Default image size in pixels.
pub const SIZE: (u32, u32) = (800, 500);

/// The font family every plot uses; DejaVu Sans is registered under this name, and SVG viewers
/// fall back to their own sans-serif font.
pub(crate) const FAMILY: &str = "sans-serif";

/// Tableau 10: distinct, colour-blind-friendlier categorical colours, in order.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(89, 161, 79),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

pub(crate) const TEXT: RGBColor = RGBColor(33, 33, 33);
pub(crate) const MUTED: RGBColor = RGBColor(90, 90, 90);
pub(crate) const GRID: RGBColor = RGBColor(232, 232, 232);
pub(crate) const AXIS: RGBColor = RGBColor(150, 150, 150);

pub(crate) const TITLE_SIZE: f64 = 21.0;
pub(crate) const AXIS_TITLE_SIZE: f64 = 16.0;
pub(crate) const LABEL_SIZE: f64 = 14.0;

/// Category `index`'s colour (the palette repeats after ten).
pub fn color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Registers DejaVu Sans (regular and bold) with plotters, once per process.
pub(crate) fn ensure_fonts() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && plotters::style::register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok { Ok(()) } else { Err(ReportError::Font) }
}

/// Regular text of `size` pixels.
pub(crate) fn text<'a>(size: f64) -> TextStyle<'a> {
    (FAMILY, size).into_font().color(&TEXT)
}

/// Bold text of `size` pixels.
pub(crate) fn bold<'a>(size: f64) -> TextStyle<'a> {
    (FAMILY, size, FontStyle::Bold).into_font().color(&TEXT)
}

/// Text anchored at its centre.
pub(crate) fn centered(style: TextStyle<'_>) -> TextStyle<'_> {
    style.pos(Pos::new(HPos::Center, VPos::Center))
}

/// Fills the background and draws the title; returns the area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, ReportError> {
    ensure_fonts()?;
    root.fill(&WHITE)?;
    let root = root.margin(8, 4, 8, 8);
    if title.is_empty() {
        return Ok(root);
    }
    Ok(root.titled(title, bold(TITLE_SIZE))?)
}

/// How a legend entry is marked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Marker {
    Line,
    /// A filled dot, or a ring when `filled` is false.
    Dot {
        filled: bool,
    },
}

/// Categories past the palette's ten are told apart by hollow markers (then filled again).
pub(crate) fn filled_marker(index: usize) -> bool {
    (index / PALETTE.len()).is_multiple_of(2)
}

/// Width a legend with these labels needs.
pub(crate) fn legend_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    labels: &[String],
) -> Result<u32, ReportError> {
    let mut widest = area.estimate_text_size(heading, &bold(LABEL_SIZE))?.0;
    for label in labels {
        widest = widest.max(area.estimate_text_size(label, &text(LABEL_SIZE))?.0);
    }
    Ok((widest + 56).clamp(110, 260))
}

/// A vertical legend at the top left of `area`: a heading, then one row per entry.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    entries: &[(String, RGBColor, Marker)],
) -> Result<(), ReportError> {
    let (x, mut y) = (14, 44);
    let row = (LABEL_SIZE * 1.6) as i32;
    if !heading.is_empty() {
        area.draw(&Text::new(
            heading.to_string(),
            (x, y),
            bold(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        y += row;
    }
    for (label, color, marker) in entries {
        match marker {
            Marker::Line => area.draw(&PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3)))?,
            Marker::Dot { filled: true } => area.draw(&Circle::new((x + 11, y), 5, color.filled()))?,
            Marker::Dot { filled: false } => {
                area.draw(&Circle::new((x + 11, y), 4, color.stroke_width(2)))?
            }
        }
        area.draw(&Text::new(
            label.clone(),
            (x + 30, y),
            text(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        y += row;
    }
    Ok(())
}

/// `[min, max]` widened by `fraction` of its span on each side (±1 around a single value).
pub(crate) fn padded(min: f64, max: f64, fraction: f64) -> Range<f64> {
    if !(min.is_finite() && max.is_finite()) {
        return 0.0..1.0;
    }
    let span = max - min;
    if span <= f64::EPSILON * max.abs().max(1.0) {
        return (min - 1.0)..(max + 1.0);
    }
    (min - span * fraction)..(max + span * fraction)
}

/// Formats a tick value with as many decimals as the axis span needs.
pub(crate) fn tick_label(value: f64, span: f64) -> String {
    let decimals = if span >= 20.0 {
        0
    } else if span >= 2.0 {
        1
    } else if span >= 0.2 {
        2
    } else {
        3
    };
    let text = format!("{value:.decimals$}");
    // "-0.0" reads oddly on an axis.
    if text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// Integer ticks from `first` to `last` with a 1-2-5 step, at most about ten.
pub(crate) fn integer_ticks(first: i64, last: i64) -> Vec<i64> {
    let span = (last - first).max(1);
    let step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000]
        .into_iter()
        .find(|step| span / step <= 10)
        .unwrap_or(span / 10);
    let start = (first + step - 1).div_euclid(step) * step;
    let mut ticks: Vec<i64> = (0..).map(|i| start + i * step).take_while(|t| *t <= last).collect();
    if ticks.is_empty() {
        ticks.push(first);
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(integer_ticks(1, 1), [1]);
        assert_eq!(integer_ticks(1, 5), [1, 2, 3, 4, 5]);
        assert_eq!(integer_ticks(1, 30), [5, 10, 15, 20, 25, 30]);
        assert_eq!(integer_ticks(1, 200).len(), 10);
        assert_eq!(tick_label(-0.0001, 1.0), "0.00");
        assert_eq!(tick_label(2.5, 10.0), "2.5");
        assert_eq!(tick_label(250.0, 1000.0), "250");
    }
}
