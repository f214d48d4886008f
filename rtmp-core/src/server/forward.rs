//! Forwards (push): a live stream sent on to other servers, each destination its own client
//! connection. A forward is a subscriber of the stream (its own bounded queue on the one output
//! path, so a slow or dead destination never slows the publisher, the other destinations or the
//! players) and a client publisher. A lost destination is retried with exponential backoff and
//! jitter; each connection starts at a keyframe with metadata and sequence headers. Forwards
//! end when the stream's publisher does (an outage within the reconnect grace keeps them).

mod connection;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::AbortHandle;

use super::StreamKey;
use super::local::{
    FrameKind, MediaFrame, Start, StreamEvent, SubscribeOptions, Subscription, SubscriptionItem,
};
use super::registry::Player;
use super::runtime::ServerState;
use super::stats::PeerKind;
use crate::client::driver::{Command, CommandSource, publish_from};
use crate::client::{ClientConfig, RtmpUrl, Scheme};
use crate::proto::amf::AmfLimits;
use crate::proto::message::DataMessage;

/// The first retry of a lost destination comes after this; each next one after twice as long, up
/// to [`super::ServerConfig::forward_max_backoff`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// How long a live forward gets to unpublish at its destination after the stream ends.
const FINISH_GRACE: Duration = Duration::from_secs(5);

/// A destination rule: `[APP=]URL`, where the URL may hold `{app}`, `{name}` and `{query}` (the
/// publisher's stream key and query string). Without `APP=` it applies to every app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTemplate {
    /// The app it applies to; `None` for all.
    pub app: Option<String>,
    /// The URL template.
    pub url: String,
}

impl ForwardTemplate {
    /// Parses and checks a rule: the URL it makes must be an RTMP or RTMPS URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (app, url) = match text.split_once('=') {
            Some((app, url)) if !app.contains(['/', ':', '?']) => (Some(app.trim().to_owned()), url.trim()),
            _ => (None, text),
        };
        let template = Self { app, url: url.to_owned() };
        let sample = template.render(&StreamKey::new("app", "name"), "q=1");
        RtmpUrl::parse(&sample).map_err(|e| format!("rule {text:?} makes no RTMP URL ({e})"))?;
        if url.replace("{app}", "").replace("{name}", "").replace("{query}", "").contains(['{', '}']) {
            return Err(format!("rule {text:?}: only {{app}}, {{name}} and {{query}} are substituted"));
        }
        Ok(template)
    }

    /// Whether it applies to a stream of `app`.
    pub fn applies_to(&self, app: &str) -> bool {
        self.app.as_deref().is_none_or(|a| a == app)
    }

    /// The destination URL for `key` published with `query` (without its `?`).
    pub fn render(&self, key: &StreamKey, query: &str) -> String {
        self.url.replace("{app}", &key.app).replace("{name}", &key.name).replace("{query}", query)
    }
}

/// Where a forward or a pull is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayState {
    /// Connecting to the other server (for a pull: or waiting for its first media).
    Connecting,
    /// Publishing to it, or what it sends.
    Live,
    /// Waiting to try again after a failure.
    Backoff,
}

impl RelayState {
    /// `"connecting"`, `"live"` or `"backoff"`, as the skins name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Live => "live",
            Self::Backoff => "backoff",
        }
    }
}

/// One forward of a stream, as statistics and the [`super::RtmpHandler::on_forward`] hook see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardStats {
    /// The destination.
    pub url: String,
    /// Where it is.
    pub state: RelayState,
    /// Bytes sent to the destination, over all its connections (chunked, as on the wire;
    /// media payload bytes for RTMPS destinations).
    pub bytes_out: u64,
    /// Connections lost or refused so far.
    pub reconnects: u64,
    /// Why the last connection failed or ended.
    pub last_error: Option<String>,
    /// Video frames its queue dropped because the destination did not keep up.
    pub dropped_video: u64,
}

/// Why a forward could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardError {
    /// The URL is not an RTMP or RTMPS URL.
    BadUrl(String),
    /// The stream is not live.
    NotLive(StreamKey),
    /// The stream forwards to that URL already.
    Duplicate(String),
    /// The server does not run (forwards run on its runtime).
    NotRunning,
}

impl fmt::Display for ForwardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadUrl(e) => f.write_str(e),
            Self::NotLive(key) => write!(f, "stream {key} is not live"),
            Self::Duplicate(url) => write!(f, "the stream forwards to {url} already"),
            Self::NotRunning => f.write_str("the server is not running"),
        }
    }
}

impl std::error::Error for ForwardError {}

/// Told of every state change of every forward or pull (the handler's `on_forward`, `on_pull`):
/// `S` is [`ForwardStats`] or [`super::PullStats`].
pub(crate) struct RelayListener<S>(pub(crate) Box<OnRelay<S>>);

/// A function told of a relay's state change.
type OnRelay<S> = dyn Fn(&StreamKey, &S) + Send + Sync;

impl<S> fmt::Debug for RelayListener<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RelayListener")
    }
}

/// A forward's statistics: those of its past connections, and its connection on the output
/// path, whose writes publishers' tasks make (its queue counts them).
#[derive(Debug)]
struct Record {
    stats: ForwardStats,
    current: Option<Arc<Player>>,
}

impl Record {
    fn snapshot(&self) -> ForwardStats {
        let mut stats = self.stats.clone();
        if let Some(player) = &self.current {
            stats.bytes_out += player.queue.bytes_out();
            stats.dropped_video += player.queue.dropped_video();
        }
        stats
    }
}

/// A running forward, kept by its stream: stopped when the stream's publisher stops.
#[derive(Debug)]
pub(crate) struct Forward {
    pub(crate) url: String,
    stats: Arc<Mutex<Record>>,
    /// Aborted on drop; `None` once [`Self::finish`] let it end by itself.
    task: Option<AbortHandle>,
}

impl Forward {
    /// Starts forwarding `key` to `url` on the server's runtime.
    pub(crate) fn start(
        state: &Arc<ServerState>,
        key: &StreamKey,
        url: String,
    ) -> Result<Self, ForwardError> {
        RtmpUrl::parse(&url).map_err(|e| ForwardError::BadUrl(format!("forward to {url:?}: {e}")))?;
        let runtime = state.runtime.get().ok_or(ForwardError::NotRunning)?;
        let stats = ForwardStats {
            url: url.clone(),
            state: RelayState::Connecting,
            bytes_out: 0,
            reconnects: 0,
            last_error: None,
            dropped_video: 0,
        };
        let stats = Arc::new(Mutex::new(Record { stats, current: None }));
        let run = Runner {
            state: Arc::clone(state),
            key: key.clone(),
            url: url.clone(),
            stats: Arc::clone(&stats),
        };
        let task = runtime.spawn(run.run()).abort_handle();
        Ok(Self { url, stats, task: Some(task) })
    }

    /// The stream's publisher stopped: a live forward sends what it has and unpublishes at the
    /// destination by itself (its subscription ends with the stream), given a few seconds;
    /// one that is connecting or waiting to retry stops now.
    pub(crate) fn finish(mut self) {
        let Some(task) = self.task.take() else { return };
        if lock(&self.stats).stats.state != RelayState::Live {
            task.abort();
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                tokio::time::sleep(FINISH_GRACE).await;
                task.abort();
            });
        } else {
            task.abort();
        }
    }

    pub(crate) fn stats(&self) -> ForwardStats {
        lock(&self.stats).snapshot()
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn lock(stats: &Mutex<Record>) -> std::sync::MutexGuard<'_, Record> {
    stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How a connection to the destination ended.
enum Ended {
    /// The stream's publisher stopped (or the server): the forward is done.
    Stream,
    /// The destination failed: retry.
    Failed(String),
}

/// The forward's task.
struct Runner {
    state: Arc<ServerState>,
    key: StreamKey,
    url: String,
    stats: Arc<Mutex<Record>>,
}

impl Runner {
    async fn run(self) {
        let mut failures = 0u32;
        loop {
            self.set(RelayState::Connecting, None);
            let ended = self.connect_and_publish(&mut failures).await;
            let Ended::Failed(error) = ended else { return };
            tracing::info!(key = %self.key, url = %self.url, %error, "forward lost");
            failures = failures.saturating_add(1);
            lock(&self.stats).stats.reconnects += 1;
            self.set(RelayState::Backoff, Some(error));
            tokio::time::sleep(backoff(failures, self.state.config.forward_max_backoff)).await;
        }
    }

    /// Connects to the destination and publishes the stream there, from its next keyframe
    /// (metadata and sequence headers first), until the stream or the destination ends. A plain
    /// RTMP destination is written from the output path ([`connection`]); an RTMPS one by the
    /// client connection on this task, reading the stream's subscription itself.
    async fn connect_and_publish(&self, failures: &mut u32) -> Ended {
        let url = match RtmpUrl::parse(&self.url) {
            Ok(url) => url,
            Err(e) => return Ended::Failed(e.to_string()),
        };
        // The shared chunks are made with the server's chunk size: the destination is told it.
        let config = ClientConfig {
            enhanced_rtmp: true,
            chunk_size: self.state.config.chunk_size,
            tls: self.state.relay_tls.clone(),
            ..ClientConfig::default()
        };
        if url.scheme == Scheme::Rtmp {
            return self.publish_on_output_path(&url, &config, failures).await;
        }
        let mut source = Source { runner: self, subscription: None, stream_ended: false, failures };
        match publish_from(&url, &config, &mut source).await {
            Ok(()) if source.stream_ended => Ended::Stream,
            Ok(()) => Ended::Failed("the connection ended".into()),
            Err(e) => Ended::Failed(e.to_string()),
        }
    }

    /// Records a new state and tells the handler.
    fn set(&self, state: RelayState, error: Option<String>) {
        let snapshot = {
            let mut record = lock(&self.stats);
            record.stats.state = state;
            if error.is_some() {
                record.stats.last_error = error;
            }
            record.snapshot()
        };
        if let Some(listener) = self.state.forward_listener.get() {
            (listener.0)(&self.key, &snapshot);
        }
    }
}

impl Runner {
    /// The connection on the output path that starts (`Some`) or ended (`None`): an ended one's
    /// counts become the forward's.
    fn record_connection(&self, player: Option<Arc<Player>>) {
        let mut record = lock(&self.stats);
        record.stats = record.snapshot();
        record.current = player;
    }
}

/// The stream as the destination's connection reads it: its subscription's frames as commands.
struct Source<'a> {
    runner: &'a Runner,
    /// Made once the destination accepted the publish (nothing queues while connecting).
    subscription: Option<Subscription>,
    /// The stream ended (its publisher stopped): the forward is done.
    stream_ended: bool,
    failures: &'a mut u32,
}

impl Source<'_> {
    /// The command for a subscription item, counting what it sends and drops; `None` for an item
    /// that sends nothing.
    fn command_for(&mut self, item: SubscriptionItem) -> Option<Command> {
        let frame = match item {
            SubscriptionItem::Frame(frame) => frame,
            SubscriptionItem::Event(StreamEvent::Unpublished) => {
                self.stream_ended = true;
                return Some(Command::Close);
            }
            SubscriptionItem::Event(StreamEvent::Dropped { video, .. }) => {
                lock(&self.runner.stats).stats.dropped_video += video;
                return None;
            }
            SubscriptionItem::Event(StreamEvent::Published) => return None,
        };
        lock(&self.runner.stats).stats.bytes_out += frame.payload.len() as u64;
        command(frame)
    }
}

impl CommandSource for Source<'_> {
    fn try_next(&mut self) -> Option<Command> {
        loop {
            let item = self.subscription.as_mut()?.try_next()?;
            if let Some(command) = self.command_for(item) {
                return Some(command);
            }
        }
    }

    async fn next(&mut self) -> Option<Command> {
        if self.subscription.is_none() {
            // During a publisher's outage (reconnect grace) the stream is not live: wait for it.
            let options = SubscribeOptions::default()
                .start(Start::Keyframe)
                .wait(Some(self.runner.state.config.publisher_reconnect_grace + Duration::from_secs(1)));
            let state = Arc::clone(&self.runner.state);
            match Subscription::with_kind(state, &self.runner.key, options, PeerKind::Forward).await {
                Ok(subscription) => self.subscription = Some(subscription),
                Err(_) => {
                    self.stream_ended = true;
                    return None;
                }
            }
            *self.failures = 0;
            self.runner.set(RelayState::Live, None);
        }
        loop {
            let Some(item) = self.subscription.as_mut()?.next().await else {
                self.stream_ended = true;
                return None;
            };
            if let Some(command) = self.command_for(item) {
                return Some(command);
            }
        }
    }
}

/// The client command that sends `frame` on.
fn command(frame: MediaFrame) -> Option<Command> {
    let timestamp = frame.timestamp;
    Some(match frame.kind {
        FrameKind::Video => Command::Video { timestamp, payload: frame.payload },
        FrameKind::Audio => Command::Audio { timestamp, payload: frame.payload },
        FrameKind::Metadata | FrameKind::Data => {
            // The stream's data messages were decoded once when published: they decode.
            let data = DataMessage::decode(&frame.payload, &AmfLimits::default()).ok()?;
            match data.metadata() {
                Some(metadata) => Command::Metadata(metadata.clone()),
                None => Command::Data { timestamp, data },
            }
        }
    })
}

/// The wait before retry number `failures`: doubling from [`FIRST_BACKOFF`] up to `max`, with
/// ±25 % jitter so that destinations lost together do not come back in step.
fn backoff(failures: u32, max: Duration) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1 << failures.saturating_sub(1).min(16));
    let base = doubled.min(max);
    let mut random = [0u8; 2];
    let _ = getrandom::fill(&mut random);
    let spread = f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX); // 0..=1
    base.mul_f64(0.75 + spread / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_the_stream_key_and_refuse_what_is_not_a_url() {
        let t = ForwardTemplate::parse("rtmp://127.0.0.1:1936/{app}/{name}?{query}").unwrap();
        assert_eq!(t.app, None);
        assert_eq!(t.render(&StreamKey::new("live", "cam"), "k=v"), "rtmp://127.0.0.1:1936/live/cam?k=v");
        let only_live = ForwardTemplate::parse("live=rtmps://a.example/app/{name}").unwrap();
        assert!(only_live.applies_to("live") && !only_live.applies_to("other"));
        assert!(ForwardTemplate::parse("http://example.com/{name}").unwrap_err().contains("http://"));
        assert!(ForwardTemplate::parse("rtmp://h/{app}/{stream}").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let max = Duration::from_secs(30);
        for (failures, base) in [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (40, 30.0)] {
            let wait = backoff(failures, max).as_secs_f64();
            assert!(wait >= base * 0.75 - 1e-9 && wait <= base * 1.25 + 1e-9, "{failures}: {wait}");
        }
    }
}
