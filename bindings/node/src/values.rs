//! The plain objects hooks receive (sessions, requests, stream keys, disconnect reasons) and the
//! statistics objects.

use std::collections::HashMap;

use napi::bindgen_prelude::{Either, Null};
use napi_derive::napi;
use rtmp_core::proto::message::StreamName;
use rtmp_core::server::{
    DisconnectReason as CoreReason, ForwardStats as CoreForward, PeerKind as CorePeerKind,
    PlayerStats as CorePlayer, PullStats as CorePull, RelayState as CoreRelayState, ServerStats as CoreStats,
    StreamInfo as CoreInfo, StreamKey as CoreKey, StreamStats as CoreStream,
};
use rtmp_embed::{Request, RequestDetails, RequestKind as CoreKind, Session as CoreSession};

fn query_map(query: &[(String, String)]) -> HashMap<String, String> {
    let mut map = HashMap::with_capacity(query.len());
    for (key, value) in query {
        // The first value of a repeated key wins, as in `query_param`.
        map.entry(key.clone()).or_insert_with(|| value.clone());
    }
    map
}

/// One connection as the server saw it when the hook was called.
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct Session {
    /// Unique per server run; 0 in `onConnection` (before the session exists).
    pub id: i64,
    /// The client's address (`127.0.0.1:50000`, `[::1]:50000`).
    pub peer_addr: String,
    /// The connect app (`live`), or "" before connect.
    pub app: String,
    /// The connect `tcUrl`, when sent.
    pub tc_url: Option<String>,
    /// The connect `flashVer`, when sent (`FMLE/3.0 (compatible; …)`).
    pub flash_ver: Option<String>,
    /// The connect query (from the app or the tcUrl): `rtmp://host/live?key=v` gives `{ key: 'v' }`.
    pub query: HashMap<String, String>,
    /// The user name the connection logged in as (`publishAuth: 'adobe'`, `onCredentials`), or
    /// null when it did not (players, and every client when auth is off).
    #[napi(ts_type = "string | null")]
    pub user: Either<String, Null>,
}

impl Session {
    pub(crate) fn new(session: &CoreSession) -> Self {
        Self {
            id: session.id() as i64,
            peer_addr: session.peer_addr_text().to_owned(),
            app: session.app().to_owned(),
            tc_url: session.tc_url().map(str::to_owned),
            flash_ver: session.flash_ver().map(str::to_owned),
            query: session.connect().map(|c| query_map(&c.query)).unwrap_or_default(),
            user: match session.user() {
                Some(user) => Either::A(user.to_owned()),
                None => Either::B(Null),
            },
        }
    }
}

/// What a decision is about.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A TCP connection, before the handshake (`onConnection`).
    Connection,
    /// `connect` (`onConnect`).
    Connect,
    /// `publish` (`onPublish`).
    Publish,
    /// `play` (`onPlay`).
    Play,
    /// Where to pull a stream played but not published here (`onLocate`).
    Locate,
    /// A user's password, while a client logs in (`onCredentials`).
    Credentials,
}

/// A decision to make: the second argument of `onConnection`, `onConnect`, `onPublish` and
/// `onPlay`. (`onLocate` gets the stream key alone, `onCredentials` the app and the user name.)
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct RtmpRequest {
    /// Unique per server run, counting from 1.
    pub id: i64,
    /// What is asked.
    pub kind: RequestKind,
    /// The app: the stream's for publish and play, the connect app otherwise.
    pub app: String,
    /// Publish and play: the stream name without its query (`cam`).
    pub name: Option<String>,
    /// Publish and play: the stream name exactly as sent (`cam?token=abc`).
    pub stream_name: Option<String>,
    /// The query: the stream name's for publish and play, the connect query for connect.
    pub query: HashMap<String, String>,
    /// Publish: `live`, `record` or `append`.
    pub publish_type: Option<String>,
    /// Play: start (-2 live or recorded, -1 live, >= 0 a recorded position).
    pub start: Option<f64>,
    /// Play: duration (-1 to the end).
    pub duration: Option<f64>,
    /// Play: the reset flag.
    pub reset: Option<bool>,
    /// Publish and play: the message stream id.
    pub stream_id: Option<u32>,
}

impl RtmpRequest {
    pub(crate) fn new(request: &Request) -> Self {
        let kind = match request.kind() {
            CoreKind::Connection => RequestKind::Connection,
            CoreKind::Connect => RequestKind::Connect,
            CoreKind::Publish => RequestKind::Publish,
            CoreKind::Play => RequestKind::Play,
            CoreKind::Locate => RequestKind::Locate,
            CoreKind::Credentials => RequestKind::Credentials,
        };
        let mut out = Self {
            id: request.id() as i64,
            kind,
            app: request.app().to_owned(),
            name: None,
            stream_name: None,
            query: HashMap::new(),
            publish_type: None,
            start: None,
            duration: None,
            reset: None,
            stream_id: None,
        };
        match request.details() {
            RequestDetails::Publish(p) => {
                out.publish_type = Some(p.publish_type.clone());
                out.stream_id = Some(p.stream_id);
            }
            RequestDetails::Play(p) => {
                out.start = Some(p.start);
                out.duration = Some(p.duration);
                out.reset = Some(p.reset);
                out.stream_id = Some(p.stream_id);
            }
            _ => out.query = request.session().connect().map(|c| query_map(&c.query)).unwrap_or_default(),
        }
        if let Some(name) = request.stream_name() {
            out.name = Some(name.name.clone());
            out.stream_name = Some(name.raw.clone());
            out.query = query_map(&name.query);
        }
        out
    }
}

/// A stream's identity: the app and the name without query.
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct StreamKey {
    /// The application (`live`).
    pub app: String,
    /// The stream name without query (`cam`).
    pub name: String,
}

impl From<&CoreKey> for StreamKey {
    fn from(key: &CoreKey) -> Self {
        Self { app: key.app.clone(), name: key.name.clone() }
    }
}

/// A stream name as sent (`onFcPublish`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct StreamNameInfo {
    /// Without its query (`cam`).
    pub name: String,
    /// Exactly as sent (`cam?token=abc`).
    pub raw: String,
    /// The parsed query.
    pub query: HashMap<String, String>,
}

impl From<&StreamName> for StreamNameInfo {
    fn from(name: &StreamName) -> Self {
        Self { name: name.name.clone(), raw: name.raw.clone(), query: query_map(&name.query) }
    }
}

/// Why a connection ended.
#[napi(string_enum = "kebab-case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectKind {
    /// The client closed the connection.
    ClientClosed,
    /// A timeout (handshake/connect, idle, a player that stopped reading).
    Timeout,
    /// The client broke the protocol or a limit.
    Protocol,
    /// A hook rejected the connection.
    Rejected,
    /// Another publisher took the stream over.
    Replaced,
    /// The server shut down.
    Shutdown,
    /// A socket error.
    Io,
}

/// The reason `onDisconnect` receives.
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct DisconnectReason {
    /// The kind of end.
    pub kind: DisconnectKind,
    /// A description (`idle timeout`, `rejected: Bad token.`, …).
    pub message: String,
}

impl From<&CoreReason> for DisconnectReason {
    fn from(reason: &CoreReason) -> Self {
        let kind = match reason {
            CoreReason::ClientClosed => DisconnectKind::ClientClosed,
            CoreReason::Timeout(_) => DisconnectKind::Timeout,
            CoreReason::Protocol(_) => DisconnectKind::Protocol,
            CoreReason::Rejected(_) => DisconnectKind::Rejected,
            CoreReason::Replaced => DisconnectKind::Replaced,
            CoreReason::Shutdown => DisconnectKind::Shutdown,
            CoreReason::Io(_) => DisconnectKind::Io,
        };
        Self { kind, message: reason.to_string() }
    }
}

/// Who is at the other end of a publish or a play.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    /// An RTMP or RTMPS connection.
    Rtmp,
    /// In-process: a `LocalPublisher` (`server.publish()`) or a `Subscription`
    /// (`server.subscribe()`).
    Local,
    /// A forward of the stream to another server (a player of the stream).
    Forward,
    /// A pull of the stream from an upstream server (its publisher).
    Pull,
}

impl From<CorePeerKind> for PeerKind {
    fn from(kind: CorePeerKind) -> Self {
        match kind {
            CorePeerKind::Rtmp => Self::Rtmp,
            CorePeerKind::Local => Self::Local,
            CorePeerKind::Forward => Self::Forward,
            CorePeerKind::Pull => Self::Pull,
        }
    }
}

/// One player of a stream.
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct PlayerStats {
    /// The player's session id.
    pub session_id: i64,
    /// The player's address.
    pub peer_addr: String,
    /// Media bytes sent to this player.
    pub bytes_out: i64,
    /// Video messages dropped for this player (slow reader).
    pub dropped_video: i64,
    /// Audio messages dropped for this player (its link could not carry audio alone).
    pub dropped_audio: i64,
    /// Gaps in its sound: runs of dropped audio.
    pub audio_gaps: i64,
    /// How far behind live it is now, in milliseconds.
    pub behind_live_ms: f64,
    /// Messages waiting in its queue now.
    pub queue_depth: u32,
    /// An RTMP player, a local `Subscription` (whose `peerAddr` is `0.0.0.0:0`) or a forward
    /// (`'forward'`: its entry in the stream's `forwards` tells more).
    pub kind: PeerKind,
}

/// One stream with a publisher or players.
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct StreamStats {
    /// The stream key.
    pub key: StreamKey,
    /// The publisher's address, when live (`0.0.0.0:0` for a local publisher).
    pub publisher: Option<String>,
    /// Who publishes, when live: an RTMP connection, a `LocalPublisher` or a pull.
    pub publisher_kind: Option<PeerKind>,
    /// RFC 6381 codec string of the video (`avc1.64001f`), once known.
    pub video_codec: Option<String>,
    /// Codec string of the audio (`mp4a.40.2`), once known.
    pub audio_codec: Option<String>,
    /// Video width in pixels, when the decoder configuration tells it.
    pub width: Option<u32>,
    /// Video height in pixels.
    pub height: Option<u32>,
    /// Bytes received from the current publisher.
    pub bytes_in: i64,
    /// Average incoming bitrate of the current publisher, bits per second.
    pub bitrate_in: i64,
    /// Time since the current publisher started, ms.
    pub uptime_ms: f64,
    /// Times its publisher vanished and its players were held for a reconnect.
    pub interruptions: i64,
    /// Times a republish within the grace continued its players' playback.
    pub resumptions: i64,
    /// The players.
    pub players: Vec<PlayerStats>,
    /// Where the stream is forwarded to (the `forward` option's rules, `{ forward }` publish
    /// decisions, `addForward`), one entry per destination.
    pub forwards: Vec<ForwardStats>,
    /// The pull that publishes it, when it is pulled from an upstream server (`pull` option,
    /// `onLocate`).
    pub pull: Option<PullStats>,
}

/// Where a forward or a pull is.
#[napi(string_enum = "lowercase")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayState {
    /// Connecting to the other server (for a pull: or waiting for its first media).
    Connecting,
    /// Publishing to it (a forward), or receiving what it sends (a pull).
    Live,
    /// Waiting to try again after a failure.
    Backoff,
}

impl From<CoreRelayState> for RelayState {
    fn from(state: CoreRelayState) -> Self {
        match state {
            CoreRelayState::Connecting => Self::Connecting,
            CoreRelayState::Live => Self::Live,
            CoreRelayState::Backoff => Self::Backoff,
        }
    }
}

/// One forward of a stream to another server (`stats().streams[i].forwards`, `onForward`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct ForwardStats {
    /// The destination (`rtmp://host/app/name`).
    pub url: String,
    /// Where it is.
    pub state: RelayState,
    /// Media payload bytes sent to the destination, over all its connections.
    pub bytes_out: i64,
    /// Connections lost or refused so far.
    pub reconnects: i64,
    /// Why the last connection failed or ended.
    pub last_error: Option<String>,
    /// Video frames its queue dropped because the destination did not keep up.
    pub dropped_video: i64,
}

impl From<&CoreForward> for ForwardStats {
    fn from(f: &CoreForward) -> Self {
        Self {
            url: f.url.clone(),
            state: f.state.into(),
            bytes_out: count(f.bytes_out),
            reconnects: count(f.reconnects),
            last_error: f.last_error.clone(),
            dropped_video: count(f.dropped_video),
        }
    }
}

/// The pull of a stream from an upstream server (`stats().streams[i].pull`, `onPull`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct PullStats {
    /// The upstream it uses or tries now.
    pub url: String,
    /// Where it is.
    pub state: RelayState,
    /// Media payload bytes received from upstreams.
    pub bytes_in: i64,
    /// Upstream connections that failed or ended so far.
    pub reconnects: i64,
    /// Why the last one failed or ended.
    pub last_error: Option<String>,
}

impl From<&CorePull> for PullStats {
    fn from(p: &CorePull) -> Self {
        Self {
            url: p.url.clone(),
            state: p.state.into(),
            bytes_in: count(p.bytes_in),
            reconnects: count(p.reconnects),
            last_error: p.last_error.clone(),
        }
    }
}

/// The whole server at one moment (`server.stats()`, `onStats`).
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct ServerStats {
    /// Open connections.
    pub connections: u32,
    /// Connections accepted since start.
    pub total_connections: i64,
    /// Connections refused because of `maxConnections`.
    pub refused_connections: i64,
    /// Bytes received on all connections since start.
    pub bytes_in: i64,
    /// Bytes sent on all connections since start.
    pub bytes_out: i64,
    /// Every stream with a publisher or players.
    pub streams: Vec<StreamStats>,
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl From<&CorePlayer> for PlayerStats {
    fn from(p: &CorePlayer) -> Self {
        Self {
            session_id: count(p.session_id),
            peer_addr: p.peer_addr.to_string(),
            bytes_out: count(p.bytes_out),
            dropped_video: count(p.dropped_video),
            dropped_audio: count(p.dropped_audio),
            audio_gaps: count(p.audio_gaps),
            behind_live_ms: p.behind_live.as_secs_f64() * 1000.0,
            queue_depth: u32::try_from(p.queue_depth).unwrap_or(u32::MAX),
            kind: p.kind.into(),
        }
    }
}

impl From<&CoreStream> for StreamStats {
    fn from(s: &CoreStream) -> Self {
        Self {
            key: (&s.key).into(),
            publisher: s.publisher.map(|a| a.to_string()),
            publisher_kind: s.publisher_kind.map(PeerKind::from),
            video_codec: s.video_codec.clone(),
            audio_codec: s.audio_codec.clone(),
            width: s.width,
            height: s.height,
            bytes_in: count(s.bytes_in),
            bitrate_in: count(s.bitrate_in),
            uptime_ms: s.uptime.as_secs_f64() * 1000.0,
            interruptions: count(s.interruptions),
            resumptions: count(s.resumptions),
            players: s.players.iter().map(PlayerStats::from).collect(),
            forwards: s.forwards.iter().map(ForwardStats::from).collect(),
            pull: s.pull.as_ref().map(PullStats::from),
        }
    }
}

impl From<&CoreStats> for ServerStats {
    fn from(s: &CoreStats) -> Self {
        Self {
            connections: u32::try_from(s.connections).unwrap_or(u32::MAX),
            total_connections: count(s.total_connections),
            refused_connections: count(s.refused_connections),
            bytes_in: count(s.bytes_in),
            bytes_out: count(s.bytes_out),
            streams: s.streams.iter().map(StreamStats::from).collect(),
        }
    }
}

/// A live stream, as `server.streams()` lists it.
#[napi(object, object_from_js = false)]
#[derive(Debug, Clone)]
pub struct StreamInfo {
    /// The stream key.
    pub key: StreamKey,
    /// Who publishes it: an RTMP connection, a `LocalPublisher` or a pull.
    pub publisher: PeerKind,
    /// Codec string of the video (`avc1.64001f`), once its sequence header arrived.
    pub video_codec: Option<String>,
    /// Codec string of the audio (`mp4a.40.2`), once its sequence header arrived.
    pub audio_codec: Option<String>,
    /// RTMP players.
    pub players: u32,
    /// Local subscribers (`Subscription`s).
    pub subscribers: u32,
    /// Servers it is forwarded to.
    pub forwards: u32,
}

impl From<&CoreInfo> for StreamInfo {
    fn from(s: &CoreInfo) -> Self {
        Self {
            key: (&s.key).into(),
            publisher: s.publisher.into(),
            video_codec: s.video_codec.clone(),
            audio_codec: s.audio_codec.clone(),
            players: u32::try_from(s.players).unwrap_or(u32::MAX),
            subscribers: u32::try_from(s.subscribers).unwrap_or(u32::MAX),
            forwards: u32::try_from(s.forwards).unwrap_or(u32::MAX),
        }
    }
}
