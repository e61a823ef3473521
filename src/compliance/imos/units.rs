//! Unit tests the IMOS rules need: whether an attribute names a unit of length.

use crate::netcdf::AttrValue;

/// `units_convertible(value, "meter")`.
pub fn convertible_to_meter(value: &AttrValue) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    // Interim: the common spellings of length units, until the shared UDUNITS parser lands.
    matches!(
        s.trim(),
        "m" | "meter" | "meters" | "metre" | "metres" | "km" | "cm" | "mm" | "ft" | "foot" | "feet"
    )
}
