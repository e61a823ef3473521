//! Built-in derivations end to end (`derive = [{ builtin = "map_plot" | "profile_plot", … }]`): the made file
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
                "{origin}:8:11: pipeline \"d\", files[0].derive[0]: unknown builtin \"map_plott\"; the built-in derivations are map_plot, profile_plot"
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
