//! Draws a quick look as a small PNG: a time series as value against time, a profile as depth
//! (downward) against value. Text uses a font compiled into the binary, so plots look the same on
//! a laptop and in a container without fonts.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::select::Kind;

/// Pixel size of every quick look: legible in an email, a few tens of kB as PNG.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 320;

/// DejaVu Sans (Bitstream Vera licence, see assets/fonts/LICENSE-DejaVu.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub(super) const FAMILY: &str = "sans-serif";

/// What to draw.
#[derive(Debug, Clone)]
pub struct Figure<'a> {
    pub kind: Kind,
    pub caption: &'a str,
    /// Label of the data variable (`long name (units)`).
    pub data_label: &'a str,
    /// Label of the coordinate (`time (UTC)`, `depth (m)`).
    pub axis_label: &'a str,
    /// `(coordinate, value)`: seconds since 1970 for a time series, depth or pressure for a profile.
    pub points: &'a [(f64, f64)],
}

/// Renders the figure as PNG bytes.
pub fn render_png(fig: &Figure<'_>) -> Result<Vec<u8>, String> {
    font()?;
    if fig.points.is_empty() {
        return Err("no valid values to draw".into());
    }
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        let drawn = match fig.kind {
            Kind::TimeSeries => time_series(&root, fig),
            Kind::Profile => profile(&root, fig),
        };
        drawn.map_err(|e| format!("drawing failed: {e}"))?;
        root.present().map_err(|e| format!("drawing failed: {e}"))?;
    }
    encode_png(&rgb)
}

/// Registers the compiled-in font once.
pub(super) fn font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| "the compiled-in font cannot be read".to_string())
        })
        .clone()
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

const LINE: RGBColor = RGBColor(0x1f, 0x5f, 0x9f);
const GRID: RGBColor = RGBColor(0xe5, 0xe8, 0xeb);

fn time_series(root: &Area<'_>, fig: &Figure<'_>) -> DrawResult {
    root.fill(&WHITE)?;
    let (x0, x1) = span(fig.points.iter().map(|p| p.0));
    let (y0, y1) = span(fig.points.iter().map(|p| p.1));
    let long = x1 - x0 > 3.0 * 86_400.0;
    let mut chart = ChartBuilder::on(root)
        .caption(fig.caption, (FAMILY, 15))
        .margin(10)
        .margin_right(30)
        .x_label_area_size(40)
        .y_label_area_size(58)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .bold_line_style(GRID)
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|t| time_label(*t, long))
        .y_label_formatter(&|v| number(*v))
        .x_desc(fig.axis_label)
        .y_desc(fig.data_label)
        .label_style((FAMILY, 11))
        .axis_desc_style((FAMILY, 12))
        .draw()?;
    chart.draw_series(LineSeries::new(
        fig.points.iter().copied(),
        LINE.stroke_width(1),
    ))?;
    Ok(())
}

fn profile(root: &Area<'_>, fig: &Figure<'_>) -> DrawResult {
    profile_in(root, fig, Ranges::default())
}

/// Fixed axis ranges of a profile (`None`: the values' own span).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ranges {
    /// The value axis.
    pub value: Option<(f64, f64)>,
    /// The depth axis, depth positive downward.
    pub depth: Option<(f64, f64)>,
}

/// Draws a profile of `size` pixels with `ranges` as the RGB pixels; `note` is written in the
/// plot when there are no points (e.g. "No Good Data available").
pub(super) fn profile_rgb(
    fig: &Figure<'_>,
    (w, h): (u32, u32),
    ranges: Ranges,
    note: &str,
) -> Result<Vec<u8>, String> {
    font()?;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let drawn = if fig.points.is_empty() {
            let (v, d) = (
                ranges.value.unwrap_or((0.0, 1.0)),
                ranges.depth.unwrap_or((0.0, 1.0)),
            );
            let empty = Figure {
                points: &[],
                ..fig.clone()
            };
            profile_in(
                &root,
                &empty,
                Ranges {
                    value: Some(v),
                    depth: Some(d),
                },
            )
            .and_then(|()| {
                root.draw(&Text::new(
                    note.to_string(),
                    ((w / 2 - 80) as i32, (h / 2) as i32),
                    (FAMILY, 18),
                ))?;
                Ok(())
            })
        } else {
            profile_in(&root, fig, ranges)
        };
        drawn.map_err(|e| format!("drawing failed: {e}"))?;
        root.present().map_err(|e| format!("drawing failed: {e}"))?;
    }
    Ok(rgb)
}

fn profile_in(root: &Area<'_>, fig: &Figure<'_>, ranges: Ranges) -> DrawResult {
    root.fill(&WHITE)?;
    // Depth grows downward: plot its negative and label it positive.
    let (d0, d1) = ranges
        .depth
        .unwrap_or_else(|| span(fig.points.iter().map(|p| p.0)));
    let (v0, v1) = ranges
        .value
        .unwrap_or_else(|| span(fig.points.iter().map(|p| p.1)));
    let mut chart = ChartBuilder::on(root)
        .caption(fig.caption, (FAMILY, 15))
        .margin(10)
        .margin_right(30)
        .x_label_area_size(40)
        .y_label_area_size(58)
        .build_cartesian_2d(v0..v1, -d1..-d0)?;
    chart
        .configure_mesh()
        .light_line_style(GRID)
        .bold_line_style(GRID)
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|v| number(*v))
        .y_label_formatter(&|d| number(-*d))
        .x_desc(fig.data_label)
        .y_desc(fig.axis_label)
        .label_style((FAMILY, 11))
        .axis_desc_style((FAMILY, 12))
        .draw()?;
    let points = || fig.points.iter().map(|&(d, v)| (v, -d));
    chart.draw_series(LineSeries::new(points(), LINE.stroke_width(1)))?;
    chart.draw_series(points().map(|p| Circle::new(p, 2, LINE.filled())))?;
    Ok(())
}

/// The range of the values with a margin, never empty (a constant series gets a band around it).
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = if hi > lo {
        (hi - lo) * 0.04
    } else {
        (lo.abs() * 0.05).max(0.5)
    };
    (lo - pad, hi + pad)
}

/// A tick label without float noise (`0.30000000000000004` → `0.3`, `-0` → `0`).
fn number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn time_label(t: f64, long: bool) -> String {
    match chrono::DateTime::from_timestamp(t.round() as i64, 0) {
        Some(d) if long => d.format("%Y-%m-%d").to_string(),
        Some(d) => d.format("%m-%d %H:%M").to_string(),
        None => String::new(),
    }
}

/// An RGB buffer of `width` × `height` pixels as JPEG bytes (quality 90).
pub(super) fn encode_jpeg(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let too_big = || format!("a JPEG is at most 65535 pixels wide, not {width} × {height}");
    let (w, h) = (
        u16::try_from(width).map_err(|_| too_big())?,
        u16::try_from(height).map_err(|_| too_big())?,
    );
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| format!("JPEG encoding failed: {e}"))?;
    Ok(out)
}

fn encode_png(rgb: &[u8]) -> Result<Vec<u8>, String> {
    encode_png_sized(rgb, WIDTH, HEIGHT)
}

/// An RGB buffer of `width` × `height` pixels as PNG bytes.
///
/// A plot is flat colours with thin lines: Paeth-filtered, almost every row is zeros, which the
/// PNG encoder's fast deflate (fdeflate, made for filtered image rows) takes in long runs. The
/// 640 × 320 quick look of an ordinary file: 55 kB in 0.35 ms, against 34 kB in 0.9 ms for
/// zlib's fastest level over unfiltered rows and 23 kB in 15 ms at its best level over
/// Sub-filtered ones (BENCHMARKS.md, "Quick-look plots"). A job runs once per file, and the
/// plot is its largest piece of work after reading the file: a few kilobytes more to store are
/// cheaper than the milliseconds.
pub(super) fn encode_png_sized(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    if rgb.len() != width as usize * 3 * height as usize {
        return Err(format!(
            "PNG encoding failed: {} bytes for {width} x {height} RGB pixels",
            rgb.len()
        ));
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::FilterType::Paeth);
    encoder.set_adaptive_filter(png::AdaptiveFilterType::NonAdaptive);
    let mut writer = encoder
        .write_header()
        .map_err(|e| format!("PNG encoding failed: {e}"))?;
    writer
        .write_image_data(rgb)
        .and_then(|()| writer.finish())
        .map_err(|e| format!("PNG encoding failed: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = png::Decoder::new(png).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info.width, info.height, buf)
    }

    #[test]
    fn the_png_holds_exactly_the_pixels_and_refuses_a_buffer_of_the_wrong_size() {
        let (w, h) = (7u32, 3u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 256) as u8).collect();
        let png = encode_png_sized(&rgb, w, h).unwrap();
        assert!(png.starts_with(PNG_MAGIC));
        assert_eq!(decode(&png), (w, h, rgb.clone()));
        let err = encode_png_sized(&rgb[1..], w, h).unwrap_err();
        assert!(err.contains("7 x 3"), "{err}");
    }

    #[test]
    fn a_time_series_and_a_profile_become_pngs_with_a_drawn_line() {
        let series: Vec<(f64, f64)> = (0..500)
            .map(|i| (1.5e9 + i as f64 * 600.0, 15.0 + (i as f64 / 40.0).sin()))
            .collect();
        for kind in [Kind::TimeSeries, Kind::Profile] {
            let png = render_png(&Figure {
                kind,
                caption: "Température — Île Maria",
                data_label: "sea water temperature (°C)",
                axis_label: "time (UTC)",
                points: &series,
            })
            .unwrap();
            assert!(png.starts_with(PNG_MAGIC));
            let (w, h, pixels) = decode(&png);
            assert_eq!((w, h), (WIDTH, HEIGHT));
            let line = pixels
                .chunks(3)
                .filter(|p| p == &[LINE.0, LINE.1, LINE.2])
                .count();
            assert!(line > 300, "{kind:?}: {line} pixels of the data line");
        }
    }

    #[test]
    fn a_single_point_or_a_constant_series_still_draws() {
        for points in [vec![(10.0, 3.0)], vec![(0.0, 2.0), (1.0, 2.0)]] {
            let png = render_png(&Figure {
                kind: Kind::Profile,
                caption: "c",
                data_label: "d",
                axis_label: "a",
                points: &points,
            })
            .unwrap();
            assert!(png.starts_with(PNG_MAGIC));
        }
        assert!(
            render_png(&Figure {
                kind: Kind::Profile,
                caption: "c",
                data_label: "d",
                axis_label: "a",
                points: &[],
            })
            .is_err()
        );
    }

    #[test]
    fn tick_labels_have_no_float_noise() {
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(1500.0), "1500");
        assert_eq!(number(-12.25), "-12.25");
        assert_eq!(time_label(1_523_000_000.0, true), "2018-04-06");
    }
}
