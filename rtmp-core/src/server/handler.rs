//! The application's hooks into the server.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::stats::ServerStats;
use crate::proto::amf::AmfObject;
use crate::proto::media::{AudioTag, VideoTag};
use crate::proto::message::{ConnectParams, DataMessage, StreamName};

/// The answer to a connect, publish or play request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Accept,
    /// Go ahead, with settings of this player's own (for a play; ignored for the others).
    AcceptWith(PlayOptions),
    /// Go ahead, with settings of this publish's own (for a publish; ignored for the others).
    AcceptPublish(PublishOptions),
    /// Refuse; the text becomes the status description the client sees.
    Reject(String),
}

/// What an accepted play may set for its player instead of the server's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlayOptions {
    /// Its latency budget ([`super::ServerConfig::player_latency_budget`]): `Some(None)` for
    /// none, `None` for the server's.
    pub latency_budget: Option<Option<Duration>>,
}

impl PlayOptions {
    /// The server's settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// This player may fall `budget` behind live (`None`: no limit but the queue's length).
    pub fn latency_budget(mut self, budget: Option<Duration>) -> Self {
        self.latency_budget = Some(budget);
        self
    }
}

/// What an accepted publish may set beside the server's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishOptions {
    /// Destinations (RTMP or RTMPS URLs) to forward the stream to, beside the server's
    /// [`super::ServerConfig::forward`] rules: a hook can route by stream key, or look
    /// destinations up in a database.
    pub forward: Vec<String>,
}

impl PublishOptions {
    /// The server's settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forwards the stream to `url` too.
    pub fn forward(mut self, url: impl Into<String>) -> Self {
        self.forward.push(url.into());
        self
    }
}

impl Decision {
    /// A rejection with a reason.
    pub fn reject(reason: impl Into<String>) -> Self {
        Self::Reject(reason.into())
    }
}

impl From<bool> for Decision {
    fn from(accept: bool) -> Self {
        if accept { Self::Accept } else { Self::Reject("Rejected.".into()) }
    }
}

/// A published stream's identity: the connect app and the stream name without its query.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// The application (`live`).
    pub app: String,
    /// The stream name without query (`cam`).
    pub name: String,
}

impl StreamKey {
    /// A key from its parts.
    pub fn new(app: impl Into<String>, name: impl Into<String>) -> Self {
        Self { app: app.into(), name: name.into() }
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.app, self.name)
    }
}

/// What the server knows about one connection; handed to every hook.
#[derive(Debug, Clone)]
pub struct SessionContext {
    /// Unique per server run.
    pub session_id: u64,
    /// The client's address.
    pub peer_addr: SocketAddr,
    /// The connect parameters, once connect arrived (app, tcUrl, query, flashVer, E-RTMP caps).
    pub connect: Option<Arc<ConnectParams>>,
    /// The user name the connection authenticated as (`authmod=adobe`, see
    /// [`ServerConfig::publish_auth`](super::ServerConfig::publish_auth)); `None` when it did not.
    pub user: Option<String>,
}

impl SessionContext {
    /// The connect app, or "" before connect.
    pub fn app(&self) -> &str {
        self.connect.as_ref().map_or("", |c| c.app.as_str())
    }
}

/// A publish request.
#[derive(Debug, Clone)]
pub struct PublishParams {
    /// The stream it will publish to.
    pub key: StreamKey,
    /// The name as sent, with its parsed query (auth tokens).
    pub stream_name: StreamName,
    /// `live`, `record` or `append`.
    pub publish_type: String,
    /// The message stream id.
    pub stream_id: u32,
}

/// A play request.
#[derive(Debug, Clone)]
pub struct PlayParams {
    /// The stream to play.
    pub key: StreamKey,
    /// The name as sent, with its parsed query.
    pub stream_name: StreamName,
    /// Start (-2 live or recorded, -1 live, ≥ 0 recorded position).
    pub start: f64,
    /// Duration (-1 to the end).
    pub duration: f64,
    /// Reset flag.
    pub reset: bool,
    /// The message stream id.
    pub stream_id: u32,
}

/// The kind of a media message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// FLV audio tag body.
    Audio,
    /// FLV video tag body.
    Video,
    /// AMF data message (metadata, text, cue points).
    Data,
}

/// A media message as the publisher sent it, before it reaches players.
#[derive(Debug, Clone)]
pub struct MediaTag<'a> {
    /// The stream.
    pub key: &'a StreamKey,
    /// Audio, video or data.
    pub kind: MediaKind,
    /// Timestamp in ms.
    pub timestamp: u32,
    /// The message body.
    pub payload: &'a Bytes,
}

/// A parsed video frame.
#[derive(Debug, Clone)]
pub struct VideoFrame<'a> {
    /// The stream.
    pub key: &'a StreamKey,
    /// Timestamp in ms.
    pub timestamp: u32,
    /// The parsed tag: codec, frame type, CTS, track, body.
    pub tag: &'a VideoTag,
    /// The whole FLV video tag body.
    pub payload: &'a Bytes,
}

/// A parsed audio frame.
#[derive(Debug, Clone)]
pub struct AudioFrame<'a> {
    /// The stream.
    pub key: &'a StreamKey,
    /// Timestamp in ms.
    pub timestamp: u32,
    /// The parsed tag: codec, sequence header or not, track, body.
    pub tag: &'a AudioTag,
    /// The whole FLV audio tag body.
    pub payload: &'a Bytes,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client closed the connection.
    ClientClosed,
    /// A timeout fired (handshake/connect, idle, or a player that stopped reading).
    Timeout(&'static str),
    /// The client broke the protocol or a limit; the text says how.
    Protocol(String),
    /// The handler rejected the connection.
    Rejected(String),
    /// Another publisher took the stream over.
    Replaced,
    /// The server shut down.
    Shutdown,
    /// A socket error.
    Io(String),
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientClosed => f.write_str("client closed the connection"),
            Self::Timeout(what) => write!(f, "{what} timeout"),
            Self::Protocol(text) => write!(f, "protocol error: {text}"),
            Self::Rejected(text) => write!(f, "rejected: {text}"),
            Self::Replaced => f.write_str("replaced by a new publisher"),
            Self::Shutdown => f.write_str("server shutdown"),
            Self::Io(text) => write!(f, "socket error: {text}"),
        }
    }
}

/// The application's hooks. Every method has a default, so implement only what you need.
///
/// Decision hooks (`on_connection`, `on_connect`, `on_publish`, `on_play`) are awaited on the
/// connection's own task: a slow decision (a database lookup) delays only that connection.
/// Per-frame hooks (`on_media_tag`, `on_video_frame`, `on_audio_frame`, `on_keyframe`,
/// `on_metadata`) are plain functions called on the publisher's task for every message: keep them
/// quick, and hand heavy work to a channel.
pub trait RtmpHandler: Send + Sync + 'static {
    /// A TCP connection was accepted (before the handshake). Reject to close it at once.
    fn on_connection(&self, peer_addr: SocketAddr) -> impl Future<Output = Decision> + Send {
        let _ = peer_addr;
        async { Decision::Accept }
    }

    /// The password of `user` for application `app`, or `None` when there is no such user: asked
    /// while a client authenticates (`authmod=adobe`, see
    /// [`ServerConfig::publish_auth`](super::ServerConfig::publish_auth)), before `on_connect`
    /// (`ctx` has the session id and address, not yet the connect). The server never sees the
    /// password on the wire: it checks the client's answer to a challenge against it. Awaited on
    /// the connection's task.
    fn on_credentials(
        &self,
        ctx: &SessionContext,
        app: &str,
        user: &str,
    ) -> impl Future<Output = Option<String>> + Send {
        let _ = (ctx, app, user);
        async { None }
    }

    /// The handshake finished.
    fn on_handshake_complete(&self, ctx: &SessionContext) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }

    /// `connect` arrived. Rejecting answers `_error` with `NetConnection.Connect.Rejected`.
    fn on_connect(
        &self,
        ctx: &SessionContext,
        params: &ConnectParams,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (ctx, params);
        async { Decision::Accept }
    }

    /// `FCPublish` arrived (a notification; the publish decision comes in `on_publish`).
    fn on_fc_publish(&self, ctx: &SessionContext, name: &StreamName) -> impl Future<Output = ()> + Send {
        let _ = (ctx, name);
        async {}
    }

    /// `publish` arrived. Rejecting answers `NetStream.Publish.Denied`.
    fn on_publish(
        &self,
        ctx: &SessionContext,
        params: &PublishParams,
    ) -> impl Future<Output = Decision> + Send {
        let _ = (ctx, params);
        async { Decision::Accept }
    }

    /// An accepted publisher stopped (unpublish, disconnect, takeover or shutdown).
    fn on_unpublish(&self, ctx: &SessionContext, key: &StreamKey) -> impl Future<Output = ()> + Send {
        let _ = (ctx, key);
        async {}
    }

    /// An accepted publisher vanished without unpublishing (socket error, EOF, idle timeout):
    /// its players are held for [`publisher_reconnect_grace`](super::ServerConfig::publisher_reconnect_grace),
    /// waiting for a republish of `key`. `ctx` is the vanished publisher's; its `on_unpublish`
    /// follows.
    fn on_publish_interrupted(
        &self,
        ctx: &SessionContext,
        key: &StreamKey,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, key);
        async {}
    }

    /// A publish of `key` was accepted within the grace of an interrupted one: its players go on
    /// without a notice. `ctx` is the new publisher's; `outage` the time since the interruption.
    fn on_publish_resumed(
        &self,
        ctx: &SessionContext,
        key: &StreamKey,
        outage: Duration,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, key, outage);
        async {}
    }

    /// `play` arrived. Rejecting answers `NetStream.Play.Failed`.
    fn on_play(&self, ctx: &SessionContext, params: &PlayParams) -> impl Future<Output = Decision> + Send {
        let _ = (ctx, params);
        async { Decision::Accept }
    }

    /// An accepted player stopped (deleteStream, disconnect or shutdown).
    fn on_play_stop(&self, ctx: &SessionContext, key: &StreamKey) -> impl Future<Output = ()> + Send {
        let _ = (ctx, key);
        async {}
    }

    /// A player paused.
    fn on_pause(&self, ctx: &SessionContext, key: &StreamKey) -> impl Future<Output = ()> + Send {
        let _ = (ctx, key);
        async {}
    }

    /// A player resumed.
    fn on_unpause(&self, ctx: &SessionContext, key: &StreamKey) -> impl Future<Output = ()> + Send {
        let _ = (ctx, key);
        async {}
    }

    /// The publisher sent metadata (`onMetaData`).
    fn on_metadata(&self, ctx: &SessionContext, key: &StreamKey, metadata: &AmfObject) {
        let _ = (ctx, key, metadata);
    }

    /// The publisher sent a data message other than metadata (`onTextData`, `onCuePoint`,
    /// `onCaption`, …; an `@setDataFrame` wrapper already taken off), after `on_media_tag` let it
    /// through. Players get it in order with the media; the GOP cache does not keep it.
    fn on_data(&self, ctx: &SessionContext, key: &StreamKey, data: &DataMessage) {
        let _ = (ctx, key, data);
    }

    /// Every audio, video and data message of a publisher, before it reaches players.
    /// Returning false drops it: players and the GOP cache never see it.
    fn on_media_tag(&self, ctx: &SessionContext, tag: &MediaTag<'_>) -> bool {
        let _ = (ctx, tag);
        true
    }

    /// Every video message that parsed (after `on_media_tag` let it through).
    fn on_video_frame(&self, ctx: &SessionContext, frame: &VideoFrame<'_>) {
        let _ = (ctx, frame);
    }

    /// Every audio message that parsed (after `on_media_tag` let it through).
    fn on_audio_frame(&self, ctx: &SessionContext, frame: &AudioFrame<'_>) {
        let _ = (ctx, frame);
    }

    /// Every video keyframe that is not a sequence header.
    fn on_keyframe(&self, ctx: &SessionContext, frame: &VideoFrame<'_>) {
        let _ = (ctx, frame);
    }

    /// A connection ended.
    fn on_disconnect(
        &self,
        ctx: &SessionContext,
        reason: &DisconnectReason,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, reason);
        async {}
    }

    /// Periodic statistics (see [`ServerConfig::stats_interval`](super::ServerConfig::stats_interval)).
    fn on_stats(&self, stats: &ServerStats) {
        let _ = stats;
    }

    /// A forward of stream `key` changed state (connecting, live, backoff). Called on the
    /// forward's task: keep it quick.
    fn on_forward(&self, key: &StreamKey, forward: &super::ForwardStats) {
        let _ = (key, forward);
    }

    /// Stream `key` is played but not published here: the upstream URLs to pull it from, tried
    /// in order (none: the [`super::ServerConfig::pull`] rules, if any). Awaited on the pull's
    /// own task.
    fn on_locate(&self, key: &StreamKey) -> impl Future<Output = Vec<String>> + Send {
        let _ = key;
        async { Vec::new() }
    }

    /// The pull of stream `key` changed state (connecting, live, backoff). Called on the pull's
    /// task: keep it quick.
    fn on_pull(&self, key: &StreamKey, pull: &super::PullStats) {
        let _ = (key, pull);
    }
}

/// A handler that accepts everything: a plain open server.
#[derive(Debug, Default, Clone, Copy)]
pub struct AcceptAll;

impl RtmpHandler for AcceptAll {}
