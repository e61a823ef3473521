//! UDUNITS-2 unit strings, as the reference's cf_units reads them: parsing (products, powers,
//! prefixes, offsets such as `degree_Celsius`, `<unit> since <timestamp>` time references),
//! dimensionless units and convertibility. The unit database is embedded (data/udunits2.tsv).

pub(super) mod db;
mod parse;

use std::fmt;

/// Where the parser finds the unit an identifier names (the embedded database, or while that
/// database is being built, the units resolved so far): the parser depends on this, not on the
/// database, so the database can use the parser to resolve its own definitions.
pub(crate) trait Lookup {
    fn lookup(&self, id: &str) -> Option<Unit>;
}

/// The seven SI base dimensions, in UDUNITS order: m, kg, s, A, K, mol, cd.
pub const BASE_SYMBOLS: [&str; 7] = ["m", "kg", "s", "A", "K", "mol", "cd"];

/// What kind of unit a string names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `""`, `unknown` or `?`: accepted, but convertible to nothing (cf_units' unknown unit).
    Unknown,
    /// `no_unit`, `-` …: accepted, but convertible to nothing.
    NoUnit,
    /// A unit of the UDUNITS system.
    Physical,
    /// A unit shifted by a timestamp (`days since 1950-01-01`, `s after 2000-01-01`).
    Timestamp,
    /// A logarithmic unit (`dBZ` = `lg(re (1e-6 m)^3)`); `dims` are those of the reference.
    Logarithmic,
}

/// A parsed unit: `value_in_base = value * scale + offset`, with base-dimension exponents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    pub kind: Kind,
    pub scale: f64,
    pub offset: f64,
    pub dims: [i32; 7],
    /// The string contains ` since ` (cf_units gives such units a calendar).
    pub since: bool,
}

/// A unit string that UDUNITS does not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitError {
    pub unit: String,
    pub reason: String,
}

impl fmt::Display for UnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unit string {:?} is not recognised by UDUNITS ({})",
            self.unit, self.reason
        )
    }
}

impl std::error::Error for UnitError {}

impl Unit {
    /// A dimensionless number.
    pub fn number(x: f64) -> Unit {
        Unit {
            kind: Kind::Physical,
            scale: x,
            offset: 0.0,
            dims: [0; 7],
            since: false,
        }
    }

    /// Parses a unit string as cf_units does: surrounding blanks and a trailing ` UTC` are
    /// ignored, `since epoch` means 1970-01-01, and the unknown/no-unit spellings are accepted.
    pub fn parse(text: &str) -> Result<Unit, UnitError> {
        let mut s = text.trim().to_string();
        if s.to_lowercase().ends_with(" utc") {
            let cut = s.to_lowercase().rfind(" utc").unwrap_or(s.len());
            s.truncate(cut);
        }
        if s.ends_with(" since epoch") {
            s = s.replace("epoch", "1970-01-01 00:00:00");
        }
        let s = s.replace('#', "1");
        let lower = s.to_lowercase();
        if ["unknown", "?", "???", ""].contains(&lower.as_str()) {
            return Ok(Unit {
                kind: Kind::Unknown,
                ..Unit::number(1.0)
            });
        }
        if ["no_unit", "-", "no unit", "no-unit", "nounit"].contains(&lower.as_str()) {
            return Ok(Unit {
                kind: Kind::NoUnit,
                ..Unit::number(1.0)
            });
        }
        let mut unit = parse::parse(&s, db::database()).map_err(|reason| UnitError {
            unit: text.to_string(),
            reason,
        })?;
        unit.since = lower.contains(" since ");
        Ok(unit)
    }

    /// No dimensions (e.g. `1`, `percent`, `degree`, `radian`): cf_units' `is_dimensionless`.
    pub fn is_dimensionless(&self) -> bool {
        self.kind == Kind::Physical && self.dims == [0; 7]
    }

    /// `<unit> since <timestamp>`: cf_units' `is_time_reference`.
    pub fn is_time_reference(&self) -> bool {
        self.since
    }

    /// Whether values in `self` can be converted to `other` (cf_units' `is_convertible`). As in
    /// UDUNITS, reciprocal units count as convertible (`s` and `Hz`).
    pub fn is_convertible(&self, other: &Unit) -> bool {
        let physical = |u: &Unit| matches!(u.kind, Kind::Physical | Kind::Timestamp);
        if self.kind == Kind::Logarithmic || other.kind == Kind::Logarithmic {
            return self.kind == other.kind && self.dims == other.dims;
        }
        physical(self)
            && physical(other)
            && self.since == other.since
            && (self.kind == Kind::Timestamp) == (other.kind == Kind::Timestamp)
            && (self.dims == other.dims || self.dims == other.dims.map(|d| -d))
    }

    /// Converts a value from `self` to `other`, or `None` when they are not convertible.
    pub fn convert(&self, value: f64, other: &Unit) -> Option<f64> {
        if !self.is_convertible(other) || self.kind == Kind::Timestamp || self.dims != other.dims {
            return None;
        }
        Some((value * self.scale + self.offset - other.offset) / other.scale)
    }

    /// Same unit: same dimensions, scale and offset (cf_units' `==`).
    pub fn same_as(&self, other: &Unit) -> bool {
        self.is_convertible(other)
            && approx(self.scale, other.scale)
            && approx(self.offset, other.offset)
    }

    pub(crate) fn mul(self, o: Unit) -> Unit {
        // A number times a logarithmic unit (a prefix: `dBZ`) stays logarithmic.
        for (log, num) in [(self, o), (o, self)] {
            if log.kind == Kind::Logarithmic && num.kind == Kind::Physical && num.dims == [0; 7] {
                return Unit {
                    scale: log.scale * num.scale,
                    ..log
                };
            }
        }
        let mut dims = self.dims;
        for (d, e) in dims.iter_mut().zip(o.dims) {
            *d += e;
        }
        Unit {
            kind: Kind::Physical,
            scale: self.scale * o.scale,
            offset: 0.0,
            dims,
            since: false,
        }
    }

    pub(crate) fn pow(self, n: i32) -> Unit {
        Unit {
            kind: Kind::Physical,
            scale: self.scale.powi(n),
            offset: 0.0,
            dims: self.dims.map(|d| d * n),
            since: false,
        }
    }
}

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
}

/// Whether UDUNITS accepts the string (the reference's `units_known`).
pub fn known(units: &str) -> bool {
    Unit::parse(units).is_ok()
}

/// Whether both strings parse and are convertible (the reference's `units_convertible`).
pub fn convertible(a: &str, b: &str) -> bool {
    match (Unit::parse(a), Unit::parse(b)) {
        (Ok(a), Ok(b)) => a.is_convertible(&b),
        _ => false,
    }
}

/// Whether the string is a time reference (`days since 1950-01-01`): the reference's
/// `units_temporal`.
pub fn is_time_reference(units: &str) -> bool {
    Unit::parse(units).is_ok_and(|u| u.is_time_reference())
}

#[cfg(test)]
mod tests;
