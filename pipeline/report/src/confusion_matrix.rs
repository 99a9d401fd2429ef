//! Confusion matrix: counts and per-row percentages, coloured by the row percentage.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::theme::{self, AXIS, AXIS_TITLE_SIZE, LABEL_SIZE, MUTED, bold, centered, text};
use crate::{Plot, ReportError};

/// Rows are true labels, columns predicted labels: `counts[true_label][predicted_label]`.
/// Each cell shows its count and its share of the row (the recall of that row's label on the
/// diagonal), and is coloured by that share.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfusionMatrix {
    /// Shown above the matrix; may be empty.
    pub title: String,
    /// Class names, in row/column order.
    pub labels: Vec<String>,
    /// `labels.len()` rows of `labels.len()` counts.
    pub counts: Vec<Vec<u64>>,
}

/// Text colour of cells with a count of zero.
const ZERO_INK: RGBColor = RGBColor(150, 150, 150);

/// Longest label drawn in full; longer ones are cut with an ellipsis.
const MAX_LABEL_CHARS: usize = 16;

fn short(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        label.to_string()
    } else {
        let cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Sequential blues from near-white (0) to dark blue (1).
fn blues(share: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (247.0, 251.0, 255.0),
        (198.0, 219.0, 239.0),
        (107.0, 174.0, 214.0),
        (33.0, 113.0, 181.0),
        (8.0, 48.0, 107.0),
    ];
    let position = share.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let index = (position.floor() as usize).min(STOPS.len() - 2);
    let t = position - index as f64;
    let (a, b) = (STOPS[index], STOPS[index + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl Plot for ConfusionMatrix {
    fn check(&self) -> Result<(), ReportError> {
        let n = self.labels.len();
        if n == 0 {
            return Err(ReportError::InvalidInput("a confusion matrix needs at least one label".into()));
        }
        if self.counts.len() != n || self.counts.iter().any(|row| row.len() != n) {
            return Err(ReportError::InvalidInput(format!(
                "a confusion matrix with {n} labels needs {n} rows of {n} counts"
            )));
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError> {
        self.check()?;
        let body = theme::titled(root, &self.title)?;
        let n = self.labels.len();
        let labels: Vec<String> = self.labels.iter().map(|l| short(l)).collect();
        let (width, height) = body.dim_in_pixel();
        let (width, height) = (width as i32, height as i32);

        // Layout, left to right: y-axis title, row labels, the grid, the colour bar.
        let label_style = text(LABEL_SIZE);
        let mut widest = 0;
        for label in &labels {
            widest = widest.max(body.estimate_text_size(label, &label_style)?.0 as i32);
        }
        let axis_title_band = 30;
        let row_label_band = widest + 12;
        let colour_bar_band = 96;
        let bottom_reserve = 30 + 12; // x-axis title and a gap
        let top_reserve = 6;
        // Column labels run horizontally when they fit in a cell, vertically otherwise.
        let max_grid = (width - axis_title_band - row_label_band - colour_bar_band - 20)
            .min(height - top_reserve - bottom_reserve - 26);
        let vertical_columns = widest + 6 > max_grid / n as i32;
        let column_label_band = if vertical_columns { widest + 12 } else { 26 };
        let grid = (width - axis_title_band - row_label_band - colour_bar_band - 20)
            .min(height - top_reserve - bottom_reserve - column_label_band)
            .max(n as i32 * 8);
        let cell = grid / n as i32;
        let grid = cell * n as i32;
        let used_width = axis_title_band + row_label_band + grid + colour_bar_band;
        let x0 = (width - used_width).max(0) / 2 + axis_title_band + row_label_band;
        let y0 = top_reserve;

        // Cells.
        let count_size = (f64::from(cell) * 0.3).clamp(9.0, 17.0);
        let share_size = (count_size * 0.8).max(8.0);
        let show_share = cell >= 34;
        for (row, counts) in self.counts.iter().enumerate() {
            let total: u64 = counts.iter().sum();
            for (column, count) in counts.iter().enumerate() {
                let share = if total > 0 { *count as f64 / total as f64 } else { 0.0 };
                let (cx, cy) = (x0 + column as i32 * cell, y0 + row as i32 * cell);
                let fill = blues(share);
                body.draw(&Rectangle::new([(cx, cy), (cx + cell, cy + cell)], fill.filled()))?;
                body.draw(&Rectangle::new([(cx, cy), (cx + cell, cy + cell)], WHITE.stroke_width(1)))?;
                // Dark cells take white text; empty cells recede.
                let ink = if share > 0.55 {
                    WHITE
                } else if *count == 0 {
                    ZERO_INK
                } else {
                    theme::TEXT
                };
                let middle = (cx + cell / 2, cy + cell / 2);
                let count_style =
                    centered(if row == column { bold(count_size) } else { text(count_size) }.color(&ink));
                if show_share {
                    let share_text =
                        if total > 0 { format!("{:.1}%", share * 100.0) } else { "–".to_string() };
                    let offset = (count_size * 0.55) as i32;
                    body.draw(&Text::new(count.to_string(), (middle.0, middle.1 - offset), count_style))?;
                    body.draw(&Text::new(
                        share_text,
                        (middle.0, middle.1 + offset + 1),
                        centered(text(share_size).color(&ink)),
                    ))?;
                } else {
                    body.draw(&Text::new(count.to_string(), middle, count_style))?;
                }
            }
        }
        body.draw(&Rectangle::new([(x0, y0), (x0 + grid, y0 + grid)], AXIS.stroke_width(1)))?;

        // Row labels (true) and column labels (predicted).
        for (index, label) in labels.iter().enumerate() {
            let middle = y0 + index as i32 * cell + cell / 2;
            body.draw(&Text::new(
                label.clone(),
                (x0 - 8, middle),
                label_style.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            let centre = x0 + index as i32 * cell + cell / 2;
            if vertical_columns {
                let style =
                    label_style.transform(FontTransform::Rotate270).pos(Pos::new(HPos::Right, VPos::Center));
                body.draw(&Text::new(label.clone(), (centre, y0 + grid + 8), style))?;
            } else {
                let style = label_style.pos(Pos::new(HPos::Center, VPos::Top));
                body.draw(&Text::new(label.clone(), (centre, y0 + grid + 7), style))?;
            }
        }
        let axis_title = text(AXIS_TITLE_SIZE);
        body.draw(&Text::new(
            "Predicted label",
            (x0 + grid / 2, y0 + grid + column_label_band + 14),
            centered(axis_title.clone()),
        ))?;
        body.draw(&Text::new(
            "True label",
            (x0 - row_label_band - axis_title_band / 2, y0 + grid / 2),
            centered(axis_title.transform(FontTransform::Rotate270)),
        ))?;

        // Colour bar: share of the row, 0 % at the bottom to 100 % at the top.
        let bar_x = x0 + grid + 24;
        let (bar_top, bar_bottom, bar_width) = (y0 + 22, y0 + grid, 16);
        let bar_height = (bar_bottom - bar_top).max(1);
        // 64 bands look continuous and keep the SVG small.
        const BANDS: i32 = 64;
        for band in 0..BANDS {
            let (low, high) =
                (bar_bottom - bar_height * band / BANDS, bar_bottom - bar_height * (band + 1) / BANDS);
            let share = (f64::from(band) + 0.5) / f64::from(BANDS);
            body.draw(&Rectangle::new([(bar_x, high), (bar_x + bar_width, low)], blues(share).filled()))?;
        }
        body.draw(&Rectangle::new(
            [(bar_x, bar_top), (bar_x + bar_width, bar_bottom)],
            AXIS.stroke_width(1),
        ))?;
        for percent in [0, 25, 50, 75, 100] {
            let y = bar_bottom - bar_height * percent / 100;
            body.draw(&PathElement::new(vec![(bar_x + bar_width, y), (bar_x + bar_width + 4, y)], AXIS))?;
            body.draw(&Text::new(
                format!("{percent}%"),
                (bar_x + bar_width + 7, y),
                text(LABEL_SIZE - 1.0).color(&MUTED).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        body.draw(&Text::new(
            "Row %",
            (bar_x + bar_width / 2, y0 + 8),
            centered(text(LABEL_SIZE - 1.0).color(&MUTED)),
        ))?;
        Ok(())
    }
}
