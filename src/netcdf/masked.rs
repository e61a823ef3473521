//! Reading a numeric variable with missing values marked as `NaN`, by the rules netCDF4-python
//! applies when it masks a variable on reading (the reference's handlers see their data this way):
//! a value is missing when it equals `_FillValue` (or, without one, libnetcdf's default fill for
//! the type, except for bytes), equals `missing_value`, or lies outside `valid_min`, `valid_max`
//! or `valid_range`.

use super::summary::{AttrValue, NcType, Variable};
use super::write::default_fill;
use super::{NcError, NcFile};

/// Decides which raw values of one variable are missing.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingRule {
    fill: Option<f64>,
    missing: Vec<f64>,
    min: Option<f64>,
    max: Option<f64>,
}

fn first(v: Option<&AttrValue>) -> Option<f64> {
    v.and_then(AttrValue::as_f64s)
        .and_then(|v| v.first().copied())
}

impl MissingRule {
    /// The rule for a variable, from its type and attributes.
    pub fn of(var: &Variable) -> MissingRule {
        let fill = match var.attr("_FillValue") {
            Some(v) => first(Some(v)),
            None if !matches!(var.dtype, NcType::Byte | NcType::UByte) => default_fill(&var.dtype),
            None => None,
        };
        let missing = var
            .attr("missing_value")
            .and_then(AttrValue::as_f64s)
            .unwrap_or_default();
        let range = var.attr("valid_range").and_then(AttrValue::as_f64s);
        let (mut min, mut max) = match range.as_deref() {
            Some([lo, hi]) => (Some(*lo), Some(*hi)),
            _ => (None, None),
        };
        if let Some(v) = first(var.attr("valid_min")) {
            min = Some(v);
        }
        if let Some(v) = first(var.attr("valid_max")) {
            max = Some(v);
        }
        MissingRule {
            fill,
            missing,
            min,
            max,
        }
    }

    /// Whether a raw value is missing.
    pub fn is_missing(&self, x: f64) -> bool {
        self.fill == Some(x)
            || self.missing.contains(&x)
            || self.min.is_some_and(|m| x < m)
            || self.max.is_some_and(|m| x > m)
    }

    /// The rule xarray's CF decoding applies: only `_FillValue` and `missing_value` mark a
    /// missing value (no default fill, no valid range).
    pub fn fill_only(var: &Variable) -> MissingRule {
        MissingRule {
            fill: first(var.attr("_FillValue")),
            missing: var
                .attr("missing_value")
                .and_then(AttrValue::as_f64s)
                .unwrap_or_default(),
            min: None,
            max: None,
        }
    }

    /// The value, or `NaN` when it is missing.
    pub fn apply(&self, x: f64) -> f64 {
        if self.is_missing(x) { f64::NAN } else { x }
    }
}

impl NcFile {
    /// Reads a whole numeric variable (row-major) with missing values as `NaN`, as
    /// netCDF4-python's masked reading sees it. The caller bounds the size: this is for
    /// variables of one record dimension, read one at a time.
    pub fn read_masked(&self, var: &Variable) -> Result<Vec<f64>, NcError> {
        self.read_with(var, &MissingRule::of(var))
    }

    /// Reads a whole numeric variable with missing values as `NaN` by xarray's rule
    /// ([`MissingRule::fill_only`]).
    pub fn read_with_fill_only(&self, var: &Variable) -> Result<Vec<f64>, NcError> {
        self.read_with(var, &MissingRule::fill_only(var))
    }

    /// Reads a whole numeric variable, marking missing values with `rule`.
    pub fn read_with(&self, var: &Variable, rule: &MissingRule) -> Result<Vec<f64>, NcError> {
        let raw = if var.shape.is_empty() {
            self.read_f64(&var.name, &[], &[])?
        } else if var.shape.contains(&0) {
            Vec::new()
        } else {
            self.read_f64(&var.name, &vec![0; var.shape.len()], &var.shape)?
        };
        Ok(raw.into_iter().map(|x| rule.apply(x)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netcdf::Attribute;

    fn var(dtype: NcType, attrs: Vec<(&str, AttrValue)>) -> Variable {
        Variable {
            name: "X".into(),
            dtype,
            dimensions: vec![],
            shape: vec![],
            attributes: attrs
                .into_iter()
                .map(|(n, v)| Attribute {
                    name: n.into(),
                    value: v,
                })
                .collect(),
        }
    }

    #[test]
    fn fill_missing_value_and_valid_range_mask_values() {
        let r = MissingRule::of(&var(
            NcType::Float,
            vec![
                ("_FillValue", AttrValue::Float(vec![999_999.0])),
                ("valid_min", AttrValue::Float(vec![-2.5])),
                ("valid_max", AttrValue::Float(vec![40.0])),
            ],
        ));
        assert!(r.is_missing(999_999.0));
        assert!(r.is_missing(-3.0));
        assert!(r.is_missing(41.0));
        assert!(!r.is_missing(40.0));
        // A value beyond the fill value is not missing by itself (netCDF4-python 1.6).
        let r = MissingRule::of(&var(
            NcType::Float,
            vec![("_FillValue", AttrValue::Float(vec![999_999.0]))],
        ));
        assert!(!r.is_missing(1.0e7));
        let r = MissingRule::of(&var(
            NcType::Short,
            vec![
                ("missing_value", AttrValue::Short(vec![-1])),
                ("valid_range", AttrValue::Short(vec![0, 10])),
            ],
        ));
        assert!(r.is_missing(-1.0) && r.is_missing(11.0) && r.is_missing(-32767.0));
        assert!(r.apply(5.0) == 5.0 && r.apply(-1.0).is_nan());
    }

    #[test]
    fn bytes_without_fill_value_have_no_default_fill() {
        let r = MissingRule::of(&var(NcType::Byte, vec![]));
        assert!(!r.is_missing(-127.0));
        let r = MissingRule::of(&var(NcType::Double, vec![]));
        assert!(r.is_missing(9.969_209_968_386_869e36));
    }
}
