//! S3 events: what starts a job in production. Reads an S3 event notification, the body of an
//! SQS message that carries one (or an SNS envelope around it), or an EventBridge "Object Created"
//! event, and yields the objects to ingest. Also builds the same event shape for `replay`, and
//! sends each job's result event.

pub mod key;
pub mod results;

use serde_json::{Value, json};

pub use key::{decode_event_key, encode_event_key};

/// One record of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRecord {
    /// An object was created: ingest it.
    ObjectCreated {
        bucket: String,
        /// The key, decoded.
        key: String,
        /// The event name as given (`ObjectCreated:Put`, `Object Created`…).
        event: String,
    },
    /// Nothing to ingest (S3's `s3:TestEvent`, a removal, another EventBridge type).
    Ignored { reason: String },
}

/// A document that is not an event this job understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an S3 event: {reason}")]
pub struct EventError {
    pub reason: String,
}

fn fail<T>(reason: impl Into<String>) -> Result<T, EventError> {
    Err(EventError {
        reason: reason.into(),
    })
}

/// How deep envelopes may nest (SQS body → SNS message → S3 notification is three).
const MAX_DEPTH: usize = 6;

/// Parses an event document into its records, in order.
pub fn parse(text: &str) -> Result<Vec<EventRecord>, EventError> {
    let value: Value = match serde_json::from_str(text.trim()) {
        Ok(v) => v,
        Err(e) => return fail(format!("the document is not JSON ({e})")),
    };
    let mut out = Vec::new();
    walk(&value, 0, &mut out)?;
    Ok(out)
}

fn walk(value: &Value, depth: usize, out: &mut Vec<EventRecord>) -> Result<(), EventError> {
    if depth > MAX_DEPTH {
        return fail("envelopes nest too deeply");
    }
    let obj = match value {
        // An SQS body or SNS message handed over as a JSON string.
        Value::String(inner) => {
            let inner: Value = serde_json::from_str(inner).map_err(|e| EventError {
                reason: format!("a message body is not JSON ({e})"),
            })?;
            return walk(&inner, depth + 1, out);
        }
        Value::Array(items) => {
            for item in items {
                walk(item, depth + 1, out)?;
            }
            return Ok(());
        }
        Value::Object(obj) => obj,
        _ => return fail("expected a JSON object"),
    };
    if obj.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        out.push(EventRecord::Ignored {
            reason: "s3:TestEvent (sent when a bucket notification is set up)".into(),
        });
        return Ok(());
    }
    if let Some(records) = obj.get("Records") {
        let Some(records) = records.as_array() else {
            return fail("Records is not a list");
        };
        for record in records {
            record_of(record, depth + 1, out)?;
        }
        return Ok(());
    }
    // An SQS message as ReceiveMessage returns it, or a list of them.
    if let Some(messages) = obj.get("Messages") {
        return walk(messages, depth + 1, out);
    }
    if let Some(body) = obj.get("Body").or_else(|| obj.get("body")) {
        return walk(body, depth + 1, out);
    }
    // An SNS notification envelope.
    if obj.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(message) = obj.get("Message")
    {
        return walk(message, depth + 1, out);
    }
    if let Some(detail_type) = obj.get("detail-type").and_then(Value::as_str) {
        return eventbridge(obj, detail_type, out);
    }
    fail(
        "expected Records (an S3 notification), Body (an SQS message) or detail-type (an EventBridge event)",
    )
}

fn record_of(record: &Value, depth: usize, out: &mut Vec<EventRecord>) -> Result<(), EventError> {
    if let Some(s3) = record.get("s3") {
        let event = record
            .get("eventName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let bucket = s3.pointer("/bucket/name").and_then(Value::as_str);
        let key = s3.pointer("/object/key").and_then(Value::as_str);
        let (Some(bucket), Some(key)) = (bucket, key) else {
            return fail("an S3 record without s3.bucket.name or s3.object.key");
        };
        let created = event
            .strip_prefix("s3:")
            .unwrap_or(&event)
            .starts_with("ObjectCreated:");
        if !created {
            out.push(EventRecord::Ignored {
                reason: format!("{event} of s3://{bucket}/{key} is not an object creation"),
            });
            return Ok(());
        }
        let key = decode_event_key(key).map_err(|e| EventError {
            reason: e.to_string(),
        })?;
        out.push(EventRecord::ObjectCreated {
            bucket: bucket.to_string(),
            key,
            event,
        });
        return Ok(());
    }
    // SNS (Lambda's shape) and SQS (Lambda's shape) records wrap the notification as a string.
    if let Some(message) = record.pointer("/Sns/Message") {
        return walk(message, depth + 1, out);
    }
    if let Some(body) = record.get("body").or_else(|| record.get("Body")) {
        return walk(body, depth + 1, out);
    }
    fail("a record that is neither an S3, SNS nor SQS record")
}

fn eventbridge(
    obj: &serde_json::Map<String, Value>,
    detail_type: &str,
    out: &mut Vec<EventRecord>,
) -> Result<(), EventError> {
    if detail_type != "Object Created" {
        out.push(EventRecord::Ignored {
            reason: format!("EventBridge {detail_type:?} is not an object creation"),
        });
        return Ok(());
    }
    let bucket = obj
        .get("detail")
        .and_then(|d| d.pointer("/bucket/name"))
        .and_then(Value::as_str);
    let key = obj
        .get("detail")
        .and_then(|d| d.pointer("/object/key"))
        .and_then(Value::as_str);
    let (Some(bucket), Some(key)) = (bucket, key) else {
        return fail(
            "an EventBridge Object Created event without detail.bucket.name or detail.object.key",
        );
    };
    // Unlike notification records, EventBridge carries the key as stored (its examples show `:`
    // and spaces unescaped), so it is taken as it is: decoding would corrupt a key with `+` or `%`.
    out.push(EventRecord::ObjectCreated {
        bucket: bucket.to_string(),
        key: key.to_string(),
        event: detail_type.to_string(),
    });
    Ok(())
}

/// What `replay` knows about an object it announces.
#[derive(Debug, Clone)]
pub struct ReplayObject<'a> {
    pub bucket: &'a str,
    /// The bucket key, not encoded.
    pub key: &'a str,
    pub size: u64,
    pub etag: Option<&'a str>,
}

/// An S3 event notification for one object, shaped as S3 sends it to SQS (so the queue's
/// consumers, filters included, cannot tell it from an upload), marked as a replay.
pub fn replay_event(object: &ReplayObject<'_>, region: &str) -> Value {
    let now = chrono::Utc::now();
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": region,
            "eventTime": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "ocean-ingest-replay"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "ocean-ingest-replay", "x-amz-id-2": "ocean-ingest-replay"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "ocean-ingest-replay",
                "bucket": {
                    "name": object.bucket,
                    "ownerIdentity": {"principalId": "ocean-ingest-replay"},
                    "arn": format!("arn:aws:s3:::{}", object.bucket),
                },
                "object": {
                    "key": encode_event_key(object.key),
                    "size": object.size,
                    "eTag": object.etag.unwrap_or_default().trim_matches('"'),
                    "sequencer": format!("{:016X}", now.timestamp_micros()),
                },
            },
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(bucket: &str, key: &str) -> EventRecord {
        EventRecord::ObjectCreated {
            bucket: bucket.into(),
            key: key.into(),
            event: "ObjectCreated:Put".into(),
        }
    }

    const NOTIFICATION: &str = r#"{"Records":[
        {"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
         "s3":{"bucket":{"name":"incoming"},"object":{"key":"ANMN/NRS/file+one%2B.nc","size":3}}},
        {"eventSource":"aws:s3","eventName":"ObjectCreated:CompleteMultipartUpload",
         "s3":{"bucket":{"name":"incoming"},"object":{"key":"ANMN%2Fb.nc"}}}]}"#;

    #[test]
    fn reads_every_record_of_a_notification_and_decodes_keys() {
        let records = parse(NOTIFICATION).unwrap();
        assert_eq!(records[0], created("incoming", "ANMN/NRS/file one+.nc"));
        assert_eq!(
            records[1],
            EventRecord::ObjectCreated {
                bucket: "incoming".into(),
                key: "ANMN/b.nc".into(),
                event: "ObjectCreated:CompleteMultipartUpload".into()
            }
        );
    }

    #[test]
    fn unwraps_sqs_and_sns_envelopes() {
        let body = serde_json::to_string(NOTIFICATION).unwrap();
        // The body alone (a JSON string), the SQS message, and a ReceiveMessage answer.
        for doc in [
            body.clone(),
            format!(r#"{{"MessageId":"m1","Body":{body}}}"#),
            format!(r#"{{"Messages":[{{"MessageId":"m1","Body":{body}}}]}}"#),
            format!(r#"{{"Records":[{{"eventSource":"aws:sqs","body":{body}}}]}}"#),
            format!(r#"{{"Type":"Notification","Message":{body}}}"#),
            format!(r#"{{"Records":[{{"EventSource":"aws:sns","Sns":{{"Message":{body}}}}}]}}"#),
        ] {
            let records = parse(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
            assert_eq!(records.len(), 2, "{doc}");
            assert_eq!(records[0], created("incoming", "ANMN/NRS/file one+.nc"));
        }
    }

    #[test]
    fn the_test_event_and_removals_ask_for_nothing() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00Z","Bucket":"incoming"}"#;
        assert!(matches!(
            &parse(test).unwrap()[..],
            [EventRecord::Ignored { .. }]
        ));
        let body = serde_json::to_string(test).unwrap();
        assert!(matches!(
            &parse(&format!(r#"{{"Body":{body}}}"#)).unwrap()[..],
            [EventRecord::Ignored { .. }]
        ));
        let removed = r#"{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}"#;
        assert!(matches!(
            &parse(removed).unwrap()[..],
            [EventRecord::Ignored { .. }]
        ));
    }

    #[test]
    fn reads_eventbridge_object_created() {
        let doc = r#"{"version":"0","detail-type":"Object Created","source":"aws.s3",
            "detail":{"bucket":{"name":"incoming"},"object":{"key":"ANMN/a+b 10:00%.nc","size":5}}}"#;
        assert_eq!(
            parse(doc).unwrap(),
            vec![EventRecord::ObjectCreated {
                bucket: "incoming".into(),
                key: "ANMN/a+b 10:00%.nc".into(),
                event: "Object Created".into()
            }]
        );
        let deleted = r#"{"detail-type":"Object Deleted","detail":{}}"#;
        assert!(matches!(
            &parse(deleted).unwrap()[..],
            [EventRecord::Ignored { .. }]
        ));
    }

    #[test]
    fn refuses_what_is_not_an_event() {
        for doc in [
            "",
            "not json",
            "42",
            r#"{"hello":"world"}"#,
            r#"{"Records":[{"s3":{}}]}"#,
            r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%FF"}}}]}"#,
        ] {
            assert!(parse(doc).is_err(), "{doc:?} should be refused");
        }
    }

    #[test]
    fn replay_events_parse_back_to_the_same_object() {
        let object = ReplayObject {
            bucket: "incoming",
            key: "ANMN/a b+c.nc",
            size: 7,
            etag: Some("\"abc\""),
        };
        let event = replay_event(&object, "ap-southeast-2");
        assert_eq!(
            event["Records"][0]["s3"]["object"]["key"],
            "ANMN/a+b%2Bc.nc"
        );
        assert_eq!(event["Records"][0]["s3"]["object"]["eTag"], "abc");
        let records = parse(&event.to_string()).unwrap();
        assert_eq!(records, vec![created("incoming", "ANMN/a b+c.nc")]);
    }
}
