//! The reference's SoopTmvNrtHandler tests (`test_soop_tmv_nrt.py`) on its own inputs, and the
//! NetCDF files compared with those the reference's `netcdf_writer` makes from the same logs.

use std::path::PathBuf;

use chrono::TimeZone;

use super::*;
use crate::handlers::testing::{assert_close, assert_same_product, imos_data, unzip};
use crate::netcdf::{NcFile, NcSummary};

const BASE: &str = "IMOS/SOOP/SOOP-TMV/VLST_Spirit-of-Tasmania-1/realtime";
const D2M_1SEC: &str = "EPA_SOOP_TMV1_D2M_20131006082240.log.1SecRaw.log";
const D2M_1SEC_NC: &str =
    "IMOS_SOOP-TMV_TSUB_20131006T082254Z_VLST_FV00_transect-D2M_END-20131006T190430Z.nc";
const DEV_10SECS: &str = "EPA_SOOP_TMV1_DEV_20181102185130.log";
/// Attributes that carry the run's time.
const OWN: &[&str] = &["date_created", "history"];

fn vessels() -> BTreeMap<String, String> {
    BTreeMap::from([("VLST".to_string(), "Spirit-of-Tasmania-1".to_string())])
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap()
}

fn soop(name: &str) -> PathBuf {
    imos_data(&format!("soop/{name}"))
}

/// The collection of an upload: the file itself, or the members of a ZIP, extracted.
fn collection(upload: &str) -> (Option<tempfile::TempDir>, Vec<InputFile>) {
    if upload.ends_with(".zip") {
        let (members, files) = unzip(&soop(upload));
        (Some(members), files)
    } else {
        (None, vec![InputFile::new(upload, soop(upload))])
    }
}

fn run(upload: &str, dir: &Path) -> Result<TmvOutcome, HandlerError> {
    let (_members, files) = collection(upload);
    preprocess(upload, &files, &vessels(), dir, now())
}

fn placement(
    name: &str,
    publish: PublishType,
    dest: Option<String>,
    archive: Option<String>,
) -> Placement {
    let p = Placement::new(name, publish, dest);
    match archive {
        Some(a) => p.with_archive(a),
        None => p,
    }
}

/// A ten-second log pushed alone: archived under logs/, no NetCDF in the collection.
fn assert_ten_second_log(upload: &str, product_type: &str, year: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = run(upload, dir.path()).unwrap();
    assert_eq!(
        out,
        TmvOutcome {
            files: vec![placement(
                upload,
                PublishType::ArchiveOnly,
                None,
                Some(format!("{BASE}/{product_type}/10secs/{year}/logs/{upload}"))
            )],
            generated: vec![],
            upload: None,
        }
    );
    // The NetCDF made to find the path is not left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "nc"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn test_push_mooring_10secs_with_coordinate_gap_log() {
    assert_ten_second_log("EPA_SOOP_TMV1_MEL_20141006052223.log", "mooring", "2014");
}

#[test]
fn test_push_mooring_10secs_log() {
    assert_ten_second_log(DEV_10SECS, "mooring", "2018");
}

#[test]
fn test_push_transect_10secs_log() {
    assert_ten_second_log("EPA_SOOP_TMV1_D2M_20181101090420.log", "transect", "2018");
}

#[test]
fn test_push_log_different_time_format() {
    assert_ten_second_log("EPA_SOOP_TMV1_M2S_20180805220350.log", "transect", "2018");
}

/// A one-second upload: the log published as it is under logs/, the NetCDF harvested, the ZIP
/// itself not in the collection; the NetCDF's header is the reference's, and its values at the
/// first, middle and last record too.
fn assert_one_second(
    upload: &str,
    log: &str,
    product_type: &str,
    year: &str,
    nc: &str,
    values: &[(&str, [f64; 3], usize)],
) -> NcSummary {
    let dir = tempfile::tempdir().unwrap();
    let out = run(upload, dir.path()).unwrap();
    let pre = format!("{BASE}/{product_type}/1sec/{year}");
    assert_eq!(
        out.files,
        vec![placement(
            log,
            PublishType::UploadOnly,
            Some(format!("{pre}/logs/{log}")),
            None
        )]
    );
    assert_eq!(out.upload, None, "the ZIP itself is not in the collection");
    assert_eq!(out.generated.len(), 1);
    let (g, p) = &out.generated[0];
    assert_eq!(g.name, nc);
    assert_eq!(
        p,
        &placement(
            nc,
            PublishType::HarvestUpload,
            Some(format!("{pre}/{nc}")),
            None
        )
    );
    let (ours, _) = assert_same_product_header(g, nc);
    assert_values(&ours, g, values);
    ours
}

fn assert_values(s: &NcSummary, g: &Generated, want: &[(&str, [f64; 3], usize)]) {
    let f = NcFile::open(&g.path).unwrap();
    for (var, [first, middle, last], n) in want {
        let v = f.read_masked(s.variable(var).unwrap()).unwrap();
        assert_eq!(v.len(), *n, "{var}");
        assert_close(
            &[v[0], v[n / 2], v[n - 1]],
            &[Some(*first), Some(*middle), Some(*last)],
            var,
        );
    }
}

#[test]
fn test_push_transect_1sec_log() {
    let ours = assert_one_second(
        D2M_1SEC,
        D2M_1SEC,
        "transect",
        "2013",
        D2M_1SEC_NC,
        &[
            (
                "TIME",
                [23289.34923611111, 23289.572141203702, 23289.794791666667],
                38476,
            ),
            ("LATITUDE", [-41.173, -39.3134, -37.8467], 38476),
            ("TEMP", [13.156, 14.1795, 14.1774], 38476),
            ("PSAL", [21.8194, 35.5365, 31.6678], 38476),
            ("CPHL", [0.9471, 0.3936, 0.9717], 38476),
            ("TURB", [7.818, 0.792, 1.428], 38476),
        ],
    );
    // The reference test: the counts were converted (CPHL:calibration_blank is there).
    let cphl = ours.variable("CPHL").unwrap();
    assert_eq!(
        cphl.attr("calibration_blank"),
        Some(&AttrValue::Int64(vec![40]))
    );
    assert_eq!(
        cphl.attr("calibration_scale"),
        Some(&AttrValue::Double(vec![0.0123]))
    );
}

/// Header of our NetCDF against the reference's (its header rebuilt with ncgen: see SOURCES.md).
fn assert_same_product_header(g: &Generated, name: &str) -> (NcSummary, NcSummary) {
    let (o, t) = (
        NcFile::open(&g.path).unwrap().summary().unwrap(),
        NcFile::open(&soop(&format!("expected/header-only/{name}")))
            .unwrap()
            .summary()
            .unwrap(),
    );
    assert_eq!(o.dimensions, t.dimensions);
    assert_eq!(o.variables, t.variables);
    let strip = |s: &NcSummary| {
        s.global_attributes
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    (!OWN.contains(&a.name.as_str())).then(|| a.value.clone()),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&o), strip(&t));
    (o, t)
}

#[test]
fn test_push_transect_1sec_netcdf() {
    // The input is the NetCDF the conversion makes from the one-second log.
    let dir = tempfile::tempdir().unwrap();
    let p = convert_log(
        &soop(D2M_1SEC),
        D2M_1SEC,
        None,
        "Spirit-of-Tasmania-1",
        dir.path(),
        now(),
    )
    .unwrap();
    let files = vec![InputFile::new(&p.generated.name, &p.generated.path)];
    let out = preprocess(&p.generated.name, &files, &vessels(), dir.path(), now()).unwrap();
    assert_eq!(
        out,
        TmvOutcome {
            files: vec![placement(
                D2M_1SEC_NC,
                PublishType::HarvestUpload,
                Some(format!("{BASE}/transect/1sec/2013/{D2M_1SEC_NC}")),
                None
            )],
            generated: vec![],
            upload: None,
        }
    );
}

#[test]
fn test_push_transect_1sec_too_many_fields_zip() {
    // Lines of 11 fields are skipped, as the reference's reader does.
    assert_one_second(
        "EPA_SOOP_TMV1_M2D_20131124083240.log.1SecRaw.log.zip",
        "EPA_SOOP_TMV1_M2D_20131124083240.log.1SecRaw.log",
        "transect",
        "2013",
        "IMOS_SOOP-TMV_TSUB_20131124T083416Z_VLST_FV00_transect-M2D_END-20131124T130724Z.nc",
        &[
            (
                "TIME",
                [23338.35712962963, 23338.45236111111, 23338.546805555554],
                15517,
            ),
            ("TEMP", [18.4338, 16.3297, 15.828], 15517),
            ("CPHL", [2.0541, 0.4674, 0.4797], 15517),
            ("TURB", [3.792, 0.96, 6.984], 15517),
        ],
    );
}

#[test]
fn test_push_good_1sec_zip() {
    assert_one_second(
        "EPA_SOOP_TMV1_DEV_20190222181410.log.1SecRaw.zip",
        "EPA_SOOP_TMV1_DEV_20190222181410.log.1SecRaw.log",
        "mooring",
        "2019",
        "IMOS_SOOP-TMV_TSUB_20190222T181411Z_VLST_FV00_mooring-DEV_END-20190222T220430Z.nc",
        &[
            (
                "TIME",
                [25254.759849537037, 25254.84008101852, 25254.919791666667],
                13746,
            ),
            ("LONGITUDE", [146.3643, 146.3657, 146.3649], 13746),
            ("PSAL", [35.3416, 33.8391, 33.0026], 13746),
            ("TURB", [0.498, 1.524, 3.792], 13746),
        ],
    );
}

#[test]
fn test_push_mooring_10secs_netcdf() {
    let dir = tempfile::tempdir().unwrap();
    let p = convert_log(
        &soop(DEV_10SECS),
        DEV_10SECS,
        None,
        "Spirit-of-Tasmania-1",
        dir.path(),
        now(),
    )
    .unwrap();
    let files = vec![InputFile::new(&p.generated.name, &p.generated.path)];
    match preprocess(&p.generated.name, &files, &vessels(), dir.path(), now()) {
        Err(HandlerError::Rejected(reason)) => {
            assert!(
                reason.contains("aren't allowed to be harvested"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}

/// A ten-second ZIP: the ZIP archived under logs/, its members not published.
fn assert_ten_second_zip(upload: &str, members: &[&str], year: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = run(upload, dir.path()).unwrap();
    assert_eq!(
        out,
        TmvOutcome {
            files: members
                .iter()
                .map(|m| placement(m, PublishType::NoAction, None, None))
                .collect(),
            generated: vec![],
            upload: Some(placement(
                upload,
                PublishType::ArchiveOnly,
                None,
                Some(format!("{BASE}/transect/10secs/{year}/logs/{upload}"))
            )),
        }
    );
}

#[test]
fn test_push_10secs_no_meta_zip() {
    assert_ten_second_zip(
        "EPA_SOOP_TMV1_D2M_20181101090420.log.zip",
        &["EPA_SOOP_TMV1_D2M_20181101090420.log"],
        "2018",
    );
}

#[test]
fn test_push_good_10secs_with_meta_zip() {
    assert_ten_second_zip(
        "EPA_SOOP_TMV1_D2M_20190302105320.zip",
        &[
            "EPA_SOOP_TMV1_D2M_20190302105320.log",
            "EPA_SOOP_TMV1_D2M_20190302105320.log.meta.txt",
        ],
        "2019",
    );
}

#[test]
fn test_push_invalid_log() {
    let dir = tempfile::tempdir().unwrap();
    match run("EPA_SOOP_TMV1_DVE_20181102185130.log", dir.path()) {
        Err(HandlerError::Rejected(reason)) => {
            assert!(reason.contains("incorrect naming"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_vocabulary_without_the_vessel_is_an_internal_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, files) = collection(DEV_10SECS);
    let err = preprocess(DEV_10SECS, &files, &BTreeMap::new(), dir.path(), now()).unwrap_err();
    assert!(matches!(err, HandlerError::Internal(_)), "{err:?}");
    assert!(
        err.to_string().contains("Missing vessel callsign VLST"),
        "{err}"
    );
}

/// The ten-second NetCDF files (made, then dropped, by the handler) against the reference's,
/// value for value: the coordinate gap, the day-first time format's sibling, the calibration.
#[test]
fn ten_second_conversions_match_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let (_members, meta_zip) = collection("EPA_SOOP_TMV1_D2M_20190302105320.zip");
    for (log, meta, expected) in [
        (
            InputFile::from_path(&soop("EPA_SOOP_TMV1_MEL_20141006052223.log")),
            None,
            "IMOS_SOOP-TMV_TSUB_20141006T052230Z_VLST_FV00_mooring-MEL_END-20141006T082730Z.nc",
        ),
        (
            InputFile::from_path(&soop(DEV_10SECS)),
            None,
            "IMOS_SOOP-TMV_TSUB_20181102T185140Z_VLST_FV00_mooring-DEV_END-20181102T215350Z.nc",
        ),
        (
            meta_zip[0].clone(),
            Some(meta_zip[1].clone()),
            "IMOS_SOOP-TMV_TSUB_20190302T105330Z_VLST_FV00_transect-D2M_END-20190302T202040Z.nc",
        ),
    ] {
        let p = convert_log(
            &log.path,
            &log.name,
            meta.as_ref().map(|m| (m.path.as_path(), m.name.as_str())),
            "Spirit-of-Tasmania-1",
            dir.path(),
            now(),
        )
        .unwrap();
        assert_eq!(p.generated.name, expected);
        assert_eq!(p.frequency, Frequency::TenSeconds);
        let (ours, _) = assert_same_product(
            &p.generated.path,
            &soop(&format!("expected/{expected}")),
            OWN,
        );
        assert_eq!(
            ours.global_str("history"),
            Some("File created 2024-05-06T07:08:09Z")
        );
    }
}

#[test]
fn times_are_read_in_one_format_for_the_whole_log() {
    assert_eq!(
        iso_time("2013-10-06 08:22:54"),
        NaiveDate::from_ymd_opt(2013, 10, 6)
            .unwrap()
            .and_hms_opt(8, 22, 54)
    );
    assert_eq!(
        iso_time("2013/10/06 08:22:54"),
        NaiveDate::from_ymd_opt(2013, 10, 6)
            .unwrap()
            .and_hms_opt(8, 22, 54)
    );
    assert_eq!(iso_time("2013-10/06 08:22:54"), None);
    assert_eq!(iso_time("05/08/2018 22:04:00"), None);
    assert_eq!(
        day_first_time("05/08/2018 22:04:00"),
        NaiveDate::from_ymd_opt(2018, 8, 5)
            .unwrap()
            .and_hms_opt(22, 4, 0)
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("EPA_SOOP_TMV1_DEV_1.log");
    std::fs::write(&log, "2018-11-02 18:51:40,,DEV,0,-41,146,14,35,0.4,3\n2018-11-02 18:51:50,,DEV,0,-41,146,x,35,0.4,3\n").unwrap();
    let err = convert_log(
        &log,
        "EPA_SOOP_TMV1_DEV_1.log",
        None,
        "V",
        dir.path(),
        now(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("line 2: TEMP 'x' is not a number"),
        "{err}"
    );
}
