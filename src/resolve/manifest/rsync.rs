//! `.rsync_manifest`: the output of `rsync --itemize-changes`, read as the reference reads it. A
//! transferred file (`>f`, `<f`, `cf`) is an addition; `*deleting <file>` a deletion; directory
//! lines, unchanged files (`.f`), the header and the summary are ignored. Links and special files
//! are refused; any other line is malformed, named by its number.

use std::sync::LazyLock;

use regex::Regex;

use super::Entry;

/// `YXcstpoguax path`: the update type, the file type, nine attribute columns, a space, the path.
static ITEMIZED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([<>ch.])([fdLDS])([.+?a-zA-Z ]{9}) (.+)$").expect("valid pattern")
});

/// Lines rsync prints around the itemized list.
fn is_chatter(line: &str) -> bool {
    line == "receiving incremental file list"
        || line == "sending incremental file list"
        || line == "receiving file list ... done"
        || line == "building file list ... done"
        || line.starts_with("created directory ")
        || (line.starts_with("sent ") && line.contains(" bytes"))
        || line.starts_with("total size is ")
}

pub fn parse(text: &str) -> Result<Vec<Entry>, Vec<String>> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let at = format!("line {}", i + 1);
        let line = raw.trim_end();
        if line.trim().is_empty() || is_chatter(line) {
            continue;
        }
        if let Some(rest) = line.strip_prefix("*deleting") {
            let path = rest.trim_start();
            if path.is_empty() || !rest.starts_with(' ') {
                problems.push(format!("{at}: a *deleting line without a path: {line:?}"));
            } else if !path.ends_with('/') {
                // A deleted folder's files have their own lines.
                entries.push(Entry::DeleteName {
                    at,
                    path: path.to_string(),
                });
            }
            continue;
        }
        let Some(c) = ITEMIZED.captures(line) else {
            problems.push(format!(
                "{at}: not an rsync --itemize-changes line: {line:?}"
            ));
            continue;
        };
        let (update, kind, path) = (&c[1], &c[2], c[4].to_string());
        match (update, kind) {
            (_, "d") => {}
            ("h", _) | (_, "L") => problems.push(format!(
                "{at}: {path:?} is a link; only regular files can be ingested"
            )),
            (_, "D" | "S") => problems.push(format!(
                "{at}: {path:?} is a device or special file; only regular files can be ingested"
            )),
            (".", "f") => {}
            (_, "f") => entries.push(Entry::Add {
                at,
                path,
                dest: None,
            }),
            _ => problems.push(format!(
                "{at}: not an rsync --itemize-changes line: {line:?}"
            )),
        }
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

    #[test]
    fn the_reference_fixture_has_one_addition_and_one_deletion() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/test.rsync_manifest"),
        )
        .unwrap();
        assert_eq!(
            parse(&text).unwrap(),
            [
                Entry::Add {
                    at: "line 4".into(),
                    path: "test_manifest.nc".into(),
                    dest: None
                },
                Entry::DeleteName {
                    at: "line 5".into(),
                    path: "aoml/1900728/1900728_Rtraj.nc".into()
                },
            ]
        );
    }

    #[test]
    fn every_kind_of_line_is_read_or_refused_by_number() {
        let text = "sending incremental file list\n\
                    cd+++++++++ new/\n\
                    >f+++++++++ new/a.nc\n\
                    <f.st...... b.nc\n\
                    .f..t...... unchanged.nc\n\
                    cL+++++++++ link.nc -> /etc/passwd\n\
                    hf+++++++++ hard.nc => a.nc\n\
                    cS+++++++++ fifo\n\
                    *deleting\n\
                    >f+++ short.nc\n\
                    what is this\n";
        let err = parse(text).unwrap_err();
        assert_eq!(
            err,
            [
                "line 6: \"link.nc -> /etc/passwd\" is a link; only regular files can be ingested",
                "line 7: \"hard.nc => a.nc\" is a link; only regular files can be ingested",
                "line 8: \"fifo\" is a device or special file; only regular files can be ingested",
                "line 9: a *deleting line without a path: \"*deleting\"",
                "line 10: not an rsync --itemize-changes line: \">f+++ short.nc\"",
                "line 11: not an rsync --itemize-changes line: \"what is this\"",
            ]
        );
        let ok = parse(
            "cd+++++++++ new/\n>f+++++++++ new/a.nc\n<f.st...... b.nc\n.f..t...... same.nc\n",
        )
        .unwrap();
        let paths: Vec<_> = ok
            .iter()
            .map(|e| match e {
                Entry::Add { path, .. } => path.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(paths, ["new/a.nc", "b.nc"]);
    }
}
