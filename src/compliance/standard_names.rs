//! The CF standard name table, embedded: names, their canonical units and aliases, for versions
//! 72 (what the reference checker shipped and production used) and 93.

use std::collections::HashMap;
use std::sync::OnceLock;

const V72: &str = include_str!("../../data/cf-standard-names-v72.tsv");
const V93: &str = include_str!("../../data/cf-standard-names-v93.tsv");

/// One version of the table.
pub struct StandardNameTable {
    version: String,
    /// Name → canonical units, in table order.
    entries: HashMap<&'static str, &'static str>,
    names: Vec<&'static str>,
    /// Alias → the entry it stands for.
    aliases: HashMap<&'static str, &'static str>,
}

impl StandardNameTable {
    fn load(text: &'static str) -> StandardNameTable {
        let mut t = StandardNameTable {
            version: String::new(),
            entries: HashMap::new(),
            names: Vec::new(),
            aliases: HashMap::new(),
        };
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            match (cols.next(), cols.next(), cols.next()) {
                (Some("version"), Some(v), _) => t.version = v.to_string(),
                (Some("entry"), Some(name), Some(units)) => {
                    t.entries.insert(name, units);
                    t.names.push(name);
                }
                (Some("alias"), Some(name), Some(target)) => {
                    t.aliases.insert(name, target);
                }
                _ => {}
            }
        }
        t
    }

    /// Version 72: the table the reference checker (compliance-checker 5.0.2) uses for `cf:1.6`.
    pub fn v72() -> &'static StandardNameTable {
        static T: OnceLock<StandardNameTable> = OnceLock::new();
        T.get_or_init(|| Self::load(V72))
    }

    /// Version 93.
    pub fn v93() -> &'static StandardNameTable {
        static T: OnceLock<StandardNameTable> = OnceLock::new();
        T.get_or_init(|| Self::load(V93))
    }

    /// The table's version number, e.g. "72".
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether the name is an entry or an alias.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name) || self.aliases.contains_key(name)
    }

    /// Whether the name is an entry (not an alias).
    pub fn names_contain(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The canonical units of an entry or of the entry an alias stands for.
    pub fn canonical_units(&self, name: &str) -> Option<&'static str> {
        let name = self.aliases.get(name).copied().unwrap_or(name);
        self.entries.get(name).copied()
    }

    /// Entry names (not aliases) in table order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.names.iter().copied()
    }

    /// Up to three entries that look like `name` (for "did you mean" hints), best first.
    pub fn close_matches(&self, name: &str) -> Vec<&'static str> {
        let mut scored: Vec<(f64, &'static str)> = self
            .names
            .iter()
            .chain(self.aliases.keys())
            .map(|n| (similarity(name, n), *n))
            .filter(|(s, _)| *s >= 0.6)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        scored.into_iter().take(3).map(|(_, n)| n).collect()
    }
}

/// 2·(common bigrams)/(total bigrams): a cheap stand-in for difflib's ratio.
fn similarity(a: &str, b: &str) -> f64 {
    let grams =
        |s: &str| -> Vec<(u8, u8)> { s.as_bytes().windows(2).map(|w| (w[0], w[1])).collect() };
    let (ga, mut gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        return 0.0;
    }
    let total = ga.len() + gb.len();
    let mut common = 0;
    for g in ga {
        if let Some(p) = gb.iter().position(|x| *x == g) {
            gb.swap_remove(p);
            common += 1;
        }
    }
    2.0 * common as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_know_names_units_and_aliases() {
        let t = StandardNameTable::v72();
        assert_eq!(t.version(), "72");
        assert_eq!(t.canonical_units("sea_water_temperature"), Some("K"));
        assert_eq!(t.canonical_units("latitude"), Some("degree_north"));
        assert!(t.contains("longwave_radiance"), "an alias");
        assert_eq!(
            t.canonical_units("longwave_radiance"),
            t.canonical_units("isotropic_longwave_radiance_in_air")
        );
        assert!(!t.contains("sea_water_temprature"));
        assert_eq!(
            t.close_matches("sea_water_temprature").first(),
            Some(&"sea_water_temperature")
        );
        assert_eq!(StandardNameTable::v93().version(), "93");
        assert!(t.names().count() > 4000);
    }
}
