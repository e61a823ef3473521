//! A variable's values as the reference reads them (`get_masked_array`): unpacked with
//! `scale_factor`/`add_offset` as netCDF4-python does, then masked where they equal `_FillValue`
//! (not outside `valid_min`/`valid_max`), summarised in one bounded pass, shared through the
//! file's [`ValueMemo`](crate::netcdf::memo::ValueMemo) with the job's other readers.

use std::any::Any;
use std::sync::Arc;

use super::pyattr;
use crate::compliance::Dataset;
use crate::netcdf::memo::{Fold, downcast};
use crate::netcdf::{AttrValue, NcType, Variable};

/// What the rules need of a masked array.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Masked {
    pub len: usize,
    pub unmasked: usize,
    /// The smallest unmasked value (NaN if any unmasked value is NaN, as numpy's `min`).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `is_monotonic`: every difference of neighbours that are both unmasked has one sign. Numpy
    /// calls it true when there are no differences at all, false (masked) when all are masked.
    pub monotonic: bool,
}

/// How raw values become what Python sees.
struct Unpack {
    unsigned_bits: Option<u32>,
    scale: Option<f64>,
    offset: Option<f64>,
    fill: Fill,
}

enum Fill {
    None,
    Nan,
    Value(f64),
}

/// netCDF4-python only unpacks when `float(scale_factor)` and `float(add_offset)` succeed.
fn unpack_number(var: &Variable, name: &str) -> Result<Option<Option<f64>>, String> {
    match var.attr(name) {
        None => Ok(Some(None)),
        Some(v) => {
            if let Some(x) = pyattr::scalar(v) {
                return Ok(Some(Some(x)));
            }
            if let Some(s) = pyattr::as_str(v)
                && s.trim().parse::<f64>().is_ok()
            {
                // float() accepts the text but multiplying by a string then raises.
                return Err(format!(
                    "{}:{name} is the text {s:?}, not a number, so the values cannot be unpacked",
                    var.name
                ));
            }
            Ok(None)
        }
    }
}

impl Unpack {
    fn new(var: &Variable) -> Result<Unpack, String> {
        let unsigned = var
            .attr("_Unsigned")
            .and_then(pyattr::as_str)
            .is_some_and(|s| s == "true" || s == "True");
        let unsigned_bits = match (&var.dtype, unsigned) {
            (NcType::Byte, true) => Some(8),
            (NcType::Short, true) => Some(16),
            (NcType::Int, true) => Some(32),
            (NcType::Int64, true) => Some(64),
            _ => None,
        };
        let (mut scale, mut offset) = (None, None);
        if let (Some(s), Some(o)) = (
            unpack_number(var, "scale_factor")?,
            unpack_number(var, "add_offset")?,
        ) {
            match (s, o) {
                (Some(s), Some(o)) if o != 0.0 || s != 1.0 => (scale, offset) = (Some(s), Some(o)),
                (Some(_), Some(_)) => {}
                (Some(s), None) if s != 1.0 => scale = Some(s),
                (None, Some(o)) if o != 0.0 => offset = Some(o),
                _ => {}
            }
        }
        let fill = match var.attr("_FillValue") {
            None => Fill::None,
            Some(AttrValue::Text(_) | AttrValue::Strings(_)) => {
                return Err(format!(
                    "{}:_FillValue is text; the reference's NaN test on it raises",
                    var.name
                ));
            }
            Some(v) => match v.as_f64s().unwrap_or_default().as_slice() {
                [x] if x.is_nan() => Fill::Nan,
                [x] => Fill::Value(*x),
                [] => Fill::None,
                many => {
                    return Err(format!(
                        "{}:_FillValue has {} values; the reference's NaN test on it raises",
                        var.name,
                        many.len()
                    ));
                }
            },
        };
        Ok(Unpack {
            unsigned_bits,
            scale,
            offset,
            fill,
        })
    }

    /// The value Python sees and whether it is masked.
    fn apply(&self, raw: f64) -> (f64, bool) {
        let mut x = raw;
        if let Some(bits) = self.unsigned_bits
            && x < 0.0
        {
            x += 2f64.powi(bits as i32);
        }
        if let Some(s) = self.scale {
            x *= s;
        }
        if let Some(o) = self.offset {
            x += o;
        }
        let masked = match self.fill {
            Fill::None => false,
            Fill::Nan => x.is_nan(),
            Fill::Value(f) => x == f,
        };
        (x, masked)
    }
}

/// The key of [`masked`]'s summaries in a file's [`ValueMemo`].
pub const MASKED: &str = "imos-masked";

/// [`masked`]'s fold, for a file's [`ValueMemo`]: every numeric variable's masked summary is
/// made in the read any reader of the file makes of it.
pub fn fold_for(var: &Variable) -> Option<Result<Box<dyn Fold>, String>> {
    // Text variables are refused by `masked` before any read.
    var.dtype
        .is_numeric()
        .then(|| Unpack::new(var).map(|unpack| Box::new(MaskedFold::new(unpack)) as Box<dyn Fold>))
}

/// Reads a variable as the reference's `get_masked_array` does, in bounded chunks, or takes the
/// summary the file's one read of it made. `Err` where reading fails (text variables, unreadable
/// data) or the reference raises.
pub fn masked(ds: &Dataset<'_>, var: &Variable) -> Result<Masked, String> {
    if !var.dtype.is_numeric() {
        return Err(format!(
            "variable {} is of type {}; its values cannot be compared with numbers",
            var.name,
            var.dtype.cdl_name()
        ));
    }
    if let Some(summary) = ds.memo().and_then(|memo| memo.summary(var, MASKED)) {
        return downcast::<Masked>(summary)?
            .map(|m| *m)
            .ok_or_else(|| format!("the summary of {} is not a masked array's", var.name));
    }
    let mut fold = MaskedFold::new(Unpack::new(var)?);
    ds.for_each_chunk(&var.name, &mut |chunk| fold.feed(chunk))?;
    Ok(fold.masked())
}

/// The running state of [`masked`] over a variable's values in file order.
struct MaskedFold {
    unpack: Unpack,
    m: Masked,
    all_neg: bool,
    all_pos: bool,
    unmasked_diffs: usize,
    prev: Option<(f64, bool)>,
}

impl MaskedFold {
    fn new(unpack: Unpack) -> MaskedFold {
        MaskedFold {
            unpack,
            m: Masked {
                len: 0,
                unmasked: 0,
                min: None,
                max: None,
                monotonic: true,
            },
            all_neg: true,
            all_pos: true,
            unmasked_diffs: 0,
            prev: None,
        }
    }

    fn masked(&self) -> Masked {
        let diffs = self.m.len.saturating_sub(1);
        Masked {
            monotonic: diffs == 0 || (self.unmasked_diffs > 0 && (self.all_neg || self.all_pos)),
            ..self.m
        }
    }
}

impl Fold for MaskedFold {
    fn feed(&mut self, chunk: &[f64]) {
        let m = &mut self.m;
        for &raw in chunk {
            let (x, is_masked) = self.unpack.apply(raw);
            m.len += 1;
            if !is_masked {
                m.unmasked += 1;
                m.min = Some(match m.min {
                    None => x,
                    Some(a) if a.is_nan() || x.is_nan() => f64::NAN,
                    Some(a) => a.min(x),
                });
                m.max = Some(match m.max {
                    None => x,
                    Some(a) if a.is_nan() || x.is_nan() => f64::NAN,
                    Some(a) => a.max(x),
                });
            }
            if let Some((p, p_masked)) = self.prev
                && !p_masked
                && !is_masked
            {
                let d = x - p;
                self.unmasked_diffs += 1;
                self.all_neg &= d < 0.0;
                self.all_pos &= d > 0.0;
            }
            self.prev = Some((x, is_masked));
        }
    }

    fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
        Arc::new(self.masked())
    }
}

/// numpy's `isclose(a, b)` with its default tolerances (relative to `b`).
pub fn isclose(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return false;
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= 1e-8 + 1e-5 * b.abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::MemValues;
    use crate::netcdf::{Attribute, NcSummary};

    fn run(dtype: NcType, attrs: Vec<(&str, AttrValue)>, values: Vec<f64>) -> Masked {
        let var = Variable {
            name: "X".into(),
            dtype,
            dimensions: vec!["X".into()],
            shape: vec![values.len()],
            attributes: attrs
                .into_iter()
                .map(|(n, value)| Attribute {
                    name: n.into(),
                    value,
                })
                .collect(),
        };
        let summary = NcSummary {
            format: "classic".into(),
            dimensions: vec![],
            variables: vec![var.clone()],
            global_attributes: vec![],
            groups: vec![],
        };
        let mut mem = MemValues::default();
        mem.numeric.insert("X".into(), values);
        let ds = Dataset::new("x.nc", &summary, &mem);
        masked(&ds, &var).unwrap()
    }

    #[test]
    fn monotonic_follows_numpy_masked_differences() {
        let fill = || vec![("_FillValue", AttrValue::Double(vec![-9.0]))];
        assert!(run(NcType::Double, vec![], vec![1.0, 2.0, 3.0]).monotonic);
        assert!(run(NcType::Double, vec![], vec![3.0, 2.0]).monotonic);
        assert!(!run(NcType::Double, vec![], vec![1.0, 1.0]).monotonic);
        assert!(run(NcType::Double, vec![], vec![5.0]).monotonic);
        assert!(run(NcType::Double, vec![], vec![]).monotonic);
        assert!(!run(NcType::Double, vec![], vec![1.0, f64::NAN, 3.0]).monotonic);
        // Differences across a masked value are not compared.
        assert!(run(NcType::Double, fill(), vec![1.0, 2.0, -9.0, 0.0]).monotonic);
        // Every difference masked: numpy answers `masked`, which is false.
        assert!(!run(NcType::Double, fill(), vec![1.0, -9.0, 3.0]).monotonic);
    }

    #[test]
    fn values_are_unpacked_before_the_fill_value_masks_them() {
        let m = run(
            NcType::Short,
            vec![
                ("scale_factor", AttrValue::Float(vec![0.5])),
                ("add_offset", AttrValue::Float(vec![10.0])),
                ("_FillValue", AttrValue::Short(vec![12])),
            ],
            vec![2.0, 4.0],
        );
        // 2 → 11 and 4 → 12: the packed fill value now masks the unpacked 12.
        assert_eq!((m.min, m.max, m.unmasked), (Some(11.0), Some(11.0), 1));
        let m = run(
            NcType::Byte,
            vec![("_Unsigned", AttrValue::Text("true".into()))],
            vec![-1.0, 1.0],
        );
        assert_eq!((m.min, m.max), (Some(1.0), Some(255.0)));
        let m = run(NcType::Float, vec![], vec![1.0, f64::NAN]);
        assert!(m.min.unwrap().is_nan());
    }

    #[test]
    fn isclose_is_relative_to_the_second_value() {
        assert!(isclose(100.0005, 100.0));
        assert!(!isclose(100.01, 100.0));
        assert!(!isclose(f64::NAN, 1.0));
        assert!(isclose(f64::INFINITY, f64::INFINITY));
    }
}
