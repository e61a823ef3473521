//! A regular expression with Python's Unicode semantics that is compiled for ASCII text first,
//! because a job runs once per process and compiling Unicode classes is most of a pattern's cost.
//!
//! The reference's patterns are Python `re` patterns on `str`: `\d`, `\w`, `\s`, `\b` and `.` are
//! Unicode-aware. The `regex` crate gives the same semantics, but compiling a Unicode class builds
//! its UTF-8 automaton (about 200,000 instructions for each `\d`, several times that for `\w`),
//! and `\d{8}` compiles the class eight times: a handful of such patterns cost more than the rest
//! of an ordinary check. Almost all text a job matches (file names, attribute values, object
//! keys) is ASCII, and for an ASCII pattern on an ASCII haystack the ASCII and Unicode meanings of
//! every class, boundary and case-insensitive match agree. So a [`TextRegex`] matches ASCII text
//! with the pattern compiled with Unicode off (over bytes, which the ASCII text is), compiled on
//! first use, and anything else with the Unicode compilation, also compiled on first use; a
//! pattern that cannot be compiled without Unicode (`\p{…}`) always uses the Unicode one.
//!
//! Short ASCII text (attribute values, names, keys: up to [`SHORT_TEXT`] bytes) takes a third
//! compilation, made without the lazy DFAs: a pattern is matched a handful of times per process,
//! and a lazy DFA, which pays off over long text, spends its first match building a state for
//! almost every byte it reads, after a compilation that also builds the pattern's reverse. The
//! NFA engines (one-pass, bounded backtracking, PikeVM) compile in about half the time and match
//! a few hundred bytes in microseconds; longer ASCII text, which could make them slow, gets the
//! DFA compilation above. All three give the leftmost-first match of the same pattern.

use std::ops::Index;
use std::sync::{Arc, OnceLock};

use regex_automata::meta;

/// The longest ASCII text matched by the compilation without DFAs (see the module docs): 4 KiB
/// keeps a PikeVM's worst case (text × pattern states) to a fraction of a millisecond for the
/// patterns a pipeline or a suite has.
pub const SHORT_TEXT: usize = 4096;

/// One pattern, compiled lazily for ASCII and for Unicode haystacks (see the module docs).
pub struct TextRegex {
    pattern: String,
    /// For ASCII text up to [`SHORT_TEXT`] bytes: compiled without Unicode and without DFAs.
    /// `None` inside: the pattern is not ASCII or needs Unicode (as for `ascii`).
    short: OnceLock<Option<meta::Regex>>,
    /// For longer ASCII text. `None` inside: the pattern is not ASCII or needs Unicode; every
    /// haystack takes `unicode`.
    ascii: OnceLock<Option<regex::bytes::Regex>>,
    unicode: OnceLock<regex::Regex>,
    /// Group names by index, the same for both compilations.
    names: OnceLock<Arc<[Option<String>]>>,
}

impl TextRegex {
    /// A pattern known to be valid (a built-in one): compiling is deferred to the first match,
    /// which panics on an invalid pattern. Tests compile every built-in pattern.
    pub fn new(pattern: impl Into<String>) -> TextRegex {
        TextRegex {
            pattern: pattern.into(),
            short: OnceLock::new(),
            ascii: OnceLock::new(),
            unicode: OnceLock::new(),
            names: OnceLock::new(),
        }
    }

    /// A pattern someone wrote (a pipeline file's `keys`, `include`, …): its syntax is checked now,
    /// by the parser the compilation uses with the compilation's settings, so a mistake is
    /// reported where the pattern is written; compiling waits for the first match. A job uses a
    /// few of a pipeline file's hundreds of patterns, and compiling them all cost more than the
    /// rest of an ordinary job (BENCHMARKS.md). The one failure parsing cannot foresee, a
    /// compilation over the size limit, is what [`TextRegex::compile`] reports. The error is the
    /// compilation's message for the same pattern.
    pub fn checked(pattern: impl Into<String>) -> Result<TextRegex, String> {
        let pattern = pattern.into();
        let hir = regex_syntax::Parser::new()
            .parse(&pattern)
            .map_err(|e| e.to_string())?;
        let re = TextRegex::new(pattern);
        // The groups are known from the parse: naming them compiles nothing.
        let mut names = vec![None];
        group_names(&hir, &mut names);
        let _ = re.names.set(names.into());
        Ok(re)
    }

    /// The name of each group by index (group 0, the whole match, has none).
    pub fn capture_names(&self) -> Arc<[Option<String>]> {
        if let Some(names) = self.names.get() {
            return names.clone();
        }
        match self.short() {
            Some(re) => self.names(
                re.group_info()
                    .pattern_names(regex_automata::PatternID::ZERO),
            ),
            None => self.names(self.unicode().capture_names()),
        }
    }

    /// Compiles the pattern now, for every haystack it may meet, or says why it cannot be (for
    /// `pipelines validate`, which answers for every pattern before a job meets one).
    pub fn compile(&self) -> Result<(), regex::Error> {
        self.short();
        self.ascii();
        if self.unicode.get().is_none() {
            let _ = self.unicode.set(regex::Regex::new(&self.pattern)?);
        }
        Ok(())
    }

    /// Whether either compilation has been made (for tests of what compiles when).
    #[cfg(test)]
    pub(crate) fn compiled(&self) -> bool {
        self.short.get().is_some() || self.ascii.get().is_some() || self.unicode.get().is_some()
    }

    fn names<'n>(&self, names: impl Iterator<Item = Option<&'n str>>) -> Arc<[Option<String>]> {
        self.names
            .get_or_init(|| names.map(|n| n.map(str::to_string)).collect())
            .clone()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    fn short(&self) -> Option<&meta::Regex> {
        self.short
            .get_or_init(|| {
                if !self.pattern.is_ascii() {
                    return None;
                }
                // The settings of `regex::bytes` with Unicode off (which `ascii` uses), less the
                // lazy and full DFAs.
                meta::Builder::new()
                    .syntax(
                        regex_automata::util::syntax::Config::new()
                            .unicode(false)
                            .utf8(false),
                    )
                    .configure(
                        meta::Config::new()
                            .utf8_empty(false)
                            .hybrid(false)
                            .dfa(false),
                    )
                    .build(&self.pattern)
                    .ok()
            })
            .as_ref()
    }

    fn ascii(&self) -> Option<&regex::bytes::Regex> {
        self.ascii
            .get_or_init(|| {
                if !self.pattern.is_ascii() {
                    return None;
                }
                regex::bytes::RegexBuilder::new(&self.pattern)
                    .unicode(false)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    fn unicode(&self) -> &regex::Regex {
        self.unicode.get_or_init(|| {
            regex::Regex::new(&self.pattern)
                .unwrap_or_else(|e| panic!("pattern {:?} cannot be compiled: {e}", self.pattern))
        })
    }

    /// The compilation that serves `haystack` (see the module docs).
    fn engine(&self, haystack: &str) -> Engine<'_> {
        if haystack.is_ascii() {
            let found = if haystack.len() <= SHORT_TEXT {
                self.short().map(Engine::Short)
            } else {
                self.ascii().map(Engine::Ascii)
            };
            if let Some(engine) = found {
                return engine;
            }
        }
        Engine::Unicode(self.unicode())
    }

    /// Whether the pattern matches anywhere in `haystack`.
    pub fn is_match(&self, haystack: &str) -> bool {
        match self.engine(haystack) {
            Engine::Short(re) => re.is_match(haystack.as_bytes()),
            Engine::Ascii(re) => re.is_match(haystack.as_bytes()),
            Engine::Unicode(re) => re.is_match(haystack),
        }
    }

    /// The leftmost-first match: `(start, end)` byte offsets into `haystack`.
    pub fn find(&self, haystack: &str) -> Option<(usize, usize)> {
        match self.engine(haystack) {
            Engine::Short(re) => re.find(haystack.as_bytes()).map(|m| (m.start(), m.end())),
            Engine::Ascii(re) => re.find(haystack.as_bytes()).map(|m| (m.start(), m.end())),
            Engine::Unicode(re) => re.find(haystack).map(|m| (m.start(), m.end())),
        }
    }

    /// The groups of the leftmost-first match.
    pub fn captures<'h>(&self, haystack: &'h str) -> Option<Captures<'h>> {
        match self.engine(haystack) {
            Engine::Short(re) => {
                let mut caps = re.create_captures();
                re.captures(haystack.as_bytes(), &mut caps);
                caps.is_match()
                    .then(|| self.short_captures(re, haystack, &caps))
            }
            Engine::Ascii(re) => re.captures(haystack.as_bytes()).map(|c| {
                Captures::new(haystack, c.iter().map(span), self.names(re.capture_names()))
            }),
            Engine::Unicode(re) => re.captures(haystack).map(|c| {
                Captures::new(haystack, c.iter().map(span), self.names(re.capture_names()))
            }),
        }
    }

    /// The groups of every successive non-overlapping match.
    pub fn captures_iter<'h>(&self, haystack: &'h str) -> Vec<Captures<'h>> {
        match self.engine(haystack) {
            Engine::Short(re) => re
                .captures_iter(haystack.as_bytes())
                .map(|c| self.short_captures(re, haystack, &c))
                .collect(),
            Engine::Ascii(re) => re
                .captures_iter(haystack.as_bytes())
                .map(|c| {
                    Captures::new(haystack, c.iter().map(span), self.names(re.capture_names()))
                })
                .collect(),
            Engine::Unicode(re) => re
                .captures_iter(haystack)
                .map(|c| {
                    Captures::new(haystack, c.iter().map(span), self.names(re.capture_names()))
                })
                .collect(),
        }
    }

    fn short_captures<'h>(
        &self,
        re: &meta::Regex,
        haystack: &'h str,
        caps: &regex_automata::util::captures::Captures,
    ) -> Captures<'h> {
        let spans = (0..caps.group_len()).map(|i| caps.get_group(i).map(|s| (s.start, s.end)));
        let names = re
            .group_info()
            .pattern_names(regex_automata::PatternID::ZERO);
        Captures::new(haystack, spans, self.names(names))
    }
}

/// One of a pattern's compilations, chosen by the text it is to match.
enum Engine<'r> {
    Short(&'r meta::Regex),
    Ascii(&'r regex::bytes::Regex),
    Unicode(&'r regex::Regex),
}

/// Puts each group's name at its index, as the compilation numbers them: in the order their
/// opening parentheses come.
fn group_names(hir: &regex_syntax::hir::Hir, names: &mut Vec<Option<String>>) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Capture(c) => {
            let i = c.index as usize;
            if names.len() <= i {
                names.resize(i + 1, None);
            }
            names[i] = c.name.as_deref().map(str::to_string);
            group_names(&c.sub, names);
        }
        HirKind::Repetition(r) => group_names(&r.sub, names),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().for_each(|h| group_names(h, names))
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {}
    }
}

/// A match's byte span, whichever compilation found it.
fn span<M: Span>(m: Option<M>) -> Option<(usize, usize)> {
    m.map(|m| m.span())
}

trait Span {
    fn span(&self) -> (usize, usize);
}

impl Span for regex::Match<'_> {
    fn span(&self) -> (usize, usize) {
        (self.start(), self.end())
    }
}

impl Span for regex::bytes::Match<'_> {
    fn span(&self) -> (usize, usize) {
        (self.start(), self.end())
    }
}

impl std::fmt::Debug for TextRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TextRegex").field(&self.pattern).finish()
    }
}

/// The groups of one match, by index and by name, as slices of the haystack.
#[derive(Debug)]
pub struct Captures<'h> {
    haystack: &'h str,
    /// Byte span of each group, group 0 the whole match.
    spans: Vec<Option<(usize, usize)>>,
    /// Group names, by index.
    names: Arc<[Option<String>]>,
}

impl<'h> Captures<'h> {
    fn new(
        haystack: &'h str,
        spans: impl Iterator<Item = Option<(usize, usize)>>,
        names: Arc<[Option<String>]>,
    ) -> Self {
        Captures {
            haystack,
            spans: spans.collect(),
            names,
        }
    }

    /// Group `i` (0: the whole match), if it took part in the match.
    pub fn get(&self, i: usize) -> Option<&'h str> {
        let (s, e) = (*self.spans.get(i)?)?;
        Some(&self.haystack[s..e])
    }

    /// Every group in order (0: the whole match): its name, if it has one, and its text, if it
    /// took part in the match.
    pub fn iter(&self) -> impl Iterator<Item = (Option<&str>, Option<&'h str>)> + '_ {
        (0..self.spans.len()).map(|i| (self.names.get(i).and_then(Option::as_deref), self.get(i)))
    }

    /// The named group, if it took part in the match.
    pub fn name(&self, name: &str) -> Option<&'h str> {
        let i = self.names.iter().position(|n| n.as_deref() == Some(name))?;
        self.get(i)
    }
}

impl Index<usize> for Captures<'_> {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        self.get(i)
            .unwrap_or_else(|| panic!("group {i} did not take part in the match"))
    }
}

impl Index<&str> for Captures<'_> {
    type Output = str;
    fn index(&self, name: &str) -> &str {
        self.name(name)
            .unwrap_or_else(|| panic!("group {name:?} did not take part in the match"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way a pattern can read a class agrees between the two compilations on ASCII text,
    /// and non-ASCII text still gets Python's Unicode meaning.
    #[test]
    fn ascii_text_matches_as_unicode_and_other_text_keeps_unicode_semantics() {
        let cases: &[(&str, &[&str])] = &[
            (
                r"^\d{8}T\d{6}Z$",
                &["20200101T000000Z", "2020010T000000Z", "٢٠٢٠٠١٠١T000000Z"],
            ),
            (
                r"^(?:area|volume): (\w+)$",
                &["area: cell_area", "area: cellé", "area: a b"],
            ),
            (r"(?i)^kelvin$", &["KELVIN", "\u{212A}elvin", "kelvin"]),
            (r"\bUTC\b", &["time in UTC.", "xUTC", "é UTC é"]),
            (
                r"\A(?:.*CF.*(S|s)tandard)",
                &["CF Standard", "CF\nStandard", "é CF standard"],
            ),
            (r"\s+", &["a\x0bb", "a\u{a0}b", "ab"]),
            // Alternatives, empty and lazy groups: the engines agree on leftmost-first groups.
            (r"(a)|(?P<b>b)|((?P<c>c)(d))", &["xabcdcd", "dc", ""]),
            (
                r"^(?P<p>[A-Z]+)_(?:(?P<q>[^_]+)_)??FV(?P<v>\d{2})(?:_(?P<r>.+?))??\.nc$",
                &["IMOS_NRSROT_FV01_X_Y.nc", "IMOS_FV00.nc", "IMOS_FV1.nc"],
            ),
            (
                r"\A(.*[0-9]:[0-9]{1,2})\s*([+-])([0-9]{1,2})(?::?([0-9]{2}))?\z",
                &["2018-08-10T04:43 +10:00", "04:43-0930", "T04:43Z"],
            ),
            (r"\p{Greek}", &["α", "a"]),
        ];
        for (pattern, haystacks) in cases {
            let ours = TextRegex::new(*pattern);
            let theirs = regex::Regex::new(pattern).unwrap();
            // Each text also as long text (past SHORT_TEXT), which takes another compilation:
            // repeated, and with it at the end of a long line.
            let long = |h: &str| {
                let times = SHORT_TEXT / h.len().max(1) + 2;
                [h.repeat(times), format!("{}{h}", "x ".repeat(SHORT_TEXT))]
            };
            let all: Vec<String> = haystacks
                .iter()
                .flat_map(|h| std::iter::once(h.to_string()).chain(long(h)))
                .collect();
            for h in &all {
                let h = h.as_str();
                assert_eq!(ours.is_match(h), theirs.is_match(h), "{pattern} on {h:?}");
                assert_eq!(
                    ours.find(h),
                    theirs.find(h).map(|m| (m.start(), m.end())),
                    "{pattern} on {h:?}"
                );
                let expected: Vec<Vec<Option<&str>>> = theirs
                    .captures_iter(h)
                    .map(|c| (0..c.len()).map(|i| c.get(i).map(|m| m.as_str())).collect())
                    .collect();
                let got: Vec<Vec<Option<&str>>> = ours
                    .captures_iter(h)
                    .iter()
                    .map(|c| (0..c.spans.len()).map(|i| c.get(i)).collect())
                    .collect();
                assert_eq!(got, expected, "{pattern} on {h:?}");
            }
        }
    }

    #[test]
    fn a_checked_pattern_compiles_nothing_until_it_matches_and_names_its_groups_as_compiled() {
        for pattern in [
            r"^(?:IMOS_(?P<facility>[A-Z]+)_(\d{8})(?:_(?P<part>PART\d+))?\.nc)",
            r"(a)|(?P<b>b)|((?P<c>c)(d))",
            r"(?x) (?P<x> [a-z]+ ) # a comment (not a group)
                   (?: y (?P<z>z)* )+",
            r"no groups at all",
        ] {
            let re = TextRegex::checked(pattern).unwrap();
            assert!(!re.compiled());
            let compiled: Vec<Option<String>> = regex::Regex::new(pattern)
                .unwrap()
                .capture_names()
                .map(|n| n.map(str::to_string))
                .collect();
            assert_eq!(*re.capture_names(), *compiled, "{pattern}");
            assert!(!re.compiled(), "naming the groups compiled {pattern}");
        }
        let re = TextRegex::checked(r"^(?P<stem>.+)\.nc$").unwrap();
        assert_eq!(re.captures("a.nc").unwrap().name("stem"), Some("a"));
        assert!(re.compile().is_ok() && re.unicode.get().is_some());
    }

    #[test]
    fn a_checked_pattern_reports_what_compiling_it_would() {
        for bad in [
            "(",
            "a{2,1}",
            "(?P<n>a)(?P<n>b)",
            r"\p{NotAProperty}",
            "[z-a]",
        ] {
            let ours = TextRegex::checked(bad).err().map(|e| e.to_string());
            let compiled = regex::Regex::new(bad).err().map(|e| e.to_string());
            assert!(ours.is_some(), "{bad} is refused");
            assert_eq!(ours, compiled, "{bad}");
        }
        // Parsing cannot see the compiled size; compiling now can, and does not panic.
        let huge = TextRegex::checked(r"\w{1000}").expect("the syntax is fine");
        let e = huge.compile().expect_err("over the size limit");
        assert!(e.to_string().contains("size limit"), "{e}");
    }

    #[test]
    fn short_ascii_text_long_ascii_text_and_other_text_each_take_their_compilation() {
        let re = TextRegex::new(r"(?P<year>\d{4})$");
        assert_eq!(re.captures("2020").unwrap().name("year"), Some("2020"));
        assert!(re.short.get().is_some() && re.ascii.get().is_none() && re.unicode.get().is_none());
        let long = format!("{}2021", " ".repeat(SHORT_TEXT));
        assert_eq!(re.captures(&long).unwrap().name("year"), Some("2021"));
        assert!(re.ascii.get().is_some() && re.unicode.get().is_none());
        assert_eq!(re.captures("٢٠٢٠").unwrap()["year"], *"٢٠٢٠");
        assert!(re.unicode.get().is_some());
        // Exactly SHORT_TEXT bytes is short text.
        let edge = TextRegex::new(r"b$");
        assert!(edge.is_match(&format!("{}b", "a".repeat(SHORT_TEXT - 1))));
        assert!(edge.short.get().is_some() && edge.ascii.get().is_none());
        // A pattern that needs Unicode never gets an ASCII compilation.
        let greek = TextRegex::new(r"\p{Greek}+");
        assert!(!greek.is_match("abc"));
        assert!(!greek.is_match(&"abc".repeat(SHORT_TEXT)));
        assert!(matches!(greek.short.get(), Some(None)));
        assert!(matches!(greek.ascii.get(), Some(None)));
    }
}
