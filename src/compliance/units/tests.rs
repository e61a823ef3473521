//! The units module against cf_units' own verdicts (tests/data/units-oracle.tsv, made by
//! scripts/gen-units-oracle.py) and against hand-checked conversions.

use super::*;

/// Read at run time, not compiled in: test data stays out of the image's build context.
fn oracle() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/units-oracle.tsv");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
const PROBES: [&str; 8] = [
    "1",
    "m",
    "s",
    "kg",
    "K",
    "Pa",
    "m s-1",
    "seconds since 1970-01-01",
];

#[test]
fn every_unit_string_is_judged_as_cf_units_judges_it() {
    let probes: Vec<Unit> = PROBES.iter().map(|p| Unit::parse(p).unwrap()).collect();
    let mut wrong = Vec::new();
    let mut n = 0;
    for line in oracle().lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        n += 1;
        let got = Unit::parse(cols[0]);
        match (cols[1], got) {
            ("ERR", Ok(u)) => wrong.push(format!("{:?}: accepted as {u:?}", cols[0])),
            ("OK", Err(e)) => wrong.push(format!("{:?}: refused: {e}", cols[0])),
            ("OK", Ok(u)) => {
                let mine = format!(
                    "{}\t{}\t{}",
                    u.is_dimensionless() as u8,
                    u.is_time_reference() as u8,
                    probes
                        .iter()
                        .map(|p| if u.is_convertible(p) { '1' } else { '0' })
                        .collect::<String>()
                );
                let theirs = cols[2..].join("\t");
                if mine != theirs {
                    wrong.push(format!("{:?}: ours {mine}, cf_units {theirs}", cols[0]));
                }
            }
            _ => {}
        }
    }
    assert!(n > 250, "the oracle has {n} rows");
    assert!(
        wrong.is_empty(),
        "{} differences:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn conversions_apply_scale_and_offset() {
    let c = Unit::parse("degC").unwrap();
    let k = Unit::parse("K").unwrap();
    assert!((c.convert(25.0, &k).unwrap() - 298.15).abs() < 1e-9);
    let dbar = Unit::parse("dbar").unwrap();
    let pa = Unit::parse("Pa").unwrap();
    assert!((dbar.convert(1.0, &pa).unwrap() - 1e4).abs() < 1e-6);
    let kmh = Unit::parse("km/h").unwrap();
    let ms = Unit::parse("m s-1").unwrap();
    assert!((kmh.convert(36.0, &ms).unwrap() - 10.0).abs() < 1e-9);
    assert_eq!(k.convert(1.0, &ms), None);
}

#[test]
fn unknown_and_no_unit_spellings_parse_but_convert_to_nothing() {
    for s in ["", "unknown", "?", "no_unit", "-"] {
        let u = Unit::parse(s).unwrap();
        assert!(!u.is_convertible(&u), "{s:?}");
        assert!(!u.is_dimensionless(), "{s:?}");
    }
    assert!(Unit::parse("psu").is_err());
    assert!(known("degrees_north") && !known("degrees north"));
    assert!(is_time_reference("days since 1950-01-01 00:00:00 UTC"));
    assert!(convertible("hPa", "bar") && !convertible("m", "bar"));
}
