//! The reference's `test_aatams_sattag.py` cases on its own inputs, and the table rules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::handlers::testing::{imos_data, unzip};

fn rejected(result: Result<SattagPlan, HandlerError>) -> String {
    match result {
        Err(HandlerError::Rejected(msg)) => msg,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Runs the core on an upload of the test data as the stream would: a ZIP's members, or the
/// uploaded CSV itself.
fn run(
    relative: &str,
    mode: Mode,
) -> (Option<tempfile::TempDir>, Result<SattagPlan, HandlerError>) {
    let path = imos_data(relative);
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    if name.ends_with(".zip") {
        let (dir, files) = unzip(&path);
        (Some(dir), prepare(&name, &files, mode))
    } else {
        (None, prepare(&name, &[InputFile::from_path(&path)], mode))
    }
}

fn assert_published(plan: &SattagPlan, base: &str, upload: &str, tables: &[&str]) {
    assert_eq!(plan.upload.name, upload);
    assert_eq!(plan.upload.publish, PublishType::UploadOnly);
    assert_eq!(
        plan.upload.dest.as_deref(),
        Some(format!("{base}/{upload}").as_str())
    );
    let harvested: Vec<(&str, &str)> = plan
        .files
        .iter()
        .filter(|f| f.publish == PublishType::HarvestOnly)
        .map(|f| (f.name.as_str(), f.dest.as_deref().unwrap()))
        .collect();
    let expected: Vec<(&str, String)> =
        tables.iter().map(|t| (*t, format!("{base}/{t}"))).collect();
    assert_eq!(harvested.len(), expected.len(), "{harvested:?}");
    for (name, dest) in &expected {
        assert!(
            harvested.contains(&(name, dest.as_str())),
            "{name} → {dest} in {harvested:?}"
        );
    }
    // No table is stored or archived: the harvest records their URL only.
    for f in &plan.files {
        assert!(!f.publish.store() && !f.publish.archive(), "{f:?}");
    }
}

const WD12_DM: [&str; 7] = [
    "ctd_wd12_dm.csv",
    "diag_wd12_dm.csv",
    "dive_wd12_dm.csv",
    "haulout_wd12_dm.csv",
    "metadata_wd12_dm.csv",
    "ssmoutputs_wd12_dm.csv",
    "summary_wd12_dm.csv",
];

fn tables(campaign: &str, mode: &str) -> Vec<String> {
    TableKind::ALL
        .iter()
        .map(|k| format!("{}_{campaign}_{mode}.csv", k.prefix()))
        .collect()
}

// --- TestAatamsQcDmHandler ---

#[test]
fn dm_stream_refuses_nrt_names() {
    for upload in [
        "aatams/first_nrt_batch/wd12_nrt.zip",
        "aatams/metadata_ct111_nrt.csv",
    ] {
        let msg = rejected(run(upload, Mode::Dm).1);
        assert!(
            msg.contains("DM stream") && msg.contains("_dm.zip"),
            "{msg}"
        );
    }
}

#[test]
fn dm_single_csv_is_not_a_bundle() {
    let msg = rejected(run("aatams/metadata_ct111_dm.csv", Mode::Dm).1);
    assert!(
        msg.contains("the upload: holds 1 file where a bundle is a ZIP of exactly 7 CSV tables"),
        "{msg}"
    );
    assert!(
        msg.contains("missing: ctd, diag, dive, haulout, ssmoutputs, summary"),
        "{msg}"
    );
}

#[test]
fn dm_zip_with_one_csv_is_not_a_bundle() {
    let msg = rejected(run("aatams/built/xxx_dm.zip", Mode::Dm).1);
    assert!(msg.starts_with("xxx_dm.zip:"), "{msg}");
    assert!(msg.contains("holds 1 file"), "{msg}");
}

#[test]
fn dm_bundle_publishes_the_zip_and_hands_every_table_to_the_harvest() {
    let (_dir, plan) = run("aatams/simple_dm.zip", Mode::Dm);
    let plan = plan.expect("simple_dm.zip is valid");
    assert_published(&plan, DM_BASE, "simple_dm.zip", &WD12_DM);
    assert_eq!(plan.campaign, "simple");
    assert_eq!(plan.tables.len(), 7);
    assert!(plan.tables.iter().all(|t| !t.skipped_empty && t.rows > 0));
    assert_eq!(
        plan.latest_qc_end,
        NaiveDate::from_ymd_opt(2020, 8, 16)
            .unwrap()
            .and_hms_opt(18, 0, 0)
    );
    // The DM stream compares nothing.
    assert!(published_to_compare(&plan, &[format!("{DM_BASE}/simple_dm.zip")]).is_empty());
}

#[test]
fn dm_invalid_longitude_says_so() {
    let msg = rejected(run("aatams/invalidlongitude_dm.zip", Mode::Dm).1);
    assert!(msg.contains("Invalid longitude input"), "{msg}");
    assert!(
        msg.contains(
            "metadata_ct155_dm.csv: line 2, column release_longitude: \"abc\" is not a longitude"
        ),
        "{msg}"
    );
}

// --- TestAatamsQcNrtHandler ---

#[test]
fn nrt_stream_refuses_dm_names() {
    for upload in ["aatams/simple_dm.zip", "aatams/metadata_ct111_dm.csv"] {
        let msg = rejected(run(upload, Mode::Nrt).1);
        assert!(
            msg.contains("NRT stream") && msg.contains("_nrt.zip"),
            "{msg}"
        );
    }
}

#[test]
fn nrt_single_csv_is_not_a_bundle() {
    let msg = rejected(run("aatams/metadata_ct111_nrt.csv", Mode::Nrt).1);
    assert!(msg.contains("holds 1 file"), "{msg}");
}

#[test]
fn nrt_bundle_publishes_the_zip_and_hands_every_table_to_the_harvest() {
    let (_dir, plan) = run("aatams/first_nrt_batch/wd12_nrt.zip", Mode::Nrt);
    let plan = plan.expect("the first batch is valid");
    let names = tables("wd12", "nrt");
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_published(&plan, NRT_BASE, "wd12_nrt.zip", &names);
    assert_eq!(plan.campaign, "wd12");
}

/// Publishes `upload` into `store` (key → local copy) as the stream does: compare with the
/// published ZIPs of the campaign, then the upload overwrites its destination.
fn publish_nrt(
    store: &mut BTreeMap<String, PathBuf>,
    relative: &str,
) -> Result<Vec<String>, String> {
    let (_dir, plan) = run(relative, Mode::Nrt);
    let plan = plan.map_err(|e| e.to_string())?;
    let listing: Vec<String> = store.keys().cloned().collect();
    let to_fetch = published_to_compare(&plan, &listing);
    let fetched: Vec<(String, PathBuf)> = to_fetch
        .iter()
        .map(|k| (k.clone(), store[k].clone()))
        .collect();
    let comparisons = check_nrt_update(&plan, &fetched).map_err(|e| e.to_string())?;
    store.insert(plan.upload.dest.clone().unwrap(), imos_data(relative));
    Ok(comparisons.iter().map(|c| c.log_line(&plan)).collect())
}

#[test]
fn nrt_update_with_a_more_recent_batch_compares_and_overwrites() {
    let mut store = BTreeMap::new();
    assert_eq!(
        publish_nrt(&mut store, "aatams/first_nrt_batch/wd12_nrt.zip"),
        Ok(vec![])
    );
    let log = publish_nrt(&mut store, "aatams/second_nrt_batch/wd12_nrt.zip").expect("newer batch");
    assert_eq!(
        log,
        vec![format!(
            "NRT update requested: Comparing timestamps of metadata file in {NRT_BASE}/wd12_nrt.zip and metadata_wd12_nrt.csv"
        )]
    );
    // Nothing is deleted: the ZIP overwrites the published one.
    assert_eq!(store.len(), 1);
    assert_eq!(
        store[&format!("{NRT_BASE}/wd12_nrt.zip")],
        imos_data("aatams/second_nrt_batch/wd12_nrt.zip")
    );
}

#[test]
fn nrt_batch_older_than_the_published_one_is_refused() {
    let mut store = BTreeMap::new();
    publish_nrt(&mut store, "aatams/second_nrt_batch/wd12_nrt.zip").unwrap();
    let msg = publish_nrt(&mut store, "aatams/first_nrt_batch/wd12_nrt.zip").unwrap_err();
    assert!(
        msg.contains("wd12_nrt.zip: its metadata's latest qc_end_date (2020-08-16T18:00:00Z) is older than that of the published IMOS/AATAMS/satellite_tagging/ATF_Location_QC_NRT/wd12_nrt.zip (2021-08-16T18:00:00Z)"),
        "{msg}"
    );
    assert_eq!(
        store[&format!("{NRT_BASE}/wd12_nrt.zip")],
        imos_data("aatams/second_nrt_batch/wd12_nrt.zip")
    );
}

#[test]
fn nrt_batch_of_another_campaign_is_not_compared() {
    let mut store = BTreeMap::new();
    publish_nrt(&mut store, "aatams/second_nrt_batch/wd12_nrt.zip").unwrap();
    assert_eq!(
        publish_nrt(&mut store, "aatams/new_wd10_nrt.zip"),
        Ok(vec![])
    );
    assert_eq!(store.len(), 2);
}

#[test]
fn nrt_empty_dive_table_is_neither_checked_nor_published() {
    let (_dir, plan) = run("aatams/emptydive_ct999_nrt.zip", Mode::Nrt);
    let plan = plan.expect("an empty dive table is allowed");
    let names: Vec<String> = tables("ct999", "nrt")
        .into_iter()
        .filter(|n| !n.starts_with("dive"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_published(&plan, NRT_BASE, "emptydive_ct999_nrt.zip", &names);
    let dive = plan
        .files
        .iter()
        .find(|f| f.name == "dive_ct999_nrt.csv")
        .unwrap();
    assert_eq!(dive.publish, PublishType::NoAction);
    assert_eq!(dive.check, Some(crate::model::CheckType::NoAction));
    assert!(
        plan.tables
            .iter()
            .any(|t| t.kind == TableKind::Dive && t.skipped_empty)
    );
}

#[test]
fn nrt_stream_of_updates_leaves_one_zip_per_upload_name() {
    let mut store = BTreeMap::new();
    for upload in [
        "aatams/first_nrt_batch/wd12_nrt.zip",
        "aatams/first_nrt_batch/wd12_nrt.zip",
        "aatams/second_nrt_batch/wd12_nrt.zip",
        "aatams/second_nrt_batch/wd12_nrt.zip",
        "aatams/new_wd10_nrt.zip",
        "aatams/new_wd10_nrt.zip",
        "aatams/emptydive_ct999_nrt.zip",
        "aatams/emptydive_ct999_nrt.zip",
    ] {
        publish_nrt(&mut store, upload).unwrap_or_else(|e| panic!("{upload}: {e}"));
    }
    let names: Vec<&str> = store.keys().map(|k| base_name(k)).collect();
    assert_eq!(
        names,
        vec![
            "emptydive_ct999_nrt.zip",
            "new_wd10_nrt.zip",
            "wd12_nrt.zip"
        ]
    );
}

#[test]
fn nrt_tables_of_another_campaign_than_their_names_are_refused() {
    // The ZIP says ct555, its tables are named ct155 and hold other ids.
    let msg = rejected(run("aatams/mixcampaign_ct555_nrt.zip", Mode::Nrt).1);
    assert!(
        msg.contains("dive_ct155_nrt.csv: its cid values {\"wd12\"} differ from the sattag_program values {\"ct155\"} of metadata_ct155_nrt.csv"),
        "{msg}"
    );
}

#[test]
fn nrt_metadata_of_another_campaign_is_refused() {
    let msg = rejected(run("aatams/csvcampaignmismatch_ct999_nrt.zip", Mode::Nrt).1);
    assert!(
        msg.contains("ctd_ct999_nrt.csv: its cid values {\"ct888\"} differ from the sattag_program values {\"ct999\"} of metadata_ct999_nrt.csv"),
        "{msg}"
    );
}

#[test]
fn nrt_ids_that_do_not_match_across_tables_are_refused() {
    let msg = rejected(run("aatams/csvfilecontentmismatch_ct156_nrt.zip", Mode::Nrt).1);
    assert!(
        msg.contains("ctd_ct156_nrt.csv: its cid values {\"ct888\"} differ from the sattag_program values {\"ct155\"} of metadata_ct156_nrt.csv"),
        "{msg}"
    );
}

#[test]
fn nrt_dotted_column_names_are_refused_with_their_snake_case_name() {
    let msg = rejected(run("aatams/dots_wd12_nrt.zip", Mode::Nrt).1);
    assert!(
        msg.contains("metadata_wd12_nrt.csv: unknown column \"sattag.program\" (column names are snake_case: sattag_program)"),
        "{msg}"
    );
}

#[test]
fn nrt_us_dates_are_refused() {
    let msg = rejected(run("aatams/date_format_us_ct156_nrt.zip", Mode::Nrt).1);
    assert!(
        msg.contains("ctd_ct156_dm.csv: line 2, column created: \"08/16/20 21:05:23\" is not a UTC date and time written like 2020-08-16T18:00:00Z"),
        "{msg}"
    );
}

#[test]
fn campaign_matching_published_names_is_exact() {
    let (_dir, plan) = run("aatams/first_nrt_batch/wd12_nrt.zip", Mode::Nrt);
    let plan = plan.unwrap();
    let listing: Vec<String> = [
        "wd12_nrt.zip",
        "wd123_nrt.zip",
        "x_wd12_nrt.zip",
        "wd12_nrt.csv",
        "wd1_nrt.zip",
    ]
    .iter()
    .map(|n| format!("{NRT_BASE}/{n}"))
    .collect();
    assert_eq!(
        published_to_compare(&plan, &listing),
        vec![
            format!("{NRT_BASE}/wd12_nrt.zip"),
            format!("{NRT_BASE}/x_wd12_nrt.zip")
        ]
    );
}

// --- the table rules ---

#[test]
fn dates_read_as_python_strptime_reads_them() {
    let at = |y, mo, d, h, mi, s| {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
    };
    assert_eq!(
        parse_date("2020-08-16T18:00:00Z"),
        at(2020, 8, 16, 18, 0, 0)
    );
    assert_eq!(parse_date("2020-8-6T1:2:3Z"), at(2020, 8, 6, 1, 2, 3));
    assert_eq!(
        parse_date("2020-08-16t18:00:00z"),
        at(2020, 8, 16, 18, 0, 0)
    );
    // 24:00:00 is read as midnight of the same day, as the reference does.
    assert_eq!(parse_date("2020-08-16T24:00:00Z"), at(2020, 8, 16, 0, 0, 0));
    for bad in [
        "2020-08-16 18:00:00",
        "08/16/20 21:05:23",
        "2020-02-30T00:00:00Z",
        "2020-08-16T18:00:60Z",
        "20-08-16T18:00:00Z",
        "",
    ] {
        assert_eq!(parse_date(bad), None, "{bad}");
    }
}

#[test]
fn rules_take_what_the_reference_takes() {
    let lon = Rule::required(Kind::Longitude);
    assert!(lon.check("0").is_ok());
    assert!(lon.check("-180").is_ok());
    assert!(lon.check("180.5").is_err());
    assert!(lon.check("nan").is_err());
    assert!(Rule::optional(Kind::Longitude).check("NaN").is_ok());
    assert!(Rule::optional(Kind::Longitude).check(" NA ").is_ok());
    assert!(Rule::required(Kind::PositiveInt).check("-1").is_err());
    assert!(Rule::required(Kind::PositiveInt).check("0").is_ok());
    assert!(Rule::required(Kind::Int).check("1.0").is_err());
    assert!(Rule::required(Kind::NonEmptyText).check("").is_err());
    assert!(Rule::required(Kind::Text).check("").is_ok());
    assert!(Rule::optional(Kind::FloatList).check("4,6,8.5").is_ok());
    assert!(Rule::optional(Kind::FloatList).check("4,,8").is_err());
    assert!(Rule::optional(Kind::IntList).check("1,2,3").is_ok());
    assert!(Rule::optional(Kind::IntList).check("1,2.5").is_err());
    assert!(Rule::required(Kind::Latitude).check("-90").is_ok());
    assert!(Rule::required(Kind::Latitude).check("91").is_err());
}

#[test]
fn every_table_names_its_campaign_column_once() {
    for kind in TableKind::ALL {
        let cols = kind.columns();
        let n = cols
            .iter()
            .filter(|(c, _)| c == kind.campaign_column())
            .count();
        assert_eq!(n, 1, "{kind:?}");
        let mut names: Vec<&str> = cols.iter().map(|(c, _)| c.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), cols.len(), "{kind:?} repeats a column");
    }
}
