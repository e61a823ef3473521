//! Fuzzy string matching exactly as the reference scores it: fuzzywuzzy 0.18.0's
//! `process.extractOne` with its defaults (processor `utils.full_process`, scorer `fuzz.WRatio`),
//! on the pure-Python `difflib.SequenceMatcher` (aodndata installs fuzzywuzzy without
//! python-Levenshtein, so fuzzywuzzy falls back to difflib).
//!
//! Every step is the reference's, because a score one point off moves a match across a cutoff:
//! `full_process` replaces each character that is not a Unicode letter, number or `_` by one space
//! (no collapsing), lower-cases and strips; with `force_ascii` it first deletes the characters
//! U+0080–U+00FF (and only those, as `asciidammit` does on a Python 3 `str`). `extractOne` processes
//! the query twice (once by the processor, once by the scorer's pre-processor with `force_ascii`)
//! and each choice once, keeps scores at or above the cutoff and returns the first best.
//! Scores are rounded with Python's `round` (half to even), on the same double products.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// `utils.full_process`.
pub fn full_process(s: &str, force_ascii: bool) -> String {
    static NON_WORD: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[^\p{L}\p{N}_]").expect("valid pattern"));
    let ascii: String;
    let s = if force_ascii {
        ascii = s
            .chars()
            .filter(|c| !('\u{80}'..='\u{ff}').contains(c))
            .collect();
        ascii.as_str()
    } else {
        s
    };
    NON_WORD
        .replace_all(s, " ")
        .to_lowercase()
        .trim_matches(' ')
        .to_string()
}

/// `utils.intr`: Python's `int(round(n))`.
fn intr(n: f64) -> u32 {
    n.round_ties_even() as u32
}

/// difflib's `SequenceMatcher(None, a, b)`: the matching blocks, sentinel `(len a, len b, 0)`
/// included.
fn matching_blocks(a: &[char], b: &[char]) -> Vec<(usize, usize, usize)> {
    // chain_b: b's elements to their indices; with autojunk, elements of a b of 200 or more
    // that occur more than 1 % (+1) of the time are "popular" and left out.
    let mut b2j: HashMap<char, Vec<usize>> = HashMap::new();
    for (j, c) in b.iter().enumerate() {
        b2j.entry(*c).or_default().push(j);
    }
    if b.len() >= 200 {
        let ntest = b.len() / 100 + 1;
        b2j.retain(|_, idx| idx.len() <= ntest);
    }
    let longest = |alo: usize, ahi: usize, blo: usize, bhi: usize| {
        let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0usize);
        let mut j2len: HashMap<usize, usize> = HashMap::new();
        for (i, ai) in a.iter().enumerate().take(ahi).skip(alo) {
            let mut newj2len = HashMap::new();
            if let Some(js) = b2j.get(ai) {
                for &j in js {
                    if j < blo {
                        continue;
                    }
                    if j >= bhi {
                        break;
                    }
                    let k = j.checked_sub(1).and_then(|p| j2len.get(&p)).unwrap_or(&0) + 1;
                    newj2len.insert(j, k);
                    if k > bestsize {
                        (besti, bestj, bestsize) = (i + 1 - k, j + 1 - k, k);
                    }
                }
            }
            j2len = newj2len;
        }
        // No junk (isjunk is None): extend over equal elements, popular ones included.
        while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
            (besti, bestj, bestsize) = (besti - 1, bestj - 1, bestsize + 1);
        }
        while besti + bestsize < ahi
            && bestj + bestsize < bhi
            && a[besti + bestsize] == b[bestj + bestsize]
        {
            bestsize += 1;
        }
        (besti, bestj, bestsize)
    };
    let mut queue = vec![(0, a.len(), 0, b.len())];
    let mut blocks = Vec::new();
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = longest(alo, ahi, blo, bhi);
        if k > 0 {
            blocks.push((i, j, k));
            if alo < i && blo < j {
                queue.push((alo, i, blo, j));
            }
            if i + k < ahi && j + k < bhi {
                queue.push((i + k, ahi, j + k, bhi));
            }
        }
    }
    blocks.sort_unstable();
    let mut out = Vec::new();
    let (mut i1, mut j1, mut k1) = (0, 0, 0);
    for (i2, j2, k2) in blocks {
        if i1 + k1 == i2 && j1 + k1 == j2 {
            k1 += k2;
        } else {
            if k1 > 0 {
                out.push((i1, j1, k1));
            }
            (i1, j1, k1) = (i2, j2, k2);
        }
    }
    if k1 > 0 {
        out.push((i1, j1, k1));
    }
    out.push((a.len(), b.len(), 0));
    out
}

/// `SequenceMatcher.ratio()`.
fn sm_ratio(a: &[char], b: &[char]) -> f64 {
    let matches: usize = matching_blocks(a, b).iter().map(|m| m.2).sum();
    let length = a.len() + b.len();
    if length == 0 {
        1.0
    } else {
        2.0 * matches as f64 / length as f64
    }
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// `fuzz.ratio` (with its decorators: equal → 100, an empty string → 0).
pub fn ratio(s1: &str, s2: &str) -> u32 {
    if s1 == s2 {
        return 100;
    }
    if s1.is_empty() || s2.is_empty() {
        return 0;
    }
    intr(100.0 * sm_ratio(&chars(s1), &chars(s2)))
}

/// `fuzz.partial_ratio`: the best ratio of the shorter string against the windows of the longer
/// one that the matching blocks point at.
pub fn partial_ratio(s1: &str, s2: &str) -> u32 {
    if s1 == s2 {
        return 100;
    }
    if s1.is_empty() || s2.is_empty() {
        return 0;
    }
    let (c1, c2) = (chars(s1), chars(s2));
    let (shorter, longer) = if c1.len() <= c2.len() {
        (c1, c2)
    } else {
        (c2, c1)
    };
    let mut best = 0.0f64;
    for (i, j, _) in matching_blocks(&shorter, &longer) {
        let start = j.saturating_sub(i);
        let end = (start + shorter.len()).min(longer.len());
        let window = &longer[start.min(longer.len())..end];
        let r = sm_ratio(&shorter, window);
        if r > 0.995 {
            return 100;
        }
        best = best.max(r);
    }
    intr(100.0 * best)
}

/// `_process_and_sort` on an already processed string: its tokens sorted, joined by a space.
fn sorted_tokens(s: &str) -> String {
    let mut tokens: Vec<&str> = s.split_whitespace().collect();
    tokens.sort_unstable();
    tokens.join(" ")
}

/// `_token_sort(…, full_process=False)`.
fn token_sort(p1: &str, p2: &str, partial: bool) -> u32 {
    let (a, b) = (sorted_tokens(p1), sorted_tokens(p2));
    if partial {
        partial_ratio(&a, &b)
    } else {
        ratio(&a, &b)
    }
}

/// `_token_set(…, full_process=False)`.
fn token_set(p1: &str, p2: &str, partial: bool) -> u32 {
    if p1 == p2 {
        return 100;
    }
    if p1.is_empty() || p2.is_empty() {
        return 0;
    }
    let t1: std::collections::BTreeSet<&str> = p1.split_whitespace().collect();
    let t2: std::collections::BTreeSet<&str> = p2.split_whitespace().collect();
    let join = |it: Vec<&str>| it.join(" ");
    let sect = join(t1.intersection(&t2).copied().collect());
    let d1 = join(t1.difference(&t2).copied().collect());
    let d2 = join(t2.difference(&t1).copied().collect());
    let combined_1to2 = format!("{sect} {d1}").trim().to_string();
    let combined_2to1 = format!("{sect} {d2}").trim().to_string();
    let sect = sect.trim().to_string();
    let f = if partial { partial_ratio } else { ratio };
    [
        f(&sect, &combined_1to2),
        f(&sect, &combined_2to1),
        f(&combined_1to2, &combined_2to1),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

/// `fuzz.WRatio(p1, p2, full_process=False)` on processed strings.
pub fn wratio(p1: &str, p2: &str) -> u32 {
    if p1.is_empty() || p2.is_empty() {
        return 0;
    }
    let unbase_scale = 0.95;
    let mut partial_scale = 0.90;
    let base = f64::from(ratio(p1, p2));
    let (l1, l2) = (p1.chars().count() as f64, p2.chars().count() as f64);
    let len_ratio = l1.max(l2) / l1.min(l2);
    if len_ratio > 8.0 {
        partial_scale = 0.6;
    }
    if len_ratio >= 1.5 {
        let partial = f64::from(partial_ratio(p1, p2)) * partial_scale;
        let ptsor = f64::from(token_sort(p1, p2, true)) * unbase_scale * partial_scale;
        let ptser = f64::from(token_set(p1, p2, true)) * unbase_scale * partial_scale;
        intr(base.max(partial).max(ptsor).max(ptser))
    } else {
        let tsor = f64::from(token_sort(p1, p2, false)) * unbase_scale;
        let tser = f64::from(token_set(p1, p2, false)) * unbase_scale;
        intr(base.max(tsor).max(tser))
    }
}

/// `process.extractOne(query, choices, score_cutoff=cutoff)`: the first choice with the best
/// score at or above the cutoff, with its score.
pub fn extract_one<'a>(query: &str, choices: &[&'a str], cutoff: u32) -> Option<(&'a str, u32)> {
    let processed_query = full_process(&full_process(query, false), true);
    let mut best: Option<(&str, u32)> = None;
    for choice in choices {
        let score = wratio(&processed_query, &full_process(choice, true));
        if score >= cutoff && best.is_none_or(|(_, s)| score > s) {
            best = Some((choice, score));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processing_keeps_letters_numbers_and_underscores() {
        assert_eq!(full_process("L'Astrolabe", true), "l astrolabe");
        assert_eq!(full_process("  Seatrade-Red ", true), "seatrade red");
        assert_eq!(full_process("a__b!!c", true), "a__b  c");
        assert_eq!(full_process("Café", true), "caf");
        assert_eq!(full_process("Café", false), "café");
    }

    /// Scores printed by fuzzywuzzy 0.18.0 on difflib (no python-Levenshtein):
    /// `fuzz.ratio(a, b)`, `fuzz.partial_ratio(a, b)`, `fuzz.WRatio(a, b, full_process=False)`.
    #[test]
    fn scores_are_fuzzywuzzys() {
        let long = "the quick brown fox jumps over the lazy dog ".repeat(6);
        let (abcab, ba) = ("abcab".repeat(20), "ba".repeat(120));
        let (od, dd) = ("ocean data ".repeat(3), "data ocean ".repeat(25));
        for (a, b, r, pr, w) in [
            ("l astrolabe", "astrolabe", 90, 100, 95),
            ("lastrolabe x", "astrolabe", 86, 100, 86),
            ("seatrade red", "seatrade blue", 80, 75, 80),
            ("spirit of tasmania", "spirit of tasmania 1", 95, 100, 95),
            ("highland chief", "chief highland", 57, 73, 95),
            ("abcdefghij", "xabcdefghijy", 91, 100, 91),
            ("astro", "astrolabe", 71, 100, 90),
            ("a", "highland chief", 13, 100, 60),
            ("new york", "new york mets", 76, 100, 90),
            ("pacific sun", "pacific sunrise sea", 73, 100, 90),
            ("investigator", "investigator ii", 89, 100, 95),
            ("oocl houston", "oocl hong kong", 69, 67, 69),
            // Long enough for difflib's autojunk to leave out popular characters.
            ("the quick brown fox", long.as_str(), 13, 100, 60),
            (abcab.as_str(), ba.as_str(), 0, 79, 71),
            (od.as_str(), dd.as_str(), 0, 85, 57),
        ] {
            assert_eq!(ratio(a, b), r, "ratio({a:?}, {b:?})");
            assert_eq!(partial_ratio(a, b), pr, "partial_ratio({a:?}, {b:?})");
            assert_eq!(wratio(a, b), w, "WRatio({a:?}, {b:?})");
        }
    }

    /// `process.extractOne(query, names)` and with `score_cutoff=86`, printed by fuzzywuzzy
    /// 0.18.0 on the names of examples/imos/vocabularies/vessels.csv, in its order.
    #[test]
    fn extract_one_is_fuzzywuzzys() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/imos/vocabularies/vessels.csv"
        ))
        .unwrap();
        let names: Vec<&str> = text
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').nth(1))
            .collect();
        for (query, name, score) in [
            ("L'Astrolabe", "Astrolabe", 95),
            ("'LAstrolabe\\x", "Astrolabe", 86),
            ("LAstrolabe\\x", "Astrolabe", 86),
            ("Seatrade Red", "Seatrade-Red", 100),
            ("Investigator", "Investigator", 100),
            ("L'Astrolab", "Astrolabe", 84),
            ("OOCL Houston", "OOCL-Houston", 100),
            ("southern surveyor", "Southern-Surveyor", 100),
            ("Café du Port", "CMA-CGM-Orchid", 48),
            ("ÆØÅ test", "Everest", 68),
            ("Spirit of Tasmania", "Spirit-of-Tasmania-1", 95),
            ("Tropical Isl", "Tropical-Islander", 83),
            ("Astro", "Astrolabe", 90),
            // Ties go to the first name.
            ("a", "M-Sagar", 90),
        ] {
            assert_eq!(
                extract_one(query, &names, 0),
                Some((name, score)),
                "{query}"
            );
            let cut = extract_one(query, &names, 86);
            assert_eq!(cut, (score >= 86).then_some((name, score)), "{query}");
        }
    }
}
