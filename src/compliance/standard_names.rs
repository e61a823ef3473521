//! The CF standard name table, embedded: names, their canonical units and aliases, for versions
//! 72 (what the reference checker shipped and production used) and 93.

use std::sync::OnceLock;

const V72: &str = include_str!("../../data/cf-standard-names-v72.tsv");
const V93: &str = include_str!("../../data/cf-standard-names-v93.tsv");

/// One version of the table. Lookups are binary searches over sorted slices of the embedded
/// text: loading is one pass with no hashing, which matters to a command that runs once per file.
pub struct StandardNameTable {
    version: String,
    /// (name, canonical units), sorted by name.
    entries: Vec<(&'static str, &'static str)>,
    /// Entry names in table order.
    names: Vec<&'static str>,
    /// (alias, the entry it stands for), sorted by alias.
    aliases: Vec<(&'static str, &'static str)>,
}

fn find(list: &[(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    list.binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| list[i].1)
}

impl StandardNameTable {
    fn load(text: &'static str) -> StandardNameTable {
        // A line per entry at most: the lists are made their size at once rather than grown
        // (each growth a copy into memory the process has not touched yet).
        let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
        let mut t = StandardNameTable {
            version: String::new(),
            entries: Vec::with_capacity(lines),
            names: Vec::with_capacity(lines),
            aliases: Vec::new(),
        };
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            match (cols.next(), cols.next(), cols.next()) {
                (Some("version"), Some(v), _) => t.version = v.to_string(),
                (Some("entry"), Some(name), Some(units)) => {
                    t.entries.push((name, units));
                    t.names.push(name);
                }
                (Some("alias"), Some(name), Some(target)) => {
                    t.aliases.push((name, target));
                }
                _ => {}
            }
        }
        t.entries.sort_unstable();
        t.aliases.sort_unstable();
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
        find(&self.entries, name).is_some() || find(&self.aliases, name).is_some()
    }

    /// Whether the name is an entry (not an alias).
    pub fn names_contain(&self, name: &str) -> bool {
        find(&self.entries, name).is_some()
    }

    /// The canonical units of an entry or of the entry an alias stands for.
    pub fn canonical_units(&self, name: &str) -> Option<&'static str> {
        let name = find(&self.aliases, name).unwrap_or(name);
        find(&self.entries, name)
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
            .chain(self.aliases.iter().map(|(a, _)| a))
            // Names of very different lengths cannot be close: skip them cheaply.
            .filter(|n| n.len().abs_diff(name.len()) <= 2 + name.len() / 4)
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
