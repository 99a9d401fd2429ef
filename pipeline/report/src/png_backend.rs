//! The PNG backend: plotters' bitmap backend with text drawn by this crate.
//!
//! plotters 0.3.7 draws `ab_glyph` text without each glyph's left side bearing, so letters sit
//! up to two pixels left of where they belong ("Ti me", "Tr aining"). This wrapper delegates every
//! drawing call to `BitMapBackend` except `draw_text`, which lays glyphs out itself: kerning,
//! sub-pixel positions, bearings, anchors and the four rotations. Text *measurement* stays
//! plotters' (advance widths), so PNG and SVG lay out identically. SVG output is unaffected: the
//! viewer draws its text.

use std::path::Path;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, ScaleFont, point};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind};

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

fn fonts() -> Option<&'static Fonts> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Some(Fonts {
                regular: FontRef::try_from_slice(dejavu::sans::regular()).ok()?,
                bold: FontRef::try_from_slice(dejavu::sans::bold()).ok()?,
            })
        })
        .as_ref()
}

/// A PNG file of `size` pixels at `path`, written by `present`.
pub(crate) struct PngBackend<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> PngBackend<'a> {
    pub(crate) fn new(path: &'a Path, size: (u32, u32)) -> Self {
        PngBackend { inner: BitMapBackend::new(path, size) }
    }
}

type Error<'a> = DrawingErrorKind<<BitMapBackend<'a> as DrawingBackend>::ErrorType>;

impl<'a> DrawingBackend for PngBackend<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), Error<'a>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), Error<'a>> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), Error<'a>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), Error<'a>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), Error<'a>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Result<(), Error<'a>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), Error<'a>> {
        self.inner.estimate_text_size(text, style)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), Error<'a>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let Some(fonts) = fonts() else {
            return self.inner.draw_text(text, style, pos);
        };
        let font = match style.style() {
            FontStyle::Bold => &fonts.bold,
            _ => &fonts.regular,
        };
        let scaled = font.as_scaled(style.size() as f32);

        // Lay the glyphs out along a baseline at y = 0, starting at x = 0.
        let mut caret = 0.0f32;
        let mut previous = None;
        let mut placed = Vec::with_capacity(text.len());
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(previous) = previous {
                caret += scaled.kern(previous, id);
            }
            placed.push((id, caret));
            caret += scaled.h_advance(id);
            previous = Some(id);
        }

        // Move the anchor to the origin: horizontally by the advance width, vertically by the
        // font's ascent and descent (descent is negative).
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -caret / 2.0,
            HPos::Right => -caret,
        };
        let baseline = match anchor.v_pos {
            VPos::Top => scaled.ascent(),
            VPos::Center => (scaled.ascent() + scaled.descent()) / 2.0,
            VPos::Bottom => scaled.descent(),
        };

        let transform = style.transform();
        let mut pixels = Vec::new();
        for (id, x) in placed {
            let glyph = id.with_scale_and_position(scaled.scale(), point(x + dx, baseline));
            if let Some(outline) = scaled.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
                outline.draw(|x, y, coverage| {
                    if coverage > 0.0 {
                        pixels.push((left + x as i32, top + y as i32, coverage));
                    }
                });
            }
        }
        for (x, y, coverage) in pixels {
            let (x, y) = transform.transform(x, y);
            let ink = BackendColor { alpha: color.alpha * f64::from(coverage.min(1.0)), rgb: color.rgb };
            self.inner.draw_pixel((pos.0 + x, pos.1 + y), ink)?;
        }
        Ok(())
    }
}
