//! Catch-all routes: whether a pipeline's `keys` pattern claims every key, so that any upload no
//! other pipeline claims would be published through it. Such a pipeline needs an explicit opt-in
//! (`INGEST_PIPELINES_ALLOW_CATCH_ALL=true`) before a job or `pipelines validate` accepts it.
//!
//! The rule: `keys` is a catch-all when it matches every one of a group of probe keys that share
//! nothing but, at most, their extension and whether they sit in a folder — upper and lower case,
//! digits, punctuation, a space and a `+`, one to seven folders deep, with no facility's folder
//! or naming convention among them. Two groups: names at the root (what a local file run by path
//! is keyed by) and keys in folders (every key a deployment routes, since each stream is a
//! folder). A pattern that matches a whole group claims keys whatever their folder and name
//! (`.*`, `\.nc$`, `(^|/)[^/]*\.nc$`, `^[^/]*\.nc$`, `/`, an empty pattern); a pattern that names
//! a folder (`^ANMN/NRS/`) or a naming convention (`(^|/)IMOS_ANMN-NRS_`) matches none of them.
//! The extensions tried are the pipeline's `allowed_extensions` (and their upper-case forms), the
//! upload kinds the resolve step knows, and none at all. The probes are fixed, so the verdict on
//! a pattern never changes from one run to the next.

use crate::text_regex::TextRegex;

/// Names at the root that have nothing in common: no provider or naming convention. Each is
/// tried with every extension appended.
pub const ROOT_PROBES: &[&str] = &["x", "0", "Zz_9-probe", "with space+plus", "..~@=,;!"];

/// Keys in folders that have nothing in common: no facility, provider or naming convention.
pub const FOLDER_PROBES: &[&str] = &[
    "a/b",
    "q/R/s",
    "unrelated/folder/y",
    "UPPER/lower/MiXeD.name",
    "deep/er/than/any/facility/nests/file",
    "with space/and+plus",
    "2024-01-01T00:00:00Z/..~@=,;!",
];

/// The kinds of upload the resolve step knows, each a way to claim "every key of that kind".
const KNOWN_EXTENSIONS: &[&str] = &[
    ".nc",
    ".zip",
    ".gz",
    ".csv",
    ".json",
    ".txt",
    ".manifest",
    ".map_manifest",
    ".json_manifest",
    ".rsync_manifest",
    ".delete_manifest",
];

/// What a catch-all pattern claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchAll {
    /// The extension every probe key had, or `None` when the pattern claims keys of any kind.
    pub extension: Option<String>,
    /// Where the keys it claims sit.
    pub scope: Scope,
    /// A few of the probe keys it matched, for the message.
    pub examples: Vec<String>,
}

/// Which of the probe groups a catch-all pattern matched whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Both: keys at the root and in folders.
    Everywhere,
    /// Names at the root (local files run by path).
    Root,
    /// Keys in folders (every key a deployment routes).
    Folders,
}

impl std::fmt::Display for CatchAll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("claims every key")?;
        match self.scope {
            Scope::Everywhere => {}
            Scope::Root => f.write_str(" at the root")?,
            Scope::Folders => f.write_str(" in a folder")?,
        }
        if let Some(ext) = &self.extension {
            write!(f, " ending in {ext:?}")?;
        }
        let shown: Vec<String> = self.examples.iter().map(|e| format!("{e:?}")).collect();
        write!(
            f,
            ", whatever its folder and name (it matches {}, …)",
            shown.join(", ")
        )
    }
}

/// Whether `keys` claims every key (of some extension, at the root or in folders); see the
/// module's rule.
pub fn catch_all(keys: &TextRegex, allowed_extensions: &[String]) -> Option<CatchAll> {
    let mut extensions: Vec<String> = vec![String::new()];
    for ext in allowed_extensions
        .iter()
        .map(String::as_str)
        .chain(KNOWN_EXTENSIONS.iter().copied())
    {
        for form in [ext.to_ascii_lowercase(), ext.to_ascii_uppercase()] {
            if !extensions.contains(&form) {
                extensions.push(form);
            }
        }
    }
    if no_probe_has_its_prefix(keys.as_str(), &extensions) {
        return None;
    }
    extensions.into_iter().find_map(|ext| {
        let group = |stems: &[&str]| -> Option<Vec<String>> {
            let probes: Vec<String> = stems.iter().map(|s| format!("{s}{ext}")).collect();
            probes.iter().all(|k| keys.is_match(k)).then_some(probes)
        };
        let (scope, examples) = match (group(ROOT_PROBES), group(FOLDER_PROBES)) {
            (Some(root), Some(folders)) => {
                (Scope::Everywhere, vec![root[0].clone(), folders[2].clone()])
            }
            (Some(root), None) => (Scope::Root, root[..2].to_vec()),
            (None, Some(folders)) => (Scope::Folders, folders[..2].to_vec()),
            (None, None) => return None,
        };
        Some(CatchAll {
            extension: (!ext.is_empty()).then_some(ext),
            scope,
            examples,
        })
    })
}

/// Whether `pattern` is anchored at the start of the key and every key it matches starts with
/// one of a few literals (a stream's folder, `^ANMN/NRS/`; `^(SOOP|AATAMS)/`) that no probe key
/// starts with: then it matches no probe, which the parse alone shows. A job reads every
/// pipeline's `keys`, and this spares it compiling them (the patterns are compiled when a job
/// routes a key). `false` when the parse cannot show it; the probes then decide.
fn no_probe_has_its_prefix(pattern: &str, extensions: &[String]) -> bool {
    let Ok(hir) = regex_syntax::parse(pattern) else {
        return false;
    };
    if !hir
        .properties()
        .look_set_prefix()
        .contains(regex_syntax::hir::Look::Start)
    {
        return false;
    }
    let prefixes = super::writes::hir_prefixes(&hir);
    // Whether the probe `stem` + `ext` starts with `p`, without writing the key out.
    let starts = |stem: &str, ext: &str, p: &str| match p.split_at_checked(stem.len()) {
        Some((head, tail)) => head == stem && ext.starts_with(tail),
        None => stem.starts_with(p),
    };
    prefixes.iter().all(|p| !p.is_empty())
        && !ROOT_PROBES.iter().chain(FOLDER_PROBES).any(|stem| {
            extensions
                .iter()
                .any(|ext| prefixes.iter().any(|p| starts(stem, ext, p)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(pattern: &str, allowed: &[&str]) -> Option<CatchAll> {
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        catch_all(&TextRegex::new(pattern), &allowed)
    }

    #[test]
    fn patterns_that_claim_every_key_are_catch_alls() {
        for every in ["", ".*", "^.*$", "(?s).", "^", "$", "[^/]*$", "(?i)^(.*)$"] {
            let v = verdict(every, &[]).unwrap_or_else(|| panic!("{every:?} claims every key"));
            assert_eq!(
                (v.extension, v.scope),
                (None, Scope::Everywhere),
                "{every:?}"
            );
        }
        // Every key in a folder is every key a deployment routes; every name at the root is
        // every local file run by path.
        assert_eq!(verdict("/", &[]).unwrap().scope, Scope::Folders);
        assert_eq!(verdict(".+/.+", &[]).unwrap().scope, Scope::Folders);
        assert_eq!(verdict("^[^/]+$", &[]).unwrap().scope, Scope::Root);
    }

    #[test]
    fn patterns_that_claim_every_key_of_a_kind_are_catch_alls() {
        // The example file's demo pipeline, and the shapes such a route takes.
        for (pattern, ext) in [
            (r"(^|/)[^/]*\.nc$", ".nc"),
            (r"\.nc$", ".nc"),
            (r".*\.zip", ".zip"),
            (r"\.(nc|zip)$", ".nc"),
            (r"\.NC$", ".NC"),
            (r"\.manifest$", ".manifest"),
            (r"^[^/]*\.nc$", ".nc"),
        ] {
            let v = verdict(pattern, &[]).unwrap_or_else(|| panic!("{pattern:?}"));
            assert_eq!(v.extension.as_deref(), Some(ext), "{pattern:?}");
        }
        assert_eq!(verdict(r"^[^/]*\.nc$", &[]).unwrap().scope, Scope::Root);
        assert_eq!(
            verdict(r"(^|/)[^/]*\.nc$", &[]).unwrap().scope,
            Scope::Everywhere
        );
        // An extension only the pipeline accepts is tried too.
        assert_eq!(
            verdict(r"\.cdl$", &[".cdl"]).unwrap().extension.as_deref(),
            Some(".cdl")
        );
        assert_eq!(verdict(r"\.cdl$", &[]), None);
    }

    #[test]
    fn patterns_that_name_a_folder_or_a_convention_are_not() {
        for pattern in [
            "^ANMN/NRS/",
            "^ANMN/",
            r"(^|/)IMOS_ANMN-NRS_[A-Z]+_\d{8}T\d{6}Z_",
            "(^|/)IMOS_ACORN_",
            "^[A-Z]",
            "[A-Z]/",
            r"^SRS/[0-9]{8}([0-9]{6})?-ABOM-",
            r"^(ANFOG|WAVE|Argo|AUV|NSW_OEH)/",
            r"^AATAMS/[^/]*\.nc$",
        ] {
            assert_eq!(verdict(pattern, &[".nc", ".zip"]), None, "{pattern:?}");
        }
    }

    /// The parse decides only where the probes would say the same: every pattern of these tests
    /// and every `keys` of the IMOS pipeline file, checked against the probes one by one.
    #[test]
    fn the_parse_refuses_only_patterns_that_match_no_probe() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/imos/pipelines.toml"
        ))
        .unwrap();
        let imos_keys: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("keys = '")?.strip_suffix('\''))
            .map(str::to_string)
            .collect();
        assert!(imos_keys.len() > 30, "{} keys", imos_keys.len());
        let extensions: Vec<String> = [".nc", ".zip", ""].map(String::from).to_vec();
        let mut decided = 0;
        for pattern in imos_keys.iter().map(String::as_str).chain([
            "^ANMN/NRS/",
            r"^(ANFOG|WAVE|Argo|AUV|NSW_OEH)/",
            r"^SRS/[0-9]{8}([0-9]{6})?-ABOM-",
            "^[A-Z]",
            "(?i)^anmn/",
            "(?m)^ANMN/",
            "^x",
            "^a/",
            "^(ANMN/|)",
            r"^x\.nc",
            r"^x\.ncz",
            r"^a/b\.zip$",
            "",
            ".*",
            r"\.nc$",
        ]) {
            if !no_probe_has_its_prefix(pattern, &extensions) {
                continue;
            }
            decided += 1;
            let re = regex::Regex::new(pattern).unwrap();
            for stem in ROOT_PROBES.iter().chain(FOLDER_PROBES) {
                for ext in &extensions {
                    let key = format!("{stem}{ext}");
                    assert!(!re.is_match(&key), "{pattern:?} matches {key:?}");
                }
            }
        }
        assert!(decided >= imos_keys.len(), "{decided} decided by the parse");
        for undecided in [
            "^x",
            "^a/",
            r"^x\.nc",
            r"^a/b\.zip$",
            "(?m)^ANMN/",
            "^(ANMN/|)",
            "",
            ".*",
            "^[A-Z]",
        ] {
            assert!(
                !no_probe_has_its_prefix(undecided, &extensions),
                "{undecided:?}"
            );
        }
        // A literal that starts like a probe and runs on past its extension.
        assert!(no_probe_has_its_prefix(r"^x\.ncz", &extensions));
        // Deciding by the parse compiles nothing.
        let keys = TextRegex::new("^ANMN/NRS/");
        assert_eq!(catch_all(&keys, &[]), None);
        assert!(!keys.compiled());
    }

    #[test]
    fn the_message_says_what_is_claimed_and_shows_probes() {
        let v = verdict(r"\.nc$", &[]).unwrap();
        let text = v.to_string();
        assert!(
            text.starts_with("claims every key ending in \".nc\", whatever its folder and name"),
            "{text}"
        );
        let root = verdict(r"^[^/]*\.nc$", &[]).unwrap().to_string();
        assert!(
            root.starts_with("claims every key at the root ending in \".nc\""),
            "{root}"
        );
        assert!(text.contains("\"x.nc\""), "{text}");
        assert_eq!(
            verdict(".*", &[]).unwrap().to_string().split(',').next(),
            Some("claims every key")
        );
    }
}
