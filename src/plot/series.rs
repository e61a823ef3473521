//! The points of a quick look: a coordinate and a data variable read side by side in bounded
//! chunks, invalid values dropped, long series thinned to a few thousand points that keep every
//! peak and trough; or the same points made in the one read of a file's values that its
//! [`ValueMemo`](crate::netcdf::ValueMemo) shares.

use std::any::Any;
use std::sync::Arc;

use crate::netcdf::memo::PairFold;
use crate::netcdf::{NcError, NcFile, Variable};

/// Values are read this many at a time, whatever the length of the series.
const CHUNK: usize = 1 << 16;

/// How a variable marks values that are not data, and how its stored values unpack (CF).
#[derive(Debug, Clone, PartialEq)]
pub struct Validity {
    missing: Vec<f64>,
    min: Option<f64>,
    max: Option<f64>,
    scale: f64,
    offset: f64,
}

impl Validity {
    pub fn of(var: &Variable) -> Validity {
        let nums = |name: &str| var.attr(name).and_then(|a| a.as_f64s());
        let mut missing = Vec::new();
        for name in ["_FillValue", "missing_value"] {
            missing.extend(nums(name).unwrap_or_default());
        }
        let range = nums("valid_range").filter(|r| r.len() == 2);
        Validity {
            missing,
            min: range
                .as_ref()
                .map(|r| r[0])
                .or_else(|| nums("valid_min")?.first().copied()),
            max: range
                .as_ref()
                .map(|r| r[1])
                .or_else(|| nums("valid_max")?.first().copied()),
            scale: nums("scale_factor")
                .and_then(|v| v.first().copied())
                .unwrap_or(1.0),
            offset: nums("add_offset")
                .and_then(|v| v.first().copied())
                .unwrap_or(0.0),
        }
    }

    /// The physical value of a stored value, or `None` if it is fill, missing or out of range.
    /// Fill and range apply to the stored (packed) value, as CF says.
    #[inline]
    pub fn value(&self, raw: f64) -> Option<f64> {
        // `abs() < 9.9e36` is false for NaN and both infinities: it is the finiteness test too.
        // Called for every value of a quick look's two variables, so the cheap tests go first.
        let valid = raw.abs() < 9.9e36
            && self.min.is_none_or(|m| raw >= m)
            && self.max.is_none_or(|m| raw <= m)
            && !self.missing.contains(&raw);
        valid.then_some(raw * self.scale + self.offset)
    }
}

/// Thins a stream of points to at most about `max_points`: points are grouped in buckets of equal
/// count and each bucket keeps its lowest and highest value, in order, so a spike is never lost.
#[derive(Debug)]
pub struct Decimator {
    bucket: usize,
    seen: usize,
    /// Points left before the current bucket is full (a count down, not `seen % bucket`: a
    /// division per point is a fifth of a long series' quick look).
    left: usize,
    /// The lowest and highest point of the current bucket, with their position in the stream.
    low: Option<(usize, (f64, f64))>,
    high: Option<(usize, (f64, f64))>,
    out: Vec<(f64, f64)>,
}

impl Decimator {
    /// For `total` input points (valid or not) and a budget of `max_points` (at least 2).
    pub fn new(total: usize, max_points: usize) -> Decimator {
        let buckets = (max_points / 2).max(1);
        let bucket = total.div_ceil(buckets).max(1);
        Decimator {
            bucket,
            seen: 0,
            left: bucket,
            low: None,
            high: None,
            out: Vec::new(),
        }
    }

    /// One input point; `None` for an invalid one (it still counts towards its bucket).
    pub fn push(&mut self, point: Option<(f64, f64)>) {
        if let Some(p) = point {
            let at = self.seen;
            if self.low.is_none_or(|(_, l)| p.1 < l.1) {
                self.low = Some((at, p));
            }
            if self.high.is_none_or(|(_, h)| p.1 > h.1) {
                self.high = Some((at, p));
            }
        }
        self.seen += 1;
        self.left -= 1;
        if self.left == 0 {
            self.left = self.bucket;
            self.flush();
        }
    }

    fn flush(&mut self) {
        match (self.low.take(), self.high.take()) {
            (Some((i, l)), Some((j, _))) if i == j => self.out.push(l),
            (Some((i, l)), Some((j, h))) if i < j => self.out.extend([l, h]),
            (Some((_, l)), Some((_, h))) => self.out.extend([h, l]),
            _ => {}
        }
    }

    pub fn finish(mut self) -> Vec<(f64, f64)> {
        self.flush();
        self.out
    }
}

/// The points of a quick look as a running summary: `(axis, data)` pairs where both are valid,
/// thinned to about `max_points`, fed equal runs of both variables in file order.
pub struct Points {
    ax: Validity,
    dv: Validity,
    thin: Decimator,
}

impl Points {
    pub fn new(axis: &Variable, data: &Variable, max_points: usize) -> Points {
        Points {
            ax: Validity::of(axis),
            dv: Validity::of(data),
            thin: Decimator::new(data.len().min(axis.len()), max_points),
        }
    }

    pub fn finish(self) -> Vec<(f64, f64)> {
        self.thin.finish()
    }
}

impl PairFold for Points {
    fn feed(&mut self, xs: &[f64], ys: &[f64]) {
        for (&x, &y) in xs.iter().zip(ys) {
            self.thin.push(self.ax.value(x).zip(self.dv.value(y)));
        }
    }

    fn finish(self: Box<Self>) -> Arc<dyn Any + Send + Sync> {
        Arc::new(Points::finish(*self))
    }
}

/// Reads `(axis, data)` pairs of two 1-D variables of the same dimension, `CHUNK` values at a time,
/// keeping pairs where both are valid, thinned to about `max_points`.
pub fn read_pairs(
    file: &NcFile,
    axis: &Variable,
    data: &Variable,
    max_points: usize,
) -> Result<Vec<(f64, f64)>, NcError> {
    let total = data.len().min(axis.len());
    let mut points = Points::new(axis, data, max_points);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut xc = file.row_cursor(&axis.name)?;
    let mut yc = file.row_cursor(&data.name)?;
    let mut start = 0;
    while start < total {
        let n = CHUNK.min(total - start);
        xc.read_rows_into(file, start, n, &mut xs)?;
        yc.read_rows_into(file, start, n, &mut ys)?;
        PairFold::feed(&mut points, &xs, &ys);
        start += n;
    }
    Ok(points.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netcdf::{AttrValue, Attribute, NcType};

    #[test]
    fn fill_missing_and_out_of_range_values_are_dropped_and_packed_values_unpacked() {
        let var = Variable {
            name: "TEMP".into(),
            dtype: NcType::Short,
            dimensions: vec!["TIME".into()],
            shape: vec![5],
            attributes: [
                ("_FillValue", AttrValue::Short(vec![-999])),
                ("valid_min", AttrValue::Short(vec![0])),
                ("valid_max", AttrValue::Short(vec![4000])),
                ("scale_factor", AttrValue::Float(vec![0.01])),
            ]
            .into_iter()
            .map(|(n, v)| Attribute {
                name: n.into(),
                value: v,
            })
            .collect(),
        };
        let v = Validity::of(&var);
        assert_eq!(v.value(-999.0), None);
        assert_eq!(v.value(5000.0), None);
        assert_eq!(v.value(f64::NAN), None);
        assert_eq!(v.value(f64::INFINITY), None);
        assert_eq!(v.value(f64::NEG_INFINITY), None);
        assert_eq!(v.value(1e37), None);
        assert!((v.value(1234.0).unwrap() - 12.34).abs() < 1e-6);
    }

    #[test]
    fn a_short_series_is_kept_whole() {
        let mut d = Decimator::new(4, 100);
        for p in [Some((0.0, 1.0)), None, Some((2.0, 3.0)), Some((3.0, 0.0))] {
            d.push(p);
        }
        assert_eq!(d.finish(), [(0.0, 1.0), (2.0, 3.0), (3.0, 0.0)]);
    }

    #[test]
    fn a_long_series_is_thinned_but_keeps_its_spikes_in_order() {
        let n = 1_000_000;
        let mut d = Decimator::new(n, 2000);
        for i in 0..n {
            let y = match i {
                123_456 => 100.0,
                654_321 => -100.0,
                _ => (i as f64 / 1000.0).sin(),
            };
            d.push(Some((i as f64, y)));
        }
        let out = d.finish();
        assert!(out.len() <= 2000, "{}", out.len());
        assert!(out.len() >= 1900, "{}", out.len());
        assert!(out.contains(&(123_456.0, 100.0)));
        assert!(out.contains(&(654_321.0, -100.0)));
        assert!(
            out.windows(2).all(|w| w[0].0 < w[1].0),
            "points stay in axis order"
        );
    }
}
