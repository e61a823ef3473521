//! Splits an embedded table's text into rows or columns at a byte, with memchr: the tables are
//! read once per job, and `str::lines` / `split` cost more than the rest of reading them.

/// The pieces of `text` between occurrences of `at` (a final piece after the last one too), each
/// with the byte offset where it starts.
pub(crate) fn split_at(text: &str, at: u8) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    memchr::memchr_iter(at, text.as_bytes())
        .chain(std::iter::once(text.len()))
        .map(move |end| {
            let piece = (start, &text[start..end]);
            start = end + 1;
            piece
        })
}

/// The piece of `text` before the first `at` (all of it when there is none).
pub(crate) fn before(text: &str, at: u8) -> &str {
    &text[..memchr::memchr(at, text.as_bytes()).unwrap_or(text.len())]
}

/// `text` split at its first `at`, that byte dropped.
pub(crate) fn split_once(text: &str, at: u8) -> Option<(&str, &str)> {
    memchr::memchr(at, text.as_bytes()).map(|i| (&text[..i], &text[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_come_with_their_offsets_and_empty_ones_are_kept() {
        let got: Vec<_> = split_at("ab\n\ncd\n", b'\n').collect();
        assert_eq!(got, [(0, "ab"), (3, ""), (4, "cd"), (7, "")]);
        assert_eq!(split_at("", b'\t').collect::<Vec<_>>(), [(0, "")]);
    }

    #[test]
    fn a_piece_before_or_around_the_first_byte() {
        assert_eq!(before("ab\tcd\tef", b'\t'), "ab");
        assert_eq!(before("ab", b'\t'), "ab");
        assert_eq!(split_once("ab\tcd\tef", b'\t'), Some(("ab", "cd\tef")));
        assert_eq!(split_once("ab", b'\t'), None);
    }
}
