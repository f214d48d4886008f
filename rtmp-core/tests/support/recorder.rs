//! A handler that records every hook call, with knobs to reject, delay and drop.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtmp_core::proto::amf::{Amf0Value, AmfObject};
use rtmp_core::proto::media::{AudioCodec, VideoCodec};
use rtmp_core::proto::message::{ConnectParams, DataMessage, StreamName};
use rtmp_core::server::{
    AudioFrame, Decision, DisconnectReason, MediaKind, MediaTag, PlayOptions, PlayParams, PublishParams,
    RtmpHandler, ServerStats, SessionContext, StreamKey, VideoFrame,
};

/// One hook call and its data.
#[allow(dead_code, reason = "every field is recorded; some are only read in failure messages")]
#[derive(Debug, Clone)]
pub enum Hook {
    Connection {
        peer: SocketAddr,
    },
    HandshakeComplete {
        session: u64,
        peer: SocketAddr,
    },
    Connect {
        session: u64,
        app: String,
        tc_url: Option<String>,
        token: Option<String>,
        fourccs: Vec<String>,
    },
    FcPublish {
        session: u64,
        name: String,
        token: Option<String>,
    },
    Publish {
        session: u64,
        key: StreamKey,
        token: Option<String>,
        publish_type: String,
    },
    Unpublish {
        session: u64,
        key: StreamKey,
    },
    PublishInterrupted {
        session: u64,
        key: StreamKey,
    },
    PublishResumed {
        session: u64,
        key: StreamKey,
        outage: Duration,
    },
    Play {
        session: u64,
        key: StreamKey,
        token: Option<String>,
    },
    PlayStop {
        session: u64,
        key: StreamKey,
    },
    Pause {
        session: u64,
        key: StreamKey,
    },
    Unpause {
        session: u64,
        key: StreamKey,
    },
    Metadata {
        session: u64,
        key: StreamKey,
        width: Option<f64>,
        height: Option<f64>,
    },
    /// `on_data`: a data message other than metadata.
    Data {
        session: u64,
        key: StreamKey,
        name: String,
    },
    MediaTag {
        session: u64,
        kind: MediaKind,
        timestamp: u32,
        len: usize,
    },
    VideoFrame {
        session: u64,
        timestamp: u32,
        codec: VideoCodec,
        keyframe: bool,
        header: bool,
        end: bool,
        enhanced: bool,
    },
    AudioFrame {
        session: u64,
        timestamp: u32,
        codec: AudioCodec,
        header: bool,
        enhanced: bool,
    },
    Keyframe {
        session: u64,
        timestamp: u32,
    },
    Disconnect {
        session: u64,
        peer: SocketAddr,
        reason: DisconnectReason,
    },
    Stats {
        stats: ServerStats,
    },
}

/// A hook call and when it happened.
#[derive(Debug, Clone)]
pub struct HookEvent {
    pub at: Instant,
    pub hook: Hook,
}

/// What the recording handler decides.
#[derive(Debug, Default, Clone)]
pub struct Knobs {
    /// `on_connect` rejects a connect whose query has `token=<this>`.
    pub reject_connect_token: Option<String>,
    /// `on_publish` rejects unless the stream name's query has `token=<this>`.
    pub publish_token: Option<String>,
    /// `on_play` rejects a play whose query has `token=<this>`.
    pub reject_play_token: Option<String>,
    /// `on_play` accepts with this latency budget for the player (`Some(None)`: none).
    pub play_latency_budget: Option<Option<std::time::Duration>>,
    /// `on_publish` sleeps this long for this stream name before deciding.
    pub slow_publish: Option<(String, Duration)>,
    /// `on_media_tag` returns false for these kinds.
    pub drop_kinds: Vec<MediaKind>,
}

/// The record of hook calls.
#[derive(Debug)]
pub struct Recorder {
    pub knobs: Knobs,
    events: Mutex<Vec<HookEvent>>,
}

impl Recorder {
    pub fn new(knobs: Knobs) -> Self {
        Self { knobs, events: Mutex::new(Vec::new()) }
    }

    fn push(&self, hook: Hook) {
        self.events.lock().unwrap().push(HookEvent { at: Instant::now(), hook });
    }

    /// Every call so far.
    pub fn events(&self) -> Vec<HookEvent> {
        self.events.lock().unwrap().clone()
    }

    /// The hooks (without times) that match `pred`.
    pub fn hooks(&self, pred: impl Fn(&Hook) -> bool) -> Vec<Hook> {
        self.events.lock().unwrap().iter().filter(|e| pred(&e.hook)).map(|e| e.hook.clone()).collect()
    }

    /// How many calls match `pred`.
    pub fn count(&self, pred: impl Fn(&Hook) -> bool) -> usize {
        self.events.lock().unwrap().iter().filter(|e| pred(&e.hook)).count()
    }

    /// The first call matching `pred`, waiting up to `timeout`.
    pub async fn wait_for(&self, timeout: Duration, what: &str, pred: impl Fn(&Hook) -> bool) -> HookEvent {
        super::eventually(timeout, what, || {
            self.events.lock().unwrap().iter().find(|e| pred(&e.hook)).cloned()
        })
        .await
    }

    /// The session id of the `n`th publish request (0-based).
    pub fn publish_session(&self, n: usize) -> u64 {
        let sessions: Vec<u64> = self
            .hooks(|h| matches!(h, Hook::Publish { .. }))
            .into_iter()
            .map(|h| match h {
                Hook::Publish { session, .. } => session,
                _ => unreachable!(),
            })
            .collect();
        *sessions.get(n).unwrap_or_else(|| panic!("no publish #{n}: {sessions:?}"))
    }

    /// The disconnect reason of `session`, once it disconnected.
    pub fn disconnect_reason(&self, session: u64) -> Option<DisconnectReason> {
        self.hooks(|h| matches!(h, Hook::Disconnect { session: s, .. } if *s == session))
            .into_iter()
            .find_map(|h| match h {
                Hook::Disconnect { reason, .. } => Some(reason),
                _ => None,
            })
    }

    /// Waits until `session` disconnected and returns why.
    pub async fn wait_disconnect(&self, session: u64, timeout: Duration) -> DisconnectReason {
        super::eventually(timeout, &format!("disconnect of session {session}"), || {
            self.disconnect_reason(session)
        })
        .await
    }

    /// The session id whose connection came from `peer`.
    pub fn session_of(&self, peer: SocketAddr) -> Option<u64> {
        self.events.lock().unwrap().iter().find_map(|e| match e.hook {
            Hook::HandshakeComplete { session, peer: p } if p == peer => Some(session),
            _ => None,
        })
    }

    /// The timestamp of the latest video frame a publisher sent.
    pub fn last_video_timestamp(&self) -> Option<u32> {
        self.events.lock().unwrap().iter().rev().find_map(|e| match e.hook {
            Hook::VideoFrame { timestamp, header: false, end: false, .. } => Some(timestamp),
            _ => None,
        })
    }
}

fn token(query: &[(String, String)]) -> Option<String> {
    query.iter().find(|(k, _)| k == "token").map(|(_, v)| v.clone())
}

fn number(object: &AmfObject, key: &str) -> Option<f64> {
    object.get(key).and_then(Amf0Value::as_number)
}

/// The handler the test server runs: records, then decides by the [`Knobs`].
pub struct RecordingHandler(pub Arc<Recorder>);

impl RtmpHandler for RecordingHandler {
    async fn on_connection(&self, peer_addr: SocketAddr) -> Decision {
        self.0.push(Hook::Connection { peer: peer_addr });
        Decision::Accept
    }

    async fn on_handshake_complete(&self, ctx: &SessionContext) {
        self.0.push(Hook::HandshakeComplete { session: ctx.session_id, peer: ctx.peer_addr });
    }

    async fn on_connect(&self, ctx: &SessionContext, params: &ConnectParams) -> Decision {
        let token = token(&params.query);
        self.0.push(Hook::Connect {
            session: ctx.session_id,
            app: params.app.clone(),
            tc_url: params.tc_url.clone(),
            token: token.clone(),
            fourccs: params.fourcc_list.clone(),
        });
        match (&self.0.knobs.reject_connect_token, token) {
            (Some(bad), Some(t)) if *bad == t => Decision::reject("bad connect token"),
            _ => Decision::Accept,
        }
    }

    async fn on_fc_publish(&self, ctx: &SessionContext, name: &StreamName) {
        self.0.push(Hook::FcPublish {
            session: ctx.session_id,
            name: name.name.clone(),
            token: token(&name.query),
        });
    }

    async fn on_publish(&self, ctx: &SessionContext, params: &PublishParams) -> Decision {
        let token = token(&params.stream_name.query);
        self.0.push(Hook::Publish {
            session: ctx.session_id,
            key: params.key.clone(),
            token: token.clone(),
            publish_type: params.publish_type.clone(),
        });
        if let Some((name, delay)) = &self.0.knobs.slow_publish
            && *name == params.key.name
        {
            tokio::time::sleep(*delay).await;
        }
        match &self.0.knobs.publish_token {
            Some(good) if token.as_ref() != Some(good) => Decision::reject("bad publish token"),
            _ => Decision::Accept,
        }
    }

    async fn on_unpublish(&self, ctx: &SessionContext, key: &StreamKey) {
        self.0.push(Hook::Unpublish { session: ctx.session_id, key: key.clone() });
    }

    async fn on_publish_interrupted(&self, ctx: &SessionContext, key: &StreamKey) {
        self.0.push(Hook::PublishInterrupted { session: ctx.session_id, key: key.clone() });
    }

    async fn on_publish_resumed(&self, ctx: &SessionContext, key: &StreamKey, outage: Duration) {
        self.0.push(Hook::PublishResumed { session: ctx.session_id, key: key.clone(), outage });
    }

    async fn on_play(&self, ctx: &SessionContext, params: &PlayParams) -> Decision {
        let token = token(&params.stream_name.query);
        self.0.push(Hook::Play { session: ctx.session_id, key: params.key.clone(), token: token.clone() });
        match (&self.0.knobs.reject_play_token, token) {
            (Some(bad), Some(t)) if *bad == t => Decision::reject("bad play token"),
            _ => match self.0.knobs.play_latency_budget {
                Some(budget) => Decision::AcceptWith(PlayOptions::new().latency_budget(budget)),
                None => Decision::Accept,
            },
        }
    }

    async fn on_play_stop(&self, ctx: &SessionContext, key: &StreamKey) {
        self.0.push(Hook::PlayStop { session: ctx.session_id, key: key.clone() });
    }

    async fn on_pause(&self, ctx: &SessionContext, key: &StreamKey) {
        self.0.push(Hook::Pause { session: ctx.session_id, key: key.clone() });
    }

    async fn on_unpause(&self, ctx: &SessionContext, key: &StreamKey) {
        self.0.push(Hook::Unpause { session: ctx.session_id, key: key.clone() });
    }

    fn on_metadata(&self, ctx: &SessionContext, key: &StreamKey, metadata: &AmfObject) {
        self.0.push(Hook::Metadata {
            session: ctx.session_id,
            key: key.clone(),
            width: number(metadata, "width"),
            height: number(metadata, "height"),
        });
    }

    fn on_data(&self, ctx: &SessionContext, key: &StreamKey, data: &DataMessage) {
        self.0.push(Hook::Data { session: ctx.session_id, key: key.clone(), name: data.name.clone() });
    }

    fn on_media_tag(&self, ctx: &SessionContext, tag: &MediaTag<'_>) -> bool {
        self.0.push(Hook::MediaTag {
            session: ctx.session_id,
            kind: tag.kind,
            timestamp: tag.timestamp,
            len: tag.payload.len(),
        });
        !self.0.knobs.drop_kinds.contains(&tag.kind)
    }

    fn on_video_frame(&self, ctx: &SessionContext, frame: &VideoFrame<'_>) {
        self.0.push(Hook::VideoFrame {
            session: ctx.session_id,
            timestamp: frame.timestamp,
            codec: frame.tag.codec(),
            keyframe: frame.tag.is_keyframe(),
            header: frame.tag.is_sequence_header(),
            end: frame.tag.is_sequence_end(),
            enhanced: frame.tag.is_enhanced(),
        });
    }

    fn on_audio_frame(&self, ctx: &SessionContext, frame: &AudioFrame<'_>) {
        self.0.push(Hook::AudioFrame {
            session: ctx.session_id,
            timestamp: frame.timestamp,
            codec: frame.tag.codec(),
            header: frame.tag.is_sequence_header(),
            enhanced: frame.tag.is_enhanced(),
        });
    }

    fn on_keyframe(&self, ctx: &SessionContext, frame: &VideoFrame<'_>) {
        self.0.push(Hook::Keyframe { session: ctx.session_id, timestamp: frame.timestamp });
    }

    async fn on_disconnect(&self, ctx: &SessionContext, reason: &DisconnectReason) {
        self.0.push(Hook::Disconnect {
            session: ctx.session_id,
            peer: ctx.peer_addr,
            reason: reason.clone(),
        });
    }

    fn on_stats(&self, stats: &ServerStats) {
        self.0.push(Hook::Stats { stats: stats.clone() });
    }
}
