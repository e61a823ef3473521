//! The reference's SoopXbtNrtHandler tests (`test_soop_xbt_nrt.py`) on its own inputs: the parser
//! (`test_bufr_parser`), the line lookup (`test_xbt_line_get_info`), the vessel match
//! (`test_fzf_vessel_info`, on the test's mocked platform vocabulary) and what the handler runs
//! publish, with the attributes the tests read from the NetCDF files.

use std::path::PathBuf;

use chrono::TimeZone;

use super::*;
use crate::handlers::testing::imos_data;
use crate::netcdf::NcFile;

const GOOD: &str = "IOSS01_AMMC_20201109215900_XEKXW9W.csv";
const PX30: &str = "IOSS01_AMMC_20201214180200_5VULUEH.csv";
const NO_LINE: &str = "IOSS01_AMMC_20200908051000_VLMJ.csv";
const ALT_ASTROLABE: &str = "IOSS01_AMMC_20211204160500_XEKXW9W.csv";

fn soop(name: &str) -> PathBuf {
    imos_data(&format!("soop/{name}"))
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap()
}

/// The test's `mock_platform_altlabels_per_preflabel`, through `ship_callsign_list` (spaces become
/// '-', FHZI and FASB are Astrolabe, a '-{CALLSIGN}' suffix goes).
fn mock_vessels() -> BTreeMap<String, String> {
    [
        ("VLHJ", "Southern-Surveyor"),
        ("9V2768", "RTM-Wakmatha"),
        ("FHZI", "Astrolabe"),
        ("FASB", "Astrolabe"),
        ("3FLZ", "Tropical-Islander"),
        ("VROJ8", "Highland-Chief"),
        ("VROB", "Highland-Chief"),
        ("D5LR9", "Seatrade Red"),
        ("VLMJ", "Investigator"),
        ("VRDE7", "OOCL Houston"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.replace(' ', "-")))
    .collect()
}

/// The XBT line vocabulary of the tests (`TEST_XBT_LINE_VOCAB_URL`), read as the reference reads it.
fn test_lines() -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let rdf = std::fs::read_to_string(soop("aodn_aodn-xbt-line-vocabulary.rdf")).unwrap();
    let lines = read_xbt_line_rdf(&rdf).unwrap();
    (
        lines
            .iter()
            .map(|(c, p, _)| (c.clone(), p.clone()))
            .collect(),
        lines
            .iter()
            .map(|(c, _, d)| (c.clone(), d.clone()))
            .collect(),
    )
}

/// A CSV vocabulary beside the pipelines: a header, then key,value rows.
fn read_csv_vocabulary(path: &str) -> BTreeMap<String, String> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect()
}

fn vocab() -> XbtVocabularies {
    let (line_labels, line_descriptions) = test_lines();
    XbtVocabularies {
        vessels: mock_vessels(),
        line_labels,
        line_descriptions,
    }
}

#[test]
fn test_bufr_parser() {
    let profiles = parse_bufr_csv(&soop(GOOD), GOOD).unwrap();
    assert_eq!(profiles.len(), 1);
    let p = &profiles[0];
    assert_eq!(p.latitude, -53.58368);
    assert_eq!(p.longitude, 146.23137);
    assert_eq!(
        p.date,
        NaiveDate::from_ymd_opt(2020, 11, 9)
            .unwrap()
            .and_hms_opt(21, 59, 0)
            .unwrap()
    );
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    assert!((max(&p.temp) - 36.26).abs() < 1e-7, "{}", max(&p.temp));
    assert!((min(&p.temp) - 1.78).abs() < 1e-7, "{}", min(&p.temp));
    assert_eq!(max(&p.depth), 1110.39);
    assert_eq!(min(&p.depth), 0.0);
    assert_eq!(p.depth.len(), 1577);
    assert_eq!(p.temp.len(), 1577);
    assert_eq!(p.depth_qc.len(), 1577);
    assert_eq!(p.temp_qc.len(), 1577);
    assert_eq!((p.depth_qc[0], p.temp_qc[0]), (9.0, 3.0));
    assert_eq!(p.meta("XBT_instrument_serialnumber"), Some("1218367"));
    assert_eq!(p.meta("imo_number"), Some("9797539"));
    assert_eq!(
        p.meta("XBT_recorder_type"),
        Some("WMO Code table 4770 code \"72, TURO/CSIRO Quoll XBT acquisition system\"")
    );
    assert_eq!(
        p.meta("XBT_probetype_fallrate_equation"),
        Some("WMO Code Table 1770 \"probe=Sippican Deep Blue,code=052,a=6.691,b=-2.25\"")
    );
    // Quotes gone, "None" left out, in the reference's order.
    assert_eq!(p.meta("ship_name"), Some("L'Astrolabe"));
    assert_eq!(p.meta("XBT_uniqueid"), Some("01329a80"));
    assert_eq!(p.meta("wmo_id"), None);
    let names: Vec<&str> = p.metadata.0.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(&names[..3], ["XBT_uniqueid", "ship_id", "imo_number"]);
    // The recorded temperature 3.0100000000000477 rounded as numpy rounds.
    assert_eq!(p.temp[0], 3.01);
}

#[test]
fn the_other_messages_parse_as_the_reference_reads_them() {
    let p = &parse_bufr_csv(&soop(NO_LINE), NO_LINE).unwrap()[0];
    assert_eq!(p.meta("imo_number"), None, "None is left out");
    assert_eq!(
        p.meta("XBT_line"),
        Some(" "),
        "a blank line is kept as it is"
    );
    assert_eq!(p.depth.len(), 1747);
    let p = &parse_bufr_csv(&soop(ALT_ASTROLABE), ALT_ASTROLABE).unwrap()[0];
    assert_eq!(p.meta("ship_name"), Some("LAstrolabe\\x"));
    let p = &parse_bufr_csv(&soop(PX30), PX30).unwrap()[0];
    assert_eq!(p.meta("XBT_line"), Some("PX30"));
    assert_eq!(p.meta("ship_name"), Some("Seatrade Red"));
}

#[test]
fn repeated_profiles_keep_the_first() {
    let text = std::fs::read_to_string(soop(GOOD)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let twice = dir.path().join("twice.csv");
    std::fs::write(&twice, format!("{text}{text}")).unwrap();
    let profiles = parse_bufr_csv(&twice, "twice.csv").unwrap();
    assert_eq!(profiles.len(), 1);
    // The first profile's measurements end the row before the second begins.
    assert_eq!(profiles[0].depth.len(), 1577);
}

#[test]
fn a_message_missing_a_metadata_row_is_refused_with_the_row() {
    let text = std::fs::read_to_string(soop(GOOD)).unwrap();
    let cut: String = text
        .lines()
        .filter(|l| !l.contains("\"004003\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.csv");
    std::fs::write(&path, cut).unwrap();
    let err = parse_bufr_csv(&path, "cut.csv").unwrap_err().to_string();
    assert!(err.contains("cut.csv") && err.contains("004003"), "{err}");
}

#[test]
fn test_xbt_line_get_info() {
    let v = vocab();
    assert_eq!(
        line_info("IX8", &v).unwrap(),
        ("IX08".to_string(), "Mauritius - Bombay".to_string())
    );
    // The vocabulary's inconsistencies forced: PX30 is PX30-31.
    assert_eq!(
        line_info("PX30", &v).unwrap(),
        (
            "PX30-31".to_string(),
            "Brisbane - Noumea - Suva".to_string()
        )
    );
    let err = line_info("XXXX", &v).unwrap_err();
    assert!(matches!(err, HandlerError::Rejected(_)));
    assert!(err.to_string().contains("XXXX is not a known"), "{err}");
    assert_eq!(
        line_info(" ", &v).unwrap(),
        ("NOLINE".to_string(), "NOLINE".to_string())
    );
    // By code or by preferred label.
    assert_eq!(line_info("IX08", &v).unwrap().0, "IX08");
    assert_eq!(
        line_info("IX28", &v).unwrap().1,
        "Hobart - Dumont d'Urville"
    );
}

#[test]
fn test_fzf_vessel_info() {
    let vessels = mock_vessels();
    assert_eq!(
        vessel_info("L'Astrolabe", &vessels).unwrap(),
        ("Astrolabe".to_string(), "FASB".to_string())
    );
    let err = vessel_info("L'Astrolab", &vessels).unwrap_err();
    assert!(matches!(err, HandlerError::Rejected(_)));
    assert!(
        err.to_string()
            .contains("L'Astrolab is not a valid enough value")
    );
    // The other vessels of the handler runs.
    for (name, want) in [
        ("LAstrolabe\\x", ("Astrolabe", "FASB")),
        ("Seatrade Red", ("Seatrade-Red", "D5LR9")),
        ("Investigator", ("Investigator", "VLMJ")),
    ] {
        let (n, c) = vessel_info(name, &vessels).unwrap();
        assert_eq!((n.as_str(), c.as_str()), want, "{name}");
    }
}

/// The mock and the vessel vocabulary beside the pipelines (the whole platform vocabulary) give
/// the same matches for every vessel of the handler runs, so the cases run on the latter.
#[test]
fn the_shipped_vessel_vocabulary_matches_as_the_mock_does() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/imos/vocabularies/vessels.csv"
    );
    let shipped = read_csv_vocabulary(path);
    for name in [
        "L'Astrolabe",
        "LAstrolabe\\x",
        "Seatrade Red",
        "Investigator",
        "OOCL Houston",
    ] {
        assert_eq!(
            vessel_info(name, &shipped).unwrap(),
            vessel_info(name, &mock_vessels()).unwrap(),
            "{name}"
        );
    }
    assert!(vessel_info("L'Astrolab", &shipped).is_err());
}

/// The XBT line vocabularies beside the pipelines are the test RDF as the reference reads it.
#[test]
fn the_shipped_line_vocabularies_are_the_rdf_read_as_the_reference_reads_it() {
    let read = |name: &str| {
        let path = format!(
            "{}/examples/imos/vocabularies/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        read_csv_vocabulary(&path)
    };
    let (labels, descriptions) = test_lines();
    assert_eq!(read("xbt_lines.csv"), labels);
    assert_eq!(read("xbt_line_descriptions.csv"), descriptions);
    assert_eq!(labels.len(), 134);
    // No preferred label names two codes, so a lookup by label is the same in any order.
    let mut seen = std::collections::BTreeSet::new();
    assert!(labels.values().all(|l| seen.insert(l)));
}

#[test]
fn the_configuration_reads_as_configparser_reads_it() {
    // Counted with Python's configparser (optionxform = str) on the same file.
    assert_eq!(CONFIG.sections.len(), 38);
    let options: usize = CONFIG.sections.iter().map(|(_, o)| o.len()).sum();
    assert_eq!(options, 228);
    assert_eq!(
        CONFIG.get("PX30/31", "title"),
        Some(
            "Upper Ocean Thermal Data collected on the high density line PX30-31 \
             (Brisbane-Noumea-Suva/Lautoka) using XBT (expendable bathythermographs)"
        )
    );
    assert_eq!(
        CONFIG.get("RCT$", "72"),
        Some("TURO/CSIRO Quoll XBT acquisition system")
    );
    assert_eq!(CONFIG.get("FRE", "081"), Some("1.52,0"));
    assert_eq!(CONFIG.get("FRE", "261"), Some(","));
}

#[test]
fn fall_rate_codes_are_padded_and_read_back() {
    let mut p = parse_bufr_csv(&soop(GOOD), GOOD).unwrap().remove(0);
    let fre = fallrate(&p).unwrap();
    assert_eq!((fre.code.as_str(), fre.a, fre.b), ("052", 6.691, -2.25));
    p.metadata.set_text("XBT_probetype_fallrate_equation", "81");
    let fre = fallrate(&p).unwrap();
    assert_eq!(
        (fre.probe.as_str(), fre.b),
        ("Sippican AXBT (300 m probes)", 0.0)
    );
    p.metadata
        .set_text("XBT_probetype_fallrate_equation", "261");
    assert!(fallrate(&p).unwrap_err().to_string().contains("261"));
    p.metadata
        .set_text("XBT_probetype_fallrate_equation", "999");
    assert!(
        fallrate(&p)
            .unwrap_err()
            .to_string()
            .contains("FRE code=999 missing")
    );
    assert_eq!(zfill3("-5"), "-05");
    assert_eq!(zfill3("7"), "007");
}

#[test]
fn archive_paths_take_the_year_from_either_name_form() {
    assert_eq!(
        archive_path(GOOD).unwrap(),
        format!("IMOS/SOOP/SOOP-XBT/REALTIME_BUFR/2020/{GOOD}")
    );
    assert_eq!(
        archive_path("IOSS01_AMMC_202307162000.bin").unwrap(),
        "IMOS/SOOP/SOOP-XBT/REALTIME_BUFR/2023/IOSS01_AMMC_202307162000.bin"
    );
    assert_eq!(
        archive_path("IOSS01_AMMC_20221231231505_XEKXW9W.bin").unwrap(),
        "IMOS/SOOP/SOOP-XBT/REALTIME_BUFR/2022/IOSS01_AMMC_20221231231505_XEKXW9W.bin"
    );
    // Python's strptime: one-digit fields where they fit, the whole text taken, a real date.
    assert_eq!(strptime_year("2020119215900", true), Some(2020));
    assert_eq!(strptime_year("20201109215900x", true), None);
    assert_eq!(strptime_year("20200231215900", true), None);
    assert!(archive_path("IOSS01_AMMC.csv").is_err());
    assert!(archive_path("IOSS01_AMMC_notatime.csv").is_err());
}

/// `test_handler`: the message archived, its profile converted and harvested by vessel and year,
/// with the attributes the test reads.
#[test]
fn test_handler() {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![InputFile::new(GOOD, soop(GOOD))];
    let out = preprocess(GOOD, &files, &vocab(), dir.path(), now()).unwrap();
    assert_eq!(
        out.files,
        vec![
            Placement::new(GOOD, PublishType::ArchiveOnly, None)
                .with_archive(format!("IMOS/SOOP/SOOP-XBT/REALTIME_BUFR/2020/{GOOD}"))
        ]
    );
    let nc = "IMOS_SOOP-XBT_T_20201109T215900Z_IX28_FV00_ID_9797539.nc";
    assert_eq!(out.generated.len(), 1);
    let (generated, placement) = &out.generated[0];
    assert_eq!(generated.name, nc);
    assert_eq!(
        placement,
        &Placement::new(
            nc,
            PublishType::HarvestUpload,
            Some(format!(
                "IMOS/SOOP/SOOP-XBT/REALTIME/FASB_Astrolabe/2020/{nc}"
            ))
        )
    );

    let file = NcFile::open(&generated.path).unwrap();
    let s = file.summary().unwrap();
    assert_eq!(
        s.global_str("XBT_line_description"),
        Some("Hobart - Dumont d'Urville")
    );
    assert_eq!(
        s.global_str("title"),
        Some(
            "Upper Ocean Thermal Data collected on the high density line IX28 (Dumont d \
             Urville-Hobart) using XBT (expendable bathythermographs)"
        )
    );
    let depth = s.variable("DEPTH").unwrap();
    assert_eq!(
        depth.attr("fallrate_equation_coefficient_a"),
        Some(&AttrValue::Double(vec![6.691]))
    );
    assert_eq!(
        depth.attr("fallrate_equation_coefficient_b"),
        Some(&AttrValue::Double(vec![-2.25]))
    );
    assert_eq!(
        s.global("geospatial_vertical_max"),
        Some(&AttrValue::Double(vec![1110.39]))
    );
    // What else the reference writes.
    for (name, want) in [
        ("Callsign", "FASB"),
        ("ship_name", "Astrolabe"),
        ("XBT_line", "IX28"),
        ("featureType", "profile"),
        ("Conventions", "CF-1.6"),
        ("time_coverage_start", "2020-11-09T21:59:00Z"),
        ("time_coverage_end", "2020-11-09T21:59:00Z"),
        ("date_created", "2024-05-06T07:08:09Z"),
        ("history", "2024-05-06T07:08:09Z: file created"),
        ("project", "Integrated Marine Observing System (IMOS)"),
        ("institution", "CSIRO Oceans and Atmosphere"),
    ] {
        assert_eq!(s.global_str(name), Some(want), "{name}");
    }
    assert_eq!(
        s.global("geospatial_lat_min"),
        Some(&AttrValue::Double(vec![-53.58368]))
    );
    assert_eq!(
        s.global("geospatial_vertical_min"),
        Some(&AttrValue::Double(vec![0.0]))
    );
    let lat = s.variable("LATITUDE").unwrap();
    assert!(lat.shape.is_empty(), "a scalar");
    assert!(
        lat.attr("_FillValue").is_none(),
        "written without a fill value"
    );
    let qc = s.variable("TEMP_quality_control").unwrap();
    assert_eq!(qc.dtype, crate::netcdf::NcType::Byte);
    assert_eq!(qc.attr("_FillValue"), Some(&AttrValue::Byte(vec![63])));
    assert_eq!(
        qc.attr("flag_values"),
        Some(&AttrValue::Byte(vec![0, 1, 2, 3, 4, 5, 8, 9, 15]))
    );
    let temp = file.read_masked(s.variable("TEMP").unwrap()).unwrap();
    assert_eq!(temp.len(), 1577);
    let time = file.read_masked(s.variable("TIME").unwrap()).unwrap();
    assert!((time[0] - 25880.91597222222).abs() < 1e-9, "{}", time[0]);

    // test_handler, re-push: the NetCDF pushed again is harvested where its attributes say.
    let again = vec![InputFile::new(nc, generated.path.clone())];
    let out2 = preprocess(nc, &again, &vocab(), dir.path(), now()).unwrap();
    assert!(out2.generated.is_empty());
    assert_eq!(out2.files, vec![placement.clone()]);
}

#[test]
fn test_handler_px30_noline_and_alternative_astrolabe_name() {
    for (upload, dest) in [
        (
            PX30,
            "IMOS/SOOP/SOOP-XBT/REALTIME/D5LR9_Seatrade-Red/2020/IMOS_SOOP-XBT_T_20201214T180200Z_PX30-31_FV00_ID_9690107.nc",
        ),
        (
            NO_LINE,
            "IMOS/SOOP/SOOP-XBT/REALTIME/VLMJ_Investigator/2020/IMOS_SOOP-XBT_T_20200908T051000Z_NOLINE_FV00.nc",
        ),
        (
            ALT_ASTROLABE,
            "IMOS/SOOP/SOOP-XBT/REALTIME/FASB_Astrolabe/2021/IMOS_SOOP-XBT_T_20211204T160500Z_IX28_FV00_ID_9797539.nc",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![InputFile::new(upload, soop(upload))];
        let out = preprocess(upload, &files, &vocab(), dir.path(), now()).unwrap();
        assert_eq!(out.generated.len(), 1, "{upload}");
        assert_eq!(out.generated[0].1.dest.as_deref(), Some(dest), "{upload}");
        assert_eq!(out.files[0].publish, PublishType::ArchiveOnly);
    }
    // PX30's title comes from the [PX30/31] section; NOLINE's description is NOLINE.
    let dir = tempfile::tempdir().unwrap();
    let made = convert_csv(&soop(NO_LINE), NO_LINE, &vocab(), dir.path(), now()).unwrap();
    let s = NcFile::open(&made[0].path).unwrap().summary().unwrap();
    assert_eq!(s.global_str("XBT_line_description"), Some("NOLINE"));
    assert_eq!(
        s.global_str("title"),
        Some("Upper Ocean Thermal Data collected using XBT (expendable bathythermographs)")
    );
    assert_eq!(s.global_str("abstract"), Some("No abstract"));
    assert!(s.global("imo_number").is_none());
}

#[test]
fn binary_messages_are_refused_as_not_yet_available() {
    let name = "IOSS01_AMMC_202307162000.bin";
    let dir = tempfile::tempdir().unwrap();
    let err = preprocess(
        name,
        &[InputFile::new(name, soop(name))],
        &vocab(),
        dir.path(),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("not yet available: "), "{err}");
    assert!(err.contains(name), "{err}");
}

#[test]
fn an_unknown_vessel_rejects_the_upload_naming_the_file() {
    let mut v = vocab();
    v.vessels.retain(|k, _| k != "FHZI" && k != "FASB");
    let dir = tempfile::tempdir().unwrap();
    let err = convert_csv(&soop(GOOD), GOOD, &v, dir.path(), now()).unwrap_err();
    assert!(matches!(err, HandlerError::Rejected(_)));
    let err = err.to_string();
    assert!(
        err.starts_with(GOOD) && err.contains("L'Astrolabe"),
        "{err}"
    );
}

/// Our NetCDF against the one the reference's own functions made from the same message (see
/// tests/data/imos/SOURCES.md): dimensions, variables, attributes, values and global attributes
/// in order, all but the creation times.
#[test]
fn the_netcdf_files_are_the_references() {
    for (upload, product) in [
        (
            GOOD,
            "IMOS_SOOP-XBT_T_20201109T215900Z_IX28_FV00_ID_9797539.nc",
        ),
        (
            PX30,
            "IMOS_SOOP-XBT_T_20201214T180200Z_PX30-31_FV00_ID_9690107.nc",
        ),
        (NO_LINE, "IMOS_SOOP-XBT_T_20200908T051000Z_NOLINE_FV00.nc"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let made = convert_csv(&soop(upload), upload, &vocab(), dir.path(), now()).unwrap();
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].name, product);
        crate::handlers::testing::assert_same_product(
            &made[0].path,
            &soop(&format!("expected/{product}")),
            &["date_created", "history"],
        );
    }
}

#[test]
fn a_message_without_a_line_value_is_refused() {
    let text = std::fs::read_to_string(soop(GOOD))
        .unwrap()
        .replace("'IX28'", "None");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(GOOD);
    std::fs::write(&path, text).unwrap();
    let err = convert_csv(&path, GOOD, &vocab(), dir.path(), now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no XBT line (descriptor 001080)"), "{err}");
}
