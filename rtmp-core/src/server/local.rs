//! Streams in-process. A [`Subscription`] reads a stream as a player of kind local on the one
//! output path (the same queue bound and drop policy as a network player, no socket, no
//! chunking); a [`LocalPublisher`] puts a stream in as an RTMP publisher would (GOP cache, late
//! joiners, the publisher policy, UnpublishNotify when it goes). Made by
//! [`super::ServerHandle::subscribe`] and [`super::ServerHandle::publish`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;

use super::StreamKey;
use super::message::PublishedMessage;
use super::output::{FrameClass, Notice, OutMessage, PlayerQueue, Popped};
use super::registry::{ClaimError, Player, Replay, Stream};
use super::runtime::ServerState;
use super::stats::PeerKind;
use crate::proto::amf::{Amf0Value, AmfLimits, AmfObject};
use crate::proto::media::{AudioTag, VideoCodec, VideoFrameType, VideoTag};
use crate::proto::message::{DataMessage, type_id};

/// Session ids of local publishers and subscribers start here, far above any connection's and
/// below 2^53, so that JavaScript numbers hold them exactly.
const LOCAL_SESSION_BASE: u64 = 1 << 48;

/// A backward step of a local publisher's timestamps beyond this is an error (as the session's
/// normaliser treats it as a discontinuity): audio and video interleave within it.
const MAX_REGRESSION_MS: u32 = 1_000;

/// A session id for a local publisher or subscriber.
pub(crate) fn local_session_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    LOCAL_SESSION_BASE + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// Like a network player that joins late: metadata, sequence headers, the cached GOP (from
    /// its keyframe), then live.
    #[default]
    Gop,
    /// Metadata and sequence headers, then live from the next keyframe.
    Keyframe,
    /// Metadata and sequence headers, then whatever is published next, inter frames included.
    Live,
}

/// How to subscribe.
#[derive(Debug, Clone, Default)]
pub struct SubscribeOptions {
    /// Where the subscription starts.
    pub start: Start,
    /// Waits this long for a stream that is not published yet; `None` fails at once.
    pub wait: Option<Duration>,
    /// How far behind live the reader may fall before its video is dropped (resuming at a
    /// keyframe); `None` takes the server's [`super::ServerConfig::player_latency_budget`].
    /// Audio is bounded only by the queue ([`super::ServerConfig::player_queue_length`]).
    pub latency_budget: Option<Duration>,
}

impl SubscribeOptions {
    /// Sets [`Self::start`].
    pub fn start(mut self, start: Start) -> Self {
        self.start = start;
        self
    }

    /// Sets [`Self::wait`].
    pub fn wait(mut self, wait: Option<Duration>) -> Self {
        self.wait = wait;
        self
    }

    /// Sets [`Self::latency_budget`].
    pub fn latency_budget(mut self, budget: Option<Duration>) -> Self {
        self.latency_budget = budget;
        self
    }
}

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// An FLV audio tag body.
    Audio,
    /// An FLV video tag body.
    Video,
    /// `onMetaData` as an AMF0 data message.
    Metadata,
    /// Another AMF0 data message (text, cue points).
    Data,
}

/// One message of a stream as a player gets it: the payload is the publisher's, shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    /// What it carries.
    pub kind: FrameKind,
    /// Its timestamp in ms, on the stream's timeline.
    pub timestamp: u32,
    /// The FLV tag body (audio, video) or the AMF0 data message.
    pub payload: Bytes,
    /// A coded video keyframe (not a sequence header).
    pub keyframe: bool,
    /// A sequence header, metadata or a video control tag: what decoding needs first.
    pub header: bool,
}

impl MediaFrame {
    fn from_message(message: OutMessage) -> Self {
        let kind = match message.type_id {
            type_id::AUDIO => FrameKind::Audio,
            type_id::VIDEO => FrameKind::Video,
            _ if message.class == FrameClass::Header => FrameKind::Metadata,
            _ => FrameKind::Data,
        };
        Self {
            kind,
            timestamp: message.timestamp,
            payload: message.bytes,
            keyframe: message.class == FrameClass::VideoKey,
            header: message.class == FrameClass::Header,
        }
    }

    /// The parsed video tag (legacy or Enhanced RTMP), for a video frame that parses.
    pub fn video_tag(&self) -> Option<VideoTag> {
        (self.kind == FrameKind::Video).then(|| VideoTag::parse(&self.payload).ok()).flatten()
    }

    /// The parsed audio tag, for an audio frame that parses.
    pub fn audio_tag(&self) -> Option<AudioTag> {
        (self.kind == FrameKind::Audio).then(|| AudioTag::parse(&self.payload).ok()).flatten()
    }

    /// The video frame's composition time offset in ms (0 for other frames).
    pub fn composition_time(&self) -> i32 {
        self.video_tag().map_or(0, |tag| tag.composition_time())
    }

    /// The track (Enhanced RTMP multitrack); 0 for single-track media and data.
    pub fn track(&self) -> u8 {
        match self.kind {
            FrameKind::Video => self.video_tag().map_or(0, |tag| tag.track_id()),
            FrameKind::Audio => self.audio_tag().map_or(0, |tag| tag.track_id()),
            FrameKind::Metadata | FrameKind::Data => 0,
        }
    }
}

/// A change of the stream, in order with its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// The publisher stopped (network players get UnpublishNotify). More may follow on
    /// republish.
    Unpublished,
    /// A publisher (re)started: metadata and headers follow, video from a keyframe.
    Published,
    /// Frames were dropped since the last item because the reader fell behind.
    Dropped {
        /// Video frames dropped (and skipped after until a keyframe).
        video: u64,
        /// Audio and data messages dropped (the queue was full).
        audio: u64,
    },
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionItem {
    /// A message of the stream.
    Frame(MediaFrame),
    /// A change of the stream.
    Event(StreamEvent),
}

/// Why a subscribe failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeError {
    /// The stream is not published (within the wait, when there was one).
    NotFound(StreamKey),
    /// [`super::ServerConfig::max_players_per_stream`] are playing it already.
    TooManyPlayers(StreamKey),
    /// The server stopped while the subscribe waited.
    ServerStopped,
}

impl fmt::Display for SubscribeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(key) => write!(f, "stream {key} is not published"),
            Self::TooManyPlayers(key) => write!(f, "stream {key} has max_players_per_stream players"),
            Self::ServerStopped => f.write_str("the server stopped"),
        }
    }
}

impl std::error::Error for SubscribeError {}

/// A subscriber's place in its stream: shared by the [`Subscription`] and its
/// [`SubscriptionCloser`]s, so that a close from elsewhere reaches a reader waiting in `next`.
#[derive(Debug)]
struct Membership {
    state: Arc<ServerState>,
    stream: Arc<Stream>,
    player: Arc<Player>,
    notify: Arc<Notify>,
    closed: AtomicBool,
}

impl Membership {
    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.stream.remove_player(&self.player);
        self.state.registry.remove_if_unused(&self.stream.key);
        // A reader waiting in `next` wakes and sees the close.
        self.notify.notify_one();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// Closes a [`Subscription`] from anywhere, while its reader waits in `next` (which then
/// returns `None`).
#[derive(Debug, Clone)]
pub struct SubscriptionCloser(Arc<Membership>);

impl SubscriptionCloser {
    /// Leaves the stream; see [`Subscription::close`].
    pub fn close(&self) {
        self.0.close();
    }
}

/// A stream read in-process: an async stream of [`SubscriptionItem`]s at the reader's pace. A
/// reader that falls behind loses video (resuming at a keyframe), never slows the publisher
/// or anyone else; its drops are counted in the stream's statistics (a player of kind
/// [`PeerKind::Local`]). Dropping it (or [`close`](Self::close)) leaves the stream.
#[derive(Debug)]
pub struct Subscription {
    member: Arc<Membership>,
    /// Drops already reported (video, audio).
    reported: (u64, u64),
}

impl Subscription {
    pub(super) async fn new(
        state: Arc<ServerState>,
        key: &StreamKey,
        options: SubscribeOptions,
    ) -> Result<Self, SubscribeError> {
        Self::with_kind(state, key, options, PeerKind::Local).await
    }

    /// A subscription that shows in statistics as `kind` (a forward's, say).
    pub(super) async fn with_kind(
        state: Arc<ServerState>,
        key: &StreamKey,
        options: SubscribeOptions,
        kind: PeerKind,
    ) -> Result<Self, SubscribeError> {
        let config = Arc::clone(&state.config);
        let stream = state.registry.stream(key, &config);
        if !stream.admit_player(config.max_players_per_stream) {
            state.registry.remove_if_unused(key);
            return Err(SubscribeError::TooManyPlayers(key.clone()));
        }
        let notify = Arc::new(Notify::new());
        let budget = options.latency_budget.or(config.player_latency_budget);
        let queue = PlayerQueue::local(config.player_queue_length, budget, Arc::clone(&notify));
        if options.start == Start::Live {
            queue.start_anywhere();
        }
        let player = Arc::new(Player::local(local_session_id(), queue, kind));
        let replay = if options.start == Start::Gop { Replay::Gop } else { Replay::Headers };
        stream.add_player_from(Arc::clone(&player), replay);
        let member = Membership { state, stream, player, notify, closed: AtomicBool::new(false) };
        // From here on, dropping `subscription` leaves the stream.
        let subscription = Self { member: Arc::new(member), reported: (0, 0) };
        let member = &subscription.member;
        if !member.stream.is_live() {
            if kind == PeerKind::Local {
                super::pull::ensure(&member.state, &member.stream);
            }
            let Some(wait) = options.wait else {
                return Err(SubscribeError::NotFound(key.clone()));
            };
            let mut stop = member.state.shutdown.subscribe();
            let live = async {
                while !member.stream.is_live() {
                    if *stop.borrow() {
                        return Err(SubscribeError::ServerStopped);
                    }
                    tokio::select! {
                        () = member.notify.notified() => {}
                        // `wait_for`'s guard is not `Send`: dropped inside, as in `run_until`.
                        () = async { drop(stop.wait_for(|stopping| *stopping).await) } => {}
                    }
                }
                Ok(())
            };
            match tokio::time::timeout(wait, live).await {
                Ok(Ok(())) => {}
                Ok(Err(stopped)) => return Err(stopped),
                Err(_) => return Err(SubscribeError::NotFound(key.clone())),
            }
            member.player.queue.skip_published_notice();
        }
        Ok(subscription)
    }

    /// The stream's key.
    pub fn key(&self) -> &StreamKey {
        &self.member.stream.key
    }

    /// The next item, waiting for one. `None` once closed or when the server stops.
    pub async fn next(&mut self) -> Option<SubscriptionItem> {
        let mut stop = self.member.state.shutdown.subscribe();
        loop {
            if let Some(item) = self.try_next() {
                return Some(item);
            }
            if self.member.is_closed() || *stop.borrow() {
                return None;
            }
            tokio::select! {
                () = self.member.notify.notified() => {}
                // `wait_for`'s guard is not `Send`: dropped inside, as in `run_until`.
                () = async { drop(stop.wait_for(|stopping| *stopping).await) } => {}
            }
        }
    }

    /// The next item if one is queued, without waiting.
    pub fn try_next(&mut self) -> Option<SubscriptionItem> {
        if self.member.is_closed() {
            return None;
        }
        let queue = &self.member.player.queue;
        let dropped = (queue.dropped_video(), queue.dropped_audio());
        if dropped != self.reported {
            let event = StreamEvent::Dropped {
                video: dropped.0 - self.reported.0,
                audio: dropped.1 - self.reported.1,
            };
            self.reported = dropped;
            return Some(SubscriptionItem::Event(event));
        }
        Some(match queue.pop()? {
            Popped::Media(message) => SubscriptionItem::Frame(MediaFrame::from_message(message)),
            Popped::Notice(Notice::Unpublished) => SubscriptionItem::Event(StreamEvent::Unpublished),
            Popped::Notice(Notice::Published) => SubscriptionItem::Event(StreamEvent::Published),
        })
    }

    /// Whether it was closed.
    pub fn is_closed(&self) -> bool {
        self.member.is_closed()
    }

    /// A handle that closes this subscription from elsewhere.
    pub fn closer(&self) -> SubscriptionCloser {
        SubscriptionCloser(Arc::clone(&self.member))
    }

    /// Leaves the stream; what was queued is dropped. Idempotent.
    pub fn close(&mut self) {
        self.member.close();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.member.close();
    }
}

/// Why a publish or a send failed. The stream's players never see bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    /// Someone publishes the stream and the publisher policy keeps them.
    AlreadyPublishing(StreamKey),
    /// The publisher was closed.
    Closed,
    /// Another publisher took the stream over ([`super::PublisherPolicy::TakeOver`]).
    TakenOver,
    /// The payload is not a valid FLV video tag body.
    InvalidVideo(String),
    /// The payload is not a valid FLV audio tag body.
    InvalidAudio(String),
    /// The payload is not an AMF0 data message.
    InvalidData(String),
    /// The timestamp goes back further than audio and video interleave.
    TimestampRegression {
        /// The latest timestamp sent.
        last: u32,
        /// The one refused.
        timestamp: u32,
    },
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyPublishing(key) => write!(f, "stream {key} is already published"),
            Self::Closed => f.write_str("the publisher is closed"),
            Self::TakenOver => f.write_str("another publisher took the stream over"),
            Self::InvalidVideo(e) => write!(f, "not a valid FLV video tag body: {e}"),
            Self::InvalidAudio(e) => write!(f, "not a valid FLV audio tag body: {e}"),
            Self::InvalidData(e) => write!(f, "not an AMF0 data message: {e}"),
            Self::TimestampRegression { last, timestamp } => write!(
                f,
                "timestamp {timestamp} ms goes back more than {MAX_REGRESSION_MS} ms from {last} ms"
            ),
        }
    }
}

impl std::error::Error for PublishError {}

/// A stream published in-process. Network players, late joiners and the GOP cache see it as an
/// RTMP publisher; a conflict with one follows [`super::ServerConfig::publisher_policy`], both
/// ways. Sends never wait (a slow player queues or drops, as for any publisher). Dropping it
/// (or [`close`](Self::close)) unpublishes.
#[derive(Debug)]
pub struct LocalPublisher {
    state: Arc<ServerState>,
    stream: Arc<Stream>,
    session_id: u64,
    /// The latest timestamp sent, for the regression check.
    last_timestamp: Option<u32>,
    closed: bool,
    batch: Vec<PublishedMessage>,
}

impl LocalPublisher {
    pub(super) fn new(state: Arc<ServerState>, key: &StreamKey) -> Result<Self, PublishError> {
        let config = Arc::clone(&state.config);
        let stream = state.registry.stream(key, &config);
        let session_id = local_session_id();
        let nowhere = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
        // A takeover by an RTMP publisher is seen on the next send (`is_publisher`): nothing
        // waits on this notice.
        let kick = Arc::new(Notify::new());
        match stream.claim_publisher(session_id, nowhere, kick, config.publisher_policy, PeerKind::Local) {
            Ok(_) => {}
            Err(ClaimError::AlreadyPublishing) => {
                state.registry.remove_if_unused(key);
                return Err(PublishError::AlreadyPublishing(key.clone()));
            }
        }
        Ok(Self {
            state,
            stream,
            session_id,
            last_timestamp: None,
            closed: false,
            batch: Vec::with_capacity(1),
        })
    }

    /// The stream's key.
    pub fn key(&self) -> &StreamKey {
        &self.stream.key
    }

    /// Sends a video message: an FLV video tag body (legacy or Enhanced RTMP).
    pub fn send_video(&mut self, timestamp: u32, payload: Bytes) -> Result<(), PublishError> {
        if payload.is_empty() {
            return Err(PublishError::InvalidVideo("empty".into()));
        }
        let tag = VideoTag::parse(&payload).map_err(|e| PublishError::InvalidVideo(e.to_string()))?;
        // What the parser keeps from a network publisher for relaying (it is lenient there) is
        // not taken from the application: a reserved frame type or an unknown legacy codec id is
        // not video (text, zeros).
        if let VideoFrameType::Reserved(n) = tag.frame_type() {
            return Err(PublishError::InvalidVideo(format!("frame type {n} is reserved")));
        }
        if let VideoCodec::UnknownId(id) = tag.codec() {
            return Err(PublishError::InvalidVideo(format!("codec id {id} is not a video codec")));
        }
        self.send(PublishedMessage::video(timestamp, payload, Some(&tag)))
    }

    /// Sends an audio message: an FLV audio tag body (legacy or Enhanced RTMP).
    pub fn send_audio(&mut self, timestamp: u32, payload: Bytes) -> Result<(), PublishError> {
        if payload.is_empty() {
            return Err(PublishError::InvalidAudio("empty".into()));
        }
        let tag = AudioTag::parse(&payload).map_err(|e| PublishError::InvalidAudio(e.to_string()))?;
        self.send(PublishedMessage::audio(timestamp, payload, Some(&tag)))
    }

    /// Sends `onMetaData` with `metadata`; the cache keeps the latest for late joiners.
    pub fn send_metadata(&mut self, timestamp: u32, metadata: AmfObject) -> Result<(), PublishError> {
        let message = DataMessage { name: "onMetaData".into(), values: vec![Amf0Value::EcmaArray(metadata)] };
        self.send(PublishedMessage::metadata(timestamp, message.encode()))
    }

    /// Sends an AMF0 data message as encoded (`onTextData`, `onCuePoint`, or `onMetaData`, which
    /// counts as metadata; an `@setDataFrame` wrapper is taken off as an RTMP publisher's is).
    pub fn send_data(&mut self, timestamp: u32, payload: Bytes) -> Result<(), PublishError> {
        let data = DataMessage::decode(&payload, &AmfLimits::default())
            .map_err(|e| PublishError::InvalidData(e.to_string()))?;
        let payload = if data.name == "@setDataFrame" {
            DataMessage::skip_first_string(&payload)
                .ok_or_else(|| PublishError::InvalidData("@setDataFrame names no handler".into()))?
        } else {
            payload
        };
        let data = data.without_set_data_frame();
        if data.metadata().is_some() {
            self.send(PublishedMessage::metadata(timestamp, payload))
        } else {
            self.send(PublishedMessage::data(timestamp, payload))
        }
    }

    /// Sends a frame read from a [`Subscription`] (re-publish without a copy).
    pub fn send_frame(&mut self, frame: &MediaFrame) -> Result<(), PublishError> {
        match frame.kind {
            FrameKind::Video => self.send_video(frame.timestamp, frame.payload.clone()),
            FrameKind::Audio => self.send_audio(frame.timestamp, frame.payload.clone()),
            FrameKind::Metadata | FrameKind::Data => self.send_data(frame.timestamp, frame.payload.clone()),
        }
    }

    fn send(&mut self, message: PublishedMessage) -> Result<(), PublishError> {
        if self.closed || *self.state.shutdown.borrow() {
            return Err(PublishError::Closed);
        }
        if !self.stream.is_publisher(self.session_id) {
            return Err(PublishError::TakenOver);
        }
        let timestamp = message.timestamp;
        if let Some(last) = self.last_timestamp {
            let step = timestamp.wrapping_sub(last) as i32;
            if step < 0 && step.unsigned_abs() > MAX_REGRESSION_MS {
                return Err(PublishError::TimestampRegression { last, timestamp });
            }
        }
        if self.last_timestamp.is_none_or(|last| timestamp.wrapping_sub(last) as i32 > 0) {
            self.last_timestamp = Some(timestamp);
        }
        self.batch.push(message);
        let sent = self.stream.publish(self.session_id, &mut self.batch);
        self.state.counters.bytes_out.fetch_add(sent, Ordering::Relaxed);
        Ok(())
    }

    /// Whether it still publishes: not closed, not taken over, and the server not stopped.
    pub fn is_publishing(&self) -> bool {
        !self.closed && !*self.state.shutdown.borrow() && self.stream.is_publisher(self.session_id)
    }

    /// Unpublishes: players get UnpublishNotify, as when an RTMP publisher stops. Idempotent.
    pub fn close(&mut self) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        self.stream.release_publisher(self.session_id);
        self.state.registry.remove_if_unused(&self.stream.key);
    }
}

impl Drop for LocalPublisher {
    fn drop(&mut self) {
        self.close();
    }
}
