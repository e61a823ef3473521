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
#[derive(Clone, Copy)]
struct Unpack {
    unsigned_bits: Option<u32>,
    scale: Option<f64>,
    offset: Option<f64>,
    fill: Fill,
}

#[derive(Clone, Copy)]
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

    /// Whether raw values are what Python sees (no unsigned reading, scale or offset).
    fn is_plain(&self) -> bool {
        self.unsigned_bits.is_none() && self.scale.is_none() && self.offset.is_none()
    }

    /// The value Python sees of a raw value: read as unsigned, scaled, offset.
    #[inline(always)]
    fn value(&self, raw: f64) -> f64 {
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
        x
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
///
/// Every value of a variable passes through here (fifteen million in a long IMOS series, in the
/// job's critical path), so the state is kept flat and the loop is specialised by how the values
/// unpack and mask (see [`MaskedFold::feed`]); [`MaskedFold::masked`] gives what the reference's
/// step-by-step reduction gives, bit for bit (a test compares the two).
struct MaskedFold {
    unpack: Unpack,
    len: usize,
    unmasked: usize,
    /// The smallest and largest unmasked value that is not NaN (`INFINITY` and `NEG_INFINITY`
    /// before the first: `INFINITY.min(x)` is `x` itself, so the running minimum is the one a
    /// fold starting from the first value makes).
    lo: f64,
    hi: f64,
    /// An unmasked value was NaN: numpy's `min` and `max` are then NaN.
    nan: bool,
    all_neg: bool,
    all_pos: bool,
    unmasked_diffs: usize,
    /// The previous value, when there is one and it is unmasked.
    prev: Option<f64>,
}

impl MaskedFold {
    fn new(unpack: Unpack) -> MaskedFold {
        MaskedFold {
            unpack,
            len: 0,
            unmasked: 0,
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            nan: false,
            all_neg: true,
            all_pos: true,
            unmasked_diffs: 0,
            prev: None,
        }
    }

    fn masked(&self) -> Masked {
        let diffs = self.len.saturating_sub(1);
        let extreme = |x: f64| (self.unmasked > 0).then_some(if self.nan { f64::NAN } else { x });
        Masked {
            len: self.len,
            unmasked: self.unmasked,
            min: extreme(self.lo),
            max: extreme(self.hi),
            monotonic: diffs == 0 || (self.unmasked_diffs > 0 && (self.all_neg || self.all_pos)),
        }
    }

    /// [`MaskedFold::feed_with`] `chunk` unpacked by `value`, with the mask of the fill value.
    fn feed_masked(&mut self, chunk: &[f64], value: impl Fn(f64) -> f64) {
        match self.unpack.fill {
            Fill::None => self.feed_with(chunk, value, |_| false),
            Fill::Nan => self.feed_with(chunk, value, f64::is_nan),
            Fill::Value(f) => self.feed_with(chunk, value, move |x| x == f),
        }
    }

    /// Feeds `chunk` with the unpacking `value` and the mask `is_masked`, both known when the
    /// fold is made: one loop per kind, with nothing decided per value but the value's own tests.
    #[inline(always)]
    fn feed_with(
        &mut self,
        chunk: &[f64],
        value: impl Fn(f64) -> f64,
        is_masked: impl Fn(f64) -> bool,
    ) {
        let (mut lo, mut hi, mut nan) = (self.lo, self.hi, self.nan);
        let (mut all_neg, mut all_pos) = (self.all_neg, self.all_pos);
        let (mut unmasked, mut diffs) = (self.unmasked, self.unmasked_diffs);
        let (mut prev, mut prev_unmasked) = (self.prev.unwrap_or(0.0), self.prev.is_some());
        for &raw in chunk {
            let x = value(raw);
            if is_masked(x) {
                prev_unmasked = false;
                continue;
            }
            unmasked += 1;
            if x.is_nan() {
                nan = true;
            } else {
                lo = lo.min(x);
                hi = hi.max(x);
            }
            if prev_unmasked {
                let d = x - prev;
                diffs += 1;
                all_neg &= d < 0.0;
                all_pos &= d > 0.0;
            }
            prev = x;
            prev_unmasked = true;
        }
        self.len += chunk.len();
        (self.lo, self.hi, self.nan) = (lo, hi, nan);
        (self.all_neg, self.all_pos) = (all_neg, all_pos);
        (self.unmasked, self.unmasked_diffs) = (unmasked, diffs);
        self.prev = prev_unmasked.then_some(prev);
    }
}

impl Fold for MaskedFold {
    fn feed(&mut self, chunk: &[f64]) {
        let unpack = self.unpack;
        if unpack.is_plain() {
            self.feed_masked(chunk, |x| x);
        } else {
            self.feed_masked(chunk, move |raw| unpack.value(raw));
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

    /// The reduction as the reference states it, one value at a time: what [`MaskedFold`]'s
    /// specialised loops must give bit for bit.
    fn stepwise(unpack: &Unpack, values: &[f64]) -> Masked {
        let mut m = Masked {
            len: 0,
            unmasked: 0,
            min: None,
            max: None,
            monotonic: true,
        };
        let (mut all_neg, mut all_pos, mut diffs) = (true, true, 0);
        let mut prev: Option<(f64, bool)> = None;
        for &raw in values {
            let x = unpack.value(raw);
            let is_masked = match unpack.fill {
                Fill::None => false,
                Fill::Nan => x.is_nan(),
                Fill::Value(f) => x == f,
            };
            m.len += 1;
            if !is_masked {
                m.unmasked += 1;
                let step = |a: Option<f64>, pick: fn(f64, f64) -> f64| {
                    Some(match a {
                        None => x,
                        Some(a) if a.is_nan() || x.is_nan() => f64::NAN,
                        Some(a) => pick(a, x),
                    })
                };
                m.min = step(m.min, f64::min);
                m.max = step(m.max, f64::max);
            }
            if let Some((p, p_masked)) = prev
                && !p_masked
                && !is_masked
            {
                let d = x - p;
                diffs += 1;
                all_neg &= d < 0.0;
                all_pos &= d > 0.0;
            }
            prev = Some((x, is_masked));
        }
        m.monotonic = m.len <= 1 || (diffs > 0 && (all_neg || all_pos));
        m
    }

    #[test]
    fn the_specialised_loops_give_the_stepwise_reduction_bit_for_bit() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        // Few distinct values, so that fill values, repeats, NaN and both zeros meet often.
        let value = prop::sample::select(vec![
            -9.0,
            -1.0,
            -0.0,
            0.0,
            1.0,
            2.5,
            127.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]);
        let fill = prop_oneof![
            Just(None),
            Just(Some(f64::NAN)),
            Just(Some(-9.0)),
            Just(Some(0.0))
        ];
        let unpack = (
            prop::option::of(Just(8u32)),
            prop::option::of(prop::sample::select(vec![0.5, -2.0])),
            prop::option::of(prop::sample::select(vec![10.0, -0.0])),
            fill,
        );
        let case = (unpack, prop::collection::vec(value, 0..40), 1usize..7);
        let mut runner = TestRunner::new(Config {
            cases: 2000,
            ..Config::default()
        });
        runner
            .run(&case, |((bits, scale, offset, fill), values, piece)| {
                let unpack = || Unpack {
                    unsigned_bits: bits,
                    scale,
                    offset,
                    fill: match fill {
                        None => Fill::None,
                        Some(f) if f.is_nan() => Fill::Nan,
                        Some(f) => Fill::Value(f),
                    },
                };
                let mut fold = MaskedFold::new(unpack());
                // Chunks of any size: the state carries across them.
                values.chunks(piece).for_each(|c| fold.feed(c));
                let (got, want) = (fold.masked(), stepwise(&unpack(), &values));
                let bits = |x: Option<f64>| x.map(f64::to_bits);
                prop_assert_eq!((got.len, got.unmasked), (want.len, want.unmasked));
                prop_assert_eq!(bits(got.min), bits(want.min), "min of {:?}", values);
                prop_assert_eq!(bits(got.max), bits(want.max), "max of {:?}", values);
                prop_assert_eq!(got.monotonic, want.monotonic, "monotonic {:?}", values);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn isclose_is_relative_to_the_second_value() {
        assert!(isclose(100.0005, 100.0));
        assert!(!isclose(100.01, 100.0));
        assert!(!isclose(f64::NAN, 1.0));
        assert!(isclose(f64::INFINITY, f64::INFINITY));
    }
}
