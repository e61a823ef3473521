//! Notifications through a real SMTP server (the sink scripts/test.sh starts on 127.0.0.1): who
//! received what for each outcome, the MIME structure, the bodies, the attachment, the inline
//! plot, non-ASCII names and attributes, and that no SMTP failure touches a publication.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mail_parser::{MessageParser, MimeHeaders, PartType};
use serde_json::Value;

use crate::common::*;

const PIPELINES: &str = r#"
[[pipeline]]
name = "moorings"
keys = '(^|/)IMOS_ANMN-NRS_'
owners = ["owner@example.org", "Data-Team@example.org"]
notify_success = ["data-team@example.org", "portal@example.org"]

[[pipeline.files]]
include = 'IMOS_ANMN-NRS_'
check = "format"
publish = "harvest_upload"
dest = "IMOS/ANMN/NRS/{{ attrs.site_code }}/{{ name }}"
"#;

/// The fixture profile copied under a non-ASCII name; its `title` attribute is non-ASCII too.
const UNICODE_NAME: &str = "IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-Température-ü_C-20160524T003914Z.nc";
const UNICODE_TITLE: &str = "CTD profile at Maria Island NRS — température de l’eau, Île Maria (ü)";
const PROVIDER: &str = "provider@example.com";
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The SMTP sink: its URL (`smtp://127.0.0.1:PORT?tls=none`, as it speaks plain SMTP) and the
/// folder it writes each accepted message to.
struct Sink {
    url: String,
    dir: PathBuf,
}

impl Sink {
    fn get() -> Option<Sink> {
        let url = server("INGEST_TEST_SMTP_URL")?;
        let dir = server("INGEST_TEST_SMTP_DIR")?;
        Some(Sink {
            url,
            dir: dir.into(),
        })
    }

    /// The sink's URL without `tls=none`, which asks for STARTTLS.
    fn starttls_url(&self) -> String {
        self.url
            .split_once('?')
            .map_or(self.url.as_str(), |(base, _)| base)
            .to_string()
    }

    /// Every message the sink accepted for a job (its Message-ID carries the job id).
    fn messages_for(&self, job_id: &str) -> Vec<Sent> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let raw = std::fs::read(path.with_extension("eml")).unwrap();
            let id = MessageParser::default()
                .parse(&raw)
                .and_then(|m| m.message_id().map(str::to_string));
            if id.as_deref() == Some(&format!("{job_id}@ocean-ingest")) {
                let envelope: Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                out.push(Sent { envelope, raw });
            }
        }
        out
    }

    /// The one message sent for a job.
    fn message_for(&self, job_id: &str) -> Sent {
        let mut all = self.messages_for(job_id);
        assert_eq!(all.len(), 1, "messages for job {job_id} in {:?}", self.dir);
        all.pop().unwrap()
    }
}

/// One message as the SMTP server received it.
struct Sent {
    envelope: Value,
    raw: Vec<u8>,
}

impl Sent {
    fn recipients(&self) -> Vec<String> {
        self.envelope["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    fn message(&self) -> mail_parser::Message<'_> {
        MessageParser::default().parse(&self.raw).unwrap()
    }

    /// The raw header block, as it crossed the wire.
    fn raw_headers(&self) -> String {
        let text = String::from_utf8_lossy(&self.raw);
        text.split("\r\n\r\n").next().unwrap().to_string()
    }
}

/// The MIME tree as `type[child,child]`, e.g. `multipart/mixed[text/plain,…]`.
fn mime_tree(m: &mail_parser::Message<'_>) -> String {
    fn walk(m: &mail_parser::Message<'_>, id: u32) -> String {
        let part = m.part(id).unwrap();
        let ct = part
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .unwrap_or_else(|| "text/plain".into());
        match &part.body {
            PartType::Multipart(children) => format!(
                "{ct}[{}]",
                children
                    .iter()
                    .map(|c| walk(m, *c))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            _ => ct,
        }
    }
    walk(m, 0)
}

fn env_with(sink: &Sink) -> Env {
    let mut env = Env::new();
    env.pipelines(PIPELINES);
    env.set("INGEST_NOTIFY_URL", sink.url.clone());
    env.set("INGEST_NOTIFY_FROM", "Ocean Ingest <ingest@example.org>");
    env.set("INGEST_OPS_EMAIL", "ops@example.org, OWNER@example.org");
    env
}

/// Copies a fixture under another name into the env's folder.
fn copy_as(env: &Env, fixture: &str, name: &str) -> PathBuf {
    let path = env.dir.path().join(name);
    std::fs::copy(data(fixture), &path).unwrap();
    path
}

fn run_as_uploader(env: &Env, uploader: &str, path: &Path) -> Run {
    env.run(&[
        "run",
        "--output",
        "json",
        "--uploader",
        uploader,
        path.to_str().unwrap(),
    ])
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_publication_reaches_the_success_list_with_a_plot_and_unicode_intact() {
    let Some(sink) = Sink::get() else { return };
    let env = env_with(&sink);
    let upload = copy_as(&env, "profile_unicode_title.nc", UNICODE_NAME);
    let run = run_as_uploader(&env, PROVIDER, &upload);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "published");
    let job_id = report["job_id"].as_str().unwrap();
    let notification = &report["notification"];
    assert_eq!(notification["delivered"], true, "{notification}");
    assert_eq!(notification["attempts"], 1);
    assert!(
        notification["destination"]
            .as_str()
            .unwrap()
            .contains("250"),
        "{notification}"
    );

    let sent = sink.message_for(job_id);
    // The success list and the uploader, each once (data-team@ is also an owner, in other case).
    assert_eq!(
        sent.recipients(),
        strings(&["data-team@example.org", "portal@example.org", PROVIDER])
    );
    assert_eq!(sent.envelope["mail_from"], "ingest@example.org");
    let msg = sent.message();
    let subject = format!("[ocean-ingest] published: {UNICODE_NAME} (moorings)");
    assert_eq!(msg.subject(), Some(subject.as_str()));
    assert!(
        sent.raw_headers().is_ascii(),
        "headers are RFC 2047 encoded:\n{}",
        sent.raw_headers()
    );
    let reply_to: Vec<&str> = msg
        .reply_to()
        .unwrap()
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(reply_to, ["owner@example.org", "Data-Team@example.org"]);
    assert_eq!(
        mime_tree(&msg),
        "multipart/mixed[multipart/alternative[text/plain,multipart/related[text/html,image/png]]]"
    );

    let text = msg.body_text(0).unwrap().to_string();
    let html = unescape(&msg.body_html(0).unwrap());
    let sha256 = report["input"]["sha256"].as_str().unwrap();
    let dest = format!("IMOS/ANMN/NRS/NRSMAI/{UNICODE_NAME}");
    let report_key = format!("reports/moorings/{job_id}.json");
    for (which, body) in [("text", &text), ("html", &html)] {
        for expected in [
            UNICODE_NAME,
            job_id,
            sha256,
            "moorings",
            dest.as_str(),
            "16.0 KiB (16384 bytes)",
            "Postprocessed",
            report_key.as_str(),
        ] {
            assert!(
                body.contains(expected),
                "{which} body lacks {expected:?}:\n{body}"
            );
        }
    }
    // The non-ASCII title attribute, verbatim (the HTML escapes only markup characters).
    assert!(text.contains(UNICODE_TITLE), "{text}");
    assert!(html.contains(UNICODE_TITLE), "{html}");

    // The quick look: inline, referenced by the HTML, and the very PNG stored beside the report.
    let image = msg
        .parts
        .iter()
        .find(|p| p.is_content_type("image", "png"))
        .expect("an inline PNG");
    let cid = image.content_id().unwrap();
    assert!(html.contains(&format!("src=\"cid:{cid}\"")), "{html}");
    assert_eq!(
        image.content_disposition().map(|d| d.ctype()),
        Some("inline")
    );
    let png = image.contents();
    assert!(png.starts_with(PNG_MAGIC));
    let stored = env.store("reports");
    let key = format!("moorings/{job_id}/{UNICODE_NAME}.png");
    assert_eq!(
        stored.get(&key).map(Vec::as_slice),
        Some(png),
        "{:?}",
        stored.keys()
    );
    assert_eq!(report["plots"][0]["file"], UNICODE_NAME);
    assert_eq!(report["plots"][0]["variable"], "TEMP");
    assert!(
        report["plots"][0]["location"]
            .as_str()
            .unwrap()
            .ends_with(&key)
    );

    insta::assert_snapshot!("published_text_body", redact(&text, &env, job_id));
}

/// HTML text as a reader sees it.
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text body with what changes from run to run replaced.
fn redact(text: &str, env: &Env, job_id: &str) -> String {
    let text = text
        .replace(job_id, "[JOB_ID]")
        .replace(&env.dir.path().display().to_string(), "[DIR]");
    regex::Regex::new(r"Duration:  [0-9.]+ m?s")
        .unwrap()
        .replace_all(&text, "Duration:  [DURATION]")
        .replace("\r\n", "\n")
}

#[test]
fn a_rejection_goes_to_the_uploader_and_owners_with_the_check_report_attached() {
    let Some(sink) = Sink::get() else { return };
    let env = env_with(&sink);
    let name = "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_Température-ü.nc";
    let upload = copy_as(&env, "not_a_netcdf_file.nc", name);
    let run = run_as_uploader(&env, PROVIDER, &upload);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "rejected");
    let job_id = report["job_id"].as_str().unwrap();

    let sent = sink.message_for(job_id);
    assert_eq!(
        sent.recipients(),
        strings(&[PROVIDER, "owner@example.org", "Data-Team@example.org"])
    );
    let msg = sent.message();
    assert_eq!(
        msg.subject(),
        Some(format!("[ocean-ingest] rejected: {name} (moorings)").as_str())
    );
    assert_eq!(
        mime_tree(&msg),
        "multipart/mixed[multipart/alternative[text/plain,text/html],text/plain]"
    );
    let attachment = msg.attachment(0).expect("the check report is attached");
    assert_eq!(
        attachment.attachment_name(),
        Some(format!("{name}.check.txt").as_str())
    );
    let attached = String::from_utf8(attachment.contents().to_vec()).unwrap();
    let check_log = report["files"][0]["check_log"][0].as_str().unwrap();
    assert!(attached.contains(name), "{attached}");
    assert!(attached.contains("FAILED"), "{attached}");
    assert!(attached.contains(check_log), "{attached}");
    for body in [
        msg.body_text(0).unwrap().to_string(),
        unescape(&msg.body_html(0).unwrap()),
    ] {
        assert!(body.contains(name), "{body}");
        assert!(body.contains("was rejected"), "{body}");
        assert!(
            body.contains("upload again"),
            "the provider is told what to do: {body}"
        );
        assert!(
            body.contains("check FAILED") || body.contains("check failed"),
            "{body}"
        );
    }
}

#[test]
fn an_internal_failure_is_told_to_the_owners_with_the_detail_never_to_the_provider() {
    let Some(sink) = Sink::get() else { return };
    let env = env_with(&sink);
    // A file where the archive needs a folder: archiving the upload fails mid-publish.
    let archive = env.home().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    std::fs::write(archive.join("_uploads"), "").unwrap();
    let run = run_as_uploader(&env, PROVIDER, &data(TEMPERATURE));
    assert_eq!(run.code, 70, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "failed_internal");
    let job_id = report["job_id"].as_str().unwrap();
    let detail = report["error"]["detail"].as_str().unwrap();

    let sent = sink.message_for(job_id);
    // Owners, then the data team; OWNER@ is owner@ already. Never the provider.
    assert_eq!(
        sent.recipients(),
        strings(&[
            "owner@example.org",
            "Data-Team@example.org",
            "ops@example.org"
        ])
    );
    let msg = sent.message();
    assert_eq!(
        msg.subject(),
        Some(format!("[ocean-ingest] failed (internal error): {TEMPERATURE} (moorings)").as_str())
    );
    assert!(msg.reply_to().is_none());
    let text = msg.body_text(0).unwrap().to_string();
    assert!(
        text.contains(detail),
        "the team gets the whole cause chain:\n{text}"
    );
    assert!(text.contains("publish FAILED"), "{text}");
    assert!(env.store("public").is_empty());
    assert!(env.index_rows().is_empty());
}

#[test]
fn a_transient_failure_is_told_to_the_data_team_only() {
    let Some(sink) = Sink::get() else { return };
    let mut env = env_with(&sink);
    // The job's work folder cannot be created: the job fails before it knows its pipeline.
    let blocker = env.dir.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    env.set(
        "INGEST_WORK_DIR",
        blocker.join("work").display().to_string(),
    );
    let run = run_as_uploader(&env, PROVIDER, &data(TEMPERATURE));
    assert_eq!(run.code, 75, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "failed_transient");
    let job_id = report["job_id"].as_str().unwrap();
    let sent = sink.message_for(job_id);
    assert_eq!(
        sent.recipients(),
        strings(&["ops@example.org", "OWNER@example.org"])
    );
    let msg = sent.message();
    assert!(
        msg.subject()
            .unwrap()
            .starts_with("[ocean-ingest] failed, will be retried: "),
        "{:?}",
        msg.subject()
    );
    let text = msg.body_text(0).unwrap().to_string();
    assert!(text.contains("work folder"), "{text}");
    assert!(text.contains("retried automatically"), "{text}");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Asserts the publication of TEMPERATURE is whole: public file, index row, archive, report.
fn assert_publication_intact(env: &Env, report: &Value) {
    assert_eq!(report["outcome"], "published");
    assert_eq!(report["exit_code"], 0);
    let job_id = report["job_id"].as_str().unwrap();
    let dest = format!("IMOS/ANMN/NRS/NRSROT/{TEMPERATURE}");
    assert_eq!(
        env.store("public").get(&dest),
        Some(&std::fs::read(data(TEMPERATURE)).unwrap())
    );
    let rows = env.index_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["dest_path"], dest.as_str());
    assert!(
        env.store("archive")
            .keys()
            .any(|k| k.ends_with(&format!("{TEMPERATURE}.{job_id}")))
    );
    let stored: Value =
        serde_json::from_slice(&env.store("reports")[&format!("moorings/{job_id}.json")]).unwrap();
    assert_eq!(
        &stored, report,
        "the stored report records the notification failure too"
    );
}

#[test]
fn an_smtp_outage_leaves_the_publication_intact() {
    let mut env = Env::new();
    env.pipelines(PIPELINES);
    env.set(
        "INGEST_NOTIFY_URL",
        format!("smtp://127.0.0.1:{}?tls=none", closed_port()),
    );
    let run = env.ingest(&data(TEMPERATURE));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_publication_intact(&env, &report);
    let n = &report["notification"];
    assert_eq!(n["delivered"], false);
    assert_eq!(n["attempts"], 3, "an outage is retried: {n}");
    assert!(
        n["error"].as_str().unwrap().contains("cannot be reached"),
        "{n}"
    );
    assert_eq!(
        n["recipients"],
        serde_json::json!(["data-team@example.org", "portal@example.org"])
    );
    // The failure is logged as well as recorded.
    assert!(
        run.stderr.contains("notification not delivered"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_refusing_smtp_server_is_recorded_not_retried_and_the_publication_stands() {
    let Some(sink) = Sink::get() else { return };
    let env = env_with(&sink);
    let run = run_as_uploader(&env, "refuse-me@example.com", &data(TEMPERATURE));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_publication_intact(&env, &report);
    let n = &report["notification"];
    assert_eq!(n["delivered"], false);
    assert_eq!(n["attempts"], 1, "a 5xx refusal is final: {n}");
    let error = n["error"].as_str().unwrap();
    assert!(
        error.contains("550") && error.contains("refused"),
        "{error}"
    );
    let job_id = report["job_id"].as_str().unwrap();
    assert!(sink.messages_for(job_id).is_empty());
}

#[test]
fn smtp_without_tls_none_insists_on_starttls() {
    let Some(sink) = Sink::get() else { return };
    let mut env = env_with(&sink);
    // The sink offers no STARTTLS: the message must not go out in clear.
    env.set("INGEST_NOTIFY_URL", sink.starttls_url());
    let run = env.ingest(&data(TEMPERATURE));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.report();
    let n = &report["notification"];
    assert_eq!(n["delivered"], false);
    assert_eq!(n["attempts"], 1);
    assert!(n["error"].as_str().unwrap().contains("STARTTLS"), "{n}");
    assert!(
        sink.messages_for(report["job_id"].as_str().unwrap())
            .is_empty()
    );
}

#[test]
fn smtp_credentials_in_clear_are_refused_and_never_printed() {
    let mut env = Env::new();
    env.set(
        "INGEST_NOTIFY_URL",
        "smtp://mailer:s3cr%40t@127.0.0.1:25?tls=none",
    );
    let run = env.ingest(&data(TEMPERATURE));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("in clear"), "{}", run.stderr);
    assert!(run.stderr.contains("INGEST_NOTIFY_URL"), "{}", run.stderr);
    for shown in [&run.stdout, &run.stderr] {
        assert!(!shown.contains("s3cr"), "{shown}");
    }
    // The same through the variables, with a URL that takes them.
    env.set("INGEST_NOTIFY_URL", "smtp://127.0.0.1:25?tls=none");
    env.set("INGEST_SMTP_USERNAME", "mailer");
    env.set("INGEST_SMTP_PASSWORD", "s3cr@t");
    let run = env.ingest(&data(TEMPERATURE));
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains("s3cr"), "{}", run.stderr);
}

#[test]
fn every_job_stores_the_report_it_prints() {
    let mut env = Env::new();
    env.pipelines(PIPELINES);
    let published = env.ingest(&data(TEMPERATURE));
    let duplicate = env.ingest(&data(TEMPERATURE));
    let rejected = env.ingest(&copy_as(
        &env,
        "not_a_netcdf_file.nc",
        "IMOS_ANMN-NRS_TZ_broken.nc",
    ));
    let unrouted = env.ingest(&data(ACORN));
    let reports = env.store("reports");
    let mut outcomes = BTreeMap::new();
    for (run, pipeline) in [
        (&published, "moorings"),
        (&duplicate, "moorings"),
        (&rejected, "moorings"),
        (&unrouted, "_unrouted"),
    ] {
        let printed = run.report();
        let job_id = printed["job_id"].as_str().unwrap();
        let key = format!("{pipeline}/{job_id}.json");
        let stored: Value = serde_json::from_slice(
            reports
                .get(&key)
                .unwrap_or_else(|| panic!("{key} in {:?}", reports.keys())),
        )
        .unwrap();
        assert_eq!(stored, printed, "{key}");
        assert!(
            printed["locations"]["report"]
                .as_str()
                .unwrap()
                .ends_with(&key)
        );
        outcomes.insert(printed["outcome"].as_str().unwrap().to_string(), key);
    }
    assert_eq!(
        outcomes.keys().collect::<Vec<_>>(),
        ["duplicate", "published", "rejected"],
        "the unrouted upload is a rejection too"
    );
}

#[test]
fn a_zip_of_a_profile_and_a_time_series_shows_one_plot_of_each() {
    let mut env = Env::new();
    env.pipelines(&PIPELINES.replace(
        "keys = '(^|/)IMOS_ANMN-NRS_'",
        "keys = '(^|/)IMOS_ANMN-NRS_'\nallowed_extensions = [\".zip\"]",
    ));
    let upload = env.dir.path().join("IMOS_ANMN-NRS_two-files.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&upload).unwrap());
        // The radar grid is published with the others but is no series: it gets no plot.
        for (name, fixture) in [
            (PROFILE, PROFILE),
            (TEMPERATURE, TEMPERATURE),
            ("IMOS_ANMN-NRS_radar-grid.nc", ACORN),
        ] {
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::copy(&mut std::fs::File::open(data(fixture)).unwrap(), &mut zip).unwrap();
        }
        zip.finish().unwrap();
    }
    let run = env.ingest(&upload);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    let job_id = report["job_id"].as_str().unwrap();
    let plotted: Vec<&str> = report["plots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["file"].as_str().unwrap())
        .collect();
    assert_eq!(plotted, [PROFILE, TEMPERATURE]);
    assert_eq!(report["files"].as_array().unwrap().len(), 3);
    assert!(
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["published"] == true)
    );

    let eml = env.outbox_eml(job_id);
    let msg = MessageParser::default().parse(eml.as_bytes()).unwrap();
    let html = msg.body_html(0).unwrap().to_string();
    let images: Vec<_> = msg
        .parts
        .iter()
        .filter(|p| p.is_content_type("image", "png"))
        .collect();
    assert_eq!(images.len(), 2);
    for image in images {
        let cid = image.content_id().unwrap();
        assert!(
            html.contains(&format!("src=\"cid:{cid}\"")),
            "{cid}: {html}"
        );
        assert!(image.contents().starts_with(PNG_MAGIC));
    }
    let stored = env.store("reports");
    for name in [PROFILE, TEMPERATURE] {
        assert!(stored.contains_key(&format!("moorings/{job_id}/{name}.png")));
    }
}

#[test]
fn a_plot_that_cannot_be_drawn_is_a_note_and_the_publication_stands() {
    let mut env = Env::new();
    env.pipelines(PIPELINES);
    // A time series whose every temperature is the fill value: nothing to draw.
    let cdl = env.dir.path().join("empty_series.cdl");
    std::fs::write(
        &cdl,
        r#"netcdf empty_series {
dimensions:
    TIME = 3 ;
variables:
    double TIME(TIME) ;
        TIME:standard_name = "time" ;
        TIME:units = "days since 1950-01-01 00:00:00 UTC" ;
    float TEMP(TIME) ;
        TEMP:standard_name = "sea_water_temperature" ;
        TEMP:_FillValue = 999999.f ;
// global attributes:
    :featureType = "timeSeries" ;
    :site_code = "NRSROT" ;
data:
 TIME = 1, 2, 3 ;
 TEMP = _, _, _ ;
}
"#,
    )
    .unwrap();
    let nc = env.dir.path().join("IMOS_ANMN-NRS_TZ_all-fill.nc");
    let made = std::process::Command::new("ncgen")
        .args(["-k", "classic", "-o"])
        .arg(&nc)
        .arg(&cdl)
        .status()
        .expect("ncgen (netcdf-bin, which scripts/test.sh installs) runs");
    assert!(made.success());
    let run = env.ingest(&nc);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["outcome"], "published");
    assert_eq!(report["plots"], serde_json::json!([]));
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(
            |n| n.contains("no quick look of IMOS_ANMN-NRS_TZ_all-fill.nc")
                && n.contains("no valid values")
        ),
        "{notes:?}"
    );
    assert_eq!(report["notification"]["delivered"], true);
}
