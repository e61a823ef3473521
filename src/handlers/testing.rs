//! Test support for the handler cores: the reference's test inputs under `tests/data/imos/`,
//! unpacked into a temporary work folder as the resolve step would, and the comparison of a
//! product we make with the product the reference's code made from the same inputs.

use std::path::{Path, PathBuf};

use super::plan::InputFile;
use crate::netcdf::{AttrValue, NcFile, NcSummary, NcType};

/// A file of `tests/data/imos/`.
pub fn imos_data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/imos")
        .join(relative)
}

/// Every regular file of a ZIP, unpacked under a temporary folder, named by its base name (as the
/// collection names ZIP members), in archive order.
pub fn unzip(archive: &Path) -> (tempfile::TempDir, Vec<InputFile>) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = std::fs::File::open(archive).expect("the test ZIP exists");
    let mut zip = zip::ZipArchive::new(file).expect("a ZIP");
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("an entry");
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().rsplit('/').next().expect("a name").to_string();
        let path = dir.path().join(format!("{i}-{name}"));
        let mut out = std::fs::File::create(&path).expect("a file");
        std::io::copy(&mut entry, &mut out).expect("unpacked");
        files.push(InputFile::new(name, path));
    }
    (dir, files)
}

/// Writes `content` as `name` in `dir` and returns it as a collection file.
pub fn write_file(dir: &Path, name: &str, content: &[u8]) -> InputFile {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("written");
    InputFile::new(name, path)
}

/// Values equal as `np.isclose` judges them, missing (`NaN`) matching missing.
pub fn assert_close(got: &[f64], want: &[Option<f64>], what: &str) {
    assert_within(got, want, 1e-5, what);
}

/// Values equal within a relative tolerance, missing (`NaN`) matching missing.
pub fn assert_within(got: &[f64], want: &[Option<f64>], rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        match w {
            None => assert!(g.is_nan(), "{what}[{i}] = {g}, want missing"),
            Some(w) => assert!(
                (g - w).abs() <= 1e-12 + rtol * w.abs(),
                "{what}[{i}] = {g}, want {w}"
            ),
        }
    }
}

/// How close a value of this type must be: single-precision values may differ in their last
/// bits, where the reference accumulates a mean in single precision and we in double.
fn rtol(dtype: &NcType) -> f64 {
    match dtype {
        NcType::Float => 1e-6,
        NcType::Double => 1e-12,
        _ => 0.0,
    }
}

/// Attribute values equal: text and integers exactly, floating-point values by [`rtol`].
fn assert_same_attr(a: &AttrValue, b: &AttrValue, what: &str) {
    match (a, b) {
        (AttrValue::Float(_), AttrValue::Float(_))
        | (AttrValue::Double(_), AttrValue::Double(_)) => {
            let want: Vec<Option<f64>> = b.as_f64s().unwrap().into_iter().map(Some).collect();
            assert_within(&a.as_f64s().unwrap(), &want, rtol(&a.nc_type()), what);
        }
        _ => assert_eq!(a, b, "{what}"),
    }
}

/// Compares two products: dimensions, variables in order with types, dimensions, attributes
/// and values (missing values by the reading rule of each variable), and the global attributes
/// in order, except those named in `own` (creation times, the producing program), whose
/// presence only is compared.
pub fn assert_same_product(ours: &Path, theirs: &Path, own: &[&str]) -> (NcSummary, NcSummary) {
    let (of, tf) = (NcFile::open(ours).unwrap(), NcFile::open(theirs).unwrap());
    let (o, t) = (of.summary().unwrap(), tf.summary().unwrap());
    assert_eq!(o.dimensions, t.dimensions, "dimensions");
    let names = |s: &NcSummary| {
        s.variables
            .iter()
            .map(|v| v.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&o), names(&t), "variables");
    for (a, b) in o.variables.iter().zip(&t.variables) {
        assert_eq!(a.dtype, b.dtype, "type of {}", a.name);
        assert_eq!(a.dimensions, b.dimensions, "dimensions of {}", a.name);
        assert_eq!(a.attributes, b.attributes, "attributes of {}", a.name);
        let (x, y) = (of.read_masked(a).unwrap(), tf.read_masked(b).unwrap());
        let want: Vec<Option<f64>> = y.iter().map(|v| (!v.is_nan()).then_some(*v)).collect();
        assert_within(&x, &want, rtol(&a.dtype), &a.name);
    }
    let globals = |s: &NcSummary| -> Vec<(String, Option<AttrValue>)> {
        s.global_attributes
            .iter()
            .map(|a| {
                let value = (!own.contains(&a.name.as_str())).then(|| a.value.clone());
                (a.name.clone(), value)
            })
            .collect()
    };
    let (go, gt) = (globals(&o), globals(&t));
    assert_eq!(
        go.iter().map(|g| &g.0).collect::<Vec<_>>(),
        gt.iter().map(|g| &g.0).collect::<Vec<_>>(),
        "global attribute names, in order"
    );
    for (a, b) in go.iter().zip(&gt) {
        match (&a.1, &b.1) {
            (Some(x), Some(y)) => assert_same_attr(x, y, &format!("global attribute {}", a.0)),
            (x, y) => assert_eq!(x, y, "global attribute {}", a.0),
        }
    }
    (o, t)
}
