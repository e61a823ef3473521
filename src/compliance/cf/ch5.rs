//! CF chapters 5 and 6 (coordinate systems, labels): auxiliary coordinates, duplicate axes,
//! multidimensional coordinates, true latitude/longitude of grids, reduced grids, grid
//! mappings and region labels.

use super::feature;
use super::model::{Model, Py, attr, attr_str, is_text};
use super::section::*;
use crate::compliance::{CheckResult, Dataset, GroupCtx, Priority};

type Out = Result<Vec<CheckResult>, String>;

pub fn aux_coordinates(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let ragged = m
        .vars
        .iter()
        .any(|v| v.attr("sample_dimension").is_some() || v.attr("instance_dimension").is_some());
    if ragged {
        return Ok(vec![]);
    }
    let mut out = Vec::new();
    for name in &m.geophysical {
        let v = m.var(name).expect("classified variables exist");
        let Some(coords) = attr_str(v, "coordinates").filter(|c| !c.is_empty()) else {
            continue;
        };
        let mut ctx = GroupCtx::new(S5, Priority::High);
        for aux in coords.split_whitespace() {
            let exists = ctx.assert_true(m.has_var(aux), || {
                format!("{name}'s auxiliary coordinate specified by the coordinates attribute, {aux}, is not a variable in this dataset")
            });
            if !exists {
                continue;
            }
            let av = m.var(aux).expect("checked above");
            if is_text(av) {
                continue;
            }
            let subset = av.dimensions.iter().all(|d| v.dimensions.contains(d));
            ctx.assert_true(subset, || {
                format!(
                    "dimensions for auxiliary coordinate variable {aux} ({}) are not a subset of dimensions for variable {name} ({})",
                    av.dimensions.join(", "),
                    v.dimensions.join(", ")
                )
            });
        }
        out.push(ctx.result());
    }
    Ok(out)
}

pub fn duplicate_axis(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for name in &m.geophysical {
        let mut ctx = GroupCtx::new(S5, Priority::High);
        for (axis, coords) in m.axis_map(name) {
            let with_axis: Vec<&str> = coords
                .into_iter()
                .filter(|c| m.var(c).is_some_and(|v| v.attr("axis").is_some()))
                .collect();
            ctx.assert_true(with_axis.len() <= 1, || {
                let mut sorted = with_axis.clone();
                sorted.sort();
                format!(
                    "'{name}' has duplicate axis {axis} defined by [{}]",
                    sorted.join(", ")
                )
            });
        }
        out.push(ctx.result());
    }
    Ok(out)
}

pub fn multi_dimensional_coords(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for name in &m.aux_coords {
        let v = m.var(name).expect("classified variables exist");
        if v.dimensions.len() < 2 {
            continue;
        }
        out.push(CheckResult::test(
            S5,
            Priority::Medium,
            !v.dimensions.iter().any(|d| d == name),
            format!("{name} shares the same name as one of its dimensions"),
        ));
    }
    Ok(out)
}

fn true_coords<'a>(m: &Model<'a>, list: &[&'a str], std: &str, units: &[&str]) -> Vec<&'a str> {
    list.iter()
        .copied()
        .filter(|n| {
            let v = m.var(n).expect("classified variables exist");
            attr_str(v, "standard_name") == Some(std)
                || attr_str(v, "units").is_some_and(|u| units.contains(&u.to_lowercase().as_str()))
        })
        .collect()
}

pub fn grid_coordinates(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let lats = true_coords(&m, &m.lat_vars, "latitude", &super::model::VALID_LAT_UNITS);
    let lons = true_coords(&m, &m.lon_vars, "longitude", &super::model::VALID_LON_UNITS);
    let grids = [
        "2d-regular-grid",
        "2d-static-grid",
        "3d-regular-grid",
        "3d-static-grid",
        "mapped-grid",
        "reduced-grid",
    ];
    let mut out = Vec::new();
    for name in &m.geophysical {
        if !feature::guess(&m, name).is_some_and(|f| grids.contains(&f)) {
            continue;
        }
        let v = m.var(name).expect("classified variables exist");
        let map = m.axis_map(name);
        let mut ctx = GroupCtx::new(S5_6, Priority::High);
        for (axis, truths) in [('Y', &lats), ('X', &lons)] {
            let candidates = map.get(&axis).cloned().unwrap_or_default();
            let found = candidates.iter().any(|c| {
                truths.contains(c)
                    && m.var(c)
                        .is_some_and(|cv| cv.dimensions.iter().all(|d| v.dimensions.contains(d)))
            });
            let last = candidates.last().copied();
            ctx.assert_true(found, || match last {
                Some(c) => format!("{name}'s coordinate variable \"{c}\" is not one of the variables identifying true latitude/longitude and its dimensions are not a subset of {name}'s dimensions"),
                None => format!("{name} has no coordinate associated with a variable identified as true latitude/longitude; its coordinate variable should also share a subset of {name}'s dimensions"),
            });
        }
        out.push(ctx.result());
    }
    Ok(out)
}

pub fn reduced_horizontal_grid(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for name in &m.geophysical {
        let map = m.axis_map(name);
        let Some(compressed) = map.get(&'C') else {
            continue;
        };
        let v = m.var(name).expect("classified variables exist");
        let mut ctx = GroupCtx::new(S5_3, Priority::High);
        let coords = attr_str(v, "coordinates").filter(|c| !c.is_empty());
        ctx.assert_true(coords.is_some(), || {
            format!("reduced grid feature {name} must define coordinates attribute")
        });
        let Some(coords) = coords else {
            out.push(ctx.result());
            continue;
        };
        let set: Vec<&str> = coords.split_whitespace().collect();
        ctx.assert_true(set.iter().any(|c| m.lon_vars.contains(c)), || {
            format!("{name} must be associated with a valid longitude coordinate")
        });
        ctx.assert_true(set.iter().any(|c| m.lat_vars.contains(c)), || {
            format!("{name} must be associated with a valid latitude coordinate")
        });
        ctx.assert_true(compressed.len() == 1, || {
            format!(
                "{name} can not be associated with more than one compressed coordinates: ({})",
                compressed.join(", ")
            )
        });
        for c in compressed {
            let compress = m.var(c).and_then(|cv| attr_str(cv, "compress"));
            ctx.assert_true(compress.is_some_and(|s| !s.is_empty()), || {
                format!(
                    "compress attribute for compression coordinate {c} must be a non-empty string"
                )
            });
            for d in compress.unwrap_or("").split_whitespace() {
                ctx.assert_true(m.has_dim(d), || {
                    format!("dimension {d} referenced by {c}:compress must exist")
                });
            }
        }
        out.push(ctx.result());
    }
    Ok(out)
}

/// Required attributes, standard names needing one variable each, exactly-one attributes.
type GridMappingSpec = (Vec<String>, Vec<&'static str>, Option<[&'static str; 2]>);

/// Appendix F (CF 1.6) as the reference holds it: required attributes, standard names that need
/// exactly one variable each, and attributes of which exactly one must exist. Some required
/// lists are single strings in the reference, which it iterates letter by letter; we keep that.
fn grid_mapping_spec(name: &str) -> Option<GridMappingSpec> {
    let letters = |s: &str| s.chars().map(String::from).collect::<Vec<_>>();
    let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let xy = vec!["projection_x_coordinate", "projection_y_coordinate"];
    let sp = Some(["standard_parallel", "scale_factor_at_projection_origin"]);
    Some(match name {
        "albers_conical_equal_area" => (
            list(&[
                "longitude_of_central_meridian",
                "latitude_of_projection_origin",
            ]),
            xy,
            None,
        ),
        "azimuthal_equidistant" | "lambert_azimuthal_equal_area" | "orthographic" => (
            list(&[
                "longitude_of_projection_origin",
                "latitude_of_projection_origin",
            ]),
            xy,
            None,
        ),
        "lambert_cylindrical_equal_area" => (letters("longitude_of_central_meridian"), xy, sp),
        "lambert_conformal_conic" => (
            list(&[
                "standard_parallel",
                "longitude_of_central_meridian",
                "latitude_of_projection_origin",
            ]),
            xy,
            None,
        ),
        "latitude_longitude" => (vec![], vec!["longitude", "latitude"], None),
        "mercator" => (letters("longitude_of_projection_origin"), xy, sp),
        "polar_stereographic" => (
            list(&[
                "straight_vertical_longitude_from_pole",
                "latitude_of_projection_origin",
            ]),
            xy,
            sp,
        ),
        "rotated_latitude_longitude" => (
            list(&["grid_north_pole_latitude", "grid_north_pole_longitude"]),
            vec!["grid_latitude", "grid_longitude"],
            None,
        ),
        "stereographic" => (
            list(&[
                "longitude_of_projection_origin",
                "latitude_of_projection_origin",
                "scale_factor_at_projection_origin",
            ]),
            xy,
            None,
        ),
        "transverse_mercator" => (
            list(&[
                "scale_factor_at_central_meridian",
                "longitude_of_central_meridian",
                "latitude_of_projection_origin",
            ]),
            xy,
            None,
        ),
        "vertical_perspective" => (
            list(&[
                "longitude_of_projection_origin",
                "latitude_of_projection_origin",
                "perspective_point_height",
            ]),
            xy,
            None,
        ),
        _ => return None,
    })
}

pub fn grid_mapping(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for v in m.vars.iter().filter(|v| v.attr("grid_mapping").is_some()) {
        let mut ctx = GroupCtx::new(S5_6, Priority::High);
        let gm = attr_str(v, "grid_mapping");
        ctx.assert_true(gm.is_some_and(|g| !g.is_empty()), || {
            format!(
                "{}'s grid_mapping attribute must be a space-separated non-empty string",
                v.name
            )
        });
        for g in gm.unwrap_or("").split_whitespace() {
            ctx.assert_true(m.has_var(g), || {
                format!("grid mapping variable {g} must exist in this dataset")
            });
        }
        out.push(ctx.result());
    }
    for g in m.grid_mapping_vars() {
        let gv = m.var(g).expect("classified variables exist");
        let mut ctx = GroupCtx::new(S5_6, Priority::High);
        let gname = attr(gv, "grid_mapping_name").and_then(Py::as_str);
        let spec = gname.and_then(grid_mapping_spec);
        ctx.assert_true(spec.is_some(), || {
            format!(
                "{} is not a valid grid_mapping_name. See Appendix F for valid grid mappings",
                gname.unwrap_or("None")
            )
        });
        if let Some((required, std_names, exactly_one)) = spec {
            let gname = gname.unwrap_or("");
            for req in &required {
                ctx.assert_true(gv.attr(req).is_some(), || {
                    format!("{req} is a required attribute for grid mapping {gname}")
                });
            }
            if let Some(one) = exactly_one {
                let n = one.iter().filter(|a| gv.attr(a).is_some()).count();
                ctx.assert_true(n == 1, || {
                    format!(
                        "grid mapping {gname}must define exactly one of these attributes: {}",
                        one.join(" or ")
                    )
                });
            }
            for sn in std_names {
                ctx.assert_true(m.vars_with("standard_name", sn).len() == 1, || {
                    format!("grid mapping {gname} requires exactly one variable with standard_name {sn} to be defined")
                });
            }
        }
        out.push(ctx.result());
    }
    Ok(out)
}

const REGIONS: &str = "africa antarctica arabian_sea aral_sea arctic_ocean asia atlantic_ocean australia baltic_sea barents_opening barents_sea beaufort_sea bellingshausen_sea bering_sea bering_strait black_sea canadian_archipelago caribbean_sea caspian_sea central_america chukchi_sea contiguous_united_states denmark_strait drake_passage east_china_sea english_channel eurasia europe faroe_scotland_channel florida_bahamas_strait fram_strait global global_land global_ocean great_lakes greenland gulf_of_alaska gulf_of_mexico hudson_bay iceland_faroe_channel indian_ocean indonesian_throughflow indo_pacific_ocean irish_sea lake_baykal lake_chad lake_malawi lake_tanganyika lake_victoria mediterranean_sea mozambique_channel north_america north_sea norwegian_sea pacific_equatorial_undercurrent pacific_ocean persian_gulf red_sea ross_sea sea_of_japan sea_of_okhotsk south_america south_china_sea southern_ocean taiwan_luzon_straits weddell_sea windward_passage yellow_sea";

pub fn geographic_region(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    let mut out = Vec::new();
    for v in m.vars_with("standard_name", "region") {
        let text = ds.text(&v.name)?.concat();
        out.push(CheckResult::test(
            S6_1,
            Priority::Medium,
            REGIONS.split(' ').any(|r| r == text.to_lowercase()),
            format!(
                "6.1.1 '{text}' specified by '{}' is not a valid region",
                v.name
            ),
        ));
    }
    Ok(out)
}
