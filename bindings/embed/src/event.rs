//! Owned events, sessions and deferred requests.

use std::net::SocketAddr;
use std::ops::BitOr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rtmp_core::client::RtmpUrl;
use rtmp_core::proto::message::{ConnectParams, DataMessage, StreamName};
use rtmp_core::server::{
    Decision, DisconnectReason, ForwardStats, PlayOptions, PlayParams, PublishOptions, PublishParams,
    PullStats, ServerStats, SessionContext, StreamKey,
};
use tokio::sync::oneshot;

use super::frame::Frame;

/// One connection as the handler saw it when the event was raised. Owned: keep it as long as
/// needed.
#[derive(Debug, Clone)]
pub struct Session {
    id: u64,
    peer_addr: SocketAddr,
    connect: Option<Arc<ConnectParams>>,
    user: Option<String>,
    peer_text: OnceLock<String>,
}

impl Session {
    /// The session of a hook call.
    pub fn from_context(ctx: &SessionContext) -> Self {
        Self {
            id: ctx.session_id,
            peer_addr: ctx.peer_addr,
            connect: ctx.connect.clone(),
            user: ctx.user.clone(),
            peer_text: OnceLock::new(),
        }
    }

    /// A connection that has no session yet (the `on_connection` hook): id 0.
    pub fn unassigned(peer_addr: SocketAddr) -> Self {
        Self { id: 0, peer_addr, connect: None, user: None, peer_text: OnceLock::new() }
    }

    /// Unique per server run; 0 before the session exists (`on_connection`).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// The client's address as text (`127.0.0.1:50000`, `[::1]:50000`), formatted once.
    pub fn peer_addr_text(&self) -> &str {
        self.peer_text.get_or_init(|| self.peer_addr.to_string())
    }

    /// The connect parameters, once connect arrived.
    pub fn connect(&self) -> Option<&ConnectParams> {
        self.connect.as_deref()
    }

    /// The user name the connection logged in as (`authmod=adobe`, see the server's
    /// `publish_auth`); `None` when it did not.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The connect app, or "" before connect.
    pub fn app(&self) -> &str {
        self.connect().map_or("", |c| c.app.as_str())
    }

    /// The connect `tcUrl`, if sent.
    pub fn tc_url(&self) -> Option<&str> {
        self.connect().and_then(|c| c.tc_url.as_deref())
    }

    /// The connect `flashVer`, if sent.
    pub fn flash_ver(&self) -> Option<&str> {
        self.connect().and_then(|c| c.flash_ver.as_deref())
    }

    /// The first value of `key` in the connect query (app or tcUrl query).
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.connect()?.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The handler hooks, one per [`RtmpHandler`](rtmp_core::server::RtmpHandler) method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// `on_connection` (decision).
    Connection,
    /// `on_handshake_complete`.
    HandshakeComplete,
    /// `on_connect` (decision).
    Connect,
    /// `on_fc_publish`.
    FcPublish,
    /// `on_publish` (decision).
    Publish,
    /// `on_unpublish`.
    Unpublish,
    /// `on_publish_interrupted`.
    PublishInterrupted,
    /// `on_publish_resumed`.
    PublishResumed,
    /// `on_play` (decision).
    Play,
    /// `on_play_stop`.
    PlayStop,
    /// `on_pause`.
    Pause,
    /// `on_unpause`.
    Unpause,
    /// `on_metadata`.
    Metadata,
    /// `on_media_tag` (filter, see [`EventSink::filter_media`]).
    MediaTag,
    /// `on_video_frame`.
    VideoFrame,
    /// `on_audio_frame`.
    AudioFrame,
    /// `on_keyframe`.
    Keyframe,
    /// `on_disconnect`.
    Disconnect,
    /// `on_stats`.
    Stats,
    /// `on_forward`: a forward changed state.
    Forward,
    /// `on_locate` (decision: the upstreams of a stream played but not published here).
    Locate,
    /// `on_pull`: a pull changed state.
    Pull,
    /// `on_data`: a data message other than metadata (`onTextData`, `onCuePoint`, …).
    Data,
    /// `on_credentials` (decision: a user's password, while a client logs in).
    Credentials,
}

impl Hook {
    /// Every hook, in trait order.
    pub const ALL: [Hook; 24] = [
        Hook::Connection,
        Hook::HandshakeComplete,
        Hook::Connect,
        Hook::FcPublish,
        Hook::Publish,
        Hook::Unpublish,
        Hook::PublishInterrupted,
        Hook::PublishResumed,
        Hook::Play,
        Hook::PlayStop,
        Hook::Pause,
        Hook::Unpause,
        Hook::Metadata,
        Hook::MediaTag,
        Hook::VideoFrame,
        Hook::AudioFrame,
        Hook::Keyframe,
        Hook::Disconnect,
        Hook::Stats,
        Hook::Forward,
        Hook::Locate,
        Hook::Pull,
        Hook::Data,
        Hook::Credentials,
    ];

    /// The hook's name, as the handler method is called in Rust, Python and C (`on_publish`);
    /// Node camelCases it (`onPublish`).
    pub const fn name(self) -> &'static str {
        const NAMES: [&str; 24] = [
            "on_connection",
            "on_handshake_complete",
            "on_connect",
            "on_fc_publish",
            "on_publish",
            "on_unpublish",
            "on_publish_interrupted",
            "on_publish_resumed",
            "on_play",
            "on_play_stop",
            "on_pause",
            "on_unpause",
            "on_metadata",
            "on_media_tag",
            "on_video_frame",
            "on_audio_frame",
            "on_keyframe",
            "on_disconnect",
            "on_stats",
            "on_forward",
            "on_locate",
            "on_pull",
            "on_data",
            "on_credentials",
        ];
        NAMES[self as usize]
    }

    /// Whether the hook decides (accept or reject) rather than notifies.
    pub const fn is_decision(self) -> bool {
        matches!(
            self,
            Self::Connection | Self::Connect | Self::Publish | Self::Play | Self::Locate | Self::Credentials
        )
    }
}

/// The hooks a sink wants. Events of other hooks are never built, and decisions nobody asked
/// for are accepted at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interest(u32);

impl Interest {
    /// No hook.
    pub const NONE: Self = Self(0);
    /// Every hook.
    pub const ALL: Self = Self((1 << Hook::ALL.len()) - 1);

    /// Just `hook`.
    pub const fn of(hook: Hook) -> Self {
        Self(1 << hook as u32)
    }

    /// Whether `hook` is wanted.
    pub const fn contains(self, hook: Hook) -> bool {
        self.0 & (1 << hook as u32) != 0
    }

    /// This set plus `hook` when `yes`.
    pub const fn with_if(self, hook: Hook, yes: bool) -> Self {
        if yes { Self(self.0 | 1 << hook as u32) } else { self }
    }
}

impl BitOr for Interest {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl From<Hook> for Interest {
    fn from(hook: Hook) -> Self {
        Self::of(hook)
    }
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A TCP connection (before the handshake).
    Connection,
    /// `connect`.
    Connect,
    /// `publish`.
    Publish,
    /// `play`.
    Play,
    /// A stream is played but not published here: where to pull it from.
    Locate,
    /// A client logs in: the user's password.
    Credentials,
}

/// The request's parameters.
#[derive(Debug, Clone)]
pub enum RequestDetails {
    /// A TCP connection: the session has only its peer address.
    Connection,
    /// `connect`: the parameters are in [`Session::connect`].
    Connect,
    /// `publish`.
    Publish(PublishParams),
    /// `play`.
    Play(PlayParams),
    /// Locate the stream with this key. Its session is not a connection (id 0, address
    /// `0.0.0.0:0`): a pull serves every player of the stream.
    Locate(StreamKey),
    /// The password of `user` for `app`, while the session logs in (before its connect is
    /// decided: [`Session::connect`] is `None`).
    Credentials {
        /// The connect app.
        app: String,
        /// The user name.
        user: String,
    },
}

/// Why an answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// The request was answered before; the first answer stands.
    AlreadyAnswered,
    /// Nobody waits any more: the decision timed out, the connection ended or the server stops.
    /// The connection got a reject.
    Expired,
    /// A forward destination or an upstream is not an `rtmp://` or `rtmps://` URL (what is wrong
    /// with which): nothing was answered, the request still waits.
    BadUrl(String),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AlreadyAnswered => f.write_str("the request was already answered"),
            Self::Expired => f.write_str("the request expired (decision timeout, disconnect or shutdown)"),
            Self::BadUrl(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for AnswerError {}

/// `Err(BadUrl)` naming the first of `urls` that is not an RTMP(S) URL.
fn check_urls(urls: &[String]) -> Result<(), AnswerError> {
    match urls.iter().find_map(|url| RtmpUrl::parse(url).err()) {
        Some(error) => Err(AnswerError::BadUrl(error.to_string())),
        None => Ok(()),
    }
}

#[derive(Debug)]
struct RequestInner {
    id: u64,
    session: Session,
    details: RequestDetails,
    answer: Mutex<Option<oneshot::Sender<Answer>>>,
}

/// What a request was answered with.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Connect, publish, play and connection requests.
    Decision(Decision),
    /// Locate requests: the upstream URLs, tried in order (empty: the server's `pull` rules).
    Upstreams(Vec<String>),
    /// Credentials requests: the password, or none for no such user.
    Password(Option<String>),
}

/// A decision waiting for an answer: connect, publish, play, a new TCP connection, or where to
/// pull a stream from.
///
/// Cloning shares it; answer it once, from any thread, with [`accept`](Self::accept) or
/// [`reject`](Self::reject). Dropping every clone unanswered rejects it at once; no answer
/// within the server's decision timeout rejects it too.
#[derive(Debug, Clone)]
pub struct Request {
    inner: Arc<RequestInner>,
}

impl Request {
    pub(crate) fn new(
        id: u64,
        session: Session,
        details: RequestDetails,
    ) -> (Self, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        let inner = RequestInner { id, session, details, answer: Mutex::new(Some(tx)) };
        (Self { inner: Arc::new(inner) }, rx)
    }

    /// Unique per server run, counting from 1.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// What is asked.
    pub fn kind(&self) -> RequestKind {
        match self.inner.details {
            RequestDetails::Connection => RequestKind::Connection,
            RequestDetails::Connect => RequestKind::Connect,
            RequestDetails::Publish(_) => RequestKind::Publish,
            RequestDetails::Play(_) => RequestKind::Play,
            RequestDetails::Locate(_) => RequestKind::Locate,
            RequestDetails::Credentials { .. } => RequestKind::Credentials,
        }
    }

    /// The connection asking.
    pub fn session(&self) -> &Session {
        &self.inner.session
    }

    /// The parameters.
    pub fn details(&self) -> &RequestDetails {
        &self.inner.details
    }

    /// The stream key of a publish, play or locate.
    pub fn key(&self) -> Option<&StreamKey> {
        match &self.inner.details {
            RequestDetails::Publish(p) => Some(&p.key),
            RequestDetails::Play(p) => Some(&p.key),
            RequestDetails::Locate(key) => Some(key),
            _ => None,
        }
    }

    /// The stream name (with its parsed query) of a publish or play.
    pub fn stream_name(&self) -> Option<&StreamName> {
        match &self.inner.details {
            RequestDetails::Publish(p) => Some(&p.stream_name),
            RequestDetails::Play(p) => Some(&p.stream_name),
            _ => None,
        }
    }

    /// The app: the stream key's for publish and play, the app logged in to for credentials,
    /// the connect app otherwise.
    pub fn app(&self) -> &str {
        if let RequestDetails::Credentials { app, .. } = &self.inner.details {
            return app;
        }
        self.key().map_or_else(|| self.inner.session.app(), |k| k.app.as_str())
    }

    /// The user name a credentials request asks about; the session's logged-in user otherwise.
    pub fn user(&self) -> Option<&str> {
        match &self.inner.details {
            RequestDetails::Credentials { user, .. } => Some(user),
            _ => self.inner.session.user(),
        }
    }

    /// A query parameter: from the stream name for publish and play, from the connect query for
    /// connect.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        match self.stream_name() {
            Some(name) => name.param(key),
            None => self.inner.session.query_param(key),
        }
    }

    /// Accepts.
    pub fn accept(&self) -> Result<(), AnswerError> {
        self.answer(Decision::Accept)
    }

    /// Accepts a play with `budget` as its player's latency budget (`None`: no limit but the
    /// queue's length) instead of the server's. Other requests just accept.
    pub fn accept_with_latency_budget(&self, budget: Option<std::time::Duration>) -> Result<(), AnswerError> {
        self.answer(Decision::AcceptWith(PlayOptions::new().latency_budget(budget)))
    }

    /// Accepts a publish and forwards the stream to `urls` too (RTMP or RTMPS), beside the
    /// server's `forward` rules. Other requests just accept. A URL that is not RTMP answers
    /// nothing ([`AnswerError::BadUrl`]): a typo in a destination fails where it was made, not
    /// as a warning in the log while the publish goes on without it.
    pub fn accept_with_forward(&self, urls: Vec<String>) -> Result<(), AnswerError> {
        check_urls(&urls)?;
        let mut options = PublishOptions::new();
        options.forward = urls;
        self.answer(Decision::AcceptPublish(options))
    }

    /// Answers a locate with the upstreams to pull from, tried in order (empty: the server's
    /// `pull` rules). Other requests: accepts when `urls` is not empty, rejects otherwise. A URL
    /// that is not RTMP answers nothing ([`AnswerError::BadUrl`]).
    pub fn locate(&self, urls: Vec<String>) -> Result<(), AnswerError> {
        check_urls(&urls)?;
        match self.inner.details {
            RequestDetails::Locate(_) => self.send(Answer::Upstreams(urls)),
            _ => self.answer(Decision::from(!urls.is_empty())),
        }
    }

    /// Answers a credentials request with the user's password (`None`: no such user). Other
    /// requests: accepts when `password` is given, rejects otherwise.
    pub fn credentials(&self, password: Option<String>) -> Result<(), AnswerError> {
        match self.inner.details {
            RequestDetails::Credentials { .. } => self.send(Answer::Password(password)),
            _ => self.answer(Decision::from(password.is_some())),
        }
    }

    /// Rejects; `reason` becomes the status description the client sees. A locate rejected
    /// falls back to the server's `pull` rules.
    pub fn reject(&self, reason: impl Into<String>) -> Result<(), AnswerError> {
        self.answer(Decision::Reject(reason.into()))
    }

    /// Answers with `decision`. A locate accepted names no upstream: the server's `pull`
    /// rules apply.
    pub fn answer(&self, decision: Decision) -> Result<(), AnswerError> {
        self.send(Answer::Decision(decision))
    }

    fn send(&self, answer: Answer) -> Result<(), AnswerError> {
        let sender = self.inner.answer.lock().unwrap_or_else(|e| e.into_inner()).take();
        match sender {
            None => Err(AnswerError::AlreadyAnswered),
            Some(tx) => tx.send(answer).map_err(|_| AnswerError::Expired),
        }
    }

    /// Whether an answer was given (or tried, after expiry).
    pub fn is_answered(&self) -> bool {
        self.inner.answer.lock().unwrap_or_else(|e| e.into_inner()).is_none()
    }

    /// Whether the server still waits for the answer.
    pub fn is_pending(&self) -> bool {
        self.inner.answer.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|tx| !tx.is_closed())
    }
}

/// One hook call, owned. Not `non_exhaustive`: a new event must be handled by every skin.
#[derive(Debug)]
pub enum Event {
    /// A TCP connection arrived; answer `request` (its session has id 0).
    Connection {
        /// The decision to make.
        request: Request,
    },
    /// The handshake finished.
    HandshakeComplete {
        /// The connection.
        session: Session,
    },
    /// `connect` arrived; the parameters are in `request.session().connect()`.
    Connect {
        /// The decision to make.
        request: Request,
    },
    /// `FCPublish` arrived.
    FcPublish {
        /// The connection.
        session: Session,
        /// The name as sent, with its query.
        name: StreamName,
    },
    /// `publish` arrived.
    Publish {
        /// The decision to make; [`RequestDetails::Publish`].
        request: Request,
    },
    /// An accepted publisher stopped.
    Unpublish {
        /// The connection.
        session: Session,
        /// The stream.
        key: StreamKey,
    },
    /// An accepted publisher vanished without unpublishing; its players wait for a republish
    /// within the reconnect grace (its `Unpublish` follows).
    PublishInterrupted {
        /// The vanished publisher's connection.
        session: Session,
        /// The stream.
        key: StreamKey,
    },
    /// A publish resumed an interrupted stream within the grace; its players went on.
    PublishResumed {
        /// The new publisher's connection.
        session: Session,
        /// The stream.
        key: StreamKey,
        /// Time since the interruption.
        outage: Duration,
    },
    /// `play` arrived.
    Play {
        /// The decision to make; [`RequestDetails::Play`].
        request: Request,
    },
    /// An accepted player stopped.
    PlayStop {
        /// The connection.
        session: Session,
        /// The stream.
        key: StreamKey,
    },
    /// A player paused.
    Pause {
        /// The connection.
        session: Session,
        /// The stream.
        key: StreamKey,
    },
    /// A player resumed.
    Unpause {
        /// The connection.
        session: Session,
        /// The stream.
        key: StreamKey,
    },
    /// The publisher sent `onMetaData` (a [`FrameKind::Metadata`](super::FrameKind) frame).
    Metadata {
        /// The connection.
        session: Session,
        /// The metadata.
        frame: Arc<Frame>,
    },
    /// A video message that parsed.
    VideoFrame {
        /// The connection.
        session: Session,
        /// The frame.
        frame: Arc<Frame>,
    },
    /// An audio message that parsed.
    AudioFrame {
        /// The connection.
        session: Session,
        /// The frame.
        frame: Arc<Frame>,
    },
    /// A video keyframe that is not a sequence header.
    Keyframe {
        /// The connection.
        session: Session,
        /// The frame.
        frame: Arc<Frame>,
    },
    /// A connection ended.
    Disconnect {
        /// The connection.
        session: Session,
        /// Why.
        reason: DisconnectReason,
    },
    /// Periodic statistics.
    Stats {
        /// The snapshot.
        stats: Arc<ServerStats>,
    },
    /// A forward of a stream changed state (connecting, live, backoff).
    Forward {
        /// The stream forwarded.
        key: StreamKey,
        /// The forward, after the change.
        stats: ForwardStats,
    },
    /// A stream is played but not published here: answer `request` with its upstreams
    /// ([`Request::locate`]); [`RequestDetails::Locate`].
    Locate {
        /// The decision to make.
        request: Request,
    },
    /// The pull of a stream changed state (connecting, live, backoff).
    Pull {
        /// The stream pulled.
        key: StreamKey,
        /// The pull, after the change.
        stats: PullStats,
    },
    /// The publisher sent a data message other than `onMetaData` (`onTextData`, `onCuePoint`,
    /// `onCaption`, …; any `@setDataFrame` wrapper taken off).
    Data {
        /// The connection.
        session: Session,
        /// The stream.
        key: StreamKey,
        /// The message: its name and values.
        data: DataMessage,
    },
    /// A client logs in: answer `request` with the user's password ([`Request::credentials`]);
    /// [`RequestDetails::Credentials`]. Accepting or rejecting it answers "no such user".
    Credentials {
        /// The decision to make.
        request: Request,
    },
}

impl Event {
    /// The hook that raised it.
    pub fn hook(&self) -> Hook {
        match self {
            Self::Connection { .. } => Hook::Connection,
            Self::HandshakeComplete { .. } => Hook::HandshakeComplete,
            Self::Connect { .. } => Hook::Connect,
            Self::FcPublish { .. } => Hook::FcPublish,
            Self::Publish { .. } => Hook::Publish,
            Self::Unpublish { .. } => Hook::Unpublish,
            Self::PublishInterrupted { .. } => Hook::PublishInterrupted,
            Self::PublishResumed { .. } => Hook::PublishResumed,
            Self::Play { .. } => Hook::Play,
            Self::PlayStop { .. } => Hook::PlayStop,
            Self::Pause { .. } => Hook::Pause,
            Self::Unpause { .. } => Hook::Unpause,
            Self::Metadata { .. } => Hook::Metadata,
            Self::VideoFrame { .. } => Hook::VideoFrame,
            Self::AudioFrame { .. } => Hook::AudioFrame,
            Self::Keyframe { .. } => Hook::Keyframe,
            Self::Disconnect { .. } => Hook::Disconnect,
            Self::Stats { .. } => Hook::Stats,
            Self::Forward { .. } => Hook::Forward,
            Self::Locate { .. } => Hook::Locate,
            Self::Pull { .. } => Hook::Pull,
            Self::Data { .. } => Hook::Data,
            Self::Credentials { .. } => Hook::Credentials,
        }
    }
}

/// Where events go. The C API calls function pointers; Python and Node queue them to their
/// interpreter threads.
///
/// Threads: connection events (decisions, handshake, FCPublish, unpublish, publish interrupted
/// and resumed, play stop, pause, unpause, disconnect) and locate decisions reach
/// [`on_event`](Self::on_event) on a blocking-pool thread with [`Dispatch::Blocking`](super::Dispatch)
/// or on a runtime worker with [`Dispatch::Inline`](super::Dispatch); per-frame events (metadata,
/// frames, keyframes), stats, forward and pull state changes and
/// [`filter_media`](Self::filter_media) always run on a runtime worker and must not block.
/// Events of one connection arrive in order.
pub trait EventSink: Send + Sync + 'static {
    /// The hooks this sink wants; asked once, when the server is built.
    fn interest(&self) -> Interest {
        Interest::ALL
    }

    /// Receives one event. Decision events carry a [`Request`] to answer now or later.
    fn on_event(&self, event: Event);

    /// `on_media_tag`: every audio, video and data message of a publisher before it reaches
    /// players; false drops it. Only called when [`Hook::MediaTag`] is of interest.
    fn filter_media(&self, session: &Session, frame: &Arc<Frame>) -> bool {
        let _ = (session, frame);
        true
    }
}
