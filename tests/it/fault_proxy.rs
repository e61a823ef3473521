//! A TCP fault proxy for the tests: it sits on 127.0.0.1 between the job and one server (S3 and
//! SQS, PostgreSQL, SMTP), forwards bytes both ways, and, once a chosen point of the conversation
//! has passed (a sequence of byte patterns the client sends, e.g. the request line of the archive
//! upload or the index's `COMMIT`), stalls, resets or slows every connection, old and new, until
//! it is healed.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does once triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward nothing more, keep every connection open: a frozen server.
    Stall,
    /// Close every connection with a TCP reset, and reset new ones.
    Reset,
    /// Forward at most this many bytes a second each way.
    Slow(usize),
}

/// Where in the client's bytes the fault starts: after each pattern was seen in turn, at the
/// start of the last one (`after: None`) or that many bytes past its end.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub patterns: Vec<Vec<u8>>,
    pub after: Option<usize>,
}

impl Trigger {
    /// Before the client sends `pattern`.
    pub fn before(pattern: &str) -> Trigger {
        Trigger {
            patterns: vec![pattern.as_bytes().to_vec()],
            after: None,
        }
    }

    /// `n` bytes after the client sent each of `patterns` in turn.
    pub fn after(patterns: &[&str], n: usize) -> Trigger {
        Trigger {
            patterns: patterns.iter().map(|p| p.as_bytes().to_vec()).collect(),
            after: Some(n),
        }
    }
}

#[derive(Default)]
struct State {
    armed: Mutex<Option<(Trigger, Fault)>>,
    /// Patterns of the armed trigger seen so far, across connections.
    seen: Mutex<usize>,
    /// Bytes still to forward before the fault (after the last pattern).
    countdown: Mutex<Option<usize>>,
    fault: Mutex<Option<Fault>>,
    triggered: AtomicBool,
    /// Bumped by `heal`: connections of an older generation are closed.
    generation: AtomicU64,
}

/// A running proxy to one upstream server.
#[derive(Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free port (on the current Tokio runtime).
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let accepting = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let state = accepting.clone();
                tokio::spawn(async move {
                    if let Some(Fault::Reset) = *state.fault.lock().unwrap() {
                        reset(client);
                        return;
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    relay(client, server, state).await;
                });
            }
        });
        Proxy { addr, state }
    }

    /// A proxy on a thread of its own, for tests that run the binary and block.
    pub fn spawn(upstream: SocketAddr) -> Proxy {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                tx.send(Proxy::start(upstream).await).unwrap();
                std::future::pending::<()>().await
            });
        });
        rx.recv().unwrap()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Faults every connection from the trigger on.
    pub fn arm(&self, trigger: Trigger, fault: Fault) {
        *self.state.seen.lock().unwrap() = 0;
        *self.state.countdown.lock().unwrap() = None;
        *self.state.armed.lock().unwrap() = Some((trigger, fault));
    }

    /// Back to forwarding; connections held by a stall are closed (as a server restarting would).
    pub fn heal(&self) {
        *self.state.armed.lock().unwrap() = None;
        *self.state.fault.lock().unwrap() = None;
        self.state.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn triggered(&self) -> bool {
        self.state.triggered.load(Ordering::SeqCst)
    }
}

/// Closes a connection with a reset rather than an orderly close.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

async fn relay(client: TcpStream, server: TcpStream, state: Arc<State>) {
    let generation = state.generation.load(Ordering::SeqCst);
    // Every close is a reset, so a reset fault is one (an orderly close would look like a
    // server finishing).
    let _ = client.set_zero_linger();
    let _ = server.set_zero_linger();
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let upstream = {
        let state = state.clone();
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut window: Vec<u8> = Vec::new();
            loop {
                let n = match cr.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let (pass, fault_at) = scan(&state, &mut window, &buf[..n]);
                if !forward(&state, &mut sw, &buf[..pass], generation).await {
                    return;
                }
                if fault_at.is_some() && !forward(&state, &mut sw, &buf[pass..n], generation).await
                {
                    return;
                }
            }
        }
    };
    let downstream = {
        let state = state.clone();
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match sr.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if !forward(&state, &mut cw, &buf[..n], generation).await {
                    return;
                }
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}

/// Looks for the armed trigger in the client's bytes: how many of `chunk`'s bytes go before the
/// fault starts (all of them when it does not start in this chunk), and whether it did.
fn scan(state: &State, window: &mut Vec<u8>, chunk: &[u8]) -> (usize, Option<Fault>) {
    let armed = state.armed.lock().unwrap().clone();
    let Some((trigger, fault)) = armed else {
        return (chunk.len(), None);
    };
    if state.fault.lock().unwrap().is_some() {
        // Fired already: everything goes through the fault.
        return (chunk.len(), None);
    }
    let mut countdown = state.countdown.lock().unwrap();
    if let Some(left) = *countdown {
        if chunk.len() >= left {
            fire(state, fault);
            *countdown = None;
            return (left, Some(fault));
        }
        *countdown = Some(left - chunk.len());
        return (chunk.len(), None);
    }
    let keep = window.len();
    window.extend_from_slice(chunk);
    let mut seen = state.seen.lock().unwrap();
    let mut from = 0;
    while *seen < trigger.patterns.len() {
        let pattern = &trigger.patterns[*seen];
        let Some(at) = find(&window[from..], pattern) else {
            break;
        };
        let start = from + at;
        from = start + pattern.len();
        *seen += 1;
        if *seen == trigger.patterns.len() {
            let (start, end) = (start.saturating_sub(keep), from.saturating_sub(keep));
            match trigger.after {
                None => {
                    fire(state, fault);
                    return (start.min(chunk.len()), Some(fault));
                }
                Some(n) if end + n <= chunk.len() => {
                    fire(state, fault);
                    return (end + n, Some(fault));
                }
                Some(n) => {
                    *countdown = Some(end + n - chunk.len());
                    window.clear();
                    return (chunk.len(), None);
                }
            }
        }
    }
    // Keep a tail long enough for a pattern split across reads.
    let tail = window.len().saturating_sub(256);
    window.drain(..tail);
    (chunk.len(), None)
}

fn fire(state: &State, fault: Fault) {
    *state.fault.lock().unwrap() = Some(fault);
    state.triggered.store(true, Ordering::SeqCst);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Writes `bytes` under the current fault; false when the connection is to end.
async fn forward<W: AsyncWriteExt + Unpin>(
    state: &State,
    out: &mut W,
    bytes: &[u8],
    generation: u64,
) -> bool {
    if bytes.is_empty() {
        return true;
    }
    loop {
        if state.generation.load(Ordering::SeqCst) != generation {
            return false;
        }
        let fault = *state.fault.lock().unwrap();
        match fault {
            None => return out.write_all(bytes).await.is_ok(),
            Some(Fault::Stall) => tokio::time::sleep(Duration::from_millis(50)).await,
            Some(Fault::Reset) => return false,
            Some(Fault::Slow(rate)) => {
                let rate = rate.max(1);
                for piece in bytes.chunks(rate / 10 + 1) {
                    let pause = Duration::from_secs_f64(piece.len() as f64 / rate as f64);
                    tokio::time::sleep(pause).await;
                    if out.write_all(piece).await.is_err() {
                        return false;
                    }
                }
                return true;
            }
        }
    }
}
