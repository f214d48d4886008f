//! Statistics: a snapshot API and the periodic `on_stats` hook.

use std::net::SocketAddr;
use std::time::Duration;

use super::StreamKey;

/// The whole server at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerStats {
    /// Open connections.
    pub connections: usize,
    /// Connections accepted since start.
    pub total_connections: u64,
    /// Connections refused because of `max_connections`.
    pub refused_connections: u64,
    /// Bytes received on all connections since start.
    pub bytes_in: u64,
    /// Bytes sent on all connections since start.
    pub bytes_out: u64,
    /// Every stream with a publisher or players.
    pub streams: Vec<StreamStats>,
}

/// One stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStats {
    /// The stream key.
    pub key: StreamKey,
    /// The publisher's address, when live (`0.0.0.0:0` for a local publisher).
    pub publisher: Option<SocketAddr>,
    /// Who publishes, when live: an RTMP connection or a [`super::LocalPublisher`].
    pub publisher_kind: Option<PeerKind>,
    /// RFC 6381 codec string of the video (`avc1.64001f`, `hvc1.1.6.L93.B0`, …), once known.
    pub video_codec: Option<String>,
    /// Codec string of the audio (`mp4a.40.2`, `opus`, …), once known.
    pub audio_codec: Option<String>,
    /// Video width in pixels, when the decoder configuration tells it.
    pub width: Option<u32>,
    /// Video height in pixels.
    pub height: Option<u32>,
    /// Bytes received from the current publisher.
    pub bytes_in: u64,
    /// Average incoming bitrate of the current publisher, bits per second.
    pub bitrate_in: u64,
    /// Time since the current publisher started.
    pub uptime: Duration,
    /// Times its publisher vanished without unpublishing and its players were held for a
    /// reconnect (counted for the stream's life, across publishers).
    pub interruptions: u64,
    /// Times a republish within the grace continued its players' playback.
    pub resumptions: u64,
    /// The players: RTMP players, local subscribers and forwards' subscribers (see `kind`).
    pub players: Vec<PlayerStats>,
    /// Where the stream is forwarded ([`super::ServerConfig::forward`], the publish decision,
    /// [`super::ServerHandle::add_forward`]).
    pub forwards: Vec<super::ForwardStats>,
    /// Its pull from an upstream, while one runs ([`super::ServerConfig::pull`], `on_locate`).
    pub pull: Option<super::PullStats>,
}

/// One player of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerStats {
    /// The player's session id.
    pub session_id: u64,
    /// The player's address.
    pub peer_addr: SocketAddr,
    /// Media bytes sent to this player.
    pub bytes_out: u64,
    /// Video messages dropped for this player (slow reader).
    pub dropped_video: u64,
    /// Audio messages dropped for this player (its link could not carry audio alone).
    pub dropped_audio: u64,
    /// Gaps in its sound: runs of dropped audio (each run is one gap).
    pub audio_gaps: u64,
    /// How far behind live it is now, as the server can tell: how long its oldest queued
    /// message has waited, plus what its socket still holds at the link's measured rate.
    pub behind_live: Duration,
    /// Messages waiting in its queue now.
    pub queue_depth: usize,
    /// An RTMP player, or a local [`super::Subscription`] (whose address is `0.0.0.0:0`).
    pub kind: PeerKind,
}

/// Who is at the other end of a publish or a play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerKind {
    /// An RTMP or RTMPS connection.
    Rtmp,
    /// In-process: a [`super::LocalPublisher`] or a [`super::Subscription`].
    Local,
    /// A forward of the stream to another server (a subscriber; see [`StreamStats::forwards`]).
    Forward,
    /// A pull of the stream from an upstream server (its publisher; see [`StreamStats::pull`]).
    Pull,
}

impl PeerKind {
    /// `"rtmp"` or `"local"`, as the skins name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rtmp => "rtmp",
            Self::Local => "local",
            Self::Forward => "forward",
            Self::Pull => "pull",
        }
    }
}

/// A live stream, as [`super::ServerHandle::streams`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The stream key.
    pub key: StreamKey,
    /// Who publishes it.
    pub publisher: PeerKind,
    /// Codec string of the video, once its sequence header arrived.
    pub video_codec: Option<String>,
    /// Codec string of the audio, once its sequence header arrived.
    pub audio_codec: Option<String>,
    /// RTMP players.
    pub players: usize,
    /// Local subscribers.
    pub subscribers: usize,
    /// Destinations it is forwarded to.
    pub forwards: usize,
}
