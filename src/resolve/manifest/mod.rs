//! Manifest uploads: the five kinds the reference accepts, parsed into entries (files to ingest,
//! files to delete), each with where it stands in the manifest. Parsing is pure; fetching the
//! files the entries name is the resolver's job.
//!
//! | kind | content |
//! |---|---|
//! | `.manifest` | one path per line |
//! | `.map_manifest` | CSV `local_path,dest_path` (an optional header row of those names) |
//! | `.json_manifest` | `{"files": [{"local_path": …, "dest_path": …}]}` (`dest_path` optional) |
//! | `.rsync_manifest` | `rsync --itemize-changes` output (see [`rsync`]) |
//! | `.delete_manifest` | CSV of destination paths to remove, one per line |
//!
//! A `local_path` is relative to the manifest's own folder in the incoming store.

pub mod rsync;

use serde::Deserialize;

/// The kinds of manifest, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    Paths,
    Map,
    Json,
    Rsync,
    Delete,
}

impl ManifestKind {
    pub const ALL: [ManifestKind; 5] = [
        ManifestKind::Paths,
        ManifestKind::Map,
        ManifestKind::Json,
        ManifestKind::Rsync,
        ManifestKind::Delete,
    ];

    pub fn extension(self) -> &'static str {
        match self {
            ManifestKind::Paths => ".manifest",
            ManifestKind::Map => ".map_manifest",
            ManifestKind::Json => ".json_manifest",
            ManifestKind::Rsync => ".rsync_manifest",
            ManifestKind::Delete => ".delete_manifest",
        }
    }

    /// The kind an upload's name says it is.
    pub fn of(name: &str) -> Option<ManifestKind> {
        let lower = name.to_ascii_lowercase();
        ManifestKind::ALL
            .into_iter()
            .find(|k| lower.ends_with(k.extension()))
    }
}

/// One line (or JSON item) of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Ingest the file at `path` (relative to the manifest's folder), published at `dest` when
    /// the manifest names a destination.
    Add {
        at: String,
        path: String,
        dest: Option<String>,
    },
    /// Remove the file published at `dest`.
    DeleteDest { at: String, dest: String },
    /// Remove the published file named like the last segment of `path`; its destination comes
    /// from the rule that claims the name.
    DeleteName { at: String, path: String },
}

impl Entry {
    pub fn at(&self) -> &str {
        match self {
            Entry::Add { at, .. } | Entry::DeleteDest { at, .. } | Entry::DeleteName { at, .. } => {
                at
            }
        }
    }

    pub fn is_deletion(&self) -> bool {
        !matches!(self, Entry::Add { .. })
    }
}

/// The UTF-8 byte-order mark some editors (Notepad, Excel's "CSV UTF-8") put at the start of a
/// file: not part of the first line.
const BYTE_ORDER_MARK: char = '\u{feff}';

/// Parses a manifest; every malformed line is reported with its place.
pub fn parse(kind: ManifestKind, text: &str) -> Result<Vec<Entry>, Vec<String>> {
    let text = text.strip_prefix(BYTE_ORDER_MARK).unwrap_or(text);
    let entries = match kind {
        ManifestKind::Paths => Ok(parse_paths(text)),
        ManifestKind::Map => parse_csv(text, 2, "local_path,dest_path", |at, cells| Entry::Add {
            at,
            path: cells[0].clone(),
            dest: Some(cells[1].clone()),
        }),
        ManifestKind::Delete => parse_csv(text, 1, "dest_path", |at, cells| Entry::DeleteDest {
            at,
            dest: cells[0].clone(),
        }),
        ManifestKind::Json => parse_json(text),
        ManifestKind::Rsync => rsync::parse(text),
    }?;
    if entries.is_empty() {
        return Err(vec!["the manifest names no files".into()]);
    }
    Ok(entries)
}

fn parse_paths(text: &str) -> Vec<Entry> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Entry::Add {
            at: format!("line {}", i + 1),
            path: l.trim().to_string(),
            dest: None,
        })
        .collect()
}

/// CSV with exactly `width` non-empty cells a row; a first row equal to `header` is skipped.
fn parse_csv(
    text: &str,
    width: usize,
    header: &str,
    make: impl Fn(String, Vec<String>) -> Entry,
) -> Result<Vec<Entry>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("not valid CSV: {e}"));
                break;
            }
        };
        let line = record.position().map_or(i as u64 + 1, |p| p.line());
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if i == 0 && cells.join(",") == header {
            continue;
        }
        if cells.len() != width || cells.iter().any(String::is_empty) {
            problems.push(format!(
                "line {line}: expected {header} ({width} value{}), found {:?}",
                if width == 1 { "" } else { "s" },
                cells.join(",")
            ));
            continue;
        }
        entries.push(make(format!("line {line}"), cells));
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonManifest {
    files: Vec<JsonEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEntry {
    local_path: String,
    dest_path: Option<String>,
}

fn parse_json(text: &str) -> Result<Vec<Entry>, Vec<String>> {
    let doc: JsonManifest = serde_json::from_str(text).map_err(|e| {
        vec![format!(
            "line {} column {}: {e}; expected {{\"files\": [{{\"local_path\": …, \"dest_path\": …}}]}}",
            e.line(),
            e.column()
        )]
    })?;
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for (i, f) in doc.files.into_iter().enumerate() {
        let at = format!("files[{i}]");
        if f.local_path.trim().is_empty() {
            problems.push(format!("{at}: local_path is empty"));
            continue;
        }
        if f.dest_path.as_deref().is_some_and(|d| d.trim().is_empty()) {
            problems.push(format!(
                "{at}: dest_path is empty (leave it out to use the rule's)"
            ));
            continue;
        }
        entries.push(Entry::Add {
            at,
            path: f.local_path.trim().to_string(),
            dest: f.dest_path.map(|d| d.trim().to_string()),
        });
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn kinds_come_from_the_extension() {
        assert_eq!(ManifestKind::of("a.manifest"), Some(ManifestKind::Paths));
        assert_eq!(ManifestKind::of("a.MAP_MANIFEST"), Some(ManifestKind::Map));
        assert_eq!(
            ManifestKind::of("a.json_manifest"),
            Some(ManifestKind::Json)
        );
        assert_eq!(
            ManifestKind::of("a.rsync_manifest"),
            Some(ManifestKind::Rsync)
        );
        assert_eq!(
            ManifestKind::of("a.delete_manifest"),
            Some(ManifestKind::Delete)
        );
        assert_eq!(ManifestKind::of("a.nc"), None);
    }

    #[test]
    fn the_reference_fixtures_parse_as_the_reference_reads_them() {
        assert_eq!(
            parse(ManifestKind::Map, &fixture("test.map_manifest")).unwrap(),
            [Entry::Add {
                at: "line 1".into(),
                path: "test_manifest.nc".into(),
                dest: Some("UNITTEST/NOT/A/REAL/PATH".into())
            }]
        );
        let json = parse(ManifestKind::Json, &fixture("test.json_manifest")).unwrap();
        assert_eq!(
            json,
            [
                Entry::Add {
                    at: "files[0]".into(),
                    path: "good.nc".into(),
                    dest: None
                },
                Entry::Add {
                    at: "files[1]".into(),
                    path: "bad.nc".into(),
                    dest: Some("UNITTEST/NOT/A/REAL/PATH".into())
                }
            ]
        );
        let deletions = parse(ManifestKind::Delete, &fixture("test.delete_manifest")).unwrap();
        let dests: Vec<_> = deletions
            .iter()
            .map(|e| match e {
                Entry::DeleteDest { dest, .. } => dest.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            dests,
            [
                "UNITTEST/NOT/A/REAL/PATH",
                "UNITTEST/NOT/A/REAL/PATH/EITHER",
                "UNITTEST/NOT/A/REAL/PATH/EITHER/AGAIN"
            ]
        );
        assert_eq!(
            parse(ManifestKind::Paths, "a.nc\n\n  sub/b.nc  \n").unwrap(),
            [
                Entry::Add {
                    at: "line 1".into(),
                    path: "a.nc".into(),
                    dest: None
                },
                Entry::Add {
                    at: "line 3".into(),
                    path: "sub/b.nc".into(),
                    dest: None
                }
            ]
        );
    }

    #[test]
    fn a_byte_order_mark_does_not_make_the_first_line_a_missing_file() {
        for (kind, text) in [
            (ManifestKind::Paths, "a.nc\nb.nc\n"),
            (ManifestKind::Map, "local_path,dest_path\na.nc,X/a.nc\n"),
            (ManifestKind::Map, "a.nc,X/a.nc\n"),
            (
                ManifestKind::Json,
                "{\"files\": [{\"local_path\": \"a.nc\"}]}",
            ),
            (ManifestKind::Rsync, ">f+++++++++ a.nc\n*deleting   b.nc\n"),
            (ManifestKind::Delete, "dest_path\nX/a.nc\n"),
            (ManifestKind::Delete, "X/a.nc\n"),
        ] {
            let plain = parse(kind, text).unwrap();
            let marked = parse(kind, &format!("\u{feff}{text}"));
            assert_eq!(marked, Ok(plain), "{kind:?}: {text:?}");
        }
        // Only at the very start: a mark elsewhere is part of the name it sits in.
        let inner = parse(ManifestKind::Paths, "a.nc\n\u{feff}b.nc\n").unwrap();
        assert!(matches!(&inner[1], Entry::Add { path, .. } if path == "\u{feff}b.nc"));
    }

    #[test]
    fn malformed_manifests_say_where() {
        let err = parse(
            ManifestKind::Map,
            "local_path,dest_path\na.nc,X/a.nc\nb.nc\nc.nc,,\n",
        )
        .unwrap_err();
        assert_eq!(
            err,
            [
                "line 3: expected local_path,dest_path (2 values), found \"b.nc\"",
                "line 4: expected local_path,dest_path (2 values), found \"c.nc,,\""
            ]
        );
        let err = parse(ManifestKind::Delete, "a/b.nc\na/c.nc,extra\n").unwrap_err();
        assert_eq!(
            err,
            ["line 2: expected dest_path (1 value), found \"a/c.nc,extra\""]
        );
        let err = parse(ManifestKind::Json, "{\"files\": [{\"path\": \"a.nc\"}]}").unwrap_err();
        assert!(err[0].contains("unknown field `path`"), "{err:?}");
        let err = parse(ManifestKind::Json, "{\"files\": [").unwrap_err();
        assert!(err[0].starts_with("line 1 column"), "{err:?}");
        let err = parse(ManifestKind::Json, "{\"files\": [{\"local_path\": \" \"}]}").unwrap_err();
        assert_eq!(err, ["files[0]: local_path is empty"]);
        assert_eq!(
            parse(ManifestKind::Paths, "\n \n").unwrap_err(),
            ["the manifest names no files"]
        );
    }
}
