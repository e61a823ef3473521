//! The `map_plot` derivation: fields of a swath or grid file (2-D latitude and longitude) drawn
//! side by side as maps, each cell coloured by the level its value falls in (values above the
//! last level take the last colour, as matplotlib's `contourf(extend='max')`), with direction
//! arrows every few cells, a shared colour bar and the files' bounds (`geospatial_*` attributes)
//! widened by a margin. What to draw is data (a pipeline's `derive` entry); the picture is a PNG
//! published beside the file. The reference also draws a coastline (Natural Earth land) and wind
//! barbs; here land is not drawn and directions are arrows.

use std::path::Path;

use plotters::prelude::*;

use super::draw::{FAMILY, encode_png_sized, font};
use super::series::Validity;
use crate::netcdf::{NcFile, NcSummary};

/// One map of the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The variable coloured by level.
    pub field: String,
    /// A variable of directions (degrees clockwise from north, where the flow comes from, as
    /// meteorology writes wind) drawn as arrows; none for no arrows.
    pub direction: Option<String>,
    pub title: String,
}

/// What `derive = [{ builtin = "map_plot", … }]` says to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct MapSpec {
    pub panels: Vec<Panel>,
    /// Lower bounds of the colour classes, increasing; values below the first are not drawn.
    pub levels: Vec<f64>,
    /// One colour per level (`#rrggbb`): the class from that level to the next (the last: above).
    pub colours: Vec<RGBColor>,
    /// An arrow every this many cells along each dimension.
    pub arrows_every: usize,
    /// Degrees added around the file's bounds.
    pub margin: f64,
    /// The colour bar's label.
    pub label: String,
    /// Width and height of the picture in pixels.
    pub size: (u32, u32),
}

/// The latitude and longitude variables every field is drawn on.
const LAT: &str = "LATITUDE";
const LON: &str = "LONGITUDE";

impl MapSpec {
    /// Reads a `derive` entry's parameters (all but `builtin` and `name`), saying which is wrong.
    pub fn from_params(params: &toml::Table) -> Result<MapSpec, String> {
        let known = [
            "panels",
            "levels",
            "colours",
            "arrows_every",
            "margin",
            "label",
            "width",
            "height",
        ];
        if let Some(k) = params.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!(
                "map_plot takes no parameter {k:?}; it takes {}",
                known.join(", ")
            ));
        }
        let panels = params
            .get("panels")
            .and_then(toml::Value::as_array)
            .filter(|p| !p.is_empty())
            .ok_or(
                "map_plot needs panels = [{ field = \"…\", direction = \"…\", title = \"…\" }, …]",
            )?
            .iter()
            .map(|p| {
                let t = p
                    .as_table()
                    .ok_or("each panel is a table { field, direction, title }")?;
                if let Some(k) = t
                    .keys()
                    .find(|k| !["field", "direction", "title"].contains(&k.as_str()))
                {
                    return Err(format!(
                        "a panel takes field, direction and title, not {k:?}"
                    ));
                }
                let text = |k: &str| t.get(k).and_then(toml::Value::as_str).map(str::to_string);
                Ok(Panel {
                    field: text("field").ok_or("a panel needs field = \"<variable>\"")?,
                    direction: text("direction"),
                    title: text("title").unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let levels: Vec<f64> = params
            .get("levels")
            .and_then(toml::Value::as_array)
            .ok_or("map_plot needs levels = [<number>, …]")?
            .iter()
            .map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
            .collect::<Option<_>>()
            .ok_or("levels are numbers")?;
        if levels.len() < 2 || levels.windows(2).any(|w| w[0] >= w[1]) {
            return Err("levels must be at least two numbers, increasing".into());
        }
        let colours: Vec<RGBColor> = params
            .get("colours")
            .and_then(toml::Value::as_array)
            .ok_or("map_plot needs colours = [\"#rrggbb\", …], one per level")?
            .iter()
            .map(|v| v.as_str().and_then(hex_colour))
            .collect::<Option<_>>()
            .ok_or("colours are \"#rrggbb\" strings")?;
        if colours.len() != levels.len() {
            return Err(format!(
                "{} colours for {} levels: give one colour per level (the last for values above it)",
                colours.len(),
                levels.len()
            ));
        }
        let int = |k: &str, default: i64| -> Result<i64, String> {
            match params.get(k) {
                None => Ok(default),
                Some(v) => v
                    .as_integer()
                    .filter(|n| *n > 0)
                    .ok_or(format!("{k} is a positive whole number")),
            }
        };
        let margin = match params.get("margin") {
            None => 0.5,
            Some(v) => v
                .as_float()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .filter(|m| *m >= 0.0)
                .ok_or("margin is a number of degrees, 0 or more")?,
        };
        Ok(MapSpec {
            panels,
            levels,
            colours,
            arrows_every: int("arrows_every", 15)? as usize,
            margin,
            label: params
                .get("label")
                .and_then(toml::Value::as_str)
                .unwrap_or("")
                .to_string(),
            size: (int("width", 1600)? as u32, int("height", 800)? as u32),
        })
    }

    /// The colour of a value: its level's, `None` below the first level.
    fn colour(&self, v: f64) -> Option<RGBColor> {
        let i = self.levels.iter().rposition(|l| v >= *l)?;
        Some(self.colours[i])
    }
}

fn hex_colour(s: &str) -> Option<RGBColor> {
    let h = s.strip_prefix('#').filter(|h| h.len() == 6)?;
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some(RGBColor(byte(0)?, byte(2)?, byte(4)?))
}

/// A 2-D variable's physical values (fill, missing and out-of-range values as NaN).
fn field(
    file: &NcFile,
    summary: &NcSummary,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f64>, String> {
    let var = summary
        .variable(name)
        .ok_or_else(|| format!("the file has no variable {name}"))?;
    if var.shape != shape {
        return Err(format!(
            "{name} has shape {:?}, not the {:?} of {LAT} and {LON}",
            var.shape, shape
        ));
    }
    let validity = Validity::of(var);
    let raw = file
        .read_f64(name, &[0, 0], shape)
        .map_err(|e| e.to_string())?;
    Ok(raw
        .into_iter()
        .map(|r| validity.value(r).unwrap_or(f64::NAN))
        .collect())
}

/// Draws the file's panels as a PNG.
pub fn render(path: &Path, spec: &MapSpec) -> Result<Vec<u8>, String> {
    font()?;
    let file = NcFile::open(path).map_err(|e| e.to_string())?;
    let summary = file.summary().map_err(|e| e.to_string())?;
    let lat_var = summary
        .variable(LAT)
        .ok_or_else(|| format!("the file has no variable {LAT}"))?;
    let shape = lat_var.shape.clone();
    if shape.len() != 2 {
        return Err(format!(
            "{LAT} is not 2-D (a swath or grid): a map needs one"
        ));
    }
    let lat = field(&file, &summary, LAT, &shape)?;
    let lon = field(&file, &summary, LON, &shape)?;
    let bound = |name: &str| -> Result<f64, String> {
        summary
            .global(name)
            .and_then(|a| a.as_f64s())
            .and_then(|v| v.first().copied())
            .ok_or_else(|| format!("the file has no global attribute {name}"))
    };
    let m = spec.margin;
    let (x0, x1) = (
        bound("geospatial_lon_min")? - m,
        bound("geospatial_lon_max")? + m,
    );
    let (y0, y1) = (
        bound("geospatial_lat_min")? - m,
        bound("geospatial_lat_max")? + m,
    );
    let mut panels = Vec::new();
    for p in &spec.panels {
        let values = field(&file, &summary, &p.field, &shape)?;
        let dirs = match &p.direction {
            Some(d) => Some(field(&file, &summary, d, &shape)?),
            None => None,
        };
        panels.push((p, values, dirs));
    }
    if panels.iter().all(|(_, v, _)| v.iter().all(|x| x.is_nan())) {
        return Err("no valid values to draw".into());
    }
    let (w, h) = spec.size;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        let bar_width = (w / 12).max(60);
        let (maps, bar) = root.split_horizontally(w - bar_width);
        let areas = maps.split_evenly((1, panels.len()));
        let cols = shape[1];
        let cell = |i: usize| (lon[i], lat[i]);
        // A cell spans half the way to its neighbours: its quadrilateral from the corners
        // averaged over the four cells around each corner.
        let corner = |r: usize, c: usize| -> Option<(f64, f64)> {
            let mut sx = 0.0;
            let mut sy = 0.0;
            let mut n = 0.0;
            for rr in r.saturating_sub(1)..=r.min(shape[0] - 1) {
                for cc in c.saturating_sub(1)..=c.min(cols - 1) {
                    let (x, y) = cell(rr * cols + cc);
                    if x.is_finite() && y.is_finite() {
                        sx += x;
                        sy += y;
                        n += 1.0;
                    }
                }
            }
            (n > 0.0).then(|| (sx / n, sy / n))
        };
        for (area, (panel, values, dirs)) in areas.iter().zip(&panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, (FAMILY, 20))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(45)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("longitude (°E)")
                .y_desc("latitude (°N)")
                .light_line_style(RGBColor(0xe5, 0xe8, 0xeb))
                .draw()
                .map_err(|e| e.to_string())?;
            let mut cells = Vec::new();
            for r in 0..shape[0] {
                for c in 0..cols {
                    let Some(colour) = spec.colour(values[r * cols + c]) else {
                        continue;
                    };
                    let quad: Option<Vec<(f64, f64)>> =
                        [(r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c)]
                            .into_iter()
                            .map(|(a, b)| corner(a, b))
                            .collect();
                    if let Some(q) = quad {
                        cells.push(Polygon::new(q, colour.filled()));
                    }
                }
            }
            chart.draw_series(cells).map_err(|e| e.to_string())?;
            if let Some(dirs) = dirs {
                let step = spec.arrows_every;
                let length = (x1 - x0).max(y1 - y0) / 40.0;
                let mut arrows = Vec::new();
                for r in (0..shape[0]).step_by(step) {
                    for c in (0..cols).step_by(step) {
                        let i = r * cols + c;
                        let (x, y) = cell(i);
                        if !(x.is_finite()
                            && y.is_finite()
                            && dirs[i].is_finite()
                            && values[i].is_finite())
                        {
                            continue;
                        }
                        // From-direction clockwise from north → the way the flow goes.
                        let to = (dirs[i] + 180.0).to_radians();
                        let (dx, dy) = (to.sin() * length, to.cos() * length);
                        let tip = (x + dx / 2.0, y + dy / 2.0);
                        let tail = (x - dx / 2.0, y - dy / 2.0);
                        let head = |turn: f64| {
                            let a = to + std::f64::consts::PI + turn;
                            (
                                tip.0 + a.sin() * length / 3.0,
                                tip.1 + a.cos() * length / 3.0,
                            )
                        };
                        arrows.push(PathElement::new(vec![tail, tip], BLACK));
                        arrows.push(PathElement::new(vec![head(0.4), tip, head(-0.4)], BLACK));
                    }
                }
                chart.draw_series(arrows).map_err(|e| e.to_string())?;
            }
        }
        colour_bar(&bar, spec).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png_sized(&rgb, w, h)
}

/// The levels' colours, stacked bottom to top, each labelled with its level.
fn colour_bar(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    spec: &MapSpec,
) -> Result<(), Box<dyn std::error::Error>> {
    let n = spec.levels.len();
    let mut chart = ChartBuilder::on(area)
        .margin_top(60)
        .margin_bottom(60)
        .margin_right(5)
        .y_label_area_size(0)
        .right_y_label_area_size(40)
        .caption(&spec.label, (FAMILY, 14))
        .build_cartesian_2d(0.0..1.0, 0.0..n as f64)?;
    chart.draw_series((0..n).map(|i| {
        Rectangle::new(
            [(0.0, i as f64), (1.0, (i + 1) as f64)],
            spec.colours[i].filled(),
        )
    }))?;
    let labels: Vec<String> = spec.levels.iter().map(|l| format!("{l}")).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .y_labels(n + 1)
        .y_label_formatter(&|y| {
            let i = y.round() as usize;
            labels.get(i).cloned().unwrap_or_default()
        })
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> toml::Table {
        toml::from_str(s).unwrap()
    }

    #[test]
    fn a_spec_is_read_and_each_mistake_named() {
        let spec = MapSpec::from_params(&params(
            r##"panels = [{ field = "WSPD", direction = "WDIR", title = "Wind" }]
levels = [0, 5, 10]
colours = ["#000000", "#808080", "#ffffff"]"##,
        ))
        .unwrap();
        assert_eq!(spec.arrows_every, 15);
        assert_eq!(spec.colour(-1.0), None);
        assert_eq!(spec.colour(7.0), Some(RGBColor(0x80, 0x80, 0x80)));
        assert_eq!(spec.colour(99.0), Some(RGBColor(0xff, 0xff, 0xff)));
        for (bad, why) in [
            (
                "levels = [0, 1]\ncolours = [\"#000000\", \"#000000\"]",
                "needs panels",
            ),
            (
                "panels = [{ field = \"A\" }]\nlevels = [1, 0]\ncolours = [\"#000000\", \"#000000\"]",
                "increasing",
            ),
            (
                "panels = [{ field = \"A\" }]\nlevels = [0, 1]\ncolours = [\"#000000\"]",
                "1 colours for 2 levels",
            ),
            (
                "panels = [{ field = \"A\" }]\nlevels = [0, 1]\ncolours = [\"black\", \"#000000\"]",
                "#rrggbb",
            ),
            ("panels = [{ feld = \"A\" }]", "not \"feld\""),
            ("panel = []", "no parameter \"panel\""),
        ] {
            let e = MapSpec::from_params(&params(bad)).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
