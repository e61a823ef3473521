//! The unit test the IMOS rules need: whether an attribute names a unit of length, through the
//! shared UDUNITS parser.

use super::pyattr;
use crate::netcdf::AttrValue;

/// `units_convertible(value, "meter")`. cf_units reads a value that is not text through `str()`,
/// which never gives a length, so only text can pass.
pub fn convertible_to_meter(value: &AttrValue) -> bool {
    pyattr::as_str(value).is_some_and(|s| crate::compliance::units::convertible(s, "meter"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_convert_to_meters_and_nothing_else_does() {
        for ok in ["m", "metres", "meters", "km", "0.3048 m", "1/m"] {
            assert!(convertible_to_meter(&AttrValue::Text(ok.into())), "{ok}");
        }
        for bad in ["", "dbar", "unknown", "s", "furlongs per fortnight"] {
            assert!(!convertible_to_meter(&AttrValue::Text(bad.into())), "{bad}");
        }
        assert!(!convertible_to_meter(&AttrValue::Double(vec![1.0])));
    }
}
