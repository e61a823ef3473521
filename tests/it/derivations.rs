//! Built-in derivations end to end (`derive = [{ builtin = "map_plot" | "profile_plot" |
//! "table_to_netcdf", … }]`): the made file
//! joins the upload, claimed, checked and published by its own rule; a derivation that fails or
//! a made file no rule claims rejects the upload; `pipelines validate` refuses a broken entry at
//! its line.

use crate::common::*;

const SAR: &str =
    "IMOS_SRS-Surface-Waves_M_20200405_Coastal-Wind-Sentinel-1B_FV01_DM00-021005-027D80-33D5.nc";

fn pipelines(field: &str, png_rule: bool) -> String {
    let mut p = format!(
        r##"[[pipeline]]
name = "winds"
keys = '^WINDS/'

[[pipeline.files]]
include = '.*\.nc$'
check = "format"
dest = "W/{{{{ name }}}}"
derive = [{{ builtin = "map_plot", name = "{{{{ stem }}}}.png", label = "m s-1", width = 800, height = 400, panels = [{{ field = "{field}", direction = "WDIR", title = "SAR" }}], levels = [0, 5, 10], colours = ["#d4d4d4", "#4979aa", "#e53427"] }}]
"##
    );
    if png_rule {
        p.push_str(
            r#"
[[pipeline.files]]
include = '.*\.png$'
check = "format"
publish = "upload_only"
dest = "W/maps/{{ name }}"
"#,
        );
    }
    p
}

fn sar() -> Option<Vec<u8>> {
    let corpus = corpus()?;
    Some(std::fs::read(corpus.join("python-aodndata/srs").join(SAR)).unwrap())
}

#[test]
fn a_map_is_made_checked_and_published_beside_the_file() {
    let Some(nc) = sar() else { return };
    let mut env = Env::new();
    env.pipelines(&pipelines("WSPD_CAL", true));
    let report = published(&env, &format!("WINDS/{SAR}"), &nc);
    let png_name = SAR.replace(".nc", ".png");
    let made = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == png_name.as_str())
        .unwrap_or_else(|| panic!("no {png_name} in {report}"));
    assert_eq!(made["origin"]["kind"], "generated", "{made}");
    assert_eq!(made["origin"]["by"], "map_plot", "{made}");
    assert_eq!(made["check_type"], "format");
    assert_eq!(made["check_passed"], true);
    assert_eq!(made["publish_type"], "upload_only");
    let public = env.store("public");
    let png = &public[&format!("W/maps/{png_name}")];
    let reader = png::Decoder::new(png.as_slice()).read_info().unwrap();
    assert_eq!((reader.info().width, reader.info().height), (800, 400));
    assert!(public.contains_key(&format!("W/{SAR}")));
}

#[test]
fn a_derivation_that_fails_or_makes_an_unclaimed_file_rejects_the_upload() {
    let Some(nc) = sar() else { return };
    let mut env = Env::new();
    env.pipelines(&pipelines("NOPE", true));
    rejected(
        &env,
        &format!("WINDS/{SAR}"),
        &nc,
        &[&format!(
            "{SAR}: map_plot cannot make {}: the file has no variable NOPE",
            SAR.replace(".nc", ".png")
        )],
    );
    let mut env = Env::new();
    env.pipelines(&pipelines("WSPD_CAL", false));
    rejected(
        &env,
        &format!("WINDS/{SAR}"),
        &nc,
        &[&format!(
            "map_plot made {} from {SAR}, which no rule of pipeline winds claims",
            SAR.replace(".nc", ".png")
        )],
    );
}

#[test]
fn broken_derivations_are_refused_with_their_line() {
    let mut env = Env::new();
    let path = env.pipelines(
        r##"[[pipeline]]
name = "d"
keys = '^D/'

[[pipeline.files]]
include = 'a\.nc$'
dest = "X/{{ name }}"
derive = [{ builtin = "map_plott", name = "{{ stem }}.png" }]

[[pipeline.files]]
include = 'b\.nc$'
dest = "X/{{ name }}"
derive = [{ builtin = "map_plot", panels = [{ field = "A" }], levels = [0, 1], colours = ["#000000", "#000000"] }]

[[pipeline.files]]
include = 'c\.nc$'
dest = "X/{{ name }}"
derive = [{ builtin = "map_plot", name = "{{ stem }}.png", panels = [{ field = "A" }], levels = [2, 1], colours = ["#000000", "#000000"] }]

[[pipeline.files]]
include = 'd\.nc$'
dest = "X/{{ name }}"
derive = [{ builtin = "map_plot", name = "{{ stem | nofilter }}.png", panels = [{ field = "A" }], levels = [0, 1], colours = ["#000000", "#000000"] }]
"##,
    );
    let origin = path.display().to_string();
    refused_by_validate(
        &env,
        &path,
        &[
            format!(
                "{origin}:8:11: pipeline \"d\", files[0].derive[0]: unknown builtin \"map_plott\"; the built-in derivations are map_plot, profile_plot, table_to_netcdf"
            ),
            format!(
                "{origin}:13:11: pipeline \"d\", files[1].derive[0]: a derivation names the file it makes"
            ),
            format!(
                "{origin}:18:11: pipeline \"d\", files[2].derive[0]: levels must be at least two numbers, increasing"
            ),
            format!(
                "{origin}:23: pipeline \"d\", files[3].derive[0].name: unknown filter nofilter"
            ),
        ],
    );
}

const XBT: &str = "IMOS_SOOP-XBT_T_20160106T110100Z_PX02_FV01_ID-150739.nc";

fn xbt_pipelines(title: &str) -> String {
    format!(
        r##"[[pipeline]]
name = "xbt"
keys = '^XBT/'
primary = '.*\.nc$'

[[pipeline.files]]
include = '.*\.nc$'
check = "format"
dest = "X/{{{{ attrs.XBT_line }}}}/{{{{ name }}}}"
derive = [{{ builtin = "profile_plot", name = "{{{{ stem }}}}.jpg", format = "jpeg", value = "TEMP", qc_keep = [1, 2], depth_range = [0, 1100], title = "{title}" }}]

[[pipeline.files]]
include = '.*\.jpg$'
check = "format"
publish = "upload_only"
dest = "{{{{ primary.dest_dir }}}}/{{{{ name }}}}"
"##
    )
}

#[test]
fn a_profile_plot_is_titled_from_the_file_and_published_beside_it_as_a_jpeg() {
    let nc = std::fs::read(data(&format!("imos/soop/{XBT}"))).unwrap();
    let mut env = Env::new();
    env.pipelines(&xbt_pipelines(
        "{{ attrs.XBT_line }} {{ attrs.XBT_cruise_ID }}",
    ));
    let report = published(&env, &format!("XBT/{XBT}"), &nc);
    let jpg = format!("X/PX02/{}", XBT.replace(".nc", ".jpg"));
    let public = env.store("public");
    assert!(
        public[&jpg].starts_with(b"\xff\xd8\xff"),
        "{jpg} is a JPEG: {report}"
    );
    assert!(public.contains_key(&format!("X/PX02/{XBT}")));

    let mut env = Env::new();
    env.pipelines(&xbt_pipelines("{{ attrs.XBT_nope }}"));
    rejected(
        &env,
        &format!("XBT/{XBT}"),
        &nc,
        &[&format!(
            "{XBT}: cannot title the plot profile_plot makes: the file has no global attribute XBT_nope"
        )],
    );
}

/// A table conversion: a tab-separated log of a ship's position and two readings.
const CONVERSION: &str = r#"[table]
delimiter = "\t"
dimension = "TIME"
drop_rows = [{ column = "Kind", equals = "SKIP" }]
required_values = ["LATITUDE"]
time = { columns = ["Date", "Clock"], format = "%d/%m/%y %H:%M:%S" }

[dimensions]
string_4 = 4

[globals]
Conventions = "CF-1.6"
time_coverage_start = { time = "earliest" }
time_coverage_end = { time = "latest" }
geospatial_lat_min = { min = "LATITUDE" }
geospatial_lat_max = { max = "LATITUDE" }
platform_code = "{{ m.ship | upper }}"
title = "Ship {{ attrs.platform_code }} from {{ attrs.time_coverage_start | strftime('%d-%b-%Y') }}"
source_name = "{{ name }}"
instrument_count = 2

[[variables]]
name = "TIME"
type = "double"
time = true
[variables.attributes]
units = "days since 1950-01-01 00:00:00 UTC"
standard_name = "time"
valid_min = 0

[[variables]]
name = "LATITUDE"
type = "double"
column = "Lat"
fill_value = -999.0
[variables.attributes]
units = "degrees_north"

[[variables]]
name = "WSPD"
type = "float"
column = "WindKnots"
fill_value = -999.0
scale = 0.5
[variables.attributes]
units = "m s-1"
valid_max = 100

[[variables]]
name = "KIND"
type = "char"
column = "Kind"
dimensions = ["TIME", "string_4"]
"#;

fn table_pipelines(env: &mut Env, conversion: &str) -> std::path::PathBuf {
    let path = env.pipelines(
        r#"[[pipeline]]
name = "underway"
keys = '^SHIPS/'

[pipeline.constants]
KNOWN = ["ab", "cd"]

[[pipeline.files]]
include = '(?P<ship>[a-z]{2})_\d+\.txt$'
require = [{ that = "m.ship in const.KNOWN", reason = "{{ m.ship }} is no ship of ours" }]
check = "non_empty"
publish = "archive_only"
archive = "A/{{ name }}"
derive = [{ builtin = "table_to_netcdf", conversion = "conv.toml", name = "SHIP_{{ attrs.platform_code }}_{{ attrs.time_coverage_start | strftime('%Y%m%dT%H%M%SZ') }}.nc" }]

[[pipeline.files]]
include = 'SHIP_.*\.nc$'
check = "format"
publish = "harvest_upload"
dest = "S/{{ attrs.time_coverage_start[:4] }}/{{ name }}"
"#,
    );
    std::fs::write(path.parent().unwrap().join("conv.toml"), conversion).unwrap();
    path
}

const TABLE: &str = "Kind\tDate\tClock\tLat\tWindKnots\textra\n\
EQU \t28/11/22\t00:01:33\t-20.5\t10\tx\n\
SKIP\t28/11/22\t00:02:00\t-21.0\n\
\n\
ATMOS\t28/11/22\t00:00:10\t-20.0\tNaN\ty\n\
EQU\t28/11/22\t00:03:00\tbad\t 4 \tz\tone too many\n\
STD\t29/11/22\t00:05:00\t-22.25\n";

#[test]
fn a_table_is_converted_named_from_what_it_holds_checked_and_published() {
    let mut env = Env::new();
    table_pipelines(&mut env, CONVERSION);
    let report = published(&env, "SHIPS/ab_1.txt", TABLE.as_bytes());
    let name = "SHIP_AB_20221128T000010Z.nc";
    let files = report["files"].as_array().unwrap();
    let made = files
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"));
    assert_eq!(made["origin"]["kind"], "generated", "{made}");
    assert_eq!(made["origin"]["by"], "table_to_netcdf", "{made}");
    assert_eq!(made["publish_type"], "harvest_upload");
    assert_eq!(made["dest_path"], format!("S/2022/{name}"));
    let txt = files.iter().find(|f| f["name"] == "ab_1.txt").unwrap();
    assert_eq!(txt["publish_type"], "archive_only");
    assert_eq!(
        env.store("archive").get("A/ab_1.txt").map(Vec::as_slice),
        Some(TABLE.as_bytes())
    );

    let bytes = &env.store("public")[&format!("S/2022/{name}")];
    let dir = tempfile::tempdir().unwrap();
    let nc_path = dir.path().join(name);
    std::fs::write(&nc_path, bytes).unwrap();
    let nc = ocean_ingest::netcdf::NcFile::open(&nc_path).unwrap();
    let summary = nc.summary().unwrap();
    let global = |a: &str| summary.global_str(a).unwrap_or_default().to_string();
    // Rows in file order: the SKIP row dropped, the line with a field too many skipped.
    assert_eq!(global("time_coverage_start"), "2022-11-28T00:00:10Z");
    assert_eq!(global("time_coverage_end"), "2022-11-29T00:05:00Z");
    assert_eq!(global("platform_code"), "AB");
    assert_eq!(global("title"), "Ship AB from 28-Nov-2022");
    assert_eq!(global("source_name"), "ab_1.txt");
    let number = |a: &str| {
        summary
            .global_attributes
            .iter()
            .find(|g| g.name == a)
            .and_then(|g| g.value.as_f64s())
            .unwrap_or_default()
    };
    assert_eq!(number("geospatial_lat_min"), vec![-22.25]);
    assert_eq!(number("geospatial_lat_max"), vec![-20.0]);
    assert_eq!(number("instrument_count"), vec![2.0]);
    let read = |v: &str| nc.read_f64(v, &[0], &[3]).unwrap();
    let t0 = 26629.0; // 2022-11-28 in days since 1950-01-01
    let times = read("TIME");
    for (got, want) in times.iter().zip([
        t0 + 93.0 / 86400.0,
        t0 + 10.0 / 86400.0,
        t0 + 1.0 + 300.0 / 86400.0,
    ]) {
        assert!((got - want).abs() < 1e-9, "{times:?}");
    }
    assert_eq!(read("LATITUDE"), vec![-20.5, -20.0, -22.25]);
    // Scaled; missing (NaN, an absent field) written as the fill value.
    assert_eq!(read("WSPD"), vec![5.0, -999.0, -999.0]);
    let wspd = summary.variables.iter().find(|v| v.name == "WSPD").unwrap();
    let valid_max = wspd
        .attributes
        .iter()
        .find(|a| a.name == "valid_max")
        .unwrap();
    assert_eq!(
        valid_max.value,
        ocean_ingest::netcdf::AttrValue::Float(vec![100.0])
    );
    let file = netcdf::open(&nc_path).unwrap();
    let kind = file.variable("KIND").unwrap().get_raw_values(..).unwrap();
    assert_eq!(
        kind,
        b"EQU\0ATMOSTD\0".to_vec(),
        "trimmed, cut at 4, NUL-padded"
    );
}

#[test]
fn a_table_that_cannot_be_converted_rejects_the_upload() {
    let mut env = Env::new();
    table_pipelines(&mut env, CONVERSION);
    let no_columns = "Kind\tDate\tClock\n EQU\t28/11/22\t00:01:33\n";
    rejected(
        &env,
        "SHIPS/ab_2.txt",
        no_columns.as_bytes(),
        &["ab_2.txt: table_to_netcdf cannot convert it: Missing parameter(s) 'Lat', 'WindKnots'"],
    );
    let no_position = "Kind\tDate\tClock\tLat\tWindKnots\nEQU\t28/11/22\t00:01:33\tNaN\t3\n";
    rejected(
        &env,
        "SHIPS/ab_3.txt",
        no_position.as_bytes(),
        &["every value of LATITUDE (column Lat) is missing"],
    );
    let bad_time = "Kind\tDate\tClock\tLat\tWindKnots\nEQU\t2022-11-28\t00:01:33\t1\t3\n";
    rejected(
        &env,
        "SHIPS/ab_4.txt",
        bad_time.as_bytes(),
        &["line 2: time \"2022-11-28 00:01:33\" does not match the format \"%d/%m/%y %H:%M:%S\""],
    );
    // The rule refuses the file before anything is made from it.
    rejected(
        &env,
        "SHIPS/zz_5.txt",
        TABLE.as_bytes(),
        &["zz_5.txt: zz is no ship of ours"],
    );
}

#[test]
fn broken_conversions_are_refused_with_their_line() {
    let broken = CONVERSION
        .replace("type = \"float\"", "type = \"real\"")
        .replace("{ min = \"LATITUDE\" }", "{ min = \"KIND\" }")
        .replace("{{ m.ship | upper }}", "{{ m.boat | upper }}")
        .replace("scale = 0.5", "scale = 0.5\ntime = true");
    let mut env = Env::new();
    let path = table_pipelines(&mut env, &broken);
    let origin = path.display().to_string();
    refused_by_validate(
        &env,
        &path,
        &[
            format!(
                "{origin}:14:11: pipeline \"underway\", files[0].derive[0].conversion: conv.toml: line 39: variables[2] (WSPD): type \"real\""
            ),
            format!(
                "{origin}:14:11: pipeline \"underway\", files[0].derive[0].conversion: conv.toml: line 39: variables[2] (WSPD): give either column"
            ),
            format!(
                "{origin}:14:11: pipeline \"underway\", files[0].derive[0].conversion: conv.toml: line 15: globals.geospatial_lat_min: \"KIND\" is not a numeric variable"
            ),
            format!(
                "{origin}:14:11: pipeline \"underway\", files[0].derive[0].conversion: conv.toml: line 17: globals.platform_code: template line 1: the rule's include pattern has no group named boat"
            ),
        ],
    );
    let unknown = CONVERSION.replace("[dimensions]", "[dimension]");
    let path = table_pipelines(&mut env, &unknown);
    refused_by_validate(
        &env,
        &path,
        &[format!(
            "{origin}:14:11: pipeline \"underway\", files[0].derive[0].conversion: conv.toml: line 8: unknown field `dimension`"
        )],
    );
    let path = env.pipelines(
        r#"[[pipeline]]
name = "underway"
keys = '^SHIPS/'

[[pipeline.files]]
include = '.*\.txt$'
dest = "A/{{ name }}"
derive = [{ builtin = "table_to_netcdf", name = "{{ stem }}.nc" }]
"#,
    );
    let origin = path.display().to_string();
    refused_by_validate(
        &env,
        &path,
        &[format!(
            "{origin}:8:11: pipeline \"underway\", files[0].derive[0]: table_to_netcdf needs conversion = \"<declaration file>\""
        )],
    );
}
