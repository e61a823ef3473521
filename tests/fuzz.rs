//! Property-based fuzzing of everything that reads what a provider or an event sends: event
//! documents, the five manifest kinds, IMOS file names, ZIP and gzip uploads, and destination
//! templates. Properties: nothing panics, nothing is written outside the job's work folder,
//! encodings round-trip, keys survive URL encoding, a template cannot render outside its literal
//! start, and every refusal names what it refused.
//!
//! Each target runs a fixed number of cases in an ordinary test run; with `INGEST_FUZZ_SECONDS`
//! set it runs for that many seconds instead, and with `INGEST_FUZZ_REPORT` set it appends one
//! line per target (`target<TAB>executions<TAB>seconds`) to that file. `scripts/fuzz.sh` runs
//! them so, a short budget in CI and a long one by hand.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use ocean_ingest::events::{
    EventRecord, ReplayObject, decode_event_key, encode_event_key, replay_event,
};
use ocean_ingest::pipeline::{ImosName, PathPattern, Template, TemplateContext, UnpackLimits};
use ocean_ingest::resolve::manifest::{self, Entry, ManifestKind};
use ocean_ingest::resolve::unpack::UnpackError;
use ocean_ingest::resolve::{gzip, zip};
use ocean_ingest::store::Key;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Cases per target in an ordinary test run.
const CASES: u32 = 256;
/// Cases per batch when running for a time budget (each batch has its own seed).
const BATCH: u32 = 64;

/// Runs `property` over `strategy` for the budget; panics with the smallest failing input.
fn fuzz<S: Strategy>(
    target: &str,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let budget = std::env::var("INGEST_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    let started = Instant::now();
    let mut executions: u64 = 0;
    let mut seed: u64 = std::env::var("INGEST_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64 ^ started.elapsed().as_nanos() as u64);
    loop {
        let cases = if budget.is_some() { BATCH } else { CASES };
        let config = Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        };
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let mut runner = TestRunner::new_with_rng(config, rng);
        if let Err(e) = runner.run(&strategy, &property) {
            panic!("fuzz target {target} failed (seed {seed}): {e}");
        }
        executions += cases as u64;
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        match budget {
            Some(b) if started.elapsed() < b => continue,
            _ => break,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("fuzz {target}: {executions} executions in {seconds:.1} s, 0 failures");
    if let Ok(report) = std::env::var("INGEST_FUZZ_REPORT") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(report)
            .expect("the fuzz report file opens");
        writeln!(f, "{target}\t{executions}\t{seconds:.1}").expect("the fuzz report is written");
    }
}

/// Text that is mostly near the input's grammar: pieces of the real thing, mixed with anything.
fn texty(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(pieces).prop_map(str::to_string),
            1 => "\\PC{0,12}",
            1 => any::<String>(),
            1 => prop::sample::select(&["\n", "\r\n", ",", "\"", "\u{feff}", " ", "/", "..", "\0"][..])
                .prop_map(str::to_string),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

/// A path segment as providers write them, hostile ones included.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9_-]{1,12}(\\.nc)?",
        // Longer than a file system allows one name to be.
        1 => "[a-z]{250,300}",
        1 => prop::sample::select(&["..", ".", "", "a\\b", "C:", "~", "%2F", "+", " ", "ü", ".ingest", "_uploads"][..])
            .prop_map(str::to_string),
        1 => "\\PC{1,6}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(segment(), 1..5),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(segs, absolute)| {
            let joined = segs.join("/");
            if absolute {
                format!("/{joined}")
            } else {
                joined
            }
        })
}

// ---------------------------------------------------------------------------------------------
// Events

/// A JSON value shaped like the events the job reads, with anything in the leaves.
fn event_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(
            &[
                "ObjectCreated:Put",
                "s3:ObjectCreated:Copy",
                "ObjectRemoved:Delete",
                "s3:TestEvent",
                "Notification",
                "Object Created",
                "a+b%2Fc%20d",
                "%ZZ",
                "%C3%28",
                "{\"Records\": []}",
                "[]",
            ][..]
        )
        .prop_map(|s| Value::String(s.to_string())),
        "\\PC{0,16}".prop_map(Value::String),
    ];
    let names = prop::sample::select(
        &[
            "Records",
            "s3",
            "bucket",
            "name",
            "object",
            "key",
            "eventName",
            "Event",
            "Messages",
            "Body",
            "body",
            "Type",
            "Message",
            "Sns",
            "detail-type",
            "detail",
            "size",
        ][..],
    );
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(names.clone().prop_map(str::to_string), inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn event_parsing_never_panics_and_says_why_it_refuses() {
    let documents = prop_oneof![
        event_json().prop_map(|v| v.to_string()),
        // A document wrapped as an SQS body string, as the queue delivers it.
        event_json().prop_map(|v| serde_json::json!({"Body": v.to_string()}).to_string()),
        texty(&[
            "{",
            "}",
            "[",
            "]",
            "\"Records\"",
            ":",
            "\"s3\"",
            "\"key\"",
            "null",
            "1e999"
        ]),
    ];
    fuzz("events", documents, |text| {
        match ocean_ingest::events::parse(&text) {
            Ok(records) => {
                for r in records {
                    if let EventRecord::Ignored { reason } = r {
                        prop_assert!(!reason.is_empty());
                    }
                }
            }
            Err(e) => {
                prop_assert!(e.to_string().starts_with("not an S3 event: ") && !e.reason.is_empty())
            }
        }
        Ok(())
    });
}

#[test]
fn a_key_survives_url_encoding_and_a_replayed_event() {
    let keys = prop_oneof![
        path(),
        any::<String>().prop_filter("non-empty", |s| !s.is_empty())
    ];
    fuzz("event-keys", keys, |key| {
        let encoded = encode_event_key(&key);
        prop_assert!(!encoded.contains(' '), "{encoded}");
        prop_assert_eq!(decode_event_key(&encoded).unwrap(), key.clone());
        let event = replay_event(
            &ReplayObject {
                bucket: "incoming",
                key: &key,
                size: 1,
                etag: Some("\"abc\""),
            },
            "ap-southeast-2",
        );
        let parsed = ocean_ingest::events::parse(&event.to_string()).unwrap();
        prop_assert_eq!(
            parsed,
            vec![EventRecord::ObjectCreated {
                bucket: "incoming".into(),
                key,
                event: "ObjectCreated:Put".into(),
            }]
        );
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Manifests

fn kind() -> impl Strategy<Value = ManifestKind> {
    prop::sample::select(&ManifestKind::ALL[..])
}

/// Whether a problem says where it is: a line, a JSON item or position, or the whole manifest.
fn placed(problem: &str) -> bool {
    problem.starts_with("line ")
        || problem.starts_with("files[")
        || problem.starts_with("not valid CSV")
        || problem == "the manifest names no files"
}

#[test]
fn manifest_parsing_never_panics_and_names_each_bad_line() {
    let text = texty(&[
        "a.nc",
        "sub/b.nc",
        ",",
        "local_path,dest_path",
        "dest_path",
        "IMOS/X/a.nc",
        ">f+++++++++ ",
        "*deleting ",
        "cL+++++++++ ",
        ".d..t...... ",
        "sending incremental file list",
        "{\"files\": [",
        "{\"local_path\": \"a.nc\"",
        ", \"dest_path\": \"X/a.nc\"}",
        "]}",
        "\n",
    ]);
    fuzz("manifests", (kind(), text), |(kind, text)| {
        match manifest::parse(kind, &text) {
            Ok(entries) => prop_assert!(!entries.is_empty()),
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                for p in &problems {
                    prop_assert!(placed(p), "{kind:?}: {p:?} does not say where");
                }
            }
        }
        Ok(())
    });
}

/// A manifest entry's path or destination: plain text without the separators of any kind.
fn plain_path() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,8}(/[A-Za-z0-9_.-]{1,8}){0,3}"
        .prop_filter("no line of rsync chatter", |p| !p.is_empty())
}

#[test]
fn every_manifest_kind_round_trips_its_entries() {
    let entries = prop::collection::vec((plain_path(), plain_path(), any::<bool>()), 1..8);
    let bom = any::<bool>();
    fuzz(
        "manifest-round-trip",
        (kind(), entries, bom),
        |(kind, entries, bom)| {
            let mut text = String::from(if bom { "\u{feff}" } else { "" });
            let mut expected = Vec::new();
            for (i, (path, dest, with_dest)) in entries.iter().enumerate() {
                let at = |n: usize| format!("line {n}");
                match kind {
                    ManifestKind::Paths => {
                        text.push_str(&format!("  {path}  \n"));
                        expected.push(Entry::Add {
                            at: at(i + 1),
                            path: path.clone(),
                            dest: None,
                        });
                    }
                    ManifestKind::Map => {
                        text.push_str(&format!("{path}, {dest}\n"));
                        expected.push(Entry::Add {
                            at: at(i + 1),
                            path: path.clone(),
                            dest: Some(dest.clone()),
                        });
                    }
                    ManifestKind::Json => {
                        let item = if *with_dest {
                            serde_json::json!({"local_path": path, "dest_path": dest})
                        } else {
                            serde_json::json!({"local_path": path})
                        };
                        if i == 0 {
                            text.push_str("{\"files\": [");
                        } else {
                            text.push(',');
                        }
                        text.push_str(&item.to_string());
                        expected.push(Entry::Add {
                            at: format!("files[{i}]"),
                            path: path.clone(),
                            dest: with_dest.then(|| dest.clone()),
                        });
                    }
                    ManifestKind::Rsync => {
                        if *with_dest {
                            text.push_str(&format!("*deleting   {path}\n"));
                            expected.push(Entry::DeleteName {
                                at: at(i + 1),
                                path: path.clone(),
                            });
                        } else {
                            text.push_str(&format!(">f+++++++++ {path}\n"));
                            expected.push(Entry::Add {
                                at: at(i + 1),
                                path: path.clone(),
                                dest: None,
                            });
                        }
                    }
                    ManifestKind::Delete => {
                        text.push_str(&format!("{dest}\n"));
                        expected.push(Entry::DeleteDest {
                            at: at(i + 1),
                            dest: dest.clone(),
                        });
                    }
                }
            }
            if kind == ManifestKind::Json {
                text.push_str("]}");
            }
            prop_assert_eq!(manifest::parse(kind, &text), Ok(expected), "{}", text);
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// IMOS file names

#[test]
fn imos_file_names_round_trip_and_nothing_else_panics() {
    let date = "[12][0-9]{3}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])(T[0-2][0-9][0-5][0-9][0-5][0-9]Z)?";
    let fields = (
        prop::sample::select(&["IMOS", "AODN", "SOOP"][..]),
        "[A-Z]{2,6}",
        prop::option::of("[A-Za-z0-9]{2,8}"),
        "[A-Z]{1,9}",
        date,
        // A platform spelled like a file version (FV01), or starting with the markers of the
        // end and creation dates (END-, C-), is read as that field: not a name.
        prop::option::of("[A-Z0-9-]{2,10}".prop_filter("not FVnn, END- or C-", |p| {
            let version =
                p.len() == 4 && p.starts_with("FV") && p[2..].bytes().all(|b| b.is_ascii_digit());
            !(version || p.starts_with("C-") || p.starts_with("END-"))
        })),
        "[0-9]{2}",
        // Likewise a product starting with the markers of the later fields.
        prop::option::of(
            "[A-Za-z0-9-]{1,12}".prop_filter("not END-, C- or PART", |p| {
                !(p.starts_with("C-") || p.starts_with("END-") || p.starts_with("PART"))
            }),
        ),
        prop::option::of(date),
        prop::option::of(date),
        prop::sample::select(&["nc", "csv", "png", "nc.gz"][..]),
    );
    fuzz(
        "imos-names",
        fields,
        |(project, facility, sub, code, start, platform, fv, product, end, created, ext)| {
            let facility_code = match &sub {
                Some(s) => format!("{facility}-{s}"),
                None => facility.clone(),
            };
            let mut name = format!("{project}_{facility_code}_{code}_{start}_");
            if let Some(p) = &platform {
                name.push_str(&format!("{p}_"));
            }
            name.push_str(&format!("FV{fv}"));
            if let Some(p) = &product {
                name.push_str(&format!("_{p}"));
            }
            if let Some(e) = &end {
                name.push_str(&format!("_END-{e}"));
            }
            if let Some(c) = &created {
                name.push_str(&format!("_C-{c}"));
            }
            name.push_str(&format!(".{ext}"));
            let parsed = ImosName::parse(&name);
            prop_assert!(parsed.is_some(), "{name} does not parse");
            let parsed = parsed.unwrap();
            prop_assert_eq!(&parsed.facility_code, &facility_code);
            prop_assert_eq!(&parsed.data_code, &code);
            prop_assert_eq!(&parsed.start, &start);
            prop_assert_eq!(&parsed.file_version, &fv);
            prop_assert_eq!(&parsed.end, &end);
            prop_assert_eq!(&parsed.created, &created);
            prop_assert_eq!(&parsed.extension, ext);
            prop_assert_eq!(&parsed.platform, &platform);
            prop_assert_eq!(&parsed.product, &product);
            if created.is_some() {
                // The identity is the same name without its creation date.
                let identity = ImosName::product_identity(&name).unwrap();
                let again = ImosName::parse(&identity);
                prop_assert!(again.is_some(), "{identity} does not parse");
                let again = again.unwrap();
                prop_assert_eq!(again.created, None);
                prop_assert_eq!(again.product, product);
                prop_assert_eq!(again.platform, platform);
                prop_assert_eq!(again.end, end);
            }
            Ok(())
        },
    );
    fuzz("imos-names-any", any::<String>(), |text| {
        let _ = ImosName::parse(&text);
        let _ = ImosName::product_identity(&text);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// ZIP and gzip

/// Every file under `root`, relative.
fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// A ZIP of hostile names and contents, optionally damaged byte by byte afterwards.
fn hostile_zip() -> impl Strategy<Value = Vec<u8>> {
    let entry = (
        path(),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::sample::select(&["file", "dir", "symlink", "stored"][..]),
    );
    (
        prop::collection::vec(entry, 1..6),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    )
        .prop_map(|(entries, damage)| {
            let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            for (name, body, kind) in &entries {
                let opts = ::zip::write::SimpleFileOptions::default();
                let _ = match *kind {
                    "dir" => w.add_directory(name.as_str(), opts),
                    "symlink" => w.add_symlink(name.as_str(), "/etc/passwd", opts),
                    "stored" => w
                        .start_file(
                            name.as_str(),
                            opts.compression_method(::zip::CompressionMethod::Stored),
                        )
                        .and_then(|()| w.write_all(body).map_err(Into::into)),
                    _ => w
                        .start_file(name.as_str(), opts)
                        .and_then(|()| w.write_all(body).map_err(Into::into)),
                };
            }
            let mut bytes = w.finish().map(|c| c.into_inner()).unwrap_or_default();
            for (at, byte) in damage {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
            }
            bytes
        })
}

#[test]
fn zip_resolve_never_panics_nor_writes_outside_the_work_folder() {
    let uploads = prop_oneof![
        4 => hostile_zip(),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ];
    fuzz("zip", uploads, |bytes| {
        let root = tempfile::tempdir().unwrap();
        let (upload, work) = (root.path().join("upload.zip"), root.path().join("work"));
        std::fs::write(&upload, &bytes).unwrap();
        let out = work.join("unzipped");
        let limits = UnpackLimits {
            max_bytes: 1 << 20,
            max_entries: 16,
            max_ratio: 100,
        };
        match zip::unpack(&upload, &out, limits, None) {
            Ok((members, _)) => {
                for m in &members {
                    let at = out.join(&m.path);
                    prop_assert!(Key::new(m.path.clone()).is_ok(), "{:?}", m.path);
                    prop_assert_eq!(std::fs::metadata(&at).unwrap().len(), m.unpacked.size);
                }
            }
            Err(UnpackError::Refused(reason)) => prop_assert!(!reason.is_empty()),
            Err(UnpackError::Local(e)) => prop_assert!(false, "a local failure: {e}"),
        }
        // Whatever happened, nothing lies outside the work folder but the upload itself.
        let mut outside = files_under(root.path());
        outside.retain(|f| !f.starts_with("work/"));
        prop_assert_eq!(outside, vec!["upload.zip".to_string()]);
        Ok(())
    });
}

#[test]
fn a_refused_zip_entry_is_named() {
    let hostile =
        prop::sample::select(&["../evil.nc", "/etc/evil.nc", "a\\evil.nc", "a/../../x.nc"][..]);
    fuzz("zip-names", (hostile, "[a-z]{1,8}\\.nc"), |(bad, good)| {
        let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = ::zip::write::SimpleFileOptions::default();
        w.start_file(good.as_str(), opts).unwrap();
        w.write_all(b"ok").unwrap();
        w.start_file(bad, opts).unwrap();
        w.write_all(b"evil").unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let root = tempfile::tempdir().unwrap();
        let upload = root.path().join("u.zip");
        std::fs::write(&upload, bytes).unwrap();
        match zip::unpack(
            &upload,
            &root.path().join("out"),
            UnpackLimits::default(),
            None,
        ) {
            Err(UnpackError::Refused(reason)) => {
                prop_assert!(reason.contains(&format!("{bad:?}")), "{reason}")
            }
            other => prop_assert!(false, "{bad} was not refused: {other:?}"),
        }
        Ok(())
    });
}

#[test]
fn gzip_resolve_round_trips_and_never_panics() {
    let cases = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4096).prop_map(|b| (b, true)),
        prop::collection::vec(any::<u8>(), 0..256).prop_map(|b| (b, false)),
    ];
    fuzz("gzip", cases, |(bytes, compress)| {
        let root = tempfile::tempdir().unwrap();
        let src = root.path().join("x.nc.gz");
        let content = if compress {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            e.finish().unwrap()
        } else {
            bytes.clone()
        };
        std::fs::write(&src, &content).unwrap();
        let dest = root.path().join("work").join("x.nc");
        match gzip::gunzip(&src, &dest, UnpackLimits::default(), None) {
            Ok(unpacked) => {
                let written = std::fs::read(&dest).unwrap();
                prop_assert_eq!(unpacked.size, written.len() as u64);
                if compress {
                    prop_assert_eq!(written, bytes);
                }
            }
            Err(UnpackError::Refused(reason)) => {
                prop_assert!(!compress, "a valid gzip was refused: {reason}");
                prop_assert!(reason.contains("x.nc"), "{reason}");
            }
            Err(UnpackError::Local(e)) => prop_assert!(false, "a local failure: {e}"),
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Templates

#[test]
fn a_template_never_renders_outside_its_literal_start() {
    let templates = prop::sample::select(
        &[
            "IMOS/ANMN/NRS/{{ attrs.site_code }}/Temperature/{{ name }}",
            "A/{{ attrs.site_code }}{{ name }}",
            "X/{{ imos.platform }}/{{ imos.start | strftime('%Y/%m') }}/{{ name }}",
            "B/{{ attrs.site_code | lower }}/{{ stem }}{{ extension }}",
            "C/{% if attrs.site_code %}{{ attrs.site_code }}{% endif %}/{{ name }}",
        ][..],
    );
    let attribute = prop_oneof![
        "[A-Z0-9]{1,8}",
        prop::sample::select(
            &[
                "../..",
                "/",
                "a/../b",
                "%2F",
                "{{ name }}",
                "\u{202e}",
                "\n",
                ""
            ][..]
        )
        .prop_map(str::to_string),
        any::<String>(),
    ];
    let names = prop_oneof![
        Just("IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_X_C-20200313T000000Z.nc".to_string()),
        "\\PC{1,20}",
    ];
    fuzz(
        "templates",
        (templates, attribute, names),
        |(source, site, name)| {
            let template = Template::compile(source).unwrap();
            let prefix = ocean_ingest::pipeline::writes::template_prefix(&template);
            let mut ctx = TemplateContext::new(&name, "key", "p");
            ctx.header = Some(std::sync::Arc::new(
                serde_json::json!({"attrs": {"site_code": site}}),
            ));
            match template.render(&ctx) {
                Ok(rendered) => {
                    // A rendered destination is used only as a valid key, and then lies in the
                    // pipeline's derived writes.
                    if Key::new(rendered.clone()).is_ok() {
                        prop_assert!(
                            PathPattern::literal(&prefix).covers(&rendered),
                            "{rendered} escapes {prefix}"
                        );
                        prop_assert!(!rendered.split('/').any(|s| s == ".."));
                    }
                }
                Err(reason) => prop_assert!(!reason.is_empty()),
            }
            Ok(())
        },
    );
}
