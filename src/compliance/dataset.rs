//! What a rule sees of a file: its header (an owned [`NcSummary`]) with its variables indexed
//! once ([`VarIndex`]), and its values, read on demand in bounded chunks through [`ValueSource`]
//! (on a real file, through its [`ValueMemo`]: one read per variable for every rule and every
//! later reader), so rules are pure functions that unit tests can feed from memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use crate::netcdf::memo::ValueMemo;
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

    /// The file's one-read-per-variable memo, when the values come through one.
    fn memo(&self) -> Option<&ValueMemo> {
        None
    }
}

impl ValueSource for ValueMemo {
    fn for_each_chunk(
        &self,
        var: &str,
        chunk: usize,
        visit: &mut dyn FnMut(&[f64]),
    ) -> Result<(), String> {
        ValueSource::for_each_chunk(self.file(), var, chunk, visit)
    }

    fn text(&self, var: &str) -> Result<Vec<String>, String> {
        ValueSource::text(self.file(), var)
    }

    fn memo(&self) -> Option<&ValueMemo> {
        Some(self)
    }
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

/// The attributes whose text names other variables: [`VarIndex::naming`] answers which
/// variables name a given one in each.
pub const NAMING_ATTRIBUTES: [&str; 5] = [
    "coordinates",
    "bounds",
    "ancillary_variables",
    "grid_mapping",
    "cell_measures",
];

/// A file's variables indexed once when the dataset is made: by name, by dimension, by text
/// attribute value, and by the variables that name them in [`NAMING_ATTRIBUTES`]. Rules look
/// variables up here instead of scanning the file for each variable, which made a check grow
/// with the square of the number of variables. Lists keep the file's order.
#[derive(Debug, Default)]
pub struct VarIndex<'a> {
    by_name: HashMap<&'a str, &'a Variable>,
    position: HashMap<&'a str, usize>,
    by_dimension: HashMap<&'a str, Vec<&'a Variable>>,
    /// attribute → text value → variables.
    by_text: HashMap<&'a str, HashMap<&'a str, Vec<&'a Variable>>>,
    /// attribute → named variable → variables naming it.
    naming: HashMap<&'a str, HashMap<&'a str, Vec<&'a Variable>>>,
}

impl<'a> VarIndex<'a> {
    /// Indexes the variables of a header (linear in its variables and their attributes).
    pub fn new(summary: &'a NcSummary) -> Self {
        let mut ix = VarIndex::default();
        for (i, v) in summary.variables.iter().enumerate() {
            // netCDF names are unique in a group; the first wins if a summary says otherwise,
            // as a scan from the start would.
            ix.by_name.entry(&v.name).or_insert(v);
            ix.position.entry(&v.name).or_insert(i);
            let mut dims: Vec<&str> = v.dimensions.iter().map(String::as_str).collect();
            dims.dedup();
            for d in dims {
                let list = ix.by_dimension.entry(d).or_default();
                if !list.last().is_some_and(|l| std::ptr::eq(*l, v)) {
                    list.push(v);
                }
            }
            for a in &v.attributes {
                let Some(text) = a.value.as_str() else {
                    continue;
                };
                ix.by_text
                    .entry(&a.name)
                    .or_default()
                    .entry(text)
                    .or_default()
                    .push(v);
                if NAMING_ATTRIBUTES.contains(&a.name.as_str()) {
                    let mut named: Vec<&str> = text.split(' ').filter(|n| !n.is_empty()).collect();
                    named.sort_unstable();
                    named.dedup();
                    for n in named {
                        ix.naming
                            .entry(&a.name)
                            .or_default()
                            .entry(n)
                            .or_default()
                            .push(v);
                    }
                }
            }
        }
        ix
    }

    /// The variable of this name.
    pub fn variable(&self, name: &str) -> Option<&'a Variable> {
        self.by_name.get(name).copied()
    }

    /// The variable's place in the file (0 for the first).
    pub fn position(&self, name: &str) -> Option<usize> {
        self.position.get(name).copied()
    }

    /// The variables that have this dimension, in file order.
    pub fn with_dimension(&self, dimension: &str) -> &[&'a Variable] {
        self.by_dimension.get(dimension).map_or(&[], Vec::as_slice)
    }

    /// The variables whose text attribute `attribute` is exactly `value`, in file order
    /// (netCDF4-python's `get_variables_by_attributes(attribute=value)`).
    pub fn with_text(&self, attribute: &str, value: &str) -> &[&'a Variable] {
        self.by_text
            .get(attribute)
            .and_then(|m| m.get(value))
            .map_or(&[], Vec::as_slice)
    }

    /// The variables whose `attribute` (one of [`NAMING_ATTRIBUTES`]) lists `name` among its
    /// words split on single spaces (the reference's `str.split(' ')`), in file order, each once.
    pub fn naming(&self, attribute: &str, name: &str) -> &[&'a Variable] {
        debug_assert!(
            NAMING_ATTRIBUTES.contains(&attribute),
            "{attribute} is not indexed"
        );
        self.naming
            .get(attribute)
            .and_then(|m| m.get(name))
            .map_or(&[], Vec::as_slice)
    }
}

/// A file as rules see it.
pub struct Dataset<'a> {
    /// The file name (not the path), as rules that look at names need.
    pub filename: String,
    pub summary: &'a NcSummary,
    /// The variables, indexed once for every rule of every suite.
    pub index: VarIndex<'a>,
    values: &'a dyn ValueSource,
    /// The CF classes of the variables, made by the first CF rule for every other.
    pub(crate) cf_classes: OnceLock<crate::compliance::classes::Classes<'a>>,
    /// The IMOS classes of the variables (or why they cannot be made), made by the first IMOS
    /// or GHRSST rule for every other.
    pub(crate) imos_classes: OnceLock<Result<crate::compliance::classes::ImosClasses<'a>, String>>,
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
            index: VarIndex::new(summary),
            values,
            cf_classes: OnceLock::new(),
            imos_classes: OnceLock::new(),
        }
    }

    /// The variable of this name (through the index).
    pub fn variable(&self, name: &str) -> Option<&'a Variable> {
        self.index.variable(name)
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

    /// The file's one-read-per-variable memo, if its values come through one.
    pub fn memo(&self) -> Option<&'a ValueMemo> {
        self.values.memo()
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
