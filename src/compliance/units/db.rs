//! The embedded UDUNITS-2 database: unit names (case-insensitive, with plurals), symbols and
//! prefixes, each resolved to a [`Unit`]. A job reads them already resolved (`resolved.tsv`,
//! embedded); resolving them from the table (data/udunits2.tsv: 267 definitions parsed, plurals
//! made, names lower-cased) is what the test that keeps the two equal does.

use std::borrow::Cow;
#[cfg(test)]
use std::collections::HashMap;
use std::sync::OnceLock;

#[cfg(test)]
use rustc_hash::FxBuildHasher;

use super::{Kind, Unit};
use crate::compliance::rows;

/// The table as UDUNITS ships it (names, symbols, definitions).
#[cfg(test)]
const TABLE: &str = include_str!("../../../data/udunits2.tsv");

/// Every unit of [`TABLE`] resolved, as [`build`] resolves them: a job reads these rows rather
/// than parsing the definitions, which had cost half a millisecond of every job.
const RESOLVED: &str = include_str!("resolved.tsv");

/// Units by name and symbol, and the prefixes that may precede them.
pub struct Database {
    /// Lower-cased singular and plural names.
    names: Units,
    symbols: Units,
    /// Longest first, so `da` wins over `d`.
    name_prefixes: Vec<(Cow<'static, str>, f64)>,
    symbol_prefixes: Vec<(Cow<'static, str>, f64)>,
}

/// The units of one kind (names or symbols) by key. Read from [`RESOLVED`]: its rows of that
/// kind, in key order, each found by binary search and read when found — a job looks up a few
/// dozen of the 856, and reading every row into a map had cost 2 M instructions of each job's
/// check. Resolved from the table (a test): a map. FxHash, not SipHash: the keys are the
/// table's own (nothing a file names is inserted, so there is no flooding to resist).
enum Units {
    /// The rows sorted by key (`read` checks the order).
    Rows(Vec<UnitRow>),
    #[cfg(test)]
    Map(HashMap<Cow<'static, str>, Unit, FxBuildHasher>),
}

/// A unit's row of [`RESOLVED`], its key split off when read.
struct UnitRow {
    line: usize,
    key: &'static str,
    row: &'static str,
}

impl UnitRow {
    /// The row's unit, read from its columns.
    fn unit(&self) -> Unit {
        let (cols, _) = columns(self.row);
        // Every row is read by the test that keeps the file equal to the resolution.
        read_unit(&cols[2..7]).unwrap_or_else(|| {
            panic!(
                "src/compliance/units/resolved.tsv, line {}: a unit: {:?}: write it again (see its header)",
                self.line, self.row
            )
        })
    }
}

impl Units {
    fn get(&self, key: &str) -> Option<Unit> {
        match self {
            Units::Rows(rows) => {
                let at = rows.binary_search_by(|r| r.key.cmp(key)).ok()?;
                Some(rows[at].unit())
            }
            #[cfg(test)]
            Units::Map(map) => map.get(key).copied(),
        }
    }

    /// Every unit by key, in key order.
    #[cfg(test)]
    fn entries(&self) -> Vec<(&str, Unit)> {
        let mut all: Vec<(&str, Unit)> = match self {
            Units::Rows(rows) => rows.iter().map(|r| (r.key, r.unit())).collect(),
            Units::Map(map) => map.iter().map(|(k, u)| (k.as_ref(), *u)).collect(),
        };
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }

    #[cfg(test)]
    fn map_mut(&mut self) -> &mut HashMap<Cow<'static, str>, Unit, FxBuildHasher> {
        match self {
            Units::Map(map) => map,
            Units::Rows(_) => unreachable!("the resolution builds maps"),
        }
    }
}

impl super::Lookup for Database {
    fn lookup(&self, id: &str) -> Option<Unit> {
        Database::lookup(self, id)
    }
}

impl Database {
    /// A unit by identifier: an exact symbol, a name in any case, or either with a prefix
    /// (`km`, `kilometres`, `hPa`, `millibar`).
    pub fn lookup(&self, id: &str) -> Option<Unit> {
        if let Some(u) = self.symbols.get(id) {
            return Some(u);
        }
        let lower = id.to_lowercase();
        if let Some(u) = self.names.get(lower.as_str()) {
            return Some(u);
        }
        for (p, v) in &self.symbol_prefixes {
            if let Some(rest) = id.strip_prefix(p.as_ref())
                && let Some(u) = self
                    .symbols
                    .get(rest)
                    .or_else(|| self.names.get(rest.to_lowercase().as_str()))
            {
                return Some(Unit::number(*v).mul(u));
            }
        }
        for (p, v) in &self.name_prefixes {
            if let Some(rest) = lower.strip_prefix(p.as_ref())
                && let Some(u) = self.names.get(rest)
            {
                return Some(Unit::number(*v).mul(u));
            }
        }
        None
    }
}

/// The plural UDUNITS forms from a singular name.
#[cfg(test)]
fn plural(s: &str) -> String {
    let vowel = |c: char| "aeiou".contains(c);
    if s.ends_with('s')
        || s.ends_with('x')
        || s.ends_with('z')
        || s.ends_with("ch")
        || s.ends_with("sh")
    {
        format!("{s}es")
    } else if s.ends_with('y') && s.chars().rev().nth(1).is_some_and(|c| !vowel(c)) {
        format!("{}ies", &s[..s.len() - 1])
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
struct Row<'a> {
    names: Vec<(&'a str, Option<String>)>,
    symbols: Vec<&'a str>,
    kind: &'a str,
    def: &'a str,
}

#[cfg(test)]
fn rows() -> (Vec<Row<'static>>, Vec<(String, String, f64)>) {
    let mut rows = Vec::new();
    let mut prefixes = Vec::new();
    for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 5 {
            continue;
        }
        let split = |s: &'static str| -> Vec<&'static str> {
            s.split(',').filter(|x| !x.is_empty()).collect()
        };
        if cols[0] == "prefix" {
            let value: f64 = cols[4].parse().unwrap_or(1.0);
            for n in split(cols[1]) {
                prefixes.push((n.to_lowercase(), String::new(), value));
            }
            for s in split(cols[3]) {
                prefixes.push((String::new(), s.to_string(), value));
            }
            continue;
        }
        let singular: Vec<&str> = cols[1].split(',').collect();
        let plurals: Vec<&str> = cols[2].split(',').collect();
        let names = singular
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(i, s)| {
                let p = match plurals.get(i).copied().unwrap_or("") {
                    "-" => None,
                    "" => Some(plural(s)),
                    p => Some(p.to_string()),
                };
                (*s, p)
            })
            .collect();
        rows.push(Row {
            names,
            symbols: split(cols[3]),
            kind: cols[0],
            def: cols[4],
        });
    }
    (rows, prefixes)
}

/// Resolves every unit of [`TABLE`].
#[cfg(test)]
fn build() -> Database {
    let (rows, prefixes) = rows();
    // Made their size at once rather than grown: every name, plural and symbol of the rows.
    let names = rows
        .iter()
        .flat_map(|r| &r.names)
        .map(|(_, plural)| 1 + usize::from(plural.is_some()))
        .sum();
    let symbols = rows.iter().map(|r| r.symbols.len()).sum();
    let mut db = Database {
        names: Units::Map(HashMap::with_capacity_and_hasher(names, FxBuildHasher)),
        symbols: Units::Map(HashMap::with_capacity_and_hasher(symbols, FxBuildHasher)),
        name_prefixes: prefixes
            .iter()
            .filter(|p| !p.0.is_empty())
            .map(|p| (Cow::Owned(p.0.clone()), p.2))
            .collect(),
        symbol_prefixes: prefixes
            .iter()
            .filter(|p| !p.1.is_empty())
            .map(|p| (Cow::Owned(p.1.clone()), p.2))
            .collect(),
    };
    // Longest prefixes first, so `da` wins over `d`.
    db.name_prefixes
        .sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    db.symbol_prefixes
        .sort_by_key(|p| std::cmp::Reverse(p.0.chars().count()));
    let mut base = 0;
    let mut pending: Vec<&Row> = Vec::new();
    for row in &rows {
        let unit = match row.kind {
            "base" => {
                let mut dims = [0; 7];
                dims[base] = 1;
                base += 1;
                Some(Unit {
                    kind: Kind::Physical,
                    scale: 1.0,
                    offset: 0.0,
                    dims,
                    since: false,
                })
            }
            "dimensionless" => Some(Unit::number(1.0)),
            _ => None,
        };
        match unit {
            Some(u) => insert(&mut db, row, u),
            None => pending.push(row),
        }
    }
    // Definitions refer to other units in any order: resolve until nothing more resolves.
    // Those that never resolve (logarithmic units) are left out, as unknown identifiers.
    loop {
        let before = pending.len();
        pending.retain(|row| match super::parse::parse(row.def, &db) {
            Ok(u) => {
                insert(&mut db, row, u);
                false
            }
            Err(_) => true,
        });
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    db
}

#[cfg(test)]
fn insert(db: &mut Database, row: &Row<'static>, unit: Unit) {
    for (name, plural) in &row.names {
        let names = db.names.map_mut();
        names.entry(name.to_lowercase().into()).or_insert(unit);
        if let Some(p) = plural {
            names.entry(p.to_lowercase().into()).or_insert(unit);
        }
    }
    for s in &row.symbols {
        db.symbols
            .map_mut()
            .entry(Cow::Borrowed(*s))
            .or_insert(unit);
    }
}

/// The rows of [`RESOLVED`] (tab-separated; `#` starts a comment):
/// `sizes <names> <symbols>` once, first; then `name|symbol <key> <unit>` in key order, and
/// `name prefix|symbol prefix <key> <value>`, where a unit is its kind, scale, offset (each
/// `f64` as the hexadecimal of its bits, so it reads back exactly), the seven dimension
/// exponents (comma-separated) and `since` (0 or 1). Prefixes are listed in lookup order.
/// The rows' shape and order are checked here; a unit is read when it is looked up.
fn read(text: &'static str) -> Result<Database, String> {
    let (mut names, mut symbols) = (Vec::new(), Vec::new());
    let (mut name_prefixes, mut symbol_prefixes) = (Vec::new(), Vec::new());
    for (n, (_, line)) in rows::split_at(text, b'\n').enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
        // A unit's row: only its key is split off now (its columns are counted).
        let (kind, rest) = rows::split_once(line, b'\t').unwrap_or((line, ""));
        let units = match kind {
            "name" => Some(&mut names),
            "symbol" => Some(&mut symbols),
            _ => None,
        };
        if let Some(list) = units {
            let key = rows::before(rest, b'\t');
            if memchr::memchr_iter(b'\t', line.as_bytes()).count() != MAX_COLUMNS - 1 {
                return Err(bad("not a row"));
            }
            if list.last().is_some_and(|last: &UnitRow| last.key >= key) {
                return Err(bad("not in key order"));
            }
            list.push(UnitRow {
                line: n + 1,
                key,
                row: line,
            });
            continue;
        }
        let (cols, count) = columns(line);
        match (cols[0], count) {
            ("sizes", 3) => {
                let size = |c: &str| c.parse::<usize>().map_err(|_| bad("a size"));
                names.reserve(size(cols[1])?);
                symbols.reserve(size(cols[2])?);
            }
            ("name prefix" | "symbol prefix", 3) => {
                let value = bits(cols[2]).ok_or_else(|| bad("a prefix value"))?;
                let list = if cols[0] == "name prefix" {
                    &mut name_prefixes
                } else {
                    &mut symbol_prefixes
                };
                list.push((Cow::Borrowed(cols[1]), value));
            }
            _ => return Err(bad("not a row")),
        }
    }
    Ok(Database {
        names: Units::Rows(names),
        symbols: Units::Rows(symbols),
        name_prefixes,
        symbol_prefixes,
    })
}

/// The most columns a row has (a unit's row).
const MAX_COLUMNS: usize = 7;

/// The tab-separated columns of a row (the first [`MAX_COLUMNS`]) and how many it has.
fn columns(line: &'static str) -> ([&'static str; MAX_COLUMNS], usize) {
    let mut cols = [""; MAX_COLUMNS];
    let mut count = 0;
    for (_, col) in rows::split_at(line, b'\t') {
        if let Some(slot) = cols.get_mut(count) {
            *slot = col;
        }
        count += 1;
    }
    (cols, count)
}

fn bits(hex: &str) -> Option<f64> {
    u64::from_str_radix(hex, 16).ok().map(f64::from_bits)
}

/// A unit's six columns (see [`read`]).
fn read_unit(cols: &[&str]) -> Option<Unit> {
    let kind = match cols[0] {
        "Unknown" => Kind::Unknown,
        "NoUnit" => Kind::NoUnit,
        "Physical" => Kind::Physical,
        "Timestamp" => Kind::Timestamp,
        "Logarithmic" => Kind::Logarithmic,
        _ => return None,
    };
    let mut dims = [0; 7];
    let mut exponents = cols[3].as_bytes().split(|&b| b == b',');
    for d in &mut dims {
        *d = std::str::from_utf8(exponents.next()?).ok()?.parse().ok()?;
    }
    Some(Unit {
        kind,
        scale: bits(cols[1])?,
        offset: bits(cols[2])?,
        dims,
        since: match cols[4] {
            "0" => false,
            "1" => true,
            _ => return None,
        },
    })
    .filter(|_| exponents.next().is_none())
}

/// [`read`]'s text for `db`: keys sorted, prefixes in their order.
#[cfg(test)]
fn write(db: &Database) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "# The UDUNITS-2 units of data/udunits2.tsv resolved, as src/compliance/units/db.rs resolves\n\
         # them: what a job reads. Written by the test that checks it; regenerate with\n\
         # OCEAN_INGEST_WRITE_UNITS=1 cargo test --lib the_resolved_units (then rebuild).\n",
    );
    let (names, symbols) = (db.names.entries(), db.symbols.entries());
    let _ = writeln!(out, "sizes\t{}\t{}", names.len(), symbols.len());
    for (kind, units) in [("name", names), ("symbol", symbols)] {
        for (k, u) in units {
            let dims: Vec<String> = u.dims.iter().map(i32::to_string).collect();
            let _ = writeln!(
                out,
                "{kind}\t{k}\t{:?}\t{:016x}\t{:016x}\t{}\t{}",
                u.kind,
                u.scale.to_bits(),
                u.offset.to_bits(),
                dims.join(","),
                u8::from(u.since)
            );
        }
    }
    for (kind, list) in [
        ("name prefix", &db.name_prefixes),
        ("symbol prefix", &db.symbol_prefixes),
    ] {
        for (k, v) in list {
            let _ = writeln!(out, "{kind}\t{k}\t{:016x}", v.to_bits());
        }
    }
    out
}

/// The database, built on first use.
pub fn database() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    DB.get_or_init(|| {
        // Embedded, and checked against the table by a test: a fault here is a build's.
        read(RESOLVED).unwrap_or_else(|e| {
            panic!("src/compliance/units/resolved.tsv, {e}: write it again (see its header)")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the resolved units are kept, and how to write them again.
    const RESOLVED_FILE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/compliance/units/resolved.tsv"
    );
    const REWRITE: &str = "OCEAN_INGEST_WRITE_UNITS";

    #[test]
    fn the_resolved_units_are_what_the_table_resolves_to() {
        let built = build();
        let text = write(&built);
        if std::env::var_os(REWRITE).is_some() {
            std::fs::write(RESOLVED_FILE, &text).unwrap();
        }
        assert_eq!(
            RESOLVED, text,
            "{RESOLVED_FILE} is not what data/udunits2.tsv resolves to: write it again with \
             {REWRITE}=1 cargo test --lib the_resolved_units (then rebuild)"
        );
        // And it reads back to the same database, bit for bit.
        let read = read(RESOLVED).unwrap();
        assert_eq!(write(&read), text);
        assert!(built.names.entries().len() > 500 && built.symbols.entries().len() > 100);
        assert_eq!(read.lookup("km"), built.lookup("km"));
        assert_eq!(read.lookup("Kilometres"), built.lookup("Kilometres"));
        assert!(read.lookup("km").is_some() && read.lookup("furlongz").is_none());
    }

    #[test]
    fn a_malformed_row_is_named_with_its_line() {
        for (text, want) in [
            (
                "name\tm\tPhysical\t1\t0\t1,0,0,0,0,0,0\t0\nname\tkm\tPhysical\t1\t0\t1,0,0,0,0,0,0\t0\n",
                "line 2: not in key order",
            ),
            ("sizes\tx\t1\n", "line 1: a size"),
            (
                "# a comment\nname\tm\tPhysical\t1\t0\t1,0,0,0,0,0,0\t0\tmore\n",
                "line 2: not a row",
            ),
            ("nonsense\n", "line 1: not a row"),
            ("name prefix\tkilo\tzz\n", "line 1: a prefix value"),
        ] {
            let e = read(text).err().expect("refused");
            assert!(e.starts_with(want), "{text:?}: {e}");
        }
        // A unit is read when looked up: a malformed one stops the lookup, naming its line.
        let db = read("sizes\t1\t0\nname\tm\tPhysical\t1\t0\t1,0,0,0,0,0\t0\n").unwrap();
        let e = std::panic::catch_unwind(|| db.lookup("m")).expect_err("a malformed unit read");
        let e = e.downcast_ref::<String>().expect("a message");
        assert!(e.contains("line 2: a unit"), "{e}");
    }
}
