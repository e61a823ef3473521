//! The `profile_plot` derivation: one variable of a profile file against depth, drawn with the
//! quick looks' profile drawing (depth downward) on fixed axes, the points whose quality flag is
//! not kept left out, a title from a template; a JPEG or PNG published beside the file. When no
//! point is kept the plot says so ("No Good Data available", as the reference's).

use std::path::Path;

use super::draw::{Figure, Ranges, encode_jpeg, encode_png_sized, profile_rgb};
use super::select::Kind;
use super::series::Validity;
use crate::netcdf::NcFile;

/// What `derive = [{ builtin = "profile_plot", … }]` says to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileSpec {
    /// The variable drawn (`TEMP`).
    pub value: String,
    /// The depth coordinate (`DEPTH`).
    pub depth: String,
    /// The quality-flag variable and the flags whose points are drawn; none: every valid point.
    pub qc: Option<(String, Vec<i64>)>,
    pub value_range: Option<(f64, f64)>,
    pub depth_range: Option<(f64, f64)>,
    pub jpeg: bool,
    pub size: (u32, u32),
    /// The value axis label.
    pub label: String,
}

impl ProfileSpec {
    /// Reads a `derive` entry's parameters (all but `builtin`, `name` and `title`).
    pub fn from_params(params: &toml::Table) -> Result<ProfileSpec, String> {
        let known = [
            "value",
            "depth",
            "qc",
            "qc_keep",
            "value_range",
            "depth_range",
            "format",
            "width",
            "height",
            "label",
        ];
        if let Some(k) = params.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!(
                "profile_plot takes no parameter {k:?}; it takes {}",
                known.join(", ")
            ));
        }
        let text = |k: &str| {
            params
                .get(k)
                .and_then(toml::Value::as_str)
                .map(str::to_string)
        };
        let value = text("value").ok_or("profile_plot needs value = \"<variable>\"")?;
        let range = |k: &str| -> Result<Option<(f64, f64)>, String> {
            let Some(v) = params.get(k) else {
                return Ok(None);
            };
            let nums: Option<Vec<f64>> = v.as_array().map(|a| {
                a.iter()
                    .filter_map(|x| x.as_float().or_else(|| x.as_integer().map(|i| i as f64)))
                    .collect()
            });
            match nums.as_deref() {
                Some([a, b]) if a < b => Ok(Some((*a, *b))),
                _ => Err(format!("{k} is [low, high], two numbers, low first")),
            }
        };
        let qc_keep = match params.get("qc_keep") {
            None => None,
            Some(v) => Some(
                v.as_array()
                    .and_then(|a| {
                        a.iter()
                            .map(toml::Value::as_integer)
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or("qc_keep is a list of flag values (whole numbers)")?,
            ),
        };
        let qc = qc_keep.map(|keep| {
            let var = text("qc").unwrap_or_else(|| format!("{value}_quality_control"));
            (var, keep)
        });
        let jpeg = match text("format").as_deref() {
            None | Some("png") => false,
            Some("jpeg") => true,
            Some(other) => return Err(format!("format is \"jpeg\" or \"png\", not {other:?}")),
        };
        let int = |k: &str, default: i64| -> Result<u32, String> {
            match params.get(k) {
                None => Ok(default as u32),
                Some(v) => v
                    .as_integer()
                    .filter(|n| (1..=10_000).contains(n))
                    .map(|n| n as u32)
                    .ok_or(format!("{k} is a number of pixels (1 to 10000)")),
            }
        };
        Ok(ProfileSpec {
            depth: text("depth").unwrap_or_else(|| "DEPTH".into()),
            label: text("label").unwrap_or_else(|| value.clone()),
            value,
            qc,
            value_range: range("value_range")?,
            depth_range: range("depth_range")?,
            jpeg,
            size: (int("width", 1040)?, int("height", 736)?),
        })
    }
}

/// Draws the profile of the file at `path` with `title`; the image's bytes.
pub fn render(path: &Path, spec: &ProfileSpec, title: &str) -> Result<Vec<u8>, String> {
    let file = NcFile::open(path).map_err(|e| e.to_string())?;
    let summary = file.summary().map_err(|e| e.to_string())?;
    let var = |name: &str| {
        summary
            .variable(name)
            .ok_or_else(|| format!("the file has no variable {name}"))
    };
    let (value, depth) = (var(&spec.value)?, var(&spec.depth)?);
    let n = value.len();
    if depth.len() != n {
        return Err(format!(
            "{} has {n} values and {} has {}: a profile pairs them one to one",
            spec.value,
            spec.depth,
            depth.len()
        ));
    }
    let read = |name: &str, count: usize| {
        let v = var(name)?;
        let start = vec![0; v.shape.len()];
        file.read_f64(name, &start, &v.shape)
            .map_err(|e| e.to_string())
            .and_then(|x| {
                (x.len() == count)
                    .then_some(x)
                    .ok_or_else(|| format!("{name} does not pair one to one with {}", spec.value))
            })
    };
    let (vv, dv) = (Validity::of(value), Validity::of(depth));
    let values = read(&spec.value, n)?;
    let depths = read(&spec.depth, n)?;
    let flags = match &spec.qc {
        Some((name, _)) => Some(read(name, n)?),
        None => None,
    };
    let points: Vec<(f64, f64)> = (0..n)
        .filter(|&i| match (&spec.qc, &flags) {
            (Some((_, keep)), Some(f)) => keep.contains(&(f[i] as i64)),
            _ => true,
        })
        .filter_map(|i| Some((dv.value(depths[i])?, vv.value(values[i])?)))
        .collect();
    let caption = title
        .split('\n')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" — ");
    let label = spec.label.clone();
    let axis = format!("{} (m)", spec.depth.to_lowercase());
    let fig = Figure {
        kind: Kind::Profile,
        caption: &caption,
        data_label: &label,
        axis_label: &axis,
        points: &points,
    };
    let ranges = Ranges {
        value: spec.value_range,
        depth: spec.depth_range,
    };
    let (w, h) = spec.size;
    let rgb = profile_rgb(&fig, (w, h), ranges, "No Good Data available")?;
    if spec.jpeg {
        encode_jpeg(&rgb, w, h)
    } else {
        encode_png_sized(&rgb, w, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_is_read_and_each_mistake_named() {
        let t: toml::Table = toml::from_str(
            r#"value = "TEMP"
qc_keep = [1, 2]
depth_range = [0, 1100]
format = "jpeg""#,
        )
        .unwrap();
        let s = ProfileSpec::from_params(&t).unwrap();
        assert_eq!(s.qc, Some(("TEMP_quality_control".into(), vec![1, 2])));
        assert_eq!(s.depth, "DEPTH");
        assert!(s.jpeg);
        assert_eq!(s.size, (1040, 736));
        for (bad, why) in [
            ("depth = \"D\"", "needs value"),
            ("value = \"T\"\nformat = \"gif\"", "not \"gif\""),
            ("value = \"T\"\nvalue_range = [3, 1]", "low first"),
            ("value = \"T\"\nqc_keep = [\"good\"]", "whole numbers"),
            ("value = \"T\"\nx = 1", "no parameter \"x\""),
        ] {
            let t: toml::Table = toml::from_str(bad).unwrap();
            let e = ProfileSpec::from_params(&t).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn a_profile_becomes_a_jpeg_and_an_all_flagged_one_says_so() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/imos/soop/IMOS_SOOP-XBT_T_20160106T110100Z_PX02_FV01_ID-150739.nc");
        let t: toml::Table = toml::from_str(
            "value = \"TEMP\"\nqc_keep = [1, 2, 4, 5, 6, 7, 8, 9]\nformat = \"jpeg\"\nvalue_range = [-3, 35]\ndepth_range = [0, 1100]",
        )
        .unwrap();
        let spec = ProfileSpec::from_params(&t).unwrap();
        let jpeg = render(&path, &spec, "XBT\nline PX02").unwrap();
        assert_eq!(&jpeg[..3], b"\xff\xd8\xff", "JPEG magic");
        let none = ProfileSpec {
            qc: Some(("TEMP_quality_control".into(), vec![])),
            ..spec
        };
        let empty = render(&path, &none, "XBT").unwrap();
        assert_eq!(&empty[..3], b"\xff\xd8\xff");
        assert_ne!(jpeg, empty);
    }
}
