//! Vocabularies shipped beside the pipeline file: a name → value table (vessel callsigns to
//! names, institutions to folders…) that templates look up as `vocab.<name>[key]`. A lookup that
//! misses rejects the file with "`<key>` is not in vocab.<name>".
//!
//! Formats: `csv` (a header row, then key,value rows; further columns are ignored) and `json`
//! (one object of keys to values). Each declaration says when its file was taken from its
//! source (`date`), which the job report names, so a rejection can be traced to the snapshot
//! that caused it.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Value;

use super::template::values::{Lookup, MissStyle};

/// The format of a vocabulary file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

/// A loaded vocabulary.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub name: String,
    /// The file it was read from, as the pipeline file names it.
    pub file: String,
    /// When the file was taken from its source (as declared).
    pub date: String,
    pub entries: BTreeMap<String, String>,
}

impl Vocabulary {
    /// Reads a vocabulary file, or says what is wrong with it.
    pub fn load(
        name: &str,
        path: &Path,
        file: &str,
        format: Format,
        date: &str,
    ) -> Result<Vocabulary, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {file}: {e}"))?;
        let entries = parse(&bytes, format).map_err(|e| format!("{file}: {e}"))?;
        Ok(Vocabulary {
            name: name.to_string(),
            file: file.to_string(),
            date: date.to_string(),
            entries,
        })
    }

    /// The vocabulary as templates see it.
    pub fn value(&self) -> Value {
        Lookup::value(
            format!("vocab.{}", self.name),
            MissStyle::Entry,
            self.entries
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        )
    }
}

/// Parses vocabulary content.
pub fn parse(bytes: &[u8], format: Format) -> Result<BTreeMap<String, String>, String> {
    match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .flexible(true)
                .from_reader(bytes);
            let mut out = BTreeMap::new();
            for (i, row) in reader.records().enumerate() {
                let row = row.map_err(|e| format!("row {}: {e}", i + 2))?;
                let (Some(k), Some(v)) = (row.get(0), row.get(1)) else {
                    return Err(format!("row {}: needs a key and a value", i + 2));
                };
                if out.insert(k.to_string(), v.to_string()).is_some() {
                    return Err(format!("row {}: key {k:?} is listed twice", i + 2));
                }
            }
            Ok(out)
        }
        Format::Json => {
            let v: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
            let obj = v
                .as_object()
                .ok_or("a JSON vocabulary is one object of keys to values")?;
            Ok(obj
                .iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), text)
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_vocabularies() {
        let v = parse(
            b"callsign,name\nVLHJ,Southern-Surveyor\n9V2768,RTM-Wakmatha\n",
            Format::Csv,
        )
        .unwrap();
        assert_eq!(v["VLHJ"], "Southern-Surveyor");
        assert!(
            parse(b"k,v\na,1\na,2\n", Format::Csv)
                .unwrap_err()
                .contains("twice")
        );
        let v = parse(br#"{"BOM": "BOM", "DOT-WA": "WA-DOT"}"#, Format::Json).unwrap();
        assert_eq!(v["DOT-WA"], "WA-DOT");
        assert!(parse(b"[1]", Format::Json).is_err());
    }
}
