//! The reference's `test_aatams_acoustic.py` cases on its own inputs. The expected index rows are
//! what the reference's `extract_metadata` wrote for these inputs (pandas 1.5, shapely 1.8.5 with
//! GEOS 3.10), transmitter ids in sorted order.

use super::*;
use crate::handlers::testing::{imos_data, unzip};

const THREE_TAGS: &str =
    "IMOS_ATF-ACOUSTIC_TAGID_A69-1602-11653_A69-1602-11654_A69-1602-11655_139644515_139644717.csv";
const PROJECT: &str = "AIMS Quantifying the use of Indigenous Marine Protected Areas by threatened bycatch species adjacent to highly productive fishing grounds";

fn rejected<T: std::fmt::Debug>(result: Result<T, HandlerError>) -> String {
    match result {
        Err(HandlerError::Rejected(msg)) => msg,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn reference_row(transmitters: &str, deployment_ids: &str, name: &str, size: u64) -> String {
    format!(
        "{transmitters}-{deployment_ids},{},Northern Whiting,Sillago sihama,{PROJECT},2019-06-09 09:45:46+00:00,2019-06-09 09:48:49+00:00,MULTIPOINT (136.83 -13.84),IMOS/AATAMS/acoustic_detections_QC/{name},{size}",
        transmitters
            .replace('-', " ")
            .replace(" 1602 ", "-1602-")
            .replace("A69 ", "A69-")
    )
}

#[test]
fn good_csv_is_stored_and_indexed() {
    let path = imos_data(&format!("aatams/{THREE_TAGS}"));
    let placed = place(THREE_TAGS, &[THREE_TAGS]).expect("a good name");
    assert_eq!(
        placed,
        vec![Placement {
            name: THREE_TAGS.to_string(),
            publish: PublishType::UploadOnly,
            check: Some(CheckType::TableSchema),
            dest: Some(format!("IMOS/AATAMS/acoustic_detections_QC/{THREE_TAGS}")),
            archive: None,
        }]
    );
    let work = tempfile::tempdir().unwrap();
    let index = build_index(&[InputFile::from_path(&path)], work.path()).expect("indexed");
    assert_eq!(index.generated.name, "index_tmp.csv");
    assert_eq!(index.placement.publish, PublishType::HarvestOnly);
    assert_eq!(
        index.placement.dest.as_deref(),
        Some("IMOS/AATAMS/acoustic_detections_QC/index_tmp.csv")
    );
    // Two files in the collection: the CSV and the index.
    assert_eq!(placed.len() + 1, 2);
    let text = std::fs::read_to_string(&index.generated.path).unwrap();
    let expected = format!(
        "{}\n{}\n",
        INDEX_COLUMNS.join(","),
        reference_row(
            "A69-1602-11653-A69-1602-11654-A69-1602-11655",
            "139644515-139644714",
            THREE_TAGS,
            7963
        )
    );
    assert_eq!(text, expected);
    let row = &index.rows[0];
    assert_eq!(
        row.transmitter_id,
        "A69-1602-11653 A69-1602-11654 A69-1602-11655"
    );
    assert_eq!(
        row.tag_deployment_id,
        "A69-1602-11653-A69-1602-11654-A69-1602-11655-139644515-139644714"
    );
}

#[test]
fn upload_that_is_not_csv_or_zip_is_refused() {
    let msg = rejected(check_upload_name(
        "IMOS_ATF-ACOUSTIC_TAGID_A69-1602-11653_139644515_139644714.txt",
    ));
    assert!(msg.contains("a .csv file or a .zip"), "{msg}");
    let msg = rejected(place(
        "IMOS_ATF-ACOUSTIC_TAGID_A69-1602-11653_139644515_139644714.txt",
        &["x.txt"],
    ));
    assert!(msg.contains("a .csv file or a .zip"), "{msg}");
}

#[test]
fn csv_named_outside_the_pattern_is_refused() {
    let bad = "IMOS_AATAMS-ACOUSTIC_TAGID_A69-1602-11653_139644515_139644714.csv";
    let msg = rejected(place(bad, &[bad]));
    assert!(
        msg.contains(&format!(
            "don't match the pattern expected for this upload location: {bad}"
        )),
        "{msg}"
    );
    assert!(
        msg.contains(
            "IMOS_ATF-ACOUSTIC_TAGID_<transmitterID>_<tagID>_<transmitterdeploymentID>.csv"
        ),
        "{msg}"
    );
}

#[test]
fn good_zip_stores_four_csvs_and_indexes_each() {
    let (dir, files) = unzip(&imos_data("aatams/IMOS_ATF-ACOUSTIC_ProjectBlah_good.zip"));
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let placed = place("IMOS_ATF-ACOUSTIC_ProjectBlah_good.zip", &names).expect("good names");
    assert_eq!(placed.len(), 4);
    for p in &placed {
        assert_eq!(p.publish, PublishType::UploadOnly);
        assert_eq!(p.check, Some(CheckType::TableSchema));
        assert_eq!(
            p.dest,
            Some(format!("IMOS/AATAMS/acoustic_detections_QC/{}", p.name))
        );
    }
    let index = build_index(&files, dir.path()).expect("indexed");
    // Five files in the collection: the four CSVs and the index.
    assert_eq!(placed.len() + 1, 5);
    let one = "A69-1602-11653";
    let expected = format!(
        "{}\n{}\n{}\n{}\n{}\n",
        INDEX_COLUMNS.join(","),
        reference_row(
            one,
            "139644515-139644714",
            "IMOS_ATF-ACOUSTIC_TAGID_A69-1602-11653_139644515_139644714.csv",
            2887
        ),
        reference_row(
            one,
            "139644515-139644714",
            "IMOS_ATF-ACOUSTIC_TAGID_A69-1602-11653_139644515_139644715.csv",
            2887
        ),
        reference_row(
            one,
            "139644515-139644714",
            "IMOS_ATF-ACOUSTIC_TAGID_A69-1602-11653_139644515_139644716.csv",
            2887
        ),
        reference_row(
            "A69-1602-11653-A69-1602-11654-A69-1602-11655",
            "139644515-139644714",
            THREE_TAGS,
            7963
        ),
    );
    assert_eq!(
        std::fs::read_to_string(&index.generated.path).unwrap(),
        expected
    );
}

#[test]
fn upload_without_files_is_refused() {
    let msg = rejected(place("empty_zip.zip", &[]));
    assert!(msg.contains("no csv file to index"), "{msg}");
}

#[test]
fn zip_without_csv_names_every_member() {
    let (_dir, files) = unzip(&imos_data(
        "aatams/IMOS_ATF-ACOUSTIC_ProjectBlah_no_csv.zip",
    ));
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let msg = rejected(place("IMOS_ATF-ACOUSTIC_ProjectBlah_no_csv.zip", &names));
    for name in names {
        assert!(msg.contains(name), "{name} in {msg}");
    }
}

#[test]
fn file_with_several_deployments_is_refused() {
    let name = "IMOS_ATF-ACOUSTIC_TAGID_A69-1602-11653_A69-1602-11654_A69-1602-11655_139644515_139644717_mulit_dep.csv";
    assert!(place(name, &[name]).is_ok(), "the name itself is good");
    let work = tempfile::tempdir().unwrap();
    let msg = rejected(build_index(
        &[InputFile::from_path(&imos_data(&format!("aatams/{name}")))],
        work.path(),
    ));
    assert!(
        msg.contains("includes multiple deployments (tag_id 139644515, transmitter_deployment_id 139644713, 139644714)"),
        "{msg}"
    );
    assert!(msg.starts_with(name), "{msg}");
}

#[test]
fn index_refuses_what_it_cannot_read() {
    // The reference refuses this file in its table-schema check, before indexing; the index
    // refuses it too, naming the first value it cannot read.
    let name = "IMOS_ATF-ACOUSTIC_TAGID_A69-1602-11653_139644515_139644714_badschema.csv";
    let work = tempfile::tempdir().unwrap();
    let msg = rejected(build_index(
        &[InputFile::from_path(&imos_data(&format!("aatams/{name}")))],
        work.path(),
    ));
    assert!(
        msg.contains(&format!(
            "{name}: no tag_deployment_project_name column: the index needs it"
        )),
        "{msg}"
    );
}

#[test]
fn positions_are_distinct_in_first_detection_order_and_missing_ones_left_out() {
    let work = tempfile::tempdir().unwrap();
    let header = "transmitter_id,tag_id,transmitter_deployment_id,tag_deployment_project_name,species_common_name,species_scientific_name,detection_datetime,receiver_recovery_longitude,receiver_recovery_latitude";
    let rows = [
        "A69-1-2,0007,9,Proj,NA,Sci,2020-01-02 00:00:00Z,151.25,-33.5",
        "A69-1-2,7,9,Proj,Whiting,Sci,2020-01-01 00:00:00Z,NA,-33.5",
        "A180-1-1,7,9,Proj,Whiting,Sci,2020-01-03 00:00:00Z,150,-30.123456789012345",
        "A69-1-2,7,9,Proj,Whiting,Sci,2020-01-02 12:00:00Z,151.25,-33.5",
    ];
    let path = work.path().join("IMOS_ATF-ACOUSTIC_TAGID_A69-1-2_7_9.csv");
    std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let index = build_index(&[InputFile::from_path(&path)], work.path()).unwrap();
    let row = &index.rows[0];
    assert_eq!(
        row.geom_df,
        "MULTIPOINT (151.25 -33.5, 150 -30.123456789012344)"
    );
    assert_eq!(row.transmitter_id, "A180-1-1 A69-1-2");
    assert_eq!(row.tag_deployment_id, "A180-1-1-A69-1-2-7-9");
    assert_eq!(
        row.species, "",
        "NA of the first detection is a missing value"
    );
    assert_eq!(
        row.time_coverage_start.to_rfc3339(),
        "2020-01-01T00:00:00+00:00"
    );
    assert_eq!(
        row.time_coverage_end.to_rfc3339(),
        "2020-01-03T00:00:00+00:00"
    );
    assert!(
        row.to_csv_line()
            .contains(",\"MULTIPOINT (151.25 -33.5, 150 -30.123456789012344)\",")
    );
}
