//! The reference's AodnWaveHandler tests (`test_aodn_wave.py`) on its own inputs, and the
//! monthly products compared with those the reference's aggregator makes from the same files.

use std::path::PathBuf;

use chrono::TimeZone;

use super::*;
use crate::handlers::product::text;
use crate::handlers::testing::{assert_same_product, imos_data};
use crate::netcdf::NcWriter;
use crate::netcdf::VarDef;

const MONTHLY: &str = "DOT-WA_20220901_MANDURAH_RT_WAVE-PARAMETERS_monthly.nc";
const FILE_1: &str = "DOT-WA_20220913T180000Z_MANDURAH_RT_WAVE-PARAMETERS_END-20220914T000000Z.nc";
const FILE_1_MOD: &str =
    "DOT-WA_20220913T180000Z_MANDURAH_RT_WAVE-PARAMETERS_END-20220914T000000Z-MODIFIED-VALUES.nc";
const FILE_2: &str = "DOT-WA_20220929T120000Z_MANDURAH_RT_WAVE-PARAMETERS_END-20220929T120000Z.nc";
const FILE_3: &str = "DOT-WA_20220929T180000Z_MANDURAH_RT_WAVE-PARAMETERS_END-20220929T180000Z.nc";
const MANDURAH: &str =
    "Department_of_Transport-Western_Australia/WAVE-BUOYS/REALTIME/WAVE-PARAMETERS/MANDURAH/2022";
/// Attributes that carry the run's time.
const OWN: &[&str] = &["date_created"];

fn wave(name: &str) -> PathBuf {
    imos_data(&format!("aodn_wave/{name}"))
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap()
}

fn dest(name: &str) -> String {
    WaveName::parse(name).unwrap().dest_path()
}

fn rejected(name: &str) -> String {
    match WaveName::parse(name) {
        Err(HandlerError::Rejected(reason)) => reason,
        other => panic!("{name}: {other:?}"),
    }
}

fn publish_of(name: &str) -> (PublishType, String) {
    match plan(name).unwrap() {
        WavePlan::Publish { name, publish } => (publish, name.dest_path()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn test_dest_path() {
    for (name, want) in [
        (
            "DOT-WA_20170601_CAPE-NATURALISTE_DM_WAVE-PARAMETERS_END-20170918.nc",
            "Department_of_Transport-Western_Australia/WAVE-BUOYS/DELAYED/WAVE-PARAMETERS/CAPE-NATURALISTE/DOT-WA_20170601_CAPE-NATURALISTE_DM_WAVE-PARAMETERS_END-20170918.nc",
        ),
        (
            "BOM_19980107_CAPE-SORELL_DM_WAVE-PARAMETERS_END-19981231.nc",
            "Bureau_of_Meteorology/WAVE-BUOYS/DELAYED/WAVE-PARAMETERS/CAPE-SORELL/BOM_19980107_CAPE-SORELL_DM_WAVE-PARAMETERS_END-19981231.nc",
        ),
        (
            "BOM_19980107_CAPE-DU-COUEDIC_DM_WAVE-PARAMETERS_END-19981231.nc",
            "Bureau_of_Meteorology/WAVE-BUOYS/DELAYED/WAVE-PARAMETERS/CAPE-DU-COUEDIC/BOM_19980107_CAPE-DU-COUEDIC_DM_WAVE-PARAMETERS_END-19981231.nc",
        ),
        (
            "DES-QLD_19750918_MACKAY_DM_WAVE-PARAMETERS_END-20110210.nc",
            "Department_of_Environment_and_Science-Queensland/WAVE-BUOYS/DELAYED/WAVE-PARAMETERS/MACKAY/DES-QLD_19750918_MACKAY_DM_WAVE-PARAMETERS_END-20110210.nc",
        ),
        (
            "DTA_20190531_CAMPBELL-ISLAND_DM_WAVE-PARAMETERS_END-20190531.nc",
            "Defence_Technology_Agency-New_Zealand/WAVE-BUOYS/DELAYED/WAVE-PARAMETERS/CAMPBELL-ISLAND/DTA_20190531_CAMPBELL-ISLAND_DM_WAVE-PARAMETERS_END-20190531.nc",
        ),
        (
            "IMOS_NTP-WAVE_20200113_TORBAY_DM_WAVE-PARAMETERS_END-20200319.nc",
            "IMOS/NTP/Low_Cost_Wave_Buoy_Technology/WAVE-BUOYS/DELAYED/WAVE-PARAMETERS/TORBAY/IMOS_NTP-WAVE_20200113_TORBAY_DM_WAVE-PARAMETERS_END-20200319.nc",
        ),
        (
            "NSW-DPE_20200113_MAROUBRA_DM_WAVE-SPECTRA_END-20200319.nc",
            "Department_of_Planning_and_Environment-New_South_Wales/WAVE-BUOYS/DELAYED/WAVE-SPECTRA/MAROUBRA/NSW-DPE_20200113_MAROUBRA_DM_WAVE-SPECTRA_END-20200319.nc",
        ),
        (
            "UWA_20210701_KING-GEORGE-SOUND_DM_WAVE-PARAMETERS_END-20210801.nc",
            "UWA/WAVE-BUOYS/DELAYED/WAVE-PARAMETERS/KING-GEORGE-SOUND/UWA_20210701_KING-GEORGE-SOUND_DM_WAVE-PARAMETERS_END-20210801.nc",
        ),
        (
            "SA-DEW_20210701_NORTH-HAVEN_DM_WAVE-PARAMETERS_END-20210801.nc",
            "Department_for_Environment_and_Water-South_Australia/WAVE-BUOYS/DELAYED/WAVE-PARAMETERS/NORTH-HAVEN/SA-DEW_20210701_NORTH-HAVEN_DM_WAVE-PARAMETERS_END-20210801.nc",
        ),
        (
            "IMOS_ANMN-DEEP-WATER-WAVES_20230530T003000Z_BRISBANE-OFFSHORE_RT_WAVE-PARAMETERS_20230530T013000Z.nc",
            "IMOS/ANMN/Deep_Water_Waves/WAVE-BUOYS/REALTIME/WAVE-PARAMETERS/BRISBANE-OFFSHORE/2023/IMOS_ANMN-DEEP-WATER-WAVES_20230530_BRISBANE-OFFSHORE_RT_WAVE-PARAMETERS_monthly.nc",
        ),
        (
            "IMOS_ANMN-WAVE-BUOYS_20230530T003000Z_MARIA-ISLAND_RT_WAVE-PARAMETERS_20230530T013000Z.nc",
            "IMOS/ANMN/Wave_Buoys/WAVE-BUOYS/REALTIME/WAVE-PARAMETERS/MARIA-ISLAND/2023/IMOS_ANMN-WAVE-BUOYS_20230530_MARIA-ISLAND_RT_WAVE-PARAMETERS_monthly.nc",
        ),
        (
            "IMOS_COASTAL-WAVE-BUOYS_20241112T003000Z_CORAL-BAY_RT_WAVE-PARAMETERS_20241112T003000Z.nc",
            "IMOS/COASTAL-WAVE-BUOYS/WAVE-BUOYS/REALTIME/WAVE-PARAMETERS/CORAL-BAY/2024/IMOS_COASTAL-WAVE-BUOYS_20241112_CORAL-BAY_RT_WAVE-PARAMETERS_monthly.nc",
        ),
    ] {
        assert_eq!(dest(name), want, "{name}");
    }
}

#[test]
fn test_sitename_is_dash_separated() {
    for name in [
        "DOT-WA_20170601_CAPE_NATURALISTE_DM_WAVE-RAW-DISPLACEMENTS_END-20170918.nc",
        "IMOS_NTP_WAVE_20200113_CAPE_BRIDGEWATER_DM_WAVE-PARAMETERS_END-20200319.nc",
    ] {
        assert!(
            rejected(name).contains("should be - not _ separated"),
            "{name}"
        );
    }
}

#[test]
fn test_mode_in_filename() {
    let reason = rejected("UWA_20170601_TORBAY_WAVE-RAW-DISPLACEMENTS_END-20170918.nc");
    assert!(reason.contains("has invalid filename"), "{reason}");
}

#[test]
fn delayed_mode_files_are_published_as_they_are() {
    // test_publication_integral_parameter, test_publication_spectra, test_publication_raw.
    let base = "Department_of_Transport-Western_Australia/WAVE-BUOYS/DELAYED";
    for (datatype, publish) in [
        ("WAVE-PARAMETERS", PublishType::HarvestUpload),
        ("WAVE-SPECTRA", PublishType::UploadOnly),
        ("WAVE-RAW-DISPLACEMENTS", PublishType::UploadOnly),
    ] {
        let name = format!("DOT-WA_20170601_CAPE-NATURALISTE_DM_{datatype}_END-20170918.nc");
        assert!(wave(&format!("synth/{name}")).exists());
        assert_eq!(
            publish_of(&name),
            (
                publish,
                format!("{base}/{datatype}/CAPE-NATURALISTE/{name}")
            )
        );
    }
}

#[test]
fn monthly_files_pushed_again_are_published_as_they_are() {
    // test_publication_sofar_omc_realtime: an institution that is not aggregated.
    let name = "NSW-DPE_20220901_BENGELLO_RT_WAVE-PARAMETERS_monthly.nc";
    assert!(wave(&format!("synth/{name}")).exists());
    assert_eq!(
        publish_of(name),
        (
            PublishType::HarvestUpload,
            format!(
                "Department_of_Planning_and_Environment-New_South_Wales/WAVE-BUOYS/REALTIME/WAVE-PARAMETERS/BENGELLO/2022/{name}"
            )
        )
    );
    // test_publication_monthly_BOM_file: an aggregated institution's monthly file.
    assert!(wave(MONTHLY).exists());
    assert_eq!(
        publish_of(MONTHLY),
        (PublishType::HarvestUpload, format!("{MANDURAH}/{MONTHLY}"))
    );
    // test_rename_monthly_file: the time of the name is cut to the day.
    let name = "NSW-DPE_20220901T000000Z_BENGELLO_RT_WAVE-PARAMETERS_monthly.nc";
    assert!(wave(name).exists());
    let (publish, dest) = publish_of(name);
    assert_eq!(publish, PublishType::HarvestUpload);
    assert!(
        dest.ends_with("/NSW-DPE_20220901_BENGELLO_RT_WAVE-PARAMETERS_monthly.nc"),
        "{dest}"
    );
}

fn aggregate_plan(name: &str) -> WavePlan {
    let p = plan(name).unwrap();
    assert!(matches!(p, WavePlan::Aggregate { .. }), "{p:?}");
    p
}

#[test]
fn test_publication_bom_realtime_no_aggregation() {
    let p = aggregate_plan(FILE_1);
    let WavePlan::Aggregate {
        name,
        listing_prefix,
        product_dest_dir,
        ..
    } = &p
    else {
        unreachable!()
    };
    assert_eq!(listing_prefix, &format!("{MANDURAH}/DOT-WA_202209"));
    assert_eq!(product_dest_dir, MANDURAH);
    // Nothing published for the month yet (an older month's product does not count): the
    // upload is published (HARVEST_ARCHIVE_UPLOAD) under the monthly name, archived under its own.
    let listed = vec![format!(
        "{MANDURAH}/DOT-WA_20220801_MANDURAH_RT_WAVE-PARAMETERS_monthly.nc"
    )];
    assert_eq!(find_monthly(&p, &listed), None);
    assert_eq!(
        name.dest_path(),
        format!("{MANDURAH}/DOT-WA_20220913_MANDURAH_RT_WAVE-PARAMETERS_monthly.nc")
    );
    assert_eq!(name.archive_path(), format!("{MANDURAH}/{FILE_1}"));
}

fn aggregated(
    dir: &std::path::Path,
    upload: &str,
    monthly: &std::path::Path,
) -> Result<Generated, HandlerError> {
    let out = dir.join(upload);
    std::fs::create_dir_all(&out).unwrap();
    aggregate(&wave(upload), upload, monthly, MONTHLY, &out, now())
}

#[test]
fn test_publication_bom_realtime_with_aggregation() {
    let p = aggregate_plan(FILE_2);
    let listed = vec![
        format!("{MANDURAH}/{MONTHLY}"),
        format!(
            "{MANDURAH}/DOT-WA_20220929T120000Z_MANDURAH_RT_WAVE-PARAMETERS_END-20220929T120000Z.nc"
        ),
    ];
    assert_eq!(find_monthly(&p, &listed), Some(listed[0].as_str()));
    let WavePlan::Aggregate {
        name,
        product_dest_dir,
        ..
    } = &p
    else {
        unreachable!()
    };
    assert_eq!(name.archive_path(), format!("{MANDURAH}/{FILE_2}"));
    assert_eq!(
        format!("{product_dest_dir}/{MONTHLY}"),
        format!("{MANDURAH}/{MONTHLY}")
    );

    let dir = tempfile::tempdir().unwrap();
    let g = aggregated(dir.path(), FILE_2, &wave(MONTHLY)).unwrap();
    assert_eq!(g.name, MONTHLY);
    let (ours, _) = assert_same_product(
        &g.path,
        &wave(&format!("expected/with_aggregation/{MONTHLY}")),
        OWN,
    );
    assert_eq!(
        ours.global_str("date_created"),
        Some("2024-05-06T07:08:09Z")
    );
    assert_eq!(
        ours.global_str("title"),
        Some(
            "Near real time wave buoy observations at Mandurah from 2022-09-13T18:00:00Z to 2022-09-29T12:00:00Z"
        )
    );
}

#[test]
fn test_publication_bom_realtime_with_aggregation_not_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let first = aggregated(dir.path(), FILE_3, &wave(MONTHLY)).unwrap();
    // The older file arrives after: merged in TIME order.
    let second = aggregated(dir.path(), FILE_2, &first.path).unwrap();
    assert_eq!(second.name, MONTHLY);
    let (ours, _) = assert_same_product(
        &second.path,
        &wave(&format!("expected/not_ordered/{MONTHLY}")),
        OWN,
    );
    assert_eq!(ours.dimension("TIME").unwrap().len, 4);
}

#[test]
fn test_publication_bom_realtime_with_aggregation_not_strictly_monotonic() {
    let dir = tempfile::tempdir().unwrap();
    // The same records as the month's: identical rows are dropped, TIME stays strictly increasing.
    let same = aggregated(dir.path(), FILE_1, &wave(MONTHLY)).unwrap();
    assert_same_product(
        &same.path,
        &wave(&format!("expected/duplicates_dropped/{MONTHLY}")),
        OWN,
    );
    let f = NcFile::open(&same.path).unwrap();
    let time = f.read_f64("TIME", &[0], &[2]).unwrap();
    assert_eq!(time, [26553.75, 26554.0]);
    // The same times with other values: rejected (InvalidFileContentError).
    match aggregated(dir.path(), FILE_1_MOD, &same.path) {
        Err(HandlerError::Rejected(reason)) => {
            assert!(reason.contains("is not strictly monotonic"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_variable_the_monthly_product_lacks_is_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_2);
    let mut w = NcWriter::create(&path).unwrap();
    w.add_dimension("TIME", Some(1)).unwrap();
    for (name, units) in [
        ("TIME", "days since 1950-01-01 00:00:00 UTC"),
        ("VAVH", "m"),
    ] {
        w.add_variable(&VarDef {
            name: name.into(),
            dtype: NcType::Double,
            dimensions: vec!["TIME".into()],
            fill_value: None,
            attributes: vec![crate::netcdf::Attribute {
                name: "units".into(),
                value: text(units),
            }],
            keep_nan: false,
        })
        .unwrap();
    }
    w.write_f64("TIME", &[0], &[1], &[26569.5]).unwrap();
    w.write_f64("VAVH", &[0], &[1], &[1.0]).unwrap();
    w.finish().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    match aggregate(&path, FILE_2, &wave(MONTHLY), MONTHLY, &out, now()) {
        Err(HandlerError::Rejected(reason)) => {
            assert!(
                reason.contains("VAVH is not a variable of the monthly"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
}
