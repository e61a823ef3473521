//! What the handlers that write NetCDF products share: an ordered attribute map that behaves as
//! the reference's template dictionaries do (setting a name keeps its place, a new name goes
//! last), the IMOS global attributes every IMOS template starts from, and the time formats.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::netcdf::{AttrValue, Attribute, CfTimeUnits, NcType, convert_attr, parse_time_units};

use super::HandlerError;

/// Attributes in writing order, updated as a Python dict is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs(pub Vec<Attribute>);

impl Attrs {
    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.0.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    /// Sets `name`, in place if present, else at the end.
    pub fn set(&mut self, name: &str, value: AttrValue) {
        match self.0.iter_mut().find(|a| a.name == name) {
            Some(a) => a.value = value,
            None => self.0.push(Attribute {
                name: name.to_string(),
                value,
            }),
        }
    }

    pub fn set_text(&mut self, name: &str, value: impl Into<String>) {
        self.set(name, AttrValue::Text(value.into()));
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|a| a.name != name);
    }

    /// `dict.update`: every attribute of `other`, in its order.
    pub fn update(&mut self, other: &[Attribute]) {
        for a in other {
            self.set(&a.name, a.value.clone());
        }
    }

    /// Only the attributes a template writes to the file: names beginning with a letter
    /// (`_FillValue` and other special names are structure, not metadata).
    pub fn metadata(&self) -> Vec<Attribute> {
        self.0
            .iter()
            .filter(|a| a.name.chars().next().is_some_and(char::is_alphabetic))
            .cloned()
            .collect()
    }

    /// `valid_min`, `valid_max` and `valid_range` converted to the variable's type, as the
    /// reference's template writer does before writing them.
    pub fn coerce_valid_range(&mut self, dtype: &NcType) {
        for a in &mut self.0 {
            if matches!(a.name.as_str(), "valid_min" | "valid_max" | "valid_range")
                && let Some(values) = a.value.as_f64s()
                && let Some(v) = convert_attr(dtype, &values)
            {
                a.value = v;
            }
        }
    }
}

/// A text attribute.
pub fn text(value: impl Into<String>) -> AttrValue {
    AttrValue::Text(value.into())
}

/// The global attributes the reference's `ImosTemplate` starts from (aodntools
/// `ncwriter/imos_global.json`), in its order; empty values stay empty strings.
pub fn imos_global_attributes() -> Attrs {
    const IMOS_GLOBAL: &[(&str, &str)] = &[
        ("title", ""),
        ("abstract", ""),
        ("author", ""),
        ("author_email", ""),
        ("principal_investigator", ""),
        ("principal_investigator_email", ""),
        ("data_centre", "Australian Ocean Data Network (AODN)"),
        ("data_centre_email", "info@aodn.org.au"),
        ("Conventions", "CF-1.6,IMOS-1.4"),
        ("standard_name_vocabulary", ""),
        ("history", ""),
        ("project", "Integrated Marine Observing System (IMOS)"),
        ("naming_authority", "IMOS"),
        (
            "citation",
            "The citation in a list of references is: \"IMOS [year-of-data-download], [Title], \
             [data-access-URL], accessed [date-of-access].\".",
        ),
        (
            "acknowledgement",
            "Any users of IMOS data are required to clearly acknowledge the source of the \
             material derived from IMOS in the format: \"Data was sourced from Australia's \
             Integrated Marine Observing System (IMOS) - IMOS is enabled by the National \
             Collaborative Research Infrastructure Strategy (NCRIS).\"",
        ),
        (
            "disclaimer",
            "Data, products and services from IMOS are provided \"as is\" without any warranty \
             as to fitness for a particular purpose.",
        ),
        ("license", "http://creativecommons.org/licenses/by/4.0/"),
        ("date_created", ""),
        ("time_coverage_start", ""),
        ("time_coverage_end", ""),
        ("geospatial_vertical_min", ""),
        ("geospatial_vertical_max", ""),
        ("geospatial_lat_min", ""),
        ("geospatial_lat_max", ""),
        ("geospatial_lon_min", ""),
        ("geospatial_lon_max", ""),
    ];
    Attrs(
        IMOS_GLOBAL
            .iter()
            .map(|(n, v)| Attribute {
                name: n.to_string(),
                value: text(*v),
            })
            .collect(),
    )
}

/// The IMOS timestamp of global attributes (`%Y-%m-%dT%H:%M:%SZ`).
pub fn iso_seconds(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The compact timestamp of IMOS file names (`%Y%m%dT%H%M%SZ`).
pub fn compact_seconds(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Parses an IMOS timestamp attribute (`%Y-%m-%dT%H:%M:%SZ`, exactly).
pub fn parse_iso_seconds(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// The time units of a `TIME` variable, refusing calendars other than the Gregorian one (the
/// only one IMOS files use, and the only one this conversion is right for).
pub fn time_units(
    file_name: &str,
    var: &crate::netcdf::Variable,
) -> Result<CfTimeUnits, HandlerError> {
    if let Some(cal) = var.attr_str("calendar")
        && !matches!(
            cal.to_ascii_lowercase().as_str(),
            "gregorian" | "standard" | "proleptic_gregorian"
        )
    {
        return Err(HandlerError::rejected(format!(
            "{file_name}: {} has calendar '{cal}'; only the Gregorian calendar is supported",
            var.name
        )));
    }
    var.attr_str("units")
        .and_then(parse_time_units)
        .ok_or_else(|| {
            HandlerError::rejected(format!(
                "{file_name}: {} has no CF time units ('<unit> since <time>')",
                var.name
            ))
        })
}

/// The instant a time value stands for, to the nearest microsecond as cftime's `num2date`
/// gives it (the reference formats it to the second by truncation, so a time a microsecond
/// short of a second keeps the second before).
pub fn to_datetime(units: &CfTimeUnits, value: f64) -> Option<DateTime<Utc>> {
    let micros = (value * units.seconds_per_unit * 1.0e6).round();
    if !micros.is_finite() || micros.abs() > 1.0e17 {
        return None;
    }
    units
        .epoch
        .checked_add_signed(chrono::TimeDelta::microseconds(micros as i64))
        .map(|t| t.and_utc())
}

/// A time as a number in the given units (the inverse of `CfTimeUnits::to_datetime`).
pub fn time_value(units: &CfTimeUnits, t: DateTime<Utc>) -> f64 {
    let delta = t.naive_utc() - units.epoch;
    let micros = delta.num_microseconds().unwrap_or(i64::MAX) as f64;
    micros / 1.0e6 / units.seconds_per_unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_update_like_a_python_dict() {
        let mut a = imos_global_attributes();
        let n = a.0.len();
        a.update(&[
            Attribute {
                name: "title".into(),
                value: text("T"),
            },
            Attribute {
                name: "site_code".into(),
                value: text("NRSROT"),
            },
        ]);
        assert_eq!(a.0[0].name, "title");
        assert_eq!(a.get("title"), Some(&text("T")));
        assert_eq!(a.0[n].name, "site_code");
        a.set("_FillValue", AttrValue::Double(vec![1.0]));
        assert!(a.metadata().iter().all(|x| x.name != "_FillValue"));
        a.remove("title");
        assert!(a.get("title").is_none());
    }

    #[test]
    fn valid_range_takes_the_variable_type() {
        let mut a = Attrs::default();
        a.set("valid_min", AttrValue::Double(vec![1.0]));
        a.set("valid_max", AttrValue::Int64(vec![9]));
        a.coerce_valid_range(&NcType::Byte);
        assert_eq!(a.get("valid_min"), Some(&AttrValue::Byte(vec![1])));
        assert_eq!(a.get("valid_max"), Some(&AttrValue::Byte(vec![9])));
    }

    #[test]
    fn times_round_trip_through_cf_units() {
        let u = parse_time_units("days since 1950-01-01 00:00:00 UTC").unwrap();
        let t = parse_iso_seconds("2008-11-19T10:15:00Z").unwrap();
        let v = time_value(&u, t);
        assert!((v - 21507.427083333332).abs() < 1e-9, "{v}");
        assert_eq!(to_datetime(&u, v), Some(t));
        assert_eq!(compact_seconds(t), "20081119T101500Z");
        // 12:16:12.999998 is 12:16:12 to the second, as the reference prints it.
        let burst = to_datetime(&u, 21508.51126157405).unwrap();
        assert_eq!(compact_seconds(burst), "20081120T121612Z");
        assert!(parse_iso_seconds("2008-11-19 10:15:00").is_none());
    }
}
