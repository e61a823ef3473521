//! The Queue conformance suite: messages arrive whole with their attributes, batches of any size
//! answer for every message, an oversized body is refused rather than cut, and an acknowledged
//! message is gone. Checked against a local folder and a real SQS API (moto); each guarantee runs
//! on a fresh, empty queue.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ocean_ingest::queue::{
    Attribute, ErrorKind, MAX_BODY, Message, Queue, QueueUrl, Received, local::LocalQueue,
};

use super::{Guarantee, check_all, guarantees};
use crate::servers::moto;

/// Every guarantee of [`Queue`], by name.
pub const GUARANTEES: &[(&str, Guarantee<dyn Queue>)] = guarantees![
    an_empty_queue_gives_nothing,
    a_message_arrives_whole_with_its_attributes,
    a_batch_of_any_size_answers_for_every_message,
    an_oversized_body_is_refused_not_cut,
    a_received_message_is_hidden_until_acknowledged,
    an_acknowledged_message_is_gone,
];

/// Runs every guarantee, each on a fresh queue from `open`.
pub async fn check_queue<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Box<dyn Queue>>,
{
    for (name, guarantee) in GUARANTEES {
        let queue = open().await;
        check_all(queue.as_ref(), &[(name, *guarantee)]).await;
    }
}

fn message(body: &str) -> Message {
    Message {
        body: body.into(),
        attributes: BTreeMap::from([
            ("outcome".into(), Attribute::String("published".into())),
            ("exit_code".into(), Attribute::Number("0".into())),
        ]),
    }
}

/// Receives until `count` messages came (or a minute passed), acknowledging none.
async fn receive_all(queue: &dyn Queue, count: usize) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out: Vec<Received> = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        for r in queue.receive(10, Duration::from_secs(1)).await.unwrap() {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
    }
    out
}

/// Asserts nothing is there to receive within a second.
async fn assert_nothing_to_receive(queue: &dyn Queue, why: &str) {
    let got = queue.receive(10, Duration::from_secs(1)).await.unwrap();
    assert!(got.is_empty(), "{why}: {got:?}");
}

/// Receiving from an empty queue gives nothing, after waiting no longer than asked.
pub async fn an_empty_queue_gives_nothing(queue: &dyn Queue) {
    let started = Instant::now();
    assert_nothing_to_receive(queue, "an empty queue").await;
    assert!(started.elapsed() < Duration::from_secs(15));
}

/// A sent message arrives with its body byte for byte (non-ASCII included) and its attributes,
/// under the id `send` returned.
pub async fn a_message_arrives_whole_with_its_attributes(queue: &dyn Queue) {
    let sent = message(r#"{"job_id": "J1", "title": "Température à l’Île Maria — ü"}"#);
    let id = queue.send(&sent).await.unwrap();
    assert!(!id.is_empty());
    let got = receive_all(queue, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id);
    assert_eq!(got[0].message, sent);
}

/// A batch larger than one request takes answers for every message, in order, each with its own
/// id, and every message arrives.
pub async fn a_batch_of_any_size_answers_for_every_message(queue: &dyn Queue) {
    let sent: Vec<Message> = (0..23)
        .map(|i| message(&format!("{{\"n\": {i}}}")))
        .collect();
    let answers = queue.send_batch(&sent).await;
    assert_eq!(answers.len(), sent.len());
    let ids: Vec<String> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "distinct ids"
    );
    let got = receive_all(queue, sent.len()).await;
    let by_id: BTreeMap<&str, &Message> = got.iter().map(|r| (r.id.as_str(), &r.message)).collect();
    for (id, message) in ids.iter().zip(&sent) {
        assert_eq!(by_id.get(id.as_str()), Some(&message), "message {id}");
    }
}

/// A body above the limit is refused as permanent, alone or in a batch, and nothing of it arrives.
pub async fn an_oversized_body_is_refused_not_cut(queue: &dyn Queue) {
    let big = message(&"x".repeat(MAX_BODY + 1));
    let err = queue.send(&big).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert!(err.to_string().contains(&queue.location()), "{err}");
    let answers = queue.send_batch(&[big, message("small")]).await;
    assert_eq!(answers[0].as_ref().unwrap_err().kind, ErrorKind::Permanent);
    assert!(answers[1].is_ok(), "the rest of the batch is sent");
    let got = receive_all(queue, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message.body, "small");
}

/// A received message is not handed to another receiver while the first works on it.
pub async fn a_received_message_is_hidden_until_acknowledged(queue: &dyn Queue) {
    queue.send(&message("first")).await.unwrap();
    queue.send(&message("second")).await.unwrap();
    let first = receive_all(queue, 2).await;
    assert_eq!(first.len(), 2);
    assert_nothing_to_receive(queue, "received messages are hidden").await;
    let bodies: BTreeSet<&str> = first.iter().map(|r| r.message.body.as_str()).collect();
    assert_eq!(bodies, BTreeSet::from(["first", "second"]));
}

/// Once acknowledged, a message is never received again; acknowledging twice is harmless.
pub async fn an_acknowledged_message_is_gone(queue: &dyn Queue) {
    queue.send(&message("once")).await.unwrap();
    let got = receive_all(queue, 1).await;
    assert_eq!(got.len(), 1);
    queue.ack(&got[0].receipt).await.unwrap();
    queue.ack(&got[0].receipt).await.unwrap();
    assert_nothing_to_receive(queue, "an acknowledged message").await;
}

#[tokio::test]
async fn a_local_queue_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    check_queue(|| {
        let path = dir.path().join(format!(
            "q{}",
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        async move { Box::new(LocalQueue::open(&path).unwrap()) as Box<dyn Queue> }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sqs_queue_conforms() {
    let Some(moto) = moto().await else { return };
    check_queue(|| async {
        let (url, _) = moto.queue("conform").await;
        ocean_ingest::queue::open(&QueueUrl::parse(&url).unwrap(), Some(&moto.aws)).unwrap()
    })
    .await;
}
