//! cfutil's guess of a variable's discrete sampling geometry or grid (`guess_feature_type`),
//! from the dimensions of the file's likeliest x, y, z and t coordinates.

use super::model::{Model, attr_str};

type Dims<'a> = Vec<&'a str>;

struct Matrix<'a> {
    x: Option<Dims<'a>>,
    y: Option<Dims<'a>>,
    z: Option<Dims<'a>>,
    t: Option<Dims<'a>>,
}

fn matrix<'a>(m: &Model<'a>) -> Matrix<'a> {
    Matrix {
        x: m.dims(m.lon_vars.first().copied()),
        y: m.dims(m.lat_vars.first().copied()),
        z: m.dims(m.z_variable()),
        t: m.dims(m.time_variable()),
    }
}

/// The reference's feature type names: point, profile, timeseries, trajectory, timeseriesprofile,
/// trajectoryprofile, or a grid kind; `None` when nothing fits.
pub fn guess(m: &Model, variable: &str) -> Option<&'static str> {
    let dims = m.dims(Some(variable))?;
    let c = matrix(m);
    let checks: [(&'static str, bool); 12] = [
        ("point", is_point(m, &c, &dims)),
        ("profile", is_profile(&c, &dims)),
        ("timeseries", is_timeseries(m, &c, &dims)),
        ("trajectory", is_trajectory(m, &c, &dims)),
        ("timeseriesprofile", is_timeseries_profile(m, &c, &dims)),
        ("trajectoryprofile", is_trajectory_profile(m, &c, &dims)),
        (
            "2d-regular-grid",
            is_regular_grid(m, variable, &c, &dims, true, false),
        ),
        (
            "2d-static-grid",
            is_regular_grid(m, variable, &c, &dims, false, false),
        ),
        (
            "3d-regular-grid",
            is_regular_grid(m, variable, &c, &dims, true, true),
        ),
        (
            "3d-static-grid",
            is_regular_grid(m, variable, &c, &dims, false, true),
        ),
        ("mapped-grid", is_mapped_grid(m, variable)),
        ("reduced-grid", is_reduced_grid(m, variable)),
    ];
    checks.into_iter().find(|(_, ok)| *ok).map(|(n, _)| n)
}

fn is_point(m: &Model, c: &Matrix, dims: &Dims) -> bool {
    let mut first: Option<&Dims> = None;
    if let Some(t) = &c.t {
        first = Some(t);
        if t.len() > 1 {
            return false;
        }
    }
    for d in [&c.x, &c.y, &c.z].into_iter().flatten() {
        let f = *first.get_or_insert(d);
        if f != d || d.len() > 1 {
            return false;
        }
    }
    if let Some(f) = first
        && !f.is_empty()
        && dims != f
    {
        return false;
    }
    m.vars_with("cf_role", "trajectory_id").is_empty()
}

fn is_timeseries(m: &Model, c: &Matrix, dims: &Dims) -> bool {
    let simple = dims.len() == 1
        && m.time_vars.contains(dims[0])
        && [&c.x, &c.y, &c.z]
            .into_iter()
            .all(|d| d.as_ref().is_none_or(|d| d.is_empty()));
    if simple {
        return true;
    }
    let (Some(x), Some(y), Some(t)) = (&c.x, &c.y, &c.t) else {
        return false;
    };
    // Orthogonal multidimensional: x(i), y(i), z(i), t(o); X(i, o).
    if x.len() == 1
        && x == y
        && c.z.as_ref().is_none_or(|z| z == x)
        && m.time_variable().is_some_and(|tv| t == &vec![tv])
        && *dims == vec![x[0], t[0]]
    {
        return true;
    }
    // Incomplete multidimensional: x(i), y(i), t(i, o); X(i, o).
    x.len() == 1 && x == y && t.len() == 2 && x[0] == t[0] && *dims == vec![x[0], t[1]]
}

fn is_trajectory(m: &Model, c: &Matrix, dims: &Dims) -> bool {
    if let (Some(x), Some(y), Some(t)) = (&c.x, &c.y, &c.t)
        && x.len() == 2
        && x == y
        && x == t
        && c.z.as_ref().is_none_or(|z| z == x)
        && dims == x
    {
        return true;
    }
    let Some(t) = &c.t else { return false };
    [&c.x, &c.y, &c.z]
        .into_iter()
        .all(|d| d.as_ref().is_none_or(|d| d == t))
        && dims == t
        && m.vars_with("cf_role", "trajectory_id").len() == 1
}

fn is_profile(c: &Matrix, dims: &Dims) -> bool {
    let (Some(x), Some(y), Some(z), Some(t)) = (&c.x, &c.y, &c.z, &c.t) else {
        return false;
    };
    if x.len() != 1 || x != y || x != t {
        return false;
    }
    (z.len() == 1 && *dims == vec![x[0], z[0]])
        || (z.len() == 2 && z[0] == x[0] && *dims == vec![x[0], z[1]])
}

fn is_timeseries_profile(m: &Model, c: &Matrix, dims: &Dims) -> bool {
    let (Some(x), Some(y), Some(z), Some(t)) = (&c.x, &c.y, &c.z, &c.t) else {
        return false;
    };
    if x != y {
        return false;
    }
    let zv = m.z_variable();
    let tv = m.time_variable();
    let z_is_var = zv.is_some_and(|zv| z == &vec![zv]);
    let t_is_var = tv.is_some_and(|tv| t == &vec![tv]);
    let (zv, tv) = (zv.unwrap_or(""), tv.unwrap_or(""));
    if x.is_empty() {
        // single station: X(t, z) or X(t, j) with z(t, j)
        if z_is_var && t_is_var && *dims == vec![tv, zv] {
            return true;
        }
        if t_is_var && z.len() == 2 && z[0] == tv && *dims == vec![tv, z[1]] {
            return true;
        }
        return false;
    }
    if x.len() != 1 {
        return false;
    }
    let i = x[0];
    (z_is_var && t_is_var && *dims == vec![i, tv, zv])
        || (t_is_var && z.len() == 3 && z[1] == tv && z[0] == i && *dims == vec![i, tv, z[2]])
        || (z_is_var && t.len() == 2 && t[0] == i && *dims == vec![i, t[1], zv])
        || (t.len() == 2
            && t[0] == i
            && z.len() == 3
            && z[0] == i
            && z[1] == t[1]
            && *dims == vec![i, t[1], z[2]])
}

fn is_trajectory_profile(m: &Model, c: &Matrix, dims: &Dims) -> bool {
    let (Some(x), Some(y), Some(z), Some(t)) = (&c.x, &c.y, &c.z, &c.t) else {
        return false;
    };
    if x.len() != 2 || x != y || x != t {
        return false;
    }
    let (i, o) = (x[0], x[1]);
    if let Some(zv) = m.z_variable()
        && z == &vec![zv]
    {
        return *dims == vec![i, o, zv];
    }
    z.len() == 3 && z[0] == i && z[1] == o && *dims == vec![i, o, z[2]]
}

fn is_regular_grid(
    m: &Model,
    variable: &str,
    c: &Matrix,
    dims: &Dims,
    with_time: bool,
    with_z: bool,
) -> bool {
    if is_mapped_grid(m, variable) {
        return false;
    }
    let (Some(cx), Some(cy)) = (&c.x, &c.y) else {
        return false;
    };
    let x = m.lon_vars.first().copied().unwrap_or("");
    let y = m.lat_vars.first().copied().unwrap_or("");
    if cx != &vec![x] || cy != &vec![y] {
        return false;
    }
    let mut need = vec![x, y];
    if with_z {
        let Some(cz) = &c.z else { return false };
        let z = m.z_variable().unwrap_or("");
        if cz != &vec![z] {
            return false;
        }
        need.push(z);
    }
    if with_time {
        let Some(ct) = &c.t else { return false };
        let t = m.time_variable().unwrap_or("");
        if ct != &vec![t] {
            return false;
        }
        need.push(t);
    }
    dims.len() == need.len() && need.iter().all(|n| dims.contains(n))
}

fn is_mapped_grid(m: &Model, variable: &str) -> bool {
    let Some(v) = m.var(variable) else {
        return false;
    };
    let coords: Vec<&str> = attr_str(v, "coordinates")
        .map(|c| c.split_whitespace().collect())
        .unwrap_or_default();
    let pick = |list: &[&str]| -> Option<String> {
        list.iter()
            .find(|l| coords.contains(l))
            .or(list.first())
            .map(|s| s.to_string())
    };
    let (Some(lon), Some(lat)) = (pick(&m.lon_vars), pick(&m.lat_vars)) else {
        return false;
    };
    let (Some(x), Some(y)) = (m.dims(Some(&lon)), m.dims(Some(&lat))) else {
        return false;
    };
    x.len() == 2 && x == y && v.dimensions.join(",").contains(&x.join(","))
}

fn is_reduced_grid(m: &Model, variable: &str) -> bool {
    let map = m.axis_map(variable);
    let (Some(_), Some(_), Some(cs)) = (map.get(&'X'), map.get(&'Y'), map.get(&'C')) else {
        return false;
    };
    if cs.len() > 1 {
        return false;
    }
    m.var(cs[0])
        .and_then(|v| attr_str(v, "compress"))
        .is_some_and(|c| c.split_whitespace().all(|d| m.has_dim(d)))
}
