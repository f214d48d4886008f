//! Pulls (on demand): a stream that is not published here, fetched from an upstream server
//! while someone plays it. The first player (or local subscriber) of such a stream starts one
//! pull, shared by every later one; its upstreams (the handler's `on_locate`, else the
//! [`super::ServerConfig::pull`] rules) are tried in order. The pull publishes into the stream as
//! a publisher would (GOP cache, late joiners, backpressure), retries while players remain, and
//! stops [`super::ServerConfig::pull_idle_timeout`] after the last one leaves.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::StreamKey;
use super::forward::{ForwardTemplate, RelayState};
use super::message::PublishedMessage;
use super::registry::Stream;
use super::runtime::ServerState;
use super::stats::PeerKind;
use crate::client::{ClientConfig, PlayerEvent, RtmpPlayer};
use crate::proto::amf::Amf0Value;
use crate::proto::message::DataMessage;

/// How often a pull looks whether its stream still has players.
const IDLE_CHECK: Duration = Duration::from_millis(250);

/// Session ids of pulls, apart from connections' and local ones'.
const PULL_SESSION_BASE: u64 = 1 << 49;

/// The handler's `on_locate`, type-erased: the upstream URLs of a stream, or none.
pub(crate) struct Locator(pub(crate) Box<LocateFn>);

type LocateFn = dyn Fn(StreamKey) -> Pin<Box<dyn Future<Output = Vec<String>> + Send>> + Send + Sync;

impl std::fmt::Debug for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Locator")
    }
}

/// A stream's pull, as statistics and the [`super::RtmpHandler::on_pull`] hook see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullStats {
    /// The upstream it uses or tries now.
    pub url: String,
    /// Where it is.
    pub state: RelayState,
    /// Media payload bytes received from upstreams.
    pub bytes_in: u64,
    /// Upstream connections that failed or ended so far.
    pub reconnects: u64,
    /// Why the last one failed or ended.
    pub last_error: Option<String>,
}

/// A running pull, kept by its stream.
#[derive(Debug)]
pub(crate) struct Pull {
    stats: Arc<Mutex<PullStats>>,
    task: AbortHandle,
}

impl Pull {
    pub(crate) fn stats(&self) -> PullStats {
        lock(&self.stats).clone()
    }
}

impl Drop for Pull {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(stats: &Mutex<PullStats>) -> std::sync::MutexGuard<'_, PullStats> {
    stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts a pull of `stream` unless it is live, pulled already, or has no upstream: the
/// handler's `on_locate` first, then the server's rules for its app. Returns at once.
pub(crate) fn ensure(state: &Arc<ServerState>, stream: &Arc<Stream>) {
    let Some(runtime) = state.runtime.get() else { return };
    if state.locator.get().is_none() && state.config.pull.is_empty() {
        return;
    }
    let stats = Arc::new(Mutex::new(PullStats {
        url: String::new(),
        state: RelayState::Connecting,
        bytes_in: 0,
        reconnects: 0,
        last_error: None,
    }));
    let runner = Runner { state: Arc::clone(state), stream: Arc::clone(stream), stats: Arc::clone(&stats) };
    // Claimed before the task runs, so that a second player does not start another.
    stream.start_pull(|| Pull { task: runtime.spawn(runner.run()).abort_handle(), stats });
}

/// The pull's task.
struct Runner {
    state: Arc<ServerState>,
    stream: Arc<Stream>,
    stats: Arc<Mutex<PullStats>>,
}

/// How one upstream connection ended.
enum Ended {
    /// No player is left (for the idle time): the pull is done.
    Idle,
    /// It failed or ended: try the next.
    Failed(String),
}

impl Runner {
    async fn run(self) {
        let key = self.stream.key.clone();
        let mut urls = match self.state.locator.get() {
            Some(locator) => (locator.0)(key.clone()).await,
            None => Vec::new(),
        };
        if urls.is_empty() {
            let templates = self.state.config.pull.iter().filter_map(|t| ForwardTemplate::parse(t).ok());
            urls = templates.filter(|t| t.applies_to(&key.app)).map(|t| t.render(&key, "")).collect();
        }
        if urls.is_empty() {
            // Nothing to pull from: the players wait for a publisher, as without pulls.
            return self.stop();
        }
        let mut rounds = 0u32;
        let mut idle_since = None;
        loop {
            for url in &urls {
                if self.idle(&mut idle_since) {
                    return self.stop();
                }
                lock(&self.stats).url.clone_from(url);
                self.set(RelayState::Connecting, None);
                match self.pull(url, &mut idle_since).await {
                    Ended::Idle => return self.stop(),
                    Ended::Failed(error) => {
                        tracing::info!(%key, %url, %error, "pull upstream lost");
                        lock(&self.stats).reconnects += 1;
                        self.set(RelayState::Connecting, Some(error));
                    }
                }
            }
            self.set(RelayState::Backoff, None);
            rounds = rounds.saturating_add(1);
            let wait = Duration::from_secs(1 << rounds.min(4)).min(self.state.config.forward_max_backoff);
            let deadline = Instant::now() + wait;
            while Instant::now() < deadline {
                if self.idle(&mut idle_since) {
                    return self.stop();
                }
                tokio::time::sleep(IDLE_CHECK).await;
            }
        }
    }

    /// Whether the stream has had no players for the idle timeout (or the server stops).
    fn idle(&self, since: &mut Option<Instant>) -> bool {
        if *self.state.shutdown.borrow() {
            return true;
        }
        if self.stream.player_count() > 0 {
            *since = None;
            return false;
        }
        since.get_or_insert_with(Instant::now).elapsed() >= self.state.config.pull_idle_timeout
    }

    /// Plays `url` and publishes what it sends into the stream, from its first media until it
    /// ends or no player is left.
    async fn pull(&self, url: &str, idle_since: &mut Option<Instant>) -> Ended {
        let tls = self.state.relay_tls.clone();
        let config = ClientConfig { enhanced_rtmp: true, tls, ..ClientConfig::default() };
        let mut upstream = match RtmpPlayer::connect(url, config).await {
            Ok(upstream) => upstream,
            Err(e) => return Ended::Failed(e.to_string()),
        };
        let session_id = pull_session_id();
        let mut publishing = false;
        let started = Instant::now();
        let mut batch = Vec::with_capacity(1);
        let ended = loop {
            if self.idle(idle_since) {
                break Ended::Idle;
            }
            if !publishing && started.elapsed() >= self.state.config.pull_start_timeout {
                break Ended::Failed(format!("no media within {:?}", self.state.config.pull_start_timeout));
            }
            let event = match tokio::time::timeout(IDLE_CHECK, upstream.next_event()).await {
                Err(_) => continue,
                Ok(Ok(Some(event))) => event,
                Ok(Ok(None)) => break Ended::Failed("the upstream closed".into()),
                Ok(Err(e)) => break Ended::Failed(e.to_string()),
            };
            let message = match event {
                PlayerEvent::Video { timestamp, payload, tag } => {
                    PublishedMessage::video(timestamp, payload, tag.as_ref())
                }
                PlayerEvent::Audio { timestamp, payload, tag } => {
                    PublishedMessage::audio(timestamp, payload, tag.as_ref())
                }
                PlayerEvent::Metadata { timestamp, metadata } => {
                    let message = DataMessage {
                        name: "onMetaData".into(),
                        values: vec![Amf0Value::EcmaArray(metadata)],
                    };
                    PublishedMessage::metadata(timestamp, message.encode())
                }
                PlayerEvent::Data { timestamp, data } => PublishedMessage::data(timestamp, data.encode()),
                PlayerEvent::StreamEnd => {
                    if publishing {
                        break Ended::Failed("the upstream's publisher stopped".into());
                    }
                    continue;
                }
                _ => continue,
            };
            if !publishing {
                let policy = super::PublisherPolicy::RejectNew;
                let nowhere = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
                if self
                    .stream
                    .claim_publisher(session_id, nowhere, Arc::new(Notify::new()), policy, PeerKind::Pull)
                    .is_err()
                {
                    // Published here meanwhile: nothing to pull.
                    break Ended::Idle;
                }
                publishing = true;
                self.set(RelayState::Live, None);
            }
            lock(&self.stats).bytes_in += message.payload.len() as u64;
            batch.push(message);
            let sent = self.stream.publish(session_id, &mut batch);
            self.state.counters.bytes_out.fetch_add(sent, std::sync::atomic::Ordering::Relaxed);
        };
        if publishing {
            self.stream.release_publisher(session_id);
        }
        tokio::spawn(upstream.close());
        ended
    }

    /// Ends the pull: the stream forgets it (and is dropped if nothing else uses it).
    fn stop(&self) {
        tracing::info!(key = %self.stream.key, "pull stopped");
        self.stream.end_pull();
        self.state.registry.remove_if_unused(&self.stream.key);
    }

    fn set(&self, state: RelayState, error: Option<String>) {
        let snapshot = {
            let mut stats = lock(&self.stats);
            stats.state = state;
            if error.is_some() {
                stats.last_error = error;
            }
            stats.clone()
        };
        if let Some(listener) = self.state.pull_listener.get() {
            (listener.0)(&self.stream.key, &snapshot);
        }
    }
}

/// A session id for one upstream connection of a pull.
fn pull_session_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    PULL_SESSION_BASE + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
