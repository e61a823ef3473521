//! Adapter-level tests of the S3 store's error handling: a tiny HTTP server on 127.0.0.1 answers
//! with canned failures (503 SlowDown, 403 AccessDenied, 404, a body cut short), and the tests
//! check what the SDK retried and how the store classified the result.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ocean_ingest::aws::RetryPolicy;
use ocean_ingest::error::{Classify, Fault};
use ocean_ingest::store::Transfer;
use ocean_ingest::store::s3::S3Store;
use ocean_ingest::store::{ErrorKind, Key, ObjectStore, PutOptions};

use crate::servers::aws_at;

/// One canned HTTP answer: status line, extra headers, body, and whether to cut the body short.
#[derive(Clone)]
struct Answer {
    status: &'static str,
    headers: &'static str,
    body: &'static str,
    /// Claim this many more body bytes than are sent, then close.
    short_by: usize,
}

fn xml_error(status: &'static str, code: &'static str) -> Answer {
    let body: &'static str = Box::leak(
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>canned {code}</Message><RequestId>R1</RequestId></Error>")
            .into_boxed_str(),
    );
    Answer {
        status,
        headers: "Content-Type: application/xml\r\n",
        body,
        short_by: 0,
    }
}

/// Serves `answers` in turn (the last one repeats), counting requests.
fn serve(answers: Vec<Answer>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let answer = answers[n.min(answers.len() - 1)].clone();
            stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
            read_request(&mut stream);
            let length = answer.body.len() + answer.short_by;
            let head = format!(
                "HTTP/1.1 {}\r\n{}Content-Length: {length}\r\nx-amz-request-id: R1\r\nConnection: close\r\n\r\n",
                answer.status, answer.headers
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(answer.body.as_bytes());
            let _ = stream.flush();
        }
    });
    (endpoint, count)
}

/// Reads one request (headers, then the body its Content-Length announces).
fn read_request(stream: &mut std::net::TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            return;
        }
    }
}

async fn store_at(endpoint: &str) -> S3Store {
    let retry = RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(5),
    };
    let aws = aws_at(endpoint, retry).await;
    S3Store::new(&aws, "bucket", "", Transfer::default())
}

fn key() -> Key {
    Key::new("IMOS/a.nc").unwrap()
}

#[tokio::test]
async fn throttling_is_retried_then_reported_transient() {
    let (endpoint, count) = serve(vec![xml_error("503 Slow Down", "SlowDown")]);
    let store = store_at(&endpoint).await;
    let dir = tempfile::tempdir().unwrap();
    let err = store
        .get_to_file(&key(), &dir.path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert_eq!(err.fault(), Fault::Transient, "exit 75: Batch retries");
    assert_eq!(count.load(Ordering::SeqCst), 4, "the SDK tried four times");
    assert!(err.to_string().contains("503 SlowDown"), "{err}");
}

#[tokio::test]
async fn a_server_error_that_clears_up_is_retried_to_success() {
    let ok = Answer {
        status: "200 OK",
        headers: "Content-Type: application/octet-stream\r\n",
        body: "hello",
        short_by: 0,
    };
    let (endpoint, count) = serve(vec![
        xml_error("500 Internal Server Error", "InternalError"),
        ok,
    ]);
    let store = store_at(&endpoint).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let info = store.get_to_file(&key(), &out).await.unwrap();
    assert_eq!(info.size, 5);
    assert_eq!(std::fs::read(&out).unwrap(), b"hello");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn access_denied_is_permanent_and_not_retried() {
    let (endpoint, count) = serve(vec![xml_error("403 Forbidden", "AccessDenied")]);
    let store = store_at(&endpoint).await;
    let err = store
        .put_bytes(&key(), b"x".to_vec(), &PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
    assert_eq!(err.fault(), Fault::Internal, "exit 70: no retry, an alarm");
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert!(err.to_string().contains("IAM role"), "{err}");
}

#[tokio::test]
async fn a_missing_object_is_not_found() {
    let (endpoint, _) = serve(vec![xml_error("404 Not Found", "NoSuchKey")]);
    let store = store_at(&endpoint).await;
    let dir = tempfile::tempdir().unwrap();
    let err = store
        .get_to_file(&key(), &dir.path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    let (endpoint, _) = serve(vec![Answer {
        status: "404 Not Found",
        headers: "",
        body: "",
        short_by: 0,
    }]);
    assert_eq!(store_at(&endpoint).await.head(&key()).await.unwrap(), None);
}

#[tokio::test]
async fn a_download_cut_short_is_transient() {
    let short = Answer {
        status: "200 OK",
        headers: "Content-Type: application/octet-stream\r\n",
        body: "only part of it",
        short_by: 1000,
    };
    let (endpoint, _) = serve(vec![short]);
    let store = store_at(&endpoint).await;
    let dir = tempfile::tempdir().unwrap();
    let err = store
        .get_to_file(&key(), &dir.path().join("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_transient() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = store_at(&format!("http://127.0.0.1:{port}")).await;
    let err = store.list("").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(err.to_string().contains("could not be sent"), "{err}");
}
