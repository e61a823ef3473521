//! The reference's IMOS handler tests, data-driven: every `[[case]]` of tests/data/imos/cases.toml
//! runs through `examples/imos/pipelines.toml` on the embedded default (a temp home), every
//! `[[path_case]]` through the dry run (`pipeline::route`), and each is compared with what the
//! reference does: the outcome, every published destination and publish type, the check type,
//! generated files and deletions. A table says which cases are reproduced and why the others are
//! not; the test asserts that docs/HANDLERS.md lists exactly the cases not reproduced (so a case
//! the page calls reproduced really is) and that the pass rates are at least the ones reached.
//!
//! Cases whose input is `shared:<path>` read the project's shared folder (`../shared`, or
//! INGEST_SHARED_DIR); without it they are skipped, saying so, unless INGEST_TEST_REQUIRE_CORPUS=1.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::common::Env;
use ocean_ingest::pipeline::PipelineSet;
use ocean_ingest::pipeline::route::{Routed, route};

/// The fewest handler runs that must be reproduced (the count reached; raised as the port grows,
/// so a regression fails here as well as in the list of docs/HANDLERS.md).
const MIN_HANDLER_RUNS: usize = 143;
/// The fewest destination assertions that must be reproduced.
const MIN_DESTINATIONS: usize = 279;

#[derive(Debug, Deserialize)]
struct Cases {
    #[serde(default)]
    case: Vec<Case>,
    #[serde(default)]
    path_case: Vec<PathCase>,
}

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    unit: String,
    upload_key: String,
    #[serde(default)]
    inputs: Vec<String>,
    input_member: Option<String>,
    /// The upload is a file our own conversion makes from one of the repository's inputs.
    converted: Option<Converted>,
    missing: Option<String>,
    expect: String,
    error: Option<String>,
    #[serde(default)]
    manifest_lines: Vec<String>,
    #[serde(default)]
    staged: Vec<Staged>,
    #[serde(default)]
    published_before: Vec<PublishedBefore>,
    #[serde(default)]
    prior_uploads: Vec<Prior>,
    #[serde(default)]
    published: Vec<Published>,
    #[serde(default)]
    deleted: Vec<Deleted>,
    #[serde(default)]
    unpublished: Vec<Unpublished>,
    public_holds: Option<PublicHolds>,
}

/// `[case.converted]`: the upload is made, as the reference's test makes it, by a conversion
/// from an input file; here by our conversion of the same name, so the case tests what our
/// conversion writes as the reference's tests what its own writer wrote.
#[derive(Debug, Deserialize)]
struct Converted {
    /// `tmv_log`: the SOOP TMV log-to-NetCDF conversion (`handlers::tmv_log::convert_log`);
    /// `xbt_bufr`: the SOOP XBT BUFR-text-to-NetCDF conversion (`handlers::xbt_bufr::convert_csv`,
    /// with the vocabularies of the pipeline file, as the handler runs it).
    conversion: String,
    /// The input converted (relative to tests/data/imos/).
    from: String,
    /// The vessel name the conversion writes (the reference's test passes it; `tmv_log` only).
    vessel: Option<String>,
}

/// What the public store holds under a folder after the case's uploads: exactly these names.
#[derive(Debug, Deserialize)]
struct PublicHolds {
    prefix: String,
    names: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Staged {
    key: String,
    input: String,
}

#[derive(Debug, Deserialize)]
struct PublishedBefore {
    dest: String,
    input: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Prior {
    upload_key: String,
    inputs: Vec<String>,
    expect: String,
}

#[derive(Debug, Deserialize)]
struct Published {
    dest: Option<String>,
    dest_regex: Option<String>,
    code_dest: Option<String>,
    archive: Option<String>,
    archive_regex: Option<String>,
    name: Option<String>,
    name_regex: Option<String>,
    publish_type: Option<String>,
    #[serde(default)]
    generated: bool,
    #[serde(default)]
    is_upload: bool,
    check: Option<String>,
    /// `<schema>.<table>`: the table the published CSV file's rows load into (the harvest
    /// database then holds exactly its records).
    loaded_into: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Deleted {
    dest: String,
    publish_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Unpublished {
    name: String,
}

#[derive(Debug, Deserialize)]
struct PathCase {
    name: String,
    unit: String,
    upload_key: String,
    input: Option<String>,
    #[serde(default)]
    name_only: bool,
    dest: Option<String>,
    error: Option<String>,
}

fn imos_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/imos")
        .join(rel)
}

/// The shared folder, when there is one.
fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("INGEST_SHARED_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("INGEST_CORPUS_DIR")
                .map(PathBuf::from)
                .and_then(|c| c.parent().map(Path::to_path_buf))
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    dir.is_dir().then_some(dir)
}

/// Where an input is: under tests/data/imos, or `shared:<path>` in the shared folder.
fn input_path(rel: &str) -> Result<PathBuf, String> {
    match rel.strip_prefix("shared:") {
        Some(p) => match shared_dir() {
            Some(dir) => Ok(dir.join(p)),
            None if std::env::var("INGEST_TEST_REQUIRE_CORPUS").as_deref() == Ok("1") => panic!(
                "{rel}: the shared folder is absent and INGEST_TEST_REQUIRE_CORPUS=1: put it beside the checkout (../shared) or set INGEST_SHARED_DIR"
            ),
            None => Err(format!(
                "SKIPPED: {rel} needs the shared folder (../shared), absent"
            )),
        },
        None => Ok(imos_data(rel)),
    }
}

/// The reference's type names in ours.
fn publish_name(reference: &str) -> String {
    reference.to_ascii_lowercase()
}

fn check_name(reference: &str) -> &str {
    match reference {
        "NC_COMPLIANCE_CHECK" => "nc_compliance",
        "FORMAT_CHECK" => "format",
        "TABLE_SCHEMA_CHECK" => "table_schema",
        "NONEMPTY_CHECK" => "non_empty",
        "NO_ACTION" => "no_action",
        other => other,
    }
}

/// Whether our check of `name` is the reference's `reference` check. The reference's
/// FORMAT_CHECK runs the validator of the file's type, and for CSV files and types it does not
/// know (`.ek5`, `.raw`, `.txt`…) that validator is `is_nonempty_file`: our `non_empty` is then
/// the same check (our `format` parses CSV, which the reference never did).
fn same_check(name: &str, ours: &Value, reference: &str) -> bool {
    const VALIDATED: &[&str] = &[
        ".gz",
        ".jpg",
        ".jpeg",
        ".pdf",
        ".png",
        ".zip",
        ".tif",
        ".tiff",
        ".nc",
        ".json_manifest",
    ];
    let lower = name.to_ascii_lowercase();
    let nonempty_only = !VALIDATED.iter().any(|e| lower.ends_with(e));
    *ours == check_name(reference)
        || (reference == "FORMAT_CHECK" && nonempty_only && *ours == "non_empty")
}

fn pipelines_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/imos/pipelines.toml")
}

/// Puts `input` into a local store folder at `key`.
fn put(root: &Path, key: &str, input: &Path) {
    let dest = root.join(key);
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(input, &dest).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
}

/// Puts the upload of a case (or a prior upload) into the incoming store.
fn stage_upload(
    env: &Env,
    key: &str,
    inputs: &[String],
    member: Option<&str>,
) -> Result<(), String> {
    let incoming = env.home().join("incoming");
    let [input] = inputs else {
        return Err(format!("{} inputs for one upload", inputs.len()));
    };
    let path = input_path(input)?;
    match member {
        None => put(&incoming, key, &path),
        Some(m) => {
            let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
            let mut entry = zip.by_name(m).map_err(|e| format!("{m}: {e}"))?;
            let dest = incoming.join(key);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            let mut out = std::fs::File::create(dest).unwrap();
            std::io::copy(&mut entry, &mut out).unwrap();
        }
    }
    Ok(())
}

fn ingest(env: &Env, key: &str) -> Value {
    let run = env.run(&["run", "--incoming-key", key, "--output", "json"]);
    let mut report = run.report();
    report["exit"] = run.code.into();
    report
}

/// Our error in a line.
fn error_of(report: &Value) -> String {
    report["error"]["message"]
        .as_str()
        .unwrap_or("(no error)")
        .chars()
        .take(220)
        .collect()
}

/// Runs one case; `Ok(())` when reproduced, else why not.
fn run_case(case: &Case) -> Result<(), String> {
    if let Some(why) = &case.missing {
        return Err(format!("input unavailable: {why}"));
    }
    let mut env = Env::new();
    env.set("INGEST_PIPELINES", pipelines_file().display().to_string());
    let home = env.home();
    for s in &case.staged {
        put(&home.join("incoming"), &s.key, &input_path(&s.input)?);
    }
    for p in &case.published_before {
        if let Some(input) = &p.input {
            put(&home.join("public"), &p.dest, &input_path(input)?);
        }
    }
    for prior in &case.prior_uploads {
        stage_upload(&env, &prior.upload_key, &prior.inputs, None)?;
        let r = ingest(&env, &prior.upload_key);
        let ok = r["exit"] == 0;
        if ok != (prior.expect != "rejected") {
            return Err(format!(
                "prior upload {} ended {} (expected {}): {}",
                prior.upload_key,
                r["outcome"],
                prior.expect,
                error_of(&r)
            ));
        }
    }
    if case.inputs.is_empty() && !case.manifest_lines.is_empty() {
        // The test writes the manifest itself.
        let dest = home.join("incoming").join(&case.upload_key);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, case.manifest_lines.join("\n") + "\n").unwrap();
    } else if let Some(conv) = &case.converted {
        let made = convert(conv, &home.join("converted"))?;
        let name = case.upload_key.rsplit('/').next().unwrap_or("");
        if made.file_name().and_then(|n| n.to_str()) != Some(name) {
            return Err(format!(
                "the conversion made {}, where the case uploads {name}",
                made.display()
            ));
        }
        put(&home.join("incoming"), &case.upload_key, &made);
    } else {
        stage_upload(
            &env,
            &case.upload_key,
            &case.inputs,
            case.input_member.as_deref(),
        )?;
    }
    let report = ingest(&env, &case.upload_key);
    compare(case, &report)?;
    for want in case.published.iter().filter(|p| p.loaded_into.is_some()) {
        loaded_rows(&home, want)?;
    }
    if let Some(holds) = &case.public_holds {
        let folder = home.join("public").join(&holds.prefix);
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .map_err(|e| format!("{}: {e}", folder.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut want = holds.names.clone();
        want.sort();
        if names != want {
            return Err(format!(
                "the public store holds {names:?} under {} where the reference holds {want:?}",
                holds.prefix
            ));
        }
    }
    Ok(())
}

/// Runs the conversion a case names into `out` (outside the stores); the file it made.
fn convert(conv: &Converted, out: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let from = input_path(&conv.from)?;
    let name = conv.from.rsplit('/').next().unwrap_or(&conv.from);
    match conv.conversion.as_str() {
        "tmv_log" => ocean_ingest::handlers::tmv_log::convert_log(
            &from,
            name,
            None,
            conv.vessel
                .as_deref()
                .ok_or("the tmv_log conversion needs a vessel")?,
            out,
            chrono::Utc::now(),
        )
        .map(|p| p.generated.path)
        .map_err(|e| format!("the {} conversion of {name} failed: {e}", conv.conversion)),
        "xbt_bufr" => {
            let set = PipelineSet::load(Some(&pipelines_file())).map_err(|e| e.to_string())?;
            let vocabulary = |v: &str| {
                set.vocabularies
                    .iter()
                    .find(|x| x.name == v)
                    .map(|x| x.entries.clone())
                    .ok_or_else(|| format!("the pipeline file has no vocabulary {v}"))
            };
            let vocab = ocean_ingest::handlers::xbt_bufr::XbtVocabularies {
                vessels: vocabulary("vessels")?,
                line_labels: vocabulary("xbt_lines")?,
                line_descriptions: vocabulary("xbt_line_descriptions")?,
            };
            let made = ocean_ingest::handlers::xbt_bufr::convert_csv(
                &from,
                name,
                &vocab,
                out,
                chrono::Utc::now(),
            )
            .map_err(|e| format!("the {} conversion of {name} failed: {e}", conv.conversion))?;
            match made.as_slice() {
                [one] => Ok(one.path.clone()),
                _ => Err(format!(
                    "{name} made {} files, where one is uploaded",
                    made.len()
                )),
            }
        }
        other => Err(format!(
            "unknown conversion {other:?} (known: tmv_log, xbt_bufr)"
        )),
    }
}

/// Whether the table `want.loaded_into` of the embedded index (SQLite: `<schema>__<table>`) holds as
/// many rows as the published CSV file has records.
fn loaded_rows(home: &Path, want: &Published) -> Result<(), String> {
    let table = want.loaded_into.as_deref().unwrap_or_default();
    let dest = want
        .dest
        .as_deref()
        .or(want.code_dest.as_deref())
        .ok_or_else(|| format!("{table}: the case names no destination to count records in"))?;
    let records = csv::Reader::from_path(home.join("public").join(dest))
        .map_err(|e| format!("{dest}: {e}"))?
        .records()
        .count();
    let db = rusqlite::Connection::open(home.join("index.sqlite")).map_err(|e| e.to_string())?;
    let rows: usize = db
        .query_row(
            &format!("SELECT count(*) FROM \"{}\"", table.replacen('.', "__", 1)),
            [],
            |r| r.get(0),
        )
        .map_err(|e| format!("{table}: {e}"))?;
    if rows == records && rows > 0 {
        Ok(())
    } else {
        Err(format!(
            "{table} holds {rows} rows where {dest} has {records} records"
        ))
    }
}

fn compare(case: &Case, report: &Value) -> Result<(), String> {
    let code = report["exit"].as_i64().unwrap_or(-1);
    let message = error_of(report);
    if message.contains("not yet available") {
        return Err(message);
    }
    if case.expect == "rejected" {
        if code != 1 {
            return Err(format!(
                "expected a rejection ({}), got exit {code}: {message}",
                case.error.as_deref().unwrap_or("?")
            ));
        }
        let failed_check = report["files"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["check_passed"] == false);
        let ours = category(&message, failed_check);
        let error = case.error.as_deref().unwrap_or("?");
        if !reference_categories(error).contains(&ours) {
            return Err(format!(
                "rejected for another reason ({ours}) than the reference's {error}: {message}"
            ));
        }
        return Ok(());
    }
    if code != 0 {
        return Err(format!(
            "expected {}, got exit {code}: {message}",
            case.expect
        ));
    }
    if case.expect == "duplicate" {
        // The same bytes again: the ledger knows them, nothing is published a second time.
        return match report["outcome"].as_str() {
            Some("duplicate") => Ok(()),
            other => Err(format!("expected a duplicate, got {other:?}")),
        };
    }
    let files: Vec<&Value> = report["files"].as_array().into_iter().flatten().collect();
    let mut used = BTreeSet::new();
    for want in &case.published {
        let found = files
            .iter()
            .enumerate()
            .find(|(i, f)| !used.contains(i) && f["deleted"] != true && matches(want, f));
        match found {
            Some((i, f)) => {
                used.insert(i);
                same_origin(f, want)?;
                same_publish_type(&f["name"].to_string(), f, want.publish_type.as_deref())?;
                if let Some(c) = &want.check
                    && !same_check(f["name"].as_str().unwrap_or(""), &f["check_type"], c)
                {
                    return Err(format!(
                        "{}: check {} where the reference has {c}",
                        f["name"], f["check_type"]
                    ));
                }
            }
            None => {
                let ours: Vec<&str> = files
                    .iter()
                    .filter_map(|f| f["dest_path"].as_str())
                    .collect();
                return Err(format!(
                    "no file published as {} (ours: {ours:?})",
                    describe(want)
                ));
            }
        }
    }
    for want in &case.deleted {
        let found = files.iter().enumerate().find(|(_, f)| {
            f["dest_path"] == want.dest.as_str()
                && f["origin"]["kind"] != "upload"
                && f["origin"]["kind"] != "member"
        });
        match found {
            Some((i, f)) => {
                used.insert(i);
                same_publish_type(
                    &format!("deletion of {}", want.dest),
                    f,
                    want.publish_type.as_deref(),
                )?;
            }
            None => return Err(format!("{} is not deleted", want.dest)),
        }
    }
    for want in &case.unpublished {
        if want.name == EVERY_MEMBER {
            let members: Vec<(usize, &&Value)> = files
                .iter()
                .enumerate()
                .filter(|(_, f)| f["origin"]["kind"] == "member")
                .collect();
            if members.is_empty() {
                return Err("the upload has no member files, where the reference has".into());
            }
            for (i, f) in members {
                if f["publish_type"] != "no_action" {
                    return Err(format!(
                        "{} should be neither published nor rejected (no_action), not {}",
                        f["name"], f["publish_type"]
                    ));
                }
                used.insert(i);
            }
            continue;
        }
        match files
            .iter()
            .enumerate()
            .find(|(_, f)| f["name"] == want.name.as_str())
        {
            Some((i, f)) if f["publish_type"] == "no_action" => {
                used.insert(i);
            }
            _ => {
                return Err(format!(
                    "{} should be neither published nor rejected (no_action)",
                    want.name
                ));
            }
        }
    }
    if !case.published.is_empty() || !case.deleted.is_empty() {
        for (i, f) in files.iter().enumerate() {
            if !used.contains(&i) && f["publish_type"] != "no_action" {
                return Err(format!(
                    "we also publish {} ({}) where the reference does not",
                    f["name"], f["publish_type"]
                ));
            }
        }
    }
    Ok(())
}

/// `[[case.unpublished]] name`: every member of the uploaded archive.
const EVERY_MEMBER: &str = "(every member)";

/// Whether our file `f` comes from where the reference's does: made by the handler, the upload
/// itself, or a file of the upload.
fn same_origin(f: &Value, want: &Published) -> Result<(), String> {
    let kind = f["origin"]["kind"].as_str().unwrap_or("?");
    let expected = if want.generated {
        "generated"
    } else if want.is_upload {
        "upload"
    } else {
        // A file of the upload: the uploaded file itself or a member of it.
        return match kind {
            "upload" | "member" => Ok(()),
            other => Err(format!(
                "{}: published as a {other} file where the reference publishes a file of the upload",
                f["name"]
            )),
        };
    };
    if kind == expected {
        Ok(())
    } else {
        Err(format!(
            "{}: published as a {kind} file where the reference publishes a {expected} one",
            f["name"]
        ))
    }
}

/// Whether our file `f` has the reference's publish type (when the case names one).
fn same_publish_type(what: &str, f: &Value, reference: Option<&str>) -> Result<(), String> {
    match reference {
        Some(t) if f["publish_type"] != publish_name(t).as_str() => Err(format!(
            "{what}: publish type {} where the reference has {t}",
            f["publish_type"]
        )),
        _ => Ok(()),
    }
}

/// Where our job refused an upload, from its report: the upload guards, the resolve step
/// (manifest and archive refusals, missing files, unclaimed files), a check, the rules'
/// refusals (reject, require, templates), or allowed_dest.
fn category(message: &str, failed_check: bool) -> &'static str {
    if failed_check {
        "check"
    } else if message.contains("accepts only") {
        "guard_extension"
    } else if message.contains("does not match any allowed pattern") {
        "guard_name"
    } else if message.contains("missing files") {
        "missing"
    } else if message.contains("malformed")
        || message.contains("asks to delete")
        || message.contains("refused manifest entries")
    {
        "manifest"
    } else if message.contains("is not allowed by the rule's allowed_dest") {
        "allowed_dest"
    } else if message.contains("each file must match a files.include pattern") {
        "unclaimed"
    } else {
        "refusal"
    }
}

/// Where ours may refuse what the reference refuses with this exception class.
fn reference_categories(error: &str) -> &'static [&'static str] {
    match error {
        "ComplianceCheckFailedError" => &["check"],
        "InvalidFileFormatError" => &["guard_extension", "refusal"],
        "InvalidInputFileError" => &["guard_name", "unclaimed", "refusal"],
        "InvalidFileNameError" => &["unclaimed", "refusal"],
        "MissingFileError" => &["missing"],
        "AttributeValidationError" => &["allowed_dest"],
        _ => &["refusal"],
    }
}

fn matches(want: &Published, f: &Value) -> bool {
    let dest = f["dest_path"].as_str();
    let archive = f["archive_path"].as_str();
    let name = f["name"].as_str().unwrap_or("");
    let re =
        |p: &str, s: Option<&str>| s.is_some_and(|s| regex::Regex::new(p).unwrap().is_match(s));
    if let Some(d) = want.dest.as_deref().or(want.code_dest.as_deref()) {
        return dest == Some(d);
    }
    if let Some(p) = &want.dest_regex {
        return re(p, dest);
    }
    if let Some(a) = &want.archive {
        return archive == Some(a.as_str());
    }
    if let Some(p) = &want.archive_regex {
        return re(p, archive);
    }
    if let Some(n) = &want.name {
        return name == n;
    }
    if let Some(p) = &want.name_regex {
        return re(p, Some(name));
    }
    false
}

fn describe(want: &Published) -> String {
    want.dest
        .clone()
        .or_else(|| want.code_dest.clone())
        .or_else(|| want.dest_regex.clone().map(|r| format!("~{r}")))
        .or_else(|| want.archive.clone())
        .or_else(|| want.archive_regex.clone().map(|r| format!("archive ~{r}")))
        .or_else(|| want.name.clone())
        .unwrap_or_default()
}

fn run_path_case(set: &PipelineSet, case: &PathCase) -> Result<(), String> {
    let file = match (&case.input, case.name_only) {
        (Some(i), false) => Some(input_path(i)?),
        _ => None,
    };
    match (
        route(set, &case.upload_key, file.as_deref(), chrono::Utc::now()),
        &case.dest,
        &case.error,
    ) {
        (Routed::Placed(p), Some(want), _) if p.dest.as_deref() == Some(want.as_str()) => Ok(()),
        (Routed::Placed(p), _, _) => Err(format!(
            "placed at {:?} by {} where the reference {}",
            p.dest,
            p.pipeline,
            case.dest.as_ref().map_or_else(
                || format!("raises {}", case.error.as_deref().unwrap_or("?")),
                |d| format!("has {d}")
            )
        )),
        (Routed::Refused { reason, .. }, _, Some(_)) if !reason.contains("not yet available") => {
            Ok(())
        }
        (Routed::Refused { reason, .. }, _, _) => Err(reason.chars().take(220).collect()),
    }
}

/// docs/HANDLERS.md as it is.
fn handlers_md() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/HANDLERS.md")).unwrap()
}

/// The cases docs/HANDLERS.md lists as not reproduced: `- `<name>` …` lines of its section.
fn listed_not_reproduced() -> BTreeSet<String> {
    let text = handlers_md();
    let section = text
        .split("## Cases not reproduced")
        .nth(1)
        .expect("docs/HANDLERS.md has a section \"## Cases not reproduced\"");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_reference_handler_cases() {
    let cases: Cases =
        toml::from_str(&std::fs::read_to_string(imos_data("cases.toml")).unwrap()).unwrap();
    let set = PipelineSet::load(Some(&pipelines_file())).unwrap_or_else(|e| panic!("{e}"));
    let listed = listed_not_reproduced();

    let mut rows: Vec<(String, String, Result<(), String>)> = Vec::new();
    for case in &cases.case {
        rows.push((case.name.clone(), case.unit.clone(), run_case(case)));
    }
    let handler_runs = rows.len();
    for case in &cases.path_case {
        let name = format!(
            "{} [{}]",
            case.name,
            case.upload_key.rsplit('/').next().unwrap_or("")
        );
        rows.push((name, case.unit.clone(), run_path_case(&set, case)));
    }

    let mut by_unit: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut problems = Vec::new();
    let (mut case_ok, mut path_ok, mut skipped) = (0, 0, 0);
    println!("{:<100} result", "case");
    for (i, (name, unit, result)) in rows.iter().enumerate() {
        let entry = by_unit.entry(unit).or_default();
        entry.1 += 1;
        match result {
            Ok(()) => {
                entry.0 += 1;
                if i < handler_runs {
                    case_ok += 1;
                } else {
                    path_ok += 1;
                }
                println!("{name:<100} reproduced");
                if listed.contains(name) {
                    problems.push(format!(
                        "{name} is reproduced but docs/HANDLERS.md lists it as not reproduced"
                    ));
                }
            }
            Err(why) if why.starts_with("SKIPPED") => {
                skipped += 1;
                println!("{name:<100} {why}");
            }
            Err(why) => {
                println!("{name:<100} NOT reproduced: {why}");
                if !listed.contains(name) {
                    problems.push(format!(
                        "{name} is not reproduced ({why}) and docs/HANDLERS.md does not list it"
                    ));
                }
            }
        }
    }
    println!();
    for (unit, (ok, all)) in &by_unit {
        println!("{unit:<40} {ok:>3} / {all:<3}");
    }
    let paths = rows.len() - handler_runs;
    let case_rate = 100.0 * case_ok as f64 / handler_runs as f64;
    let path_rate = 100.0 * path_ok as f64 / paths as f64;
    println!(
        "handler runs reproduced: {case_ok} / {handler_runs} ({case_rate:.1} %); destination assertions: {path_ok} / {paths} ({path_rate:.1} %); skipped (no shared folder): {skipped}"
    );
    if skipped == 0 {
        // The page's summary line states the counts measured here.
        let stated = format!(
            "Now: **{case_ok} of {handler_runs} handler runs ({case_rate:.1} %)** and **{path_ok} of {paths} destination assertions ({path_rate:.1} %)**"
        );
        if !handlers_md().contains(&stated) {
            problems.push(format!(
                "docs/HANDLERS.md does not state the counts measured: expected the line {stated:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    if skipped == 0 {
        assert!(
            case_ok >= MIN_HANDLER_RUNS,
            "handler runs reproduced: {case_ok} < {MIN_HANDLER_RUNS}"
        );
        assert!(
            path_ok >= MIN_DESTINATIONS,
            "destination assertions reproduced: {path_ok} < {MIN_DESTINATIONS}"
        );
    }
}
