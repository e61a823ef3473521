//! Where a pipeline may write: path patterns in the public store and the archive, declared
//! (`writes = ["IMOS/ANMN/NRS/*/Temperature/"]`) or derived from the literal start of its
//! templates and `allowed_dest` patterns. Every path a job adds, deletes or supersedes must lie
//! in its pipeline's writes, and no two pipelines of a file may have writes that overlap.

use crate::text_regex::TextRegex;

use super::Template;
use crate::layout::Area;

/// One segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `*`: any one whole segment.
    Any,
    Is(String),
}

impl Segment {
    fn accepts(&self, segment: &str) -> bool {
        match self {
            Segment::Any => !segment.is_empty(),
            Segment::Is(s) => s == segment,
        }
    }

    /// Whether some segment is accepted by both.
    fn meets(&self, other: &Segment) -> bool {
        match (self, other) {
            (Segment::Is(a), Segment::Is(b)) => a == b,
            _ => true,
        }
    }
}

/// A prefix of paths: whole segments (`*` for any one), then the start of the next segment (empty
/// when the pattern ends with `/`). `IMOS/ANMN/NRS/*/Temperature/` holds every path in a
/// `Temperature` folder of any NRS site; `A/tables_` every path in `A/` whose name starts with
/// `tables_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    segments: Vec<Segment>,
    partial: String,
    source: String,
}

impl std::fmt::Display for PathPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.source.is_empty() {
            f.write_str("anywhere")
        } else {
            f.write_str(&self.source)
        }
    }
}

impl PathPattern {
    /// Reads a declared pattern, or says why it is not one.
    pub fn parse(text: &str) -> Result<PathPattern, String> {
        if text.is_empty() {
            return Err("an empty pattern would let the pipeline write anywhere".into());
        }
        if text.starts_with('/') {
            return Err("a pattern is a path inside the store: no leading '/'".into());
        }
        if text.contains('\\') || text.chars().any(char::is_control) {
            return Err("a pattern has no backslashes or control characters".into());
        }
        let mut parts: Vec<&str> = text.split('/').collect();
        let last = parts.pop().unwrap_or_default();
        let mut segments = Vec::new();
        for part in parts {
            segments.push(match part {
                "" => return Err("a pattern has no empty segments ('//')".into()),
                "." | ".." => return Err("a pattern has no '.' or '..' segments".into()),
                "*" => Segment::Any,
                p if p.contains('*') => {
                    return Err(format!(
                        "'*' stands for a whole segment; {p:?} mixes it with other characters"
                    ));
                }
                p => Segment::Is(p.to_string()),
            });
        }
        let partial = match last {
            "*" => String::new(),
            p if p.contains('*') => {
                return Err(format!(
                    "'*' stands for a whole segment; {p:?} mixes it with other characters"
                ));
            }
            p => p.to_string(),
        };
        Ok(PathPattern {
            segments,
            partial,
            source: text.to_string(),
        })
    }

    /// The pattern of every path that starts with `prefix` (a literal: `*` is no wildcard here).
    pub fn literal(prefix: &str) -> PathPattern {
        let mut parts: Vec<&str> = prefix.split('/').collect();
        let partial = parts.pop().unwrap_or_default().to_string();
        PathPattern {
            segments: parts
                .into_iter()
                .map(|p| Segment::Is(p.to_string()))
                .collect(),
            partial,
            source: prefix.to_string(),
        }
    }

    /// Whether the pattern holds every path: a template with no literal start, `allowed_dest`
    /// that may start anyhow, or a declared `*`.
    pub fn is_anywhere(&self) -> bool {
        self.segments.is_empty() && self.partial.is_empty()
    }

    /// Whether `path` lies in the pattern.
    pub fn covers(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        parts.len() > self.segments.len()
            && self.segments.iter().zip(&parts).all(|(s, p)| s.accepts(p))
            && parts[self.segments.len()].starts_with(&self.partial)
    }

    /// Whether some path lies in both patterns.
    pub fn overlaps(&self, other: &PathPattern) -> bool {
        let (short, long) = if self.segments.len() <= other.segments.len() {
            (self, other)
        } else {
            (other, self)
        };
        let n = short.segments.len();
        if !short
            .segments
            .iter()
            .zip(&long.segments)
            .all(|(a, b)| a.meets(b))
        {
            return false;
        }
        match long.segments.get(n) {
            // Same depth: one name start must lead to the other.
            None => {
                short.partial.starts_with(&long.partial) || long.partial.starts_with(&short.partial)
            }
            Some(Segment::Any) => true,
            Some(Segment::Is(s)) => s.starts_with(&short.partial),
        }
    }
}

/// Where a pipeline may write, in each area.
#[derive(Debug, Clone, Default)]
pub struct Writes {
    /// Declared by the pipeline file (else derived from the rules).
    pub declared: bool,
    pub public: Vec<PathPattern>,
    pub archive: Vec<PathPattern>,
}

impl Writes {
    pub fn patterns(&self, area: Area) -> &[PathPattern] {
        match area {
            Area::Public => &self.public,
            Area::Archive => &self.archive,
        }
    }

    /// Whether the pipeline may write `path` in `area`.
    pub fn covers(&self, area: Area, path: &str) -> bool {
        self.patterns(area).iter().any(|p| p.covers(path))
    }

    /// The patterns of an area, for messages.
    pub fn describe(&self, area: Area) -> String {
        let listed: Vec<String> = self.patterns(area).iter().map(|p| p.to_string()).collect();
        if listed.is_empty() {
            "nowhere".into()
        } else {
            listed.join(", ")
        }
    }
}

/// The text a template always starts with: everything before its first expression, tag or
/// comment (rendered paths are trimmed, so leading blanks do not count).
pub fn template_prefix(template: &Template) -> String {
    let source = template.source();
    let end = ["{{", "{%", "{#"]
        .iter()
        .filter_map(|open| source.find(open))
        .min()
        .unwrap_or(source.len());
    source[..end].trim_start().to_string()
}

/// Texts every match of an anchored pattern starts with one of (one empty text when the
/// pattern could start anyhow): `B/|UNITTEST/` gives both.
pub fn regex_prefixes(pattern: &TextRegex) -> Vec<String> {
    match regex_syntax::parse(pattern.as_str()) {
        Ok(hir) => hir_prefixes(&hir),
        Err(_) => vec![String::new()],
    }
}

/// [`regex_prefixes`] of a parsed pattern.
pub fn hir_prefixes(hir: &regex_syntax::hir::Hir) -> Vec<String> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let seq = Extractor::new()
        .kind(ExtractKind::Prefix)
        .limit_literal_len(1024)
        .extract(hir);
    // A prefix cut inside a character keeps only its whole characters.
    let text = |bytes: &[u8]| match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) => String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned(),
    };
    match seq.literals() {
        Some(literals) if !literals.is_empty() => {
            let mut all: Vec<String> = literals.iter().map(|l| text(l.as_bytes())).collect();
            all.sort();
            // `A/` already holds whatever starts `A/x`.
            let mut out: Vec<String> = Vec::new();
            for prefix in all {
                if !out.iter().any(|kept| prefix.starts_with(kept.as_str())) {
                    out.push(prefix);
                }
            }
            out
        }
        _ => vec![text(seq.longest_common_prefix().unwrap_or_default())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> PathPattern {
        PathPattern::parse(text).unwrap()
    }

    #[test]
    fn patterns_hold_the_paths_they_say() {
        let t = p("IMOS/ANMN/NRS/*/Temperature/");
        assert!(t.covers("IMOS/ANMN/NRS/NRSMAI/Temperature/a.nc"));
        assert!(t.covers("IMOS/ANMN/NRS/NRSMAI/Temperature/sub/a.nc"));
        assert!(!t.covers("IMOS/ANMN/NRS/NRSMAI/Biogeochem_profiles/a.nc"));
        assert!(
            !t.covers("IMOS/ANMN/NRS/NRSMAI/Temperature"),
            "the folder itself is no file in it"
        );
        assert!(!t.covers("IMOS/ANMN/NRS/Temperature/a.nc"));
        let partial = p("A/tables_");
        assert!(partial.covers("A/tables_1.csv") && !partial.covers("A/table.csv"));
        assert!(p("A/*").covers("A/x") && !p("A/*").covers("B/x"));
        let anywhere = PathPattern::literal("");
        assert!(anywhere.covers("x") && anywhere.covers("a/b/c"));
        assert!(anywhere.is_anywhere() && p("*").is_anywhere() && !p("A/").is_anywhere());
        assert_eq!(anywhere.to_string(), "anywhere");
        assert!(PathPattern::literal("A/fixed.nc").covers("A/fixed.nc"));
    }

    #[test]
    fn bad_patterns_say_why() {
        for (bad, why) in [
            ("", "anywhere"),
            ("/IMOS/", "leading"),
            ("A//B/", "empty segments"),
            ("A/../B/", "'..'"),
            ("A/x*/", "whole segment"),
            ("A/x*", "whole segment"),
        ] {
            assert!(
                PathPattern::parse(bad).unwrap_err().contains(why),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn overlaps_are_found_exactly() {
        let bgc = p("IMOS/ANMN/NRS/*/Biogeochem_profiles/");
        let temp = p("IMOS/ANMN/NRS/*/Temperature/");
        assert!(!bgc.overlaps(&temp) && !temp.overlaps(&bgc));
        let site = p("IMOS/ANMN/NRS/NRSMAI/");
        assert!(site.overlaps(&temp) && temp.overlaps(&site));
        let nrs = PathPattern::literal("IMOS/ANMN/NRS/");
        assert!(nrs.overlaps(&bgc));
        assert!(!PathPattern::literal("NOCHECK/").overlaps(&PathPattern::literal("ND/")));
        assert!(PathPattern::literal("A/t").overlaps(&PathPattern::literal("A/tables/")));
        assert!(!PathPattern::literal("A/x").overlaps(&PathPattern::literal("A/y/")));
        assert!(
            PathPattern::literal("").overlaps(&temp),
            "anywhere overlaps everything"
        );
        assert!(p("*/x/").overlaps(&p("A/*/")));
        assert!(!p("*/x/").overlaps(&p("A/y/")));
    }

    #[test]
    fn prefixes_come_from_the_literal_start() {
        let t = Template::compile("IMOS/ANMN/NRS/{{ attrs.site_code }}/{{ name }}").unwrap();
        assert_eq!(template_prefix(&t), "IMOS/ANMN/NRS/");
        let t = Template::compile("  X/{% if name %}a{% endif %}").unwrap();
        assert_eq!(template_prefix(&t), "X/");
        let t = Template::compile("{{ name }}").unwrap();
        assert_eq!(template_prefix(&t), "");
        let anchored = |s: &str| TextRegex::new(format!("^(?:{s})"));
        assert_eq!(
            regex_prefixes(&anchored("IMOS/ANMN/NRS/")),
            ["IMOS/ANMN/NRS/"]
        );
        assert_eq!(
            regex_prefixes(&anchored(r"IMOS/(ANMN|ABOS)/")),
            ["IMOS/ABOS/", "IMOS/ANMN/"]
        );
        assert_eq!(
            regex_prefixes(&anchored(r"B/|UNITTEST/")),
            ["B/", "UNITTEST/"]
        );
        assert_eq!(regex_prefixes(&anchored(r"A\.b/x?")), ["A.b/"]);
        assert_eq!(regex_prefixes(&anchored(r".*")), [""]);
    }
}
