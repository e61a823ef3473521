//! The embedded UDUNITS-2 database: unit names (case-insensitive, with plurals), symbols and
//! prefixes, each resolved to a [`Unit`] once per process.

use std::collections::HashMap;
use std::sync::OnceLock;

use rustc_hash::FxBuildHasher;

use super::{Kind, Unit};

const TABLE: &str = include_str!("../../../data/udunits2.tsv");

/// Units by name and symbol, and the prefixes that may precede them. The maps hash with FxHash,
/// not SipHash: their keys are the embedded table's (nothing a file names is inserted, so there
/// is no flooding to resist), and building them is a few thousand inserts in every job.
pub struct Database {
    /// Lower-cased singular and plural names.
    names: HashMap<String, Unit, FxBuildHasher>,
    symbols: HashMap<String, Unit, FxBuildHasher>,
    name_prefixes: Vec<(String, f64)>,
    symbol_prefixes: Vec<(String, f64)>,
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
            return Some(*u);
        }
        let lower = id.to_lowercase();
        if let Some(u) = self.names.get(&lower) {
            return Some(*u);
        }
        for (p, v) in &self.symbol_prefixes {
            if let Some(rest) = id.strip_prefix(p.as_str())
                && let Some(u) = self
                    .symbols
                    .get(rest)
                    .or_else(|| self.names.get(&rest.to_lowercase()))
            {
                return Some(Unit::number(*v).mul(*u));
            }
        }
        for (p, v) in &self.name_prefixes {
            if let Some(rest) = lower.strip_prefix(p.as_str())
                && let Some(u) = self.names.get(rest)
            {
                return Some(Unit::number(*v).mul(*u));
            }
        }
        None
    }
}

/// The plural UDUNITS forms from a singular name.
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

struct Row<'a> {
    names: Vec<(&'a str, Option<String>)>,
    symbols: Vec<&'a str>,
    kind: &'a str,
    def: &'a str,
}

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
        names: HashMap::with_capacity_and_hasher(names, FxBuildHasher),
        symbols: HashMap::with_capacity_and_hasher(symbols, FxBuildHasher),
        name_prefixes: prefixes
            .iter()
            .filter(|p| !p.0.is_empty())
            .map(|p| (p.0.clone(), p.2))
            .collect(),
        symbol_prefixes: prefixes
            .iter()
            .filter(|p| !p.1.is_empty())
            .map(|p| (p.1.clone(), p.2))
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

fn insert(db: &mut Database, row: &Row, unit: Unit) {
    for (name, plural) in &row.names {
        db.names.entry(name.to_lowercase()).or_insert(unit);
        if let Some(p) = plural {
            db.names.entry(p.to_lowercase()).or_insert(unit);
        }
    }
    for s in &row.symbols {
        db.symbols.entry(s.to_string()).or_insert(unit);
    }
}

/// The database, built on first use.
pub fn database() -> &'static Database {
    static DB: OnceLock<Database> = OnceLock::new();
    DB.get_or_init(build)
}
