//! The reference's `test_nsw_oeh_handler.py`, every test, on its own inputs.

use super::*;
use crate::handlers::testing::imos_data;

const GOOD_MB: &str = "NSWOEH_20151029_PortHackingBateBay_MB.zip";
const BAD_MB: &str = "NSWOEH_20170601_BadSurvey_MB.zip";
const GOOD_STAX: &str = "NSWOEH_20111125_KingscliffBeach_STAX.zip";
const BAD_STAX: &str = "NSWOEH_20170602_BadSurvey_STAX.zip";
const CORRUPTED: &str = "NSWOEH_20111111_Corrupted_SHP.zip";

fn zip_path(name: &str) -> std::path::PathBuf {
    imos_data(&format!("nsw_oeh/{name}"))
}

fn survey(name: &str) -> Survey {
    Survey::from_zip_name(name)
}

/// The coverage shapefile of a test ZIP, checked as `check_all` checks it.
fn shapefile_messages(name: &str) -> Vec<String> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(zip_path(name)).unwrap()).unwrap();
    let paths: Vec<String> = zip
        .file_names()
        .filter(|p| p.ends_with("_SHP.shp"))
        .map(str::to_string)
        .collect();
    assert_eq!(paths.len(), 1, "expected exactly 1 shapefile in {name}");
    check_shapefile(&survey(name), &mut zip, &paths[0])
}

/// Every member's base name (folders left out).
fn members(name: &str) -> Vec<String> {
    let zip = zip::ZipArchive::new(std::fs::File::open(zip_path(name)).unwrap()).unwrap();
    zip.file_names()
        .filter(|p| !p.ends_with('/'))
        .map(|p| p.rsplit('/').next().unwrap().to_string())
        .collect()
}

fn heading<'a>(report: &'a Report, heading: &str) -> &'a [String] {
    report
        .iter()
        .find(|(h, _)| h == heading)
        .map(|(_, m)| m.as_slice())
        .unwrap_or_else(|| panic!("no {heading} in {report:?}"))
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn test_is_date() {
    assert!(is_date("20170601"));
    for bad in [
        "170601",
        "June2017",
        "2017-06-01",
        "17/06/01",
        "20170631",
        "2017061",
    ] {
        assert!(!is_date(bad), "{bad}");
    }
}

#[test]
fn test_check_crs() {
    for crs in ["W84Z55", "W84Z56"] {
        assert!(check_crs(crs).is_empty());
    }
    for crs in ["", "NONE", "W84Z42"] {
        assert_eq!(check_crs(crs).len(), 1);
    }
}

#[test]
fn test_get_name_fields() {
    assert_eq!(
        name_fields("one_two_three"),
        (vec!["one", "two", "three"], "")
    );
    assert_eq!(
        name_fields("NSWOEH_20151029_PortHackingBateBay_MB.zip"),
        (
            vec!["NSWOEH", "20151029", "PortHackingBateBay", "MB"],
            "zip"
        )
    );
    assert_eq!(name_fields("a_b.shp.xml").1, "shp.xml");
}

#[test]
fn test_get_survey_name_and_methods() {
    assert_eq!(
        survey("NSWOEH_20151029_PortHackingBateBay_MB.shp").name,
        "20151029_PortHackingBateBay"
    );
    assert_eq!(
        survey("NSWOEH_20120921_TweedRiver_STAX_SHP.cpg").name,
        "20120921_TweedRiver"
    );
    assert_eq!(survey("NOT_NSWOEH_file.zip").name, "");
    assert_eq!(
        survey("NSWOEH_20151029_PortHackingBateBay_MB.shp").method,
        Some(Method::MultiBeam)
    );
    assert_eq!(
        survey("NSWOEH_20120921_TweedRiver_STAX_SHP.cpg").method,
        Some(Method::SingleBeam)
    );
    for none in [
        "NOT_NSWOEH_file.zip",
        "NSWOEH_file_bad.zip",
        "NSWOEH_0151029_PortHackingBateBay_XYZ.zip",
    ] {
        assert_eq!(survey(none).method, None, "{none}");
    }
}

#[test]
fn test_check_name_good_mb() {
    let pz = survey(GOOD_MB);
    for name in [
        "NSWOEH_20151029_PortHackingBateBay_MB.zip",
        "NSWOEH_20151029_PortHackingBateBay_MB_ScientificRigour.pdf",
        "NSWOEH_20151029_PortHackingBateBay_MB_SHP.CPG",
        "NSWOEH_20151029_PortHackingBateBay_MB_SHP.dbf",
        "NSWOEH_20151029_PortHackingBateBay_MB_SHP.prj",
        "NSWOEH_20151029_PortHackingBateBay_MB_SHP.sbn",
        "NSWOEH_20151029_PortHackingBateBay_MB_SHP.sbx",
        "NSWOEH_20151029_PortHackingBateBay_MB_SHP.shp",
        "NSWOEH_20151029_PortHackingBateBay_MB_SHP.shp.xml",
        "NSWOEH_20151029_PortHackingBateBay_MB_SHP.shx",
        "NSWOEH_20151029_PortHackingBateBay_MB_BKSGRD001GSS_W84Z56GRY_FLD744_20151221_FV02.sd",
        "NSWOEH_20151029_PortHackingBateBay_MB_BKSGRD001GSS_W84Z56GRY_FLD744_20151221_FV02.tiff",
        "NSWOEH_20151029_PortHackingBateBay_MB_BTYGRD002GSS_W84Z56AHD_FLD744_20151223_FV02.tif",
        "NSWOEH_20151029_PortHackingBateBay_MB_BKSGRD002GSS_W84Z56GRY_FLD744_20151221_FV02.xya",
        "NSWOEH_20151029_PortHackingBateBay_MB_BTYGRD002GSS_W84Z56AHD_FLD744_20151221_FV02.xyz",
    ] {
        assert_eq!(pz.check_name(name), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn test_check_name_wrong_fields() {
    let pz = survey(GOOD_MB);
    assert_eq!(
        pz.check_name("NSWOEH_20011111_PortHackingBateBay_MB_SHP.shx"),
        vec!["Wrong survey date 20011111 (zip file name has 20151029)"]
    );
    assert_eq!(
        pz.check_name("NSWOEH_20151029_TweedRiver_MB_SHP.shx"),
        vec!["Wrong location TweedRiver (zip file name has PortHackingBateBay)"]
    );
    assert_eq!(
        pz.check_name("NSWOEH_20151029_PortHackingBateBay_STAX_ScientificRigour.pdf"),
        vec!["Wrong survey method code STAX, expected MB"]
    );
    assert_eq!(
        pz.check_name("NSWOEH_20151029_PortHackingBateBay.zip"),
        vec!["File name should have at least 4 underscore-separated fields."]
    );
    for zip in [GOOD_MB, "NSWOEH_20151029_PortHackingBateBay_STAX.zip"] {
        assert_eq!(
            survey(zip).check_name("NSWOEH_20151029_PortHackingBateBay_BBB.zip"),
            vec!["Field 4 should be a valid survey method code"]
        );
    }
    assert_eq!(
        pz.check_name("NSWOEH_20151029_PortHackingBateBay_MB_ScientificRigour.doc"),
        vec![
            "Unknown extension 'doc'",
            "The Scientific Rigour (metadata) sheet must be in PDF format."
        ]
    );
}

#[test]
fn test_check_name_all_bad() {
    assert_eq!(
        sorted(&survey(GOOD_MB).check_name("IMOS_170202_N0-name_BBB.what")),
        strings(&[
            "File name must start with 'NSWOEH'",
            "Field 2 should be a valid date (YYYYMMDD).",
            "Field 3 should be a location code consisting only of letters.",
            "Field 4 should be a valid survey method code",
            "Unknown extension 'what'",
            "File name should have at least 5 underscore-separated fields.",
        ])
    );
    assert_eq!(
        sorted(&survey(GOOD_STAX).check_name("IMOS_170202_N0-name_BBB.what")),
        strings(&[
            "File name must start with 'NSWOEH'",
            "Field 2 should be a valid date (YYYYMMDD).",
            "Field 3 should be a location code consisting only of letters.",
            "Field 4 should be a valid survey method code",
        ])
    );
}

#[test]
fn test_check_name_data_fields() {
    let pz = survey(GOOD_MB);
    let all = pz.check_name(
        "NSWOEH_20151029_PortHackingBateBay_MB_BTYGRD01GSS_W84Z42GRY_XYZ1_2015_FV3.xyz",
    );
    assert_eq!(
        all,
        vec![
            "Field 5 contains unknown data product details (expecting 'GRD', grid resolution in metres, system type GSS|R2S|MRG).",
            "Coordinate system should be one of ('W84Z55', 'W84Z56').",
            "For a 'BTY' product, field 6 should end with 'AHD'.",
            "Field 7 should be a valid software code ('FLD', 'FMG', 'ARC', 'GTX', 'GSP', 'HYP', 'QIM') followed by a 3-digit version number.",
            "Field 8 should be a valid date (YYYYMMDD).",
            "Field 9 should be a file version number ('FV00', 'FV01', 'FV02')",
        ]
    );
    assert_eq!(
        pz.check_name("NSWOEH_20151029_PortHackingBateBay_MB_BKSGRD001GSS_W84Z56GRY.xya"),
        vec![
            "Bathymetry & backscatter file names should have at least 9 underscore-separated fields."
        ]
    );
    assert!(
        pz.check_name("NSWOEH_20151029_PortHackingBateBay_MB_BTY.kmz")
            .is_empty()
    );
    assert_eq!(
        pz.check_name("NSWOEH_20151029_PortHackingBateBay_MB_SHP.txt"),
        vec![
            "Unknown extension 'txt'",
            "Unknown extension for shapefile 'txt'"
        ]
    );
    assert_eq!(
        pz.check_name("NSWOEH_20151029_PortHackingBateBay_MB_Other.pdf"),
        vec!["Unknown product type 'Other'"]
    );
}

#[test]
fn test_check_name_good_stax() {
    let pz = survey(GOOD_STAX);
    for name in [
        "NSWOEH_20111125_KingscliffBeach_STAX_SHP.shx",
        "NSWOEH_20111125_KingscliffBeach_STAX_RV12_AHD_MGA56_SEPT2012_TINMODEL_COVERAGE.dbf",
        "NSWOEH_20111125_KingscliffBeach_STAX_2012_09_OEH_TWEED_RIVER_SURVEY.zip",
        "NSWOEH_20111125_KingscliffBeach_STAX_56873s01.pdf",
        "NSWOEH_20111125_KingscliffBeach_STAX_KingscliffBeach2011_AHD_MGA.xyz",
        "NSWOEH_20111125_KingscliffBeach_STAX_KingscliffBeach2011.TXT",
        "NSWOEH_20111125_KingscliffBeach_STAX_KingscliffBeach2011_AHD_MGA.sbn",
        "NSWOEH_20111125_KingscliffBeach_STAX_log",
        "NSWOEH_20111125_KingscliffBeach_STAX_schema.ini",
    ] {
        assert_eq!(pz.check_name(name), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn test_check_name_spaces() {
    let pz = survey("NSWOEH_20120921_TweedRiver_STAX");
    assert_eq!(
        pz.check_name("NSWOEH_20120921_TweedRiver_STAX_2012_09 OEH TWEED RIVER SURVEY.xyz"),
        vec!["File name should not contain spaces"]
    );
}

#[test]
fn test_good_shapefile() {
    assert_eq!(shapefile_messages(GOOD_MB), Vec::<String>::new());
    assert_eq!(shapefile_messages(GOOD_STAX), Vec::<String>::new());
}

#[test]
fn test_bad_shapefile() {
    // Two features, geographic WGS 84, two MB attributes missing, SDate of another survey.
    assert_eq!(
        shapefile_messages(BAD_MB),
        vec![
            "Shapefile should have exactly one feature (found 2)",
            "Missing required attributes ['Comment', 'XYZ_File']",
            "Unknown CRS EPSG:4326, expected EPSG:32756 (WGS 84 / UTM zone 56S) or EPSG:32755 (WGS 84 / UTM zone 55S)",
            "Date in shapefile field SDate (20151029) inconsistent with file name date (20170601)",
        ]
    );
}

#[test]
fn test_corrupted_shapefile() {
    let messages = shapefile_messages(CORRUPTED);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with("Unable to open shapefile"),
        "{messages:?}"
    );
    assert!(
        messages[0].contains("NSWOEH_20111111_Corrupted_SHP.shx"),
        "{messages:?}"
    );
}

#[test]
fn test_check_all_good() {
    assert_eq!(check_all(GOOD_MB, &zip_path(GOOD_MB)), Report::new());
    assert_eq!(check_all(GOOD_STAX, &zip_path(GOOD_STAX)), Report::new());
}

#[test]
fn test_check_all_bad_mb() {
    let report = check_all(BAD_MB, &zip_path(BAD_MB));
    assert_eq!(
        heading(&report, "Zip file contents"),
        ["Missing bathymetry xyz file"]
    );
    assert_eq!(
        sorted(heading(
            &report,
            "NSWOEH_20151029_PortHackingBateBay_MB_ScientificRigour.pdf"
        )),
        strings(&[
            "Wrong survey date 20151029 (zip file name has 20170601)",
            "Wrong location PortHackingBateBay (zip file name has BadSurvey)",
        ])
    );
}

#[test]
fn test_check_all_bad_stax() {
    let report = check_all(BAD_STAX, &zip_path(BAD_STAX));
    assert_eq!(
        sorted(heading(&report, "Zip file contents")),
        strings(&[
            "Missing metadata file (PDF format)",
            "Missing survey coverage shapefile"
        ])
    );
    assert_eq!(
        sorted(heading(
            &report,
            "NSWOEH_20111125_KingscliffBeach_STAX_schema.ini"
        )),
        strings(&[
            "Wrong survey date 20111125 (zip file name has 20170602)",
            "Wrong location KingscliffBeach (zip file name has BadSurvey)",
        ])
    );
}

#[test]
fn test_get_dest_path() {
    assert_eq!(
        survey(GOOD_MB).dest_folder().as_deref(),
        Some("NSW-OEH/Multi-beam/2015/20151029_PortHackingBateBay")
    );
    assert_eq!(
        survey(GOOD_STAX).dest_folder().as_deref(),
        Some("NSW-OEH/Single-beam/2011/20111125_KingscliffBeach")
    );
    assert_eq!(survey("NOTHING_GOOD.zip").dest_folder(), None);
}

#[test]
fn test_good_mb() {
    let names = members(GOOD_MB);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let plan = prepare(GOOD_MB, &zip_path(GOOD_MB), &names).expect("a good multi-beam survey");
    let base = "NSW-OEH/Multi-beam/2015/20151029_PortHackingBateBay";
    assert_eq!(plan.files.len(), 10);
    for f in &plan.files {
        assert_eq!(f.publish, PublishType::HarvestUpload, "{}", f.name);
        assert_eq!(f.dest, Some(format!("{base}/{}", f.name)));
    }
    // The ZIP itself is neither stored nor harvested.
    assert_eq!(plan.upload, None);
}

#[test]
fn test_bad_mb() {
    let msg = match prepare(BAD_MB, &zip_path(BAD_MB), &[]) {
        Err(HandlerError::Rejected(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(
        msg.starts_with("Zip file 'NSWOEH_20170601_BadSurvey_MB.zip' failed content checks:"),
        "{msg}"
    );
    assert!(
        msg.contains("\nZip file contents:\n1. Missing bathymetry xyz file\n"),
        "{msg}"
    );
    assert!(msg.contains("Unknown CRS EPSG:4326"), "{msg}");
}

#[test]
fn test_good_stax() {
    let names = members(GOOD_STAX);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let plan = prepare(GOOD_STAX, &zip_path(GOOD_STAX), &names).expect("a good single-beam survey");
    let base = "NSW-OEH/Single-beam/2011/20111125_KingscliffBeach";
    let mut published: Vec<String> = plan
        .files
        .iter()
        .filter(|f| f.publish == PublishType::HarvestUpload)
        .map(|f| f.dest.clone().unwrap())
        .collect();
    let upload = plan.upload.clone().expect("the ZIP itself is published");
    assert_eq!(upload.publish, PublishType::HarvestUpload);
    published.push(upload.dest.unwrap());
    published.sort();
    let mut expected: Vec<String> = names
        .iter()
        .filter(|n| n.contains("_STAX_SHP."))
        .map(|n| format!("{base}/{n}"))
        .collect();
    expected.push(format!("{base}/{GOOD_STAX}"));
    expected.sort();
    assert_eq!(published, expected);
    assert_eq!(published.len(), 9);
    // Every other member is neither stored nor harvested.
    for f in plan
        .files
        .iter()
        .filter(|f| f.publish != PublishType::HarvestUpload)
    {
        assert_eq!(f.publish, PublishType::NoAction, "{}", f.name);
        assert_eq!(f.dest, None);
    }
    assert_eq!(
        plan.files
            .iter()
            .filter(|f| f.publish == PublishType::NoAction)
            .count(),
        12
    );
}

#[test]
fn test_bad_stax() {
    let msg = match prepare(BAD_STAX, &zip_path(BAD_STAX), &[]) {
        Err(HandlerError::Rejected(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(
        msg.contains(
            "1. Missing metadata file (PDF format)\n2. Missing survey coverage shapefile\n"
        ),
        "{msg}"
    );
}

#[test]
fn upload_that_is_not_a_zip_is_refused() {
    assert!(matches!(
        check_upload_name("NSWOEH_20151029_PortHackingBateBay_MB.tar"),
        Err(HandlerError::Rejected(_))
    ));
}

#[test]
fn crs_is_identified_as_gdal_does() {
    let utm56s = r#"PROJCS["WGS_1984_UTM_Zone_56S",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",10000000.0],PARAMETER["Central_Meridian",153.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    assert_eq!(identify_epsg(utm56s), Ok(32756));
    assert_eq!(identify_epsg(&utm56s.replace("153.0", "147.0")), Ok(32755));
    assert_eq!(
        identify_epsg(&utm56s.replace("10000000.0", "0.0")),
        Ok(32656)
    );
    let gda = utm56s.replace("D_WGS_1984", "D_GDA_1994");
    assert!(identify_epsg(&gda).is_err());
    assert_eq!(
        identify_epsg(
            r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["Degree",0.017453292519943295]]"#
        ),
        Ok(4326)
    );
    assert_eq!(
        identify_epsg(r#"PROJCS["x",GEOGCS["y"],AUTHORITY["EPSG","32755"]]"#),
        Ok(32755)
    );
    assert!(identify_epsg("not wkt at all [").is_err());
}
