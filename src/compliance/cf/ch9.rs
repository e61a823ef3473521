//! CF chapter 9 (discrete sampling geometries): featureType, cf_role, the features the variables
//! look like, and the `_bounds` naming hint.

use super::feature;
use super::model::{Model, Py, attr};
use super::section::*;
use crate::compliance::{CheckResult, Dataset, GroupCtx, Priority};

type Out = Result<Vec<CheckResult>, String>;

const FEATURES: [&str; 6] = [
    "point",
    "timeseries",
    "trajectory",
    "profile",
    "timeseriesprofile",
    "trajectoryprofile",
];

fn feature_type_attr(ds: &Dataset) -> Result<Option<String>, String> {
    match ds.global("featureType").map(Py::of) {
        None => Ok(None),
        Some(Py::Str(s)) => Ok(Some(s.to_string())),
        Some(_) => Err(
            "the featureType global attribute is not text; the reference checker fails on this file"
                .into(),
        ),
    }
}

pub fn feature_type(ds: &Dataset) -> Out {
    let ft = feature_type_attr(ds)?;
    let ok = ft
        .as_ref()
        .is_none_or(|f| FEATURES.contains(&f.to_lowercase().as_str()));
    Ok(vec![CheckResult::test(
        S9_1_VALID,
        Priority::High,
        ok,
        format!(
            "{} is not a valid CF featureType. It must be one of {}",
            ft.unwrap_or_default(),
            FEATURES.join(", ")
        ),
    )])
}

pub fn cf_role(ds: &Dataset) -> Out {
    let roles = ["timeseries_id", "profile_id", "trajectory_id"];
    let mut ctx = GroupCtx::new(S9_5, Priority::High);
    let mut count = 0;
    for v in ds
        .summary
        .variables
        .iter()
        .filter(|v| v.attr("cf_role").is_some())
    {
        count += 1;
        let role = attr(v, "cf_role").map(Py::to_py_string).unwrap_or_default();
        ctx.assert_true(roles.contains(&role.as_str()), || {
            format!(
                "{role} is not a valid cf_role value. It must be one of {}",
                roles.join(", ")
            )
        });
    }
    if count == 0 {
        return Ok(vec![]);
    }
    ctx.assert_true(count < 3, || {
        "§9.5 The only acceptable values of cf_role for Discrete Geometry CF data sets are timeseries_id, profile_id, and trajectory_id".into()
    });
    Ok(vec![ctx.result()])
}

pub fn variable_features(ds: &Dataset) -> Out {
    let ft = feature_type_attr(ds)?.unwrap_or_default().to_lowercase();
    if !FEATURES.contains(&ft.as_str()) {
        return Ok(vec![]);
    }
    let m = Model::new(ds);
    let mut out = Vec::new();
    let mut found: Vec<(&str, Vec<&str>)> = Vec::new();
    for name in &m.geophysical {
        let Some(f) = feature::guess(&m, name) else {
            continue;
        };
        match found.iter_mut().find(|(k, _)| *k == f) {
            Some((_, names)) => names.push(name),
            None => found.push((f, vec![name])),
        }
        out.push(CheckResult::test(
            S9_1,
            Priority::Medium,
            f == ft,
            format!("{name} is not a {ft}, it is detected as a {f}"),
        ));
    }
    let description: Vec<String> = found
        .iter()
        .map(|(f, names)| format!("{f} ({})", names.join(", ")))
        .collect();
    out.push(CheckResult::test(
        S9_1,
        Priority::High,
        found.len() < 2,
        format!(
            "Different feature types discovered in this dataset: {}",
            description.join(", ")
        ),
    ));
    Ok(out)
}

pub fn hints(ds: &Dataset) -> Out {
    let m = Model::new(ds);
    Ok(m
        .vars
        .iter()
        .filter(|v| v.name.ends_with("_bounds") && !m.boundary_vars.contains(v.name.as_str()))
        .map(|v| {
            CheckResult::new(
                S7_1,
                Priority::Low,
                1,
                1,
                vec![format!("{} might be a cell boundary variable but there are no variables that define it as a boundary using the `bounds` attribute.", v.name)],
            )
        })
        .collect())
}
