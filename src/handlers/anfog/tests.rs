//! The reference's `test_anfog.py` cases. Inputs over 4 MiB that the reference repository's
//! stored snapshot lacks (the delayed-mode FV01 of TwoRocks20180503a and its ZIP) are stood in for
//! by files made here: a NetCDF made with `ncgen` with the attributes the handler reads, under the
//! reference file's name, and members the handler only names.

use std::collections::BTreeMap;

use super::*;
use crate::compliance::testing::nc_from_cdl_named;
use crate::handlers::testing::{imos_data, unzip, write_file};

const RT_FOLDER: &str = "IMOS/ANFOG/REALTIME/slocum_glider/TwoRocks20180503a";
const DM_FOLDER: &str = "IMOS/ANFOG/slocum_glider/TwoRocks20180503a";
const DM_NC: &str =
    "IMOS_ANFOG_BCEOPSTUV_20180503T080042Z_SL210_FV01_timeseries_END-20180505T054942Z.nc";
const PREV_NC_RT: &str =
    "IMOS_ANFOG_BCEOSTUV_20180503T075848Z_SL210_FV00_timeseries_END-20180504T000000Z.nc";
const NEW_NC_RT: &str =
    "IMOS_ANFOG_BCEOSTUV_20180503T075848Z_SL210_FV00_timeseries_END-20180505T025556Z.nc";
const PREV_PNG_TRANSECT: &str = "unit210_b700_tser_20180503T000000-20180504T000000.png";
const PREV_PNG_MISSION: &str = "unit210_b700_tser_mission.png";

fn rejected<T: std::fmt::Debug>(result: Result<T, HandlerError>) -> String {
    match result {
        Err(HandlerError::Rejected(msg)) => msg,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// The listings `classify` asked for: each folder's keys among `published`.
fn listings(upload: &AnfogUpload, published: &[String]) -> BTreeMap<String, Vec<String>> {
    upload
        .folders_to_list
        .iter()
        .map(|folder| {
            let keys = published
                .iter()
                .filter(|k| k.starts_with(folder.as_str()))
                .cloned()
                .collect();
            (folder.clone(), keys)
        })
        .collect()
}

fn run(
    upload_name: &str,
    files: &[InputFile],
    published: &[String],
) -> (tempfile::TempDir, Result<AnfogPlan, HandlerError>) {
    let work = tempfile::tempdir().unwrap();
    let result = classify(upload_name, files).and_then(|upload| {
        let listings = listings(&upload, published);
        plan(&upload, files, &listings, work.path())
    });
    (work, result)
}

fn placement<'a>(plan: &'a AnfogPlan, name: &str) -> &'a Placement {
    plan.files
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} placed"))
}

/// `name` published at `folder/name`.
fn placed(folder: &str, name: &str, publish: PublishType) -> Placement {
    Placement::new(name, publish, Some(format!("{folder}/{name}")))
}

/// The deletion of `folder/name`.
fn gone(folder: &str, name: &str, publish: PublishType) -> Deletion {
    Deletion {
        key: format!("{folder}/{name}"),
        publish,
    }
}

fn keys(folder: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{folder}/{n}")).collect()
}

/// The delayed-mode FV01 of TwoRocks20180503a as the handler reads it.
fn dm_stand_in() -> (tempfile::TempDir, InputFile) {
    let cdl = r#"netcdf dm {
dimensions:
    TIME = 1 ;
variables:
    double TIME(TIME) ;
// global attributes:
    :title = "Slocum glider data from the mission TwoRocks20180503a" ;
    :deployment_code = "TwoRocks20180503a" ;
    :platform_code = "SL210" ;
data:
    TIME = 0 ;
}"#;
    let (dir, path) = nc_from_cdl_named(cdl, DM_NC);
    (dir, InputFile::new(DM_NC, path))
}

/// The delayed-mode ZIP's members: the FV01 stand-in, a raw FV00, raw files, a picture, a report.
fn dm_zip_stand_in() -> (Vec<tempfile::TempDir>, Vec<InputFile>) {
    let (nc_dir, nc) = dm_stand_in();
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        nc,
        write_file(
            dir.path(),
            "IMOS_ANFOG_BCEOPRSTUV_20180503T080042Z_SL210_FV00_timeseries_END-20180505T054942Z.nc",
            b"raw",
        ),
        write_file(dir.path(), "unit210_rawfiles.zip", b"raw"),
        write_file(dir.path(), "TwoRocks20180503a_traj.jpg", b"jpg"),
        write_file(dir.path(), "TwoRocks20180503a_QC_Report.pdf", b"pdf"),
    ];
    (vec![nc_dir, dir], files)
}

const DM_ZIP: &str =
    "IMOS_ANFOG_BCEOPSTUV_20180503T080042Z_SL210_FV01_timeseries_END-20180505T054942Z.zip";

#[test]
fn dm_file_alone_updates_a_published_deployment() {
    let (_dir, nc) = dm_stand_in();
    let published = keys(DM_FOLDER, &[DM_NC]);
    let (_work, plan) = run(DM_NC, std::slice::from_ref(&nc), &published);
    let plan = plan.expect("an update of a published deployment");
    assert_eq!(plan.upload.kind, UploadKind::DelayedModeUpdate);
    assert_eq!(
        plan.files,
        vec![placed(DM_FOLDER, DM_NC, PublishType::HarvestUpload)]
    );
    // The published file of the same name is overwritten, not deleted.
    assert!(plan.deletions.is_empty());
    assert!(plan.status.is_none());
}

#[test]
fn dm_file_alone_with_older_versions_deletes_them() {
    let (_dir, nc) = dm_stand_in();
    let older =
        "IMOS_ANFOG_BCEOPSTUV_20180503T080042Z_SL210_FV01_timeseries_END-20180504T000000Z.nc";
    let published = keys(DM_FOLDER, &[older, "TwoRocks20180503a_traj.jpg"]);
    let (_work, plan) = run(DM_NC, &[nc], &published);
    assert_eq!(
        plan.unwrap().deletions,
        vec![gone(DM_FOLDER, older, PublishType::DeleteUnharvest)]
    );
}

#[test]
fn dm_file_of_a_new_deployment_is_refused() {
    let (_dir, nc) = dm_stand_in();
    let msg = rejected(run(DM_NC, &[nc], &[]).1);
    assert!(
        msg.contains("should have been submitted with ancillary material"),
        "{msg}"
    );
    assert!(msg.starts_with(DM_NC), "{msg}");
}

#[test]
fn good_anfog_dm_zip() {
    let (_dirs, files) = dm_zip_stand_in();
    let (_work, plan) = run(DM_ZIP, &files, &[]);
    let plan = plan.expect("a new delayed-mode deployment");
    assert_eq!(plan.upload.kind, UploadKind::DelayedModeZip);
    assert_eq!(
        plan.upload.folders_to_list,
        vec![format!("{DM_FOLDER}/"), format!("{RT_FOLDER}/")]
    );
    let jpg = placement(&plan, "TwoRocks20180503a_traj.jpg");
    assert_eq!(jpg.publish, PublishType::UploadOnly);
    assert_eq!(
        jpg.dest,
        Some(format!("{DM_FOLDER}/TwoRocks20180503a_traj.jpg"))
    );
    assert_eq!(
        placement(&plan, "TwoRocks20180503a_QC_Report.pdf").publish,
        PublishType::UploadOnly
    );
    for raw in [
        "IMOS_ANFOG_BCEOPRSTUV_20180503T080042Z_SL210_FV00_timeseries_END-20180505T054942Z.nc",
        "unit210_rawfiles.zip",
    ] {
        let r = placement(&plan, raw);
        assert_eq!(r.publish, PublishType::ArchiveOnly);
        assert_eq!(r.check, Some(CheckType::Format));
        assert_eq!(r.archive, Some(format!("{DM_FOLDER}/{raw}")));
    }
    let nc = placement(&plan, DM_NC);
    assert_eq!(nc.publish, PublishType::HarvestUpload);
    assert_eq!(nc.check, None, "the pipeline's compliance checks apply");
    assert_eq!(nc.dest, Some(format!("{DM_FOLDER}/{DM_NC}")));
    assert!(plan.deletions.is_empty());
    assert!(
        plan.status.is_none(),
        "a delayed-mode ZIP writes no status row"
    );
}

#[test]
fn new_dm_deployment_deletes_its_realtime_files() {
    let (_dirs, files) = dm_zip_stand_in();
    let published = keys(
        RT_FOLDER,
        &[PREV_NC_RT, PREV_PNG_TRANSECT, PREV_PNG_MISSION],
    );
    let (_work, plan) = run(DM_ZIP, &files, &published);
    let plan = plan.unwrap();
    assert_eq!(placement(&plan, DM_NC).publish, PublishType::HarvestUpload);
    assert_eq!(
        plan.deletions,
        vec![
            gone(RT_FOLDER, PREV_NC_RT, PublishType::DeleteUnharvest),
            gone(RT_FOLDER, PREV_PNG_TRANSECT, PublishType::DeleteOnly),
            gone(RT_FOLDER, PREV_PNG_MISSION, PublishType::DeleteOnly),
        ]
    );
}

#[test]
fn good_anfog_rt_zip_publishes_and_writes_in_progress() {
    let (_dir, files) = unzip(&imos_data("anfog/TwoRocks20180503a.zip"));
    let (_work, plan) = run("TwoRocks20180503a.zip", &files, &[]);
    let plan = plan.expect("a new real-time deployment");
    assert_eq!(plan.upload.kind, UploadKind::RealTimeZip);
    let nc = placement(&plan, NEW_NC_RT);
    assert_eq!(nc.publish, PublishType::HarvestUpload);
    assert_eq!(nc.check, Some(CheckType::Format));
    assert_eq!(nc.dest, Some(format!("{RT_FOLDER}/{NEW_NC_RT}")));
    for other in [
        "unit210_b700_tser_20180503T000000-20180505T000000.png",
        "unit210_b700_tser_mission.png",
        "unit210_b700_tser_20180501T000000-20180503T000000.png",
        "unit210_position_summary.txt",
    ] {
        let p = placement(&plan, other);
        assert_eq!(p.publish, PublishType::UploadOnly, "{other}");
        assert_eq!(p.dest, Some(format!("{RT_FOLDER}/{other}")));
    }
    assert_eq!(plan.files.len(), 5);
    let status = plan.status.expect("a new deployment is in progress");
    assert_eq!(
        status.row,
        StatusRow {
            deployment_name: "TwoRocks20180503a".into(),
            platform_type: "slocum_glider".into(),
            status: "in_progress".into()
        }
    );
    assert_eq!(status.placement.publish, PublishType::HarvestOnly);
    assert_eq!(status.placement.check, Some(CheckType::Format));
    assert_eq!(
        status.placement.dest,
        Some(format!("{RT_FOLDER}/HarvestmissionList.csv"))
    );
    assert_eq!(
        std::fs::read_to_string(&status.generated.path).unwrap(),
        "deployment_name, platform_type, status\nTwoRocks20180503a,slocum_glider,in_progress"
    );
}

#[test]
fn dstg_file_updates_its_deployment() {
    let name = "DSTO_MD_CEPSTUV_20130706T122916Z_SL090_FV01_timeseries_END-20130715T040955Z.nc";
    let folder = "Department_of_Defence/DSTG/slocum_glider/TalismanSaberB20130706";
    let file = InputFile::from_path(&imos_data(&format!("anfog/{name}")));
    let (_work, plan) = run(name, &[file], &keys(folder, &[name]));
    let plan = plan.unwrap();
    assert_eq!(
        plan.files,
        vec![placed(folder, name, PublishType::HarvestUpload).with_check(CheckType::Format)],
        "a DSTG file is format-checked only, alone as in a ZIP"
    );
    assert!(plan.deletions.is_empty());
}

#[test]
fn adapter_zip_places_by_the_fv01_deployment_code() {
    let folder = "UWA/slocum_glider/AdapterNWS20120415";
    let (_dir, files) = unzip(&imos_data("anfog/AdapterNWS20120415.zip"));
    let (_work, plan) = run("AdapterNWS20120415.zip", &files, &[]);
    let plan = plan.unwrap();
    assert_eq!(
        plan.upload.folders_to_list,
        vec![format!("{folder}/")],
        "ADAPTER has no real-time folder"
    );
    for n in ["AdapterNWS20120415_TEMP.jpg", "AdapterNWS20120415.kml"] {
        assert_eq!(
            placement(&plan, n),
            &placed(folder, n, PublishType::UploadOnly)
        );
    }
    let fv01 = "IMOS_UWA_BCEPSTUV_20120415T074429Z_Groucho_FV01_timeseries_END-20120421T025354Z.nc";
    assert_eq!(
        placement(&plan, fv01),
        &placed(folder, fv01, PublishType::HarvestUpload).with_check(CheckType::Format)
    );
    let fv00 =
        "IMOS_UWA_BCEPRSTUV_20120415T074534Z_Groucho_FV00_timeseries_END-20120421T025919Z.nc";
    assert_eq!(
        placement(&plan, fv00),
        &Placement::new(fv00, PublishType::ArchiveOnly, None)
            .with_check(CheckType::Format)
            .with_archive(format!("{folder}/{fv00}"))
    );
}

#[test]
fn rt_update_deletes_the_previous_netcdf_only() {
    let (_dir, files) = unzip(&imos_data("anfog/TwoRocks20180503a.zip"));
    let published = keys(
        RT_FOLDER,
        &[PREV_NC_RT, PREV_PNG_TRANSECT, PREV_PNG_MISSION],
    );
    let (_work, plan) = run("TwoRocks20180503a.zip", &files, &published);
    let plan = plan.unwrap();
    assert_eq!(
        plan.deletions,
        vec![gone(RT_FOLDER, PREV_NC_RT, PublishType::DeleteUnharvest)]
    );
    // The mission plot is published at the key it has: it overwrites the published one.
    assert_eq!(
        placement(&plan, PREV_PNG_MISSION).dest,
        Some(format!("{RT_FOLDER}/{PREV_PNG_MISSION}"))
    );
    assert!(
        plan.status.is_none(),
        "no status row for a deployment already published"
    );
    assert_eq!(
        placement(&plan, NEW_NC_RT).publish,
        PublishType::HarvestUpload
    );
}

fn status_run(
    name: &str,
    published: &[String],
) -> (tempfile::TempDir, Result<AnfogPlan, HandlerError>) {
    let path = imos_data(&format!("anfog/{name}"));
    run(name, &[InputFile::from_path(&path)], published)
}

#[test]
fn status_recovered_and_lost_write_the_status_row() {
    for (file, status) in [
        ("SL-TwoRocks20180503a_RECOVERED.txt", "recovered"),
        ("SL-TwoRocks20180503a_LOST.txt", "lost"),
    ] {
        let (_work, plan) = status_run(file, &[]);
        let plan = plan.unwrap();
        assert!(plan.upload.folders_to_list.is_empty());
        assert_eq!(plan.files, vec![Placement::no_action(file)]);
        assert!(plan.deletions.is_empty());
        let listing = plan.status.expect("a status row");
        assert_eq!(listing.row.status, status);
        assert_eq!(
            listing.placement.dest,
            Some(format!("{RT_FOLDER}/HarvestmissionList.csv"))
        );
        assert_eq!(
            std::fs::read_to_string(&listing.generated.path).unwrap(),
            format!(
                "deployment_name, platform_type, status\nTwoRocks20180503a,slocum_glider,{status}"
            )
        );
    }
}

#[test]
fn renamed_deployment_clears_its_realtime_files() {
    let published = keys(
        RT_FOLDER,
        &[PREV_NC_RT, PREV_PNG_TRANSECT, PREV_PNG_MISSION],
    );
    let (_work, plan) = status_run("SL-TwoRocks20180503a_renamed.txt", &published);
    let plan = plan.unwrap();
    assert_eq!(
        plan.files,
        vec![Placement::no_action("SL-TwoRocks20180503a_renamed.txt")]
    );
    assert_eq!(
        plan.deletions,
        vec![
            gone(RT_FOLDER, PREV_NC_RT, PublishType::DeleteUnharvest),
            gone(RT_FOLDER, PREV_PNG_TRANSECT, PublishType::DeleteOnly),
            gone(RT_FOLDER, PREV_PNG_MISSION, PublishType::DeleteOnly),
        ]
    );
    assert_eq!(plan.status.unwrap().row.status, "renamed");
}

#[test]
fn clear_files_deletes_without_a_status_row() {
    let published = keys(RT_FOLDER, &[PREV_NC_RT, PREV_PNG_TRANSECT]);
    let (_work, plan) = status_run("SL-TwoRocks20180503a_clear-files.txt", &published);
    let plan = plan.unwrap();
    assert_eq!(
        plan.deletions,
        vec![
            gone(RT_FOLDER, PREV_NC_RT, PublishType::DeleteUnharvest),
            gone(RT_FOLDER, PREV_PNG_TRANSECT, PublishType::DeleteOnly),
        ]
    );
    assert!(plan.status.is_none());
}

#[test]
fn status_is_the_second_name_field() {
    // The repository's file: "delayed" is not a status.
    let msg = rejected(status_run("SL-TwoRocks20180503a_delayed_mode.txt", &[]).1);
    assert!(msg.contains("invalid status message \"delayed\""), "{msg}");
    // The file the reference test names (absent there): delayed-mode is a valid status.
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "SL-TwoRocks20180503a_delayed-mode.txt",
        b"completed\n",
    );
    let (_work, plan) = run(&file.name.clone(), &[file], &[]);
    assert_eq!(plan.unwrap().status.unwrap().row.status, "delayed_mode");
}

#[test]
fn status_file_of_an_unknown_platform_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "XX-TwoRocks20180503a_LOST.txt", b"x");
    let msg = rejected(classify(&file.name.clone(), &[file]));
    assert!(
        msg.contains("platform code SL (slocum glider), RU (slocum glider) or SG (seaglider)"),
        "{msg}"
    );
}

#[test]
fn rt_zip_without_netcdf_is_refused() {
    let (_dir, files) = unzip(&imos_data("anfog/RT_NO_NETCDF.zip"));
    let msg = rejected(classify("RT_NO_NETCDF.zip", &files));
    assert!(
        msg.starts_with("RT_NO_NETCDF.zip: expecting one NetCDF file in ZIP archive"),
        "{msg}"
    );
}

#[test]
fn rt_zip_without_plots_is_refused() {
    let (_dir, files) = unzip(&imos_data("anfog/TwoRocks20180503a.zip"));
    let no_png: Vec<InputFile> = files
        .into_iter()
        .filter(|f| !f.name.ends_with(".png"))
        .collect();
    let msg = rejected(classify("TwoRocks20180503a.zip", &no_png));
    assert!(msg.contains("missing ancillary files"), "{msg}");
}

#[test]
fn slocum_ru_deployment_is_a_slocum_glider() {
    let folder = "IMOS/ANFOG/slocum_glider/Challenger20180812";
    let (_dir, files) = unzip(&imos_data("anfog/Challenger20180812.zip"));
    let (_work, plan) = run("Challenger20180812.zip", &files, &[]);
    let plan = plan.unwrap();
    assert_eq!(
        plan.upload.folders_to_list,
        vec![
            format!("{folder}/"),
            "IMOS/ANFOG/REALTIME/slocum_glider/Challenger20180812/".to_string()
        ]
    );
    let jpg = "Challenger20180812_traj.jpg";
    assert_eq!(
        placement(&plan, jpg),
        &placed(folder, jpg, PublishType::UploadOnly)
    );
    let nc = "IMOS_ANFOG_CEPSTUV_20180812T030918Z_RU29_FV01_timeseries_END-20181101T234220Z.nc";
    assert_eq!(
        placement(&plan, nc),
        &placed(folder, nc, PublishType::HarvestUpload)
    );
    assert!(plan.deletions.is_empty());
}

#[test]
fn other_uploads_are_refused_with_the_kinds_accepted() {
    let nc = InputFile::from_path(&imos_data(&format!("anfog/{PREV_NC_RT}")));
    let msg = rejected(classify(PREV_NC_RT, &[nc]));
    assert!(msg.contains("cannot process the uploaded file"), "{msg}");
    let msg = rejected(check_upload_name("notes.doc"));
    assert!(msg.contains("status .txt file"), "{msg}");
}

#[test]
fn deployments_sharing_a_name_prefix_are_not_touched() {
    let (_dir, files) = unzip(&imos_data("anfog/TwoRocks20180503a.zip"));
    let upload = classify("TwoRocks20180503a.zip", &files).unwrap();
    let work = tempfile::tempdir().unwrap();
    // A listing by bare prefix (as the reference's) would also hold TwoRocks20180503ab's files.
    let listings = BTreeMap::from([(
        format!("{RT_FOLDER}/"),
        vec![
            format!("{RT_FOLDER}b/{PREV_NC_RT}"),
            format!("{RT_FOLDER}/sub/{PREV_NC_RT}"),
        ],
    )]);
    let plan = plan(&upload, &files, &listings, work.path()).unwrap();
    assert!(plan.deletions.is_empty(), "{:?}", plan.deletions);
}
