//! The reference's burst-average tests on its own inputs (`test_burst_average.py`,
//! `TestMooringsHandler::test_burst_processing`), and a comparison with the product the
//! reference's code makes from the same input.

use std::path::{Path, PathBuf};

use chrono::TimeZone;

use super::*;
use crate::handlers::testing::{assert_close, assert_same_product, imos_data};
use crate::netcdf::{NcFile, NcSummary};

const WQM: &str = "IMOS_ANMN-NRS_BCKOSTUZ_20081120T081531Z_NRSROT_FV01_NRSROT-0811-WQM-21_END-20081120T171535Z_C-20190418T000000Z.nc";
const ADCP: &str = "IMOS_ANMN-WA_AETVZ_20181203T080004Z_WACA20_FV01_WACA20-1812-Signature250-194_END-20181204T090004Z_C-20190625T000000Z.nc";
const PROFILE: &str =
    "IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc";
/// The product the reference's `create_burst_average_netcdf` made from WQM (see SOURCES.md).
const EXPECTED: &str = "expected/IMOS_ANMN-NRS_BCKOSTUZ_20081120T121612Z_NRSROT_FV02_NRSROT-0811-WQM-21-burst-averaged_END-20081120T163100Z_C-20261201T165811Z.nc";
const WQM_DEST: &str = "IMOS/ANMN/NRS/NRSROT/Biogeochem_timeseries/IMOS_ANMN-NRS_BCKOSTUZ_20081120T081531Z_NRSROT_FV01_NRSROT-0811-WQM-21_END-20081120T171535Z_C-20190418T000000Z.nc";

fn moorings(name: &str) -> PathBuf {
    imos_data(&format!("moorings/{name}"))
}

fn params() -> BurstParams {
    BurstParams {
        input_destination: WQM_DEST.into(),
        now: Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap(),
    }
}

fn product(dir: &Path) -> (Generated, NcFile, NcSummary) {
    let g = burst_average(&moorings(WQM), WQM, dir, &params()).unwrap();
    let f = NcFile::open(&g.path).unwrap();
    let s = f.summary().unwrap();
    (g, f, s)
}

fn values(f: &NcFile, s: &NcSummary, var: &str) -> Vec<f64> {
    f.read_masked(s.variable(var).unwrap()).unwrap()
}

#[test]
fn test_burst_average_first_bursts_as_the_reference_asserts() {
    let dir = tempfile::tempdir().unwrap();
    let (_, f, s) = product(dir.path());
    let m = None;
    let take8 = |v: Vec<f64>| v.into_iter().take(8).collect::<Vec<_>>();
    assert_close(
        &take8(values(&f, &s, "TEMP")),
        &[m, m, m, m, Some(4.0), Some(5.0), Some(11.0), Some(17.0)],
        "TEMP",
    );
    assert_close(
        &take8(values(&f, &s, "TEMP_num_obs")),
        &[0., 0., 0., 0., 61., 61., 11., 21.].map(Some),
        "TEMP_num_obs",
    );
    assert_close(
        &take8(values(&f, &s, "TEMP_burst_max")),
        &[m, m, m, m, Some(4.0), Some(5.0), Some(16.0), Some(27.0)],
        "TEMP_burst_max",
    );
    assert_close(
        &take8(values(&f, &s, "TEMP_burst_min")),
        &[m, m, m, m, Some(4.0), Some(5.0), Some(6.0), Some(7.0)],
        "TEMP_burst_min",
    );
    assert_close(
        &take8(values(&f, &s, "TEMP_burst_sd")),
        &[
            m,
            m,
            m,
            m,
            Some(0.0),
            Some(0.0),
            Some(3.1622776601683795),
            Some(6.0553007081949835),
        ],
        "TEMP_burst_sd",
    );
}

#[test]
fn the_product_is_named_and_described_as_the_reference_does() {
    let dir = tempfile::tempdir().unwrap();
    let (g, _, s) = product(dir.path());
    assert_eq!(
        g.name,
        "IMOS_ANMN-NRS_BCKOSTUZ_20081120T121612Z_NRSROT_FV02_NRSROT-0811-WQM-21-burst-averaged_END-20081120T163100Z_C-20240506T070809Z.nc"
    );
    assert_eq!(g.path, dir.path().join(&g.name));
    // The destination rule of the reference test: re.search of this pattern.
    assert!(g.name.contains("_NRSROT_FV02_") && g.name.contains("-burst-averaged_END-"));
    assert_eq!(
        s.global_str("title"),
        Some("Burst-averaged biogeochemical measurements at NRSROT")
    );
    assert_eq!(s.global_str("input_file"), Some(WQM_DEST));
    assert_eq!(s.global_str("date_created"), Some("2024-05-06T07:08:09Z"));
    assert_eq!(
        s.global_str("time_coverage_start"),
        Some("2008-11-20T12:16:12Z")
    );
    assert_eq!(
        s.global_str("time_coverage_end"),
        Some("2008-11-20T16:31:00Z")
    );
    assert_eq!(
        s.global_str("file_version"),
        Some("Level 2 - Derived Products")
    );
    assert!(s.global("quality_control_log").is_none());
    assert!(s.global("file_version_quality_control").is_none());
    assert!(
        s.global_str("history")
            .unwrap()
            .ends_with(". Created Mon May  6 07:08:09 2024")
    );
    assert!(
        s.global_str("keywords")
            .unwrap()
            .ends_with("DEPTH, AVERAGED, BINNED")
    );
    assert_eq!(s.dimension("TIME").unwrap().len, 18);
}

/// Every variable, attribute and value of our product against the reference's own product of
/// the same input, but the attributes that carry the creation time or the producing program.
#[test]
fn the_product_matches_the_reference_product() {
    let dir = tempfile::tempdir().unwrap();
    let (g, _, _) = product(dir.path());
    let (ours, theirs) = assert_same_product(
        &g.path,
        &moorings(EXPECTED),
        &["date_created", "history", "lineage"],
    );
    // Those differ only by what names the time and the program.
    let stem = |s: &NcSummary, name: &str, sep: &str| {
        let v = s.global_str(name).unwrap().to_string();
        v[..v.rfind(sep).unwrap()].to_string()
    };
    assert_eq!(
        stem(&ours, "history", " Created "),
        stem(&theirs, "history", " Created ")
    );
    assert_eq!(
        stem(&ours, "lineage", " Product created with "),
        stem(&theirs, "lineage", " Product created with ")
    );
}

#[test]
fn only_fv01_files_with_burst_attributes_and_no_adcp_dimension_are_averaged() {
    assert!(is_burst_file(&moorings(WQM), WQM).unwrap());
    // Burst attributes, but an ADCP (HEIGHT_ABOVE_SENSOR): published as it is.
    assert!(!is_burst_file(&moorings(ADCP), ADCP).unwrap());
    // No burst attributes.
    assert!(!is_burst_file(&moorings(PROFILE), PROFILE).unwrap());
    // The name decides before the content: an FV00 name is never opened.
    assert!(!is_burst_file(Path::new("/nonexistent"), "IMOS_ANMN-NRS_X_FV00_Y.nc").unwrap());
}

/// TestMooringsHandler::test_burst_processing: the upload ZIP of the WQM and ADCP files gives
/// one product, for the WQM file.
#[test]
fn test_burst_processing_makes_one_product_for_the_zip() {
    let dir = tempfile::tempdir().unwrap();
    let zip_file = std::fs::File::open(moorings("built/moorings_burst.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(zip_file).unwrap();
    archive.extract(dir.path().join("in")).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut generated = Vec::new();
    for name in [WQM, ADCP] {
        let path = dir.path().join("in").join(name);
        if is_burst_file(&path, name).unwrap() {
            generated.push(burst_average(&path, name, &out, &params()).unwrap());
        }
    }
    assert_eq!(generated.len(), 1);
    let pattern = Regex::new(
        r"^IMOS_ANMN-NRS_BCKOSTUZ_[0-9]{8}T[0-9]{6}Z_NRSROT_FV02_NRSROT-0811-WQM-21-burst-averaged_END-[0-9]{8}T[0-9]{6}Z_C-[0-9]{8}T[0-9]{6}Z\.nc$",
    )
    .unwrap();
    assert!(
        pattern.is_match(&generated[0].name),
        "{}",
        generated[0].name
    );
}

fn write_series(path: &Path, times: &[f64], qc: bool, globals: &[(&str, AttrValue)]) {
    let mut w = NcWriter::create(path).unwrap();
    w.add_dimension("TIME", Some(times.len())).unwrap();
    let var = |name: &str, dtype: NcType, attrs: Vec<(&str, AttrValue)>| VarDef {
        name: name.into(),
        dtype,
        dimensions: vec!["TIME".into()],
        fill_value: None,
        attributes: attrs
            .into_iter()
            .map(|(n, v)| Attribute {
                name: n.into(),
                value: v,
            })
            .collect(),
        keep_nan: false,
    };
    w.add_variable(&var(
        "TIME",
        NcType::Double,
        vec![("units", text("days since 1950-01-01 00:00:00 UTC"))],
    ))
    .unwrap();
    w.add_variable(&var(
        "TEMP",
        NcType::Float,
        vec![("units", text("Celsius"))],
    ))
    .unwrap();
    w.add_variable(&VarDef {
        dimensions: vec![],
        ..var("NOMINAL_DEPTH", NcType::Float, vec![("units", text("m"))])
    })
    .unwrap();
    if qc {
        w.add_variable(&var("TEMP_quality_control", NcType::Byte, vec![]))
            .unwrap();
    }
    for (n, v) in globals {
        w.put_global(&Attribute {
            name: n.to_string(),
            value: v.clone(),
        })
        .unwrap();
    }
    w.write_all_f64("TIME", times, 1000).unwrap();
    w.write_all_f64("TEMP", &vec![10.0; times.len()], 1000)
        .unwrap();
    w.write_f64("NOMINAL_DEPTH", &[], &[], &[25.0]).unwrap();
    if qc {
        w.write_all_f64("TEMP_quality_control", &vec![1.0; times.len()], 1000)
            .unwrap();
    }
    w.finish().unwrap();
}

fn burst_globals() -> Vec<(&'static str, AttrValue)> {
    vec![
        ("instrument_burst_interval", AttrValue::Double(vec![900.0])),
        ("instrument_burst_duration", AttrValue::Double(vec![60.0])),
        ("time_deployment_start", text("2000-01-01T00:00:00Z")),
        ("time_deployment_end", text("2030-01-01T00:00:00Z")),
        ("instrument", text("Sea-Bird SBE37 CTD")),
        ("site_code", text("SITE")),
    ]
}

const NAME: &str = "IMOS_ANMN-NRS_TZ_20100101T000000Z_SITE_FV01_SITE-CTD-1_END-20100102T000000Z_C-20200101T000000Z.nc";

#[test]
fn a_series_without_bursts_is_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(NAME);
    // One value every second, no gap longer than the sample interval: no burst.
    let times: Vec<f64> = (0..20).map(|i| 21915.0 + f64::from(i) / 86400.0).collect();
    write_series(&path, &times, true, &burst_globals());
    let err = burst_average(&path, NAME, dir.path(), &params()).unwrap_err();
    assert!(matches!(err, HandlerError::Rejected(_)), "{err:?}");
    assert!(err.to_string().contains("no burst was found"), "{err}");
}

#[test]
fn a_variable_without_its_quality_control_is_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(NAME);
    let times: Vec<f64> = (0..40)
        .map(|i| 21915.0 + f64::from(i / 10) * 900.0 / 86400.0 + f64::from(i % 10) / 86400.0)
        .collect();
    write_series(&path, &times, false, &burst_globals());
    let err = burst_average(&path, NAME, dir.path(), &params()).unwrap_err();
    assert!(
        err.to_string().contains("TEMP has no TEMP_quality_control"),
        "{err}"
    );
}

#[test]
fn a_file_without_deployment_times_is_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(NAME);
    let times: Vec<f64> = (0..40)
        .map(|i| 21915.0 + f64::from(i / 10) * 900.0 / 86400.0 + f64::from(i % 10) / 86400.0)
        .collect();
    let globals: Vec<_> = burst_globals()
        .into_iter()
        .filter(|(n, _)| *n != "time_deployment_start")
        .collect();
    write_series(&path, &times, true, &globals);
    let err = burst_average(&path, NAME, dir.path(), &params()).unwrap_err();
    assert!(err.to_string().contains("time_deployment_start"), "{err}");
}

/// Four complete bursts of ten samples and a partial fifth: the reference averages four, drops
/// the last of them, then cuts at the last one with a value, leaving two.
#[test]
fn the_reference_end_quirks_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(NAME);
    let times: Vec<f64> = (0..45)
        .map(|i| 21915.0 + f64::from(i / 10) * 900.0 / 86400.0 + f64::from(i % 10) / 86400.0)
        .collect();
    write_series(&path, &times, true, &burst_globals());
    let g = burst_average(&path, NAME, dir.path(), &params()).unwrap();
    let f = NcFile::open(&g.path).unwrap();
    let s = f.summary().unwrap();
    assert_eq!(s.dimension("TIME").unwrap().len, 2);
    assert_eq!(values(&f, &s, "TEMP_num_obs"), [10.0, 10.0]);
    assert_eq!(
        s.global_str("title"),
        Some("Burst-averaged moored CTD measurements at SITE")
    );
}

/// Every NetCDF of the MooringsHandler and DwmHandler runs in cases.toml (uploaded alone or in
/// a ZIP): only the WQM file of test_burst_processing makes a product, so every other case
/// publishes exactly the files its rules place.
#[test]
fn only_the_burst_case_of_the_handler_runs_makes_a_product() {
    let cases: toml::Value =
        toml::from_str(&std::fs::read_to_string(imos_data("cases.toml")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut burst = Vec::new();
    for case in cases["case"].as_array().unwrap() {
        let unit = case["unit"].as_str().unwrap();
        if unit != "MooringsHandler" && unit != "DwmHandler" {
            continue;
        }
        let Some(inputs) = case.get("inputs").and_then(|i| i.as_array()) else {
            continue;
        };
        for input in inputs {
            let input = input.as_str().unwrap();
            let path = imos_data(input);
            let mut files: Vec<(String, PathBuf)> = Vec::new();
            if input.ends_with(".zip") {
                let into = dir.path().join(checked.to_string());
                let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
                zip.extract(&into).unwrap();
                for i in 0..zip.len() {
                    let name = zip.by_index(i).unwrap().name().to_string();
                    let base = name.rsplit('/').next().unwrap().to_string();
                    files.push((base, into.join(&name)));
                }
            } else {
                let base = input.rsplit('/').next().unwrap().to_string();
                files.push((base, path));
            }
            for (name, path) in files.iter().filter(|(n, _)| n.ends_with(".nc")) {
                checked += 1;
                if is_burst_file(path, name).unwrap() {
                    burst.push((case["name"].as_str().unwrap().to_string(), name.clone()));
                }
            }
        }
    }
    assert!(checked >= 8, "{checked} NetCDF inputs");
    assert_eq!(
        burst,
        [(
            "test_aodndata/moorings/test_mooringsHandler.py::TestMooringsHandler::test_burst_processing"
                .to_string(),
            WQM.to_string()
        )]
    );
}
