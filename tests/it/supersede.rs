//! New versions of published files, end to end: the IMOS rule (files that differ only in their
//! `_C-<creation date>` are one product; the newer replaces the older, an older upload is
//! rejected) and the default overwrite of the same destination.

use crate::common::*;

const PIPELINES: &str = r#"
[[pipeline]]
name = "moorings"
keys = '^ANMN/'

[[pipeline.files]]
include = 'IMOS_ANMN-NRS_'
check = "format"
dest = "IMOS/ANMN/NRS/{{ imos.platform }}/{{ name }}"
supersede = "same_product_older_creation"

[[pipeline]]
name = "unindexed"
keys = '^UNINDEXED/'

[[pipeline.files]]
include = 'IMOS_'
check = "format"
publish = "upload_only"
dest = "U/{{ name }}"
supersede = "same_product_older_creation"
"#;

/// The bundled profile's name with another creation date.
fn version(created: &str) -> String {
    PROFILE.replace("_C-20160524T003914Z", &format!("_C-{created}"))
}

fn profile() -> Vec<u8> {
    std::fs::read(data(PROFILE)).unwrap()
}

fn setup() -> Env {
    let mut env = Env::new();
    env.pipelines(PIPELINES);
    env
}

#[test]
fn a_newer_version_replaces_the_published_one_after_it_is_stored() {
    let env = setup();
    let old = version("20160524T003914Z");
    let new = version("20200101T000000Z");
    assert_eq!(upload(&env, &format!("ANMN/{old}"), &profile()).code, 0);

    let run = upload(&env, &format!("ANMN/{new}"), &profile());
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report = run.report();
    let old_dest = format!("IMOS/ANMN/NRS/NRSMAI/{old}");
    let new_dest = format!("IMOS/ANMN/NRS/NRSMAI/{new}");
    assert_eq!(
        env.store("public").into_keys().collect::<Vec<_>>(),
        std::slice::from_ref(&new_dest)
    );
    let rows = env.index_rows();
    let deleted: Vec<(String, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["dest_path"].as_str().unwrap().to_string(),
                r["deleted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(deleted, [(old_dest.clone(), true), (new_dest, false)]);
    let superseded = &report["files"][1];
    assert_eq!(superseded["origin"]["kind"], "superseded");
    assert_eq!(superseded["origin"]["by"], new.as_str());
    assert_eq!(superseded["dest_path"], old_dest.as_str());
    assert_eq!(superseded["publish_type"], "delete_unharvest");
    assert_eq!(superseded["published"], true);
}

#[test]
fn an_upload_older_than_the_published_version_is_rejected_naming_both() {
    let env = setup();
    let published = version("20200101T000000Z");
    let older = version("20100101T000000Z");
    assert_eq!(
        upload(&env, &format!("ANMN/{published}"), &profile()).code,
        0
    );
    let before = env.store("public");

    let run = upload(&env, &format!("ANMN/{older}"), &profile());
    assert_eq!(run.code, 1, "{}", run.stdout);
    let message = run.report()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains(&format!(
            "{older} (created 20100101T000000Z) is older than the published IMOS/ANMN/NRS/NRSMAI/{published} (created 20200101T000000Z)"
        )),
        "{message}"
    );
    assert_eq!(env.store("public"), before);
    assert_eq!(env.store("error").len(), 1);
}

#[test]
fn two_versions_of_one_product_in_one_upload_are_rejected() {
    let env = setup();
    let a = version("20200101T000000Z");
    let b = version("20210101T000000Z");
    let zip = zip_of(&[(&a, &profile()), (&b, &profile())]);
    let run = upload(&env, "ANMN/both.zip", &zip);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let message = run.report()["error"]["message"].to_string();
    assert!(
        message.contains("are versions of one product")
            && message.contains("upload only the newest"),
        "{message}"
    );
    assert!(env.store("public").is_empty());
}

#[test]
fn the_same_name_again_overwrites_its_destination() {
    let env = setup();
    let name = version("20200101T000000Z");
    assert_eq!(upload(&env, &format!("ANMN/{name}"), &profile()).code, 0);
    // Other content under the same name: a new version of the same file.
    let other = std::fs::read(data(TEMPERATURE)).unwrap();
    assert_eq!(upload(&env, &format!("ANMN/{name}"), &other).code, 0);
    let public = env.store("public");
    assert_eq!(public.len(), 1);
    assert_eq!(public[&format!("IMOS/ANMN/NRS/NRSMAI/{name}")], other);
    let rows = env.index_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["size"], other.len());
}

#[test]
fn versions_that_are_only_stored_are_found_in_the_public_store() {
    let env = setup();
    let old = version("20160524T003914Z");
    let new = version("20200101T000000Z");
    assert_eq!(
        upload(&env, &format!("UNINDEXED/{old}"), &profile()).code,
        0
    );
    assert!(env.index_rows().is_empty(), "upload_only does not harvest");
    let run = upload(&env, &format!("UNINDEXED/{new}"), &profile());
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        env.store("public").into_keys().collect::<Vec<_>>(),
        [format!("U/{new}")]
    );
}
