//! What a rule sees of a file: its header (an owned [`NcSummary`]) and its values, read on demand
//! in bounded chunks through [`ValueSource`], so rules are pure functions that unit tests can feed
//! from memory.

use std::collections::BTreeMap;

use crate::netcdf::{AttrValue, NcFile, NcSummary, Variable};

/// Reads variable values. Implemented over an open file and over memory (tests).
pub trait ValueSource: Sync {
    /// Visits every value of a numeric variable as `f64`, at most `chunk` at a time.
    fn for_each_chunk(
        &self,
        var: &str,
        chunk: usize,
        visit: &mut dyn FnMut(&[f64]),
    ) -> Result<(), String>;

    /// The strings of a `char` (or `string`) variable, one per outer index.
    fn text(&self, var: &str) -> Result<Vec<String>, String>;
}

impl ValueSource for NcFile {
    fn for_each_chunk(
        &self,
        var: &str,
        chunk: usize,
        visit: &mut dyn FnMut(&[f64]),
    ) -> Result<(), String> {
        NcFile::for_each_chunk(self, var, chunk, visit).map_err(|e| e.to_string())
    }

    fn text(&self, var: &str) -> Result<Vec<String>, String> {
        self.read_text(var).map_err(|e| e.to_string())
    }
}

/// Values held in memory, for unit tests of rules.
#[derive(Debug, Default, Clone)]
pub struct MemValues {
    pub numeric: BTreeMap<String, Vec<f64>>,
    pub text: BTreeMap<String, Vec<String>>,
}

impl ValueSource for MemValues {
    fn for_each_chunk(
        &self,
        var: &str,
        chunk: usize,
        visit: &mut dyn FnMut(&[f64]),
    ) -> Result<(), String> {
        let values = self
            .numeric
            .get(var)
            .ok_or_else(|| format!("no values for {var}"))?;
        values.chunks(chunk.max(1)).for_each(visit);
        Ok(())
    }

    fn text(&self, var: &str) -> Result<Vec<String>, String> {
        self.text
            .get(var)
            .cloned()
            .ok_or_else(|| format!("no text for {var}"))
    }
}

/// Summary statistics of a variable's valid values (fill and missing values, NaN excluded).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ValueStats {
    pub count: usize,
    /// Values equal to a fill or missing value, or not finite.
    pub missing: usize,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Strictly increasing over the valid values, in file order.
    pub increasing: bool,
    /// Strictly decreasing over the valid values, in file order.
    pub decreasing: bool,
}

/// A file as rules see it.
pub struct Dataset<'a> {
    /// The file name (not the path), as rules that look at names need.
    pub filename: String,
    pub summary: &'a NcSummary,
    values: &'a dyn ValueSource,
}

/// Values are read this many at a time.
pub const CHUNK: usize = crate::netcdf::DEFAULT_CHUNK;

impl<'a> Dataset<'a> {
    pub fn new(
        filename: impl Into<String>,
        summary: &'a NcSummary,
        values: &'a dyn ValueSource,
    ) -> Self {
        Dataset {
            filename: filename.into(),
            summary,
            values,
        }
    }

    pub fn variable(&self, name: &str) -> Option<&'a Variable> {
        self.summary.variable(name)
    }

    pub fn global(&self, name: &str) -> Option<&'a AttrValue> {
        self.summary.global(name)
    }

    /// Visits a variable's raw values in bounded chunks.
    pub fn for_each_chunk(&self, var: &str, visit: &mut dyn FnMut(&[f64])) -> Result<(), String> {
        self.values.for_each_chunk(var, CHUNK, visit)
    }

    pub fn text(&self, var: &str) -> Result<Vec<String>, String> {
        self.values.text(var)
    }

    /// Statistics of a numeric variable's valid values, in one bounded pass.
    pub fn stats(&self, var: &Variable) -> Result<ValueStats, String> {
        let mut skip: Vec<f64> = Vec::new();
        for name in ["_FillValue", "missing_value"] {
            if let Some(v) = var.attr(name).and_then(AttrValue::as_f64s) {
                skip.extend(v);
            }
        }
        let mut s = ValueStats {
            increasing: true,
            decreasing: true,
            ..ValueStats::default()
        };
        let mut last: Option<f64> = None;
        self.for_each_chunk(&var.name, &mut |chunk| {
            for &x in chunk {
                s.count += 1;
                if !x.is_finite() || skip.iter().any(|f| *f == x || (f.is_nan() && x.is_nan())) {
                    s.missing += 1;
                    continue;
                }
                s.min = Some(s.min.map_or(x, |m| m.min(x)));
                s.max = Some(s.max.map_or(x, |m| m.max(x)));
                if let Some(prev) = last {
                    s.increasing &= x > prev;
                    s.decreasing &= x < prev;
                }
                last = Some(x);
            }
        })?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netcdf::{Attribute, NcType};

    #[test]
    fn stats_skip_fill_values_and_see_monotonic_order() {
        let var = Variable {
            name: "TIME".into(),
            dtype: NcType::Double,
            dimensions: vec!["TIME".into()],
            shape: vec![5],
            attributes: vec![Attribute {
                name: "_FillValue".into(),
                value: AttrValue::Double(vec![-999.0]),
            }],
        };
        let summary = NcSummary {
            format: "classic".into(),
            dimensions: vec![],
            variables: vec![var.clone()],
            global_attributes: vec![],
            groups: vec![],
        };
        let mut values = MemValues::default();
        values
            .numeric
            .insert("TIME".into(), vec![1.0, 2.0, -999.0, 5.0, f64::NAN]);
        let ds = Dataset::new("x.nc", &summary, &values);
        let s = ds.stats(&var).unwrap();
        assert_eq!(
            (s.count, s.missing, s.min, s.max),
            (5, 2, Some(1.0), Some(5.0))
        );
        assert!(s.increasing && !s.decreasing);
    }
}
