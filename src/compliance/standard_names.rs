//! The CF standard name table, embedded: names, their canonical units and aliases, for versions
//! 72 (what the reference checker shipped and production used) and 93.

use std::sync::OnceLock;

const V72: &str = include_str!("../../data/cf-standard-names-v72.tsv");
const V93: &str = include_str!("../../data/cf-standard-names-v93.tsv");

/// One version of the table, looked up in the embedded text as it is. The text lists the entries
/// and then the aliases, each sorted by name (scripts/gen-reference-data.py writes it so, and a
/// test holds it to that), so loading only notes where each row starts: no row is split, copied
/// or sorted by a job, which runs once per process and asks about a few dozen names.
pub struct StandardNameTable {
    version: &'static str,
    text: &'static str,
    /// Where each entry row's name starts in `text`; in the text's order, so sorted by name.
    entries: Vec<u32>,
    /// Where each alias row's name starts in `text`, sorted by alias.
    aliases: Vec<u32>,
}

impl StandardNameTable {
    fn load(text: &'static str) -> StandardNameTable {
        let mut t = StandardNameTable {
            version: "",
            text,
            entries: Vec::new(),
            aliases: Vec::new(),
        };
        for (start, line) in super::rows::split_at(text, b'\n') {
            // The name's offset fits in u32: the text is embedded, a few hundred kilobytes.
            if line.starts_with("entry\t") {
                t.entries.push((start + "entry\t".len()) as u32);
            } else if line.starts_with("alias\t") {
                t.aliases.push((start + "alias\t".len()) as u32);
            } else if let Some(v) = line.strip_prefix("version\t") {
                t.version = v;
            }
        }
        t
    }

    /// The row whose name starts at `at`: its name and the column after it.
    fn row(&self, at: u32) -> (&'static str, &'static str) {
        let line = super::rows::before(&self.text[at as usize..], b'\n');
        super::rows::split_once(line, b'\t').unwrap_or((line, ""))
    }

    /// The second column of the row named `key` among `rows` (sorted by name). A name listed
    /// twice (version 72 has an alias that stands for two entries) gives its first row in the
    /// table's order, which the sort keeps: what the reference checker's lookup finds.
    fn find(&self, rows: &[u32], key: &str) -> Option<&'static str> {
        let first = rows.partition_point(|&at| self.row(at).0 < key);
        let (name, value) = self.row(*rows.get(first)?);
        (name == key).then_some(value)
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
        self.version
    }

    /// Whether the name is an entry or an alias.
    pub fn contains(&self, name: &str) -> bool {
        self.names_contain(name) || self.find(&self.aliases, name).is_some()
    }

    /// Whether the name is an entry (not an alias).
    pub fn names_contain(&self, name: &str) -> bool {
        self.find(&self.entries, name).is_some()
    }

    /// The canonical units of an entry or of the entry an alias stands for.
    pub fn canonical_units(&self, name: &str) -> Option<&'static str> {
        let name = self.find(&self.aliases, name).unwrap_or(name);
        self.find(&self.entries, name)
    }

    /// Entry names (not aliases), sorted.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(|&at| self.row(at).0)
    }

    /// Alias names, sorted.
    fn alias_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.aliases.iter().map(|&at| self.row(at).0)
    }

    /// Up to three entries that look like `name` (for "did you mean" hints), best first.
    pub fn close_matches(&self, name: &str) -> Vec<&'static str> {
        let mut scored: Vec<(f64, &'static str)> = self
            .names()
            .chain(self.alias_names())
            // Names of very different lengths cannot be close: skip them cheaply.
            .filter(|n| n.len().abs_diff(name.len()) <= 2 + name.len() / 4)
            .map(|n| (similarity(name, n), n))
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

    /// Lookups are binary searches over the text as embedded: they are right only if its rows are
    /// well formed and its entries and aliases each sorted, with no name twice.
    #[test]
    fn the_embedded_tables_are_sorted_well_formed_and_fully_loaded() {
        for (text, t) in [
            (V72, StandardNameTable::v72()),
            (V93, StandardNameTable::v93()),
        ] {
            let v = t.version();
            let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
            for kind in ["entry", "alias"] {
                let names: Vec<&str> = rows
                    .iter()
                    .filter_map(|l| l.strip_prefix(kind)?.strip_prefix('\t'))
                    .map(|rest| {
                        let cols: Vec<&str> = rest.split('\t').collect();
                        assert_eq!(cols.len(), 2, "v{v}: {kind} row {rest:?} needs two columns");
                        assert!(!cols[0].is_empty(), "v{v}: {kind} row {rest:?} has no name");
                        cols[0]
                    })
                    .collect();
                assert!(
                    names.windows(2).all(|w| w[0] <= w[1]),
                    "v{v}: the {kind} rows must be sorted by name; regenerate with \
                     scripts/gen-reference-data.py"
                );
                let loaded: Vec<&str> = match kind {
                    "entry" => t.names().collect(),
                    _ => t.alias_names().collect(),
                };
                assert_eq!(loaded, names, "v{v}: every {kind} row is loaded");
            }
            assert!(
                rows.iter().all(|l| ["version\t", "entry\t", "alias\t"]
                    .iter()
                    .any(|p| l.starts_with(p))),
                "v{v}: a row of an unknown kind"
            );
            // Every entry and alias is found, with the column of its first row.
            let mut seen = std::collections::HashSet::new();
            for l in &rows {
                let cols: Vec<&str> = l.split('\t').collect();
                if cols[0] == "version" || !seen.insert((cols[0], cols[1])) {
                    continue;
                }
                let list = if cols[0] == "entry" {
                    &t.entries
                } else {
                    &t.aliases
                };
                assert_eq!(t.find(list, cols[1]), Some(cols[2]), "v{v}: {l}");
                // (An alias may also be an entry's name: v93 has one.)
                assert!(t.names_contain(cols[1]) || cols[0] == "alias", "v{v}: {l}");
                assert!(t.contains(cols[1]), "v{v}: {l}");
            }
            assert!(!t.contains("sea_water_temperatur") && !t.contains("zzz"));
        }
    }
}
