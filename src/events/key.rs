//! The one place object keys in S3 events are decoded and encoded. S3 writes an event's key
//! URL-encoded with `+` for a space (`red flower.jpg` → `red+flower.jpg`, `a+b` → `a%2Bb`); some
//! S3-compatible servers encode `/` as `%2F` as well. Decoding handles both.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// A key in an event that does not decode to UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event key {encoded:?} is not URL-encoded UTF-8")]
pub struct UndecodableKey {
    pub encoded: String,
}

/// Decodes an event key: `+` becomes a space first, then `%XX` escapes are decoded (so an
/// encoded plus, `%2B`, stays a plus).
pub fn decode_event_key(encoded: &str) -> Result<String, UndecodableKey> {
    let spaced = encoded.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| UndecodableKey {
            encoded: encoded.to_string(),
        })
}

/// What stays literal in an encoded key: letters, digits, `/` and the unreserved marks.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'*');

/// Encodes a key as S3 does in its events: a space becomes `+`, other reserved or non-ASCII
/// bytes `%XX`; `/` stays.
pub fn encode_event_key(key: &str) -> String {
    key.split(' ')
        .map(|part| utf8_percent_encode(part, KEEP).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_keys_as_s3_and_moto_write_them() {
        assert_eq!(
            decode_event_key("red+flower.jpg").unwrap(),
            "red flower.jpg"
        );
        assert_eq!(decode_event_key("a%2Bb.nc").unwrap(), "a+b.nc");
        assert_eq!(
            decode_event_key("ANMN%2FNRS%2Ffile+one.nc").unwrap(),
            "ANMN/NRS/file one.nc"
        );
        assert_eq!(
            decode_event_key("this+im+%2B+age.txt").unwrap(),
            "this im + age.txt"
        );
        assert_eq!(decode_event_key("caf%C3%A9.nc").unwrap(), "café.nc");
        assert!(decode_event_key("bad%FF.nc").is_err());
    }

    #[test]
    fn encoding_round_trips_through_decoding() {
        for key in [
            "ANMN/NRS/file one.nc",
            "a+b (2).nc",
            "x/y=z;w:v.nc",
            "café 100%.nc",
            "plain/IMOS_ANMN-NRS_TZ.nc",
        ] {
            let encoded = encode_event_key(key);
            assert!(!encoded.contains(' '), "{encoded}");
            assert_eq!(decode_event_key(&encoded).unwrap(), key, "via {encoded}");
        }
        assert_eq!(encode_event_key("a b+c/d.nc"), "a+b%2Bc/d.nc");
    }
}
