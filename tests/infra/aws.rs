//! Small models of the AWS behaviour the structural tests rely on: EventBridge event patterns,
//! the JSON paths of Pipes target parameters, S3 events as a pipe sees them, and AWS Batch's
//! retry decision.

use regex::Regex;
use serde_json::{Value as Json, json};

use crate::plan::{REGION, json_eq};

/// EventBridge event-pattern matching for what the module uses: literal values, `prefix`,
/// `anything-but`, `exists` and `$or`. An array in the event matches if any element does.
pub fn pattern_matches(pattern: &Json, event: &Json) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(key, expected)| {
        if key == "$or" {
            return expected
                .as_array()
                .unwrap()
                .iter()
                .any(|alt| pattern_matches(alt, event));
        }
        let actual = event.get(key);
        match expected {
            Json::Object(_) => match actual {
                Some(Json::Array(items)) => {
                    items.iter().any(|item| pattern_matches(expected, item))
                }
                Some(obj @ Json::Object(_)) => pattern_matches(expected, obj),
                _ => false,
            },
            Json::Array(matchers) => matchers.iter().any(|m| leaf_matches(m, actual)),
            _ => panic!("pattern field {key} must be an object or an array"),
        }
    })
}

fn leaf_matches(matcher: &Json, actual: Option<&Json>) -> bool {
    if let Some(Json::Array(items)) = actual {
        return items.iter().any(|item| leaf_matches(matcher, Some(item)));
    }
    match matcher {
        Json::Object(m) if m.contains_key("exists") => {
            m["exists"].as_bool().unwrap() == actual.is_some()
        }
        Json::Object(m) if m.contains_key("prefix") => actual
            .and_then(Json::as_str)
            .is_some_and(|s| s.starts_with(m["prefix"].as_str().unwrap())),
        Json::Object(m) if m.contains_key("anything-but") => actual.is_some_and(|a| {
            !m["anything-but"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| json_eq(x, a))
        }),
        literal => actual.is_some_and(|a| json_eq(literal, a)),
    }
}

/// The JSON paths Pipes accepts in a target parameter: the whole value, dots and indexes.
pub fn json_path<'a>(path: &str, doc: &'a Json) -> Option<&'a Json> {
    let steps = Regex::new(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]").unwrap();
    let rest = path.strip_prefix('$')?;
    if !steps.replace_all(rest, "").is_empty() {
        return None;
    }
    steps
        .captures_iter(rest)
        .try_fold(doc, |node, step| match (step.get(1), step.get(2)) {
            (Some(field), _) => node.get(field.as_str()),
            (_, Some(index)) => node.get(index.as_str().parse::<usize>().unwrap()),
            _ => None,
        })
}

/// An SQS message as a Pipe sees it: the S3 event notification parsed under `body`.
pub fn sqs_message(s3_event: Json) -> Json {
    json!({ "messageId": "m-1", "eventSource": "aws:sqs", "body": s3_event })
}

pub fn s3_event(event_name: &str, bucket: &str, key: &str) -> Json {
    json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": REGION, "eventName": event_name,
        "s3": { "bucket": { "name": bucket }, "object": { "key": key, "size": 1024, "eTag": "0123" } }
    }] })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Retry,
    Exit,
}

/// How one failed attempt of a job ends.
pub struct Failure {
    pub exit_code: Option<i64>,
    pub reason: &'static str,
    pub status_reason: &'static str,
}

/// AWS Batch's retry decision: the first evaluate_on_exit rule whose given conditions all match
/// (glob patterns with a trailing `*`) decides; a failure no rule matches is retried.
pub fn batch_decision(rules: &[Json], failure: &Failure) -> Decision {
    pub fn glob(pattern: &str, text: &str) -> bool {
        match pattern.strip_suffix('*') {
            Some(prefix) => text.starts_with(prefix),
            None => text == pattern,
        }
    }
    for rule in rules {
        let exit_ok = rule
            .get("on_exit_code")
            .and_then(Json::as_str)
            .is_none_or(|p| failure.exit_code.is_some_and(|c| glob(p, &c.to_string())));
        let reason_ok = rule
            .get("on_reason")
            .and_then(Json::as_str)
            .is_none_or(|p| glob(p, failure.reason));
        let status_ok = rule
            .get("on_status_reason")
            .and_then(Json::as_str)
            .is_none_or(|p| glob(p, failure.status_reason));
        if exit_ok && reason_ok && status_ok {
            return match rule["action"]
                .as_str()
                .unwrap()
                .to_ascii_uppercase()
                .as_str()
            {
                "RETRY" => Decision::Retry,
                "EXIT" => Decision::Exit,
                other => panic!("unknown action {other}"),
            };
        }
    }
    Decision::Retry
}
