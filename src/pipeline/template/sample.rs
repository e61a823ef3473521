//! A sample file name for a rule, made from its own `include` pattern (the first alternative of
//! each choice, the fewest repetitions, a letter or digit for each class), so `pipelines
//! validate` can render every template of the rule on a name the rule really claims, and
//! `pipelines list` can show where such a file goes.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// A name the pattern matches from its start, or `None` when the pattern is too unusual to
/// sample. The caller checks the name against the rule (include and exclude).
pub fn sample_name(pattern: &str) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()?;
    let mut out = String::new();
    write(&hir, &mut out)?;
    Some(out)
}

fn write(hir: &Hir, out: &mut String) -> Option<()> {
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Literal(l) => out.push_str(std::str::from_utf8(&l.0).ok()?),
        HirKind::Class(Class::Unicode(c)) => {
            let ranges: Vec<(char, char)> =
                c.ranges().iter().map(|r| (r.start(), r.end())).collect();
            out.push(pick(&ranges)?);
        }
        HirKind::Class(Class::Bytes(c)) => {
            let ranges: Vec<(char, char)> = c
                .ranges()
                .iter()
                .filter(|r| r.start().is_ascii())
                .map(|r| (r.start() as char, (r.end().min(127)) as char))
                .collect();
            out.push(pick(&ranges)?);
        }
        HirKind::Look(Look::Start | Look::End | Look::StartLF | Look::EndLF) => {}
        HirKind::Look(_) => {}
        HirKind::Repetition(r) => {
            // At least once where allowed: a sample with `.*` empty is a poor name, and
            // optional parts are usually what a path depends on.
            let n = r.min.max(u32::from(r.max.is_none_or(|m| m > 0)).min(1));
            for _ in 0..n {
                write(&r.sub, out)?;
            }
        }
        HirKind::Capture(c) => write(&c.sub, out)?,
        HirKind::Concat(parts) => {
            for p in parts {
                write(p, out)?;
            }
        }
        HirKind::Alternation(alts) => write(alts.first()?, out)?,
    }
    Some(())
}

/// A printable, path-safe character from a class: a letter, then a digit, then anything
/// printable but a slash.
fn pick(ranges: &[(char, char)]) -> Option<char> {
    let has = |c: char| ranges.iter().any(|&(a, b)| a <= c && c <= b);
    ('A'..='Z')
        .chain('a'..='z')
        .chain('0'..='9')
        .chain(['-', '_', '.'])
        .find(|&c| has(c))
        .or_else(|| {
            ranges
                .iter()
                .flat_map(|&(a, b)| (a..=b).take(128))
                .find(|c| !c.is_control() && *c != '/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_match_their_pattern() {
        for p in [
            r"IMOS_ACORN_[A-Z].*_\d{8}T\d{6}Z_[A-Z]{3,4}_FV01_wavep\.nc$",
            r"(?P<inst>BOM|DOT-WA)_(?P<d>\d{8})_.*\.nc$",
            r"SSTAARS_daily_fit_[0-9]{3}\.nc$",
            r".*CARS(?P<year>\d+)_.*\.nc",
        ] {
            let s = sample_name(p).unwrap();
            let re = regex::Regex::new(&format!("^(?:{p})")).unwrap();
            assert!(re.is_match(&s), "{p} → {s}");
        }
    }
}
