//! `rtmp_stats`: a statistics snapshot.

use std::ffi::c_char;

use rtmp_core::server::{ForwardStats, PullStats, RelayState, ServerStats};

use crate::error::{fail, rtmp_result};
use crate::ffi::{Castable, OwnershipBox, free_box};
use crate::local::rtmp_peer_kind;
use crate::slice::rtmp_str;

/// A statistics snapshot of a server: from `rtmp_server_stats` (owned: free it with
/// `rtmp_stats_free`) or lent to the `on_stats` callback (valid for the call). Immutable; the
/// views it gives are valid while it lives.
pub struct rtmp_stats {
    _private: [u8; 0],
}

pub(crate) struct CStats {
    stats: ServerStats,
    publishers: Vec<String>,
    players: Vec<Vec<String>>,
}

impl CStats {
    pub(crate) fn new(stats: ServerStats) -> Self {
        let publishers =
            stats.streams.iter().map(|s| s.publisher.map(|a| a.to_string()).unwrap_or_default()).collect();
        let players = stats
            .streams
            .iter()
            .map(|s| s.players.iter().map(|p| p.peer_addr.to_string()).collect())
            .collect();
        Self { stats, publishers, players }
    }
}

impl Castable for rtmp_stats {
    type RustType = CStats;
    type Ownership = OwnershipBox;
}

/// Server-wide counters.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct rtmp_server_totals {
    /// Open connections.
    pub connections: usize,
    /// Connections accepted since start.
    pub total_connections: u64,
    /// Connections refused because of `max_connections`.
    pub refused_connections: u64,
    /// Bytes received on all connections.
    pub bytes_in: u64,
    /// Bytes sent on all connections.
    pub bytes_out: u64,
    /// Streams with a publisher or players (index range for `rtmp_stats_stream`).
    pub streams: usize,
}

/// One stream. The strings are views valid while the `rtmp_stats` lives.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtmp_stream_stats<'a> {
    /// The app (`live`).
    pub app: rtmp_str<'a>,
    /// The stream name (`cam`).
    pub name: rtmp_str<'a>,
    /// The publisher's address; empty when nobody publishes.
    pub publisher_addr: rtmp_str<'a>,
    /// RFC 6381 codec string of the video (`avc1.64001f`); empty until known.
    pub video_codec: rtmp_str<'a>,
    /// Codec string of the audio (`mp4a.40.2`); empty until known.
    pub audio_codec: rtmp_str<'a>,
    /// Video width in pixels, 0 until known.
    pub width: u32,
    /// Video height in pixels, 0 until known.
    pub height: u32,
    /// Bytes received from the current publisher.
    pub bytes_in: u64,
    /// Average incoming bitrate of the current publisher, bits per second.
    pub bitrate_in: u64,
    /// Milliseconds since the current publisher started.
    pub uptime_ms: u64,
    /// Number of players (index range for `rtmp_stats_player`).
    pub players: usize,
}

/// One player of a stream. `peer_addr` is valid while the `rtmp_stats` lives.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtmp_player_stats<'a> {
    /// The player's session id.
    pub session_id: u64,
    /// The player's address.
    pub peer_addr: rtmp_str<'a>,
    /// Media bytes sent to it.
    pub bytes_out: u64,
    /// Video messages dropped for it (slow reader).
    pub dropped_video: u64,
    /// Audio messages dropped for it.
    pub dropped_audio: u64,
    /// Messages waiting in its queue now.
    pub queue_depth: usize,
}

/// Where a forward or a pull is. The numbers are fixed.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtmp_relay_state {
    /// Connecting to the other server (a pull: or waiting for its first media).
    Connecting = 1,
    /// Publishing to it (a forward), or receiving what it sends (a pull).
    Live = 2,
    /// Waiting to try again after a failure.
    Backoff = 3,
}

impl From<RelayState> for rtmp_relay_state {
    fn from(state: RelayState) -> Self {
        match state {
            RelayState::Connecting => Self::Connecting,
            RelayState::Live => Self::Live,
            RelayState::Backoff => Self::Backoff,
        }
    }
}

/// One forward of a stream to a destination: from `rtmp_stats_forward` (views valid while the
/// `rtmp_stats` lives) or lent to `on_forward` (valid for the call).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtmp_forward_stats<'a> {
    /// The destination URL.
    pub url: rtmp_str<'a>,
    /// Where it is (`rtmp_relay_state_name` names it).
    pub state: rtmp_relay_state,
    /// Media payload bytes sent to the destination, over all its connections.
    pub bytes_out: u64,
    /// Connections lost or refused so far.
    pub reconnects: u64,
    /// Why the last connection failed or ended; empty when none did.
    pub last_error: rtmp_str<'a>,
    /// Video frames its queue dropped because the destination did not keep up.
    pub dropped_video: u64,
}

impl<'a> rtmp_forward_stats<'a> {
    pub(crate) fn new(forward: &'a ForwardStats) -> Self {
        Self {
            url: rtmp_str::borrow(&forward.url),
            state: forward.state.into(),
            bytes_out: forward.bytes_out,
            reconnects: forward.reconnects,
            last_error: rtmp_str::borrow(forward.last_error.as_deref().unwrap_or("")),
            dropped_video: forward.dropped_video,
        }
    }
}

/// The pull of a stream from an upstream: from `rtmp_stats_stream_pull` (views valid while the
/// `rtmp_stats` lives) or lent to `on_pull` (valid for the call).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtmp_pull_stats<'a> {
    /// The upstream URL it uses or tries now.
    pub url: rtmp_str<'a>,
    /// Where it is (`rtmp_relay_state_name` names it).
    pub state: rtmp_relay_state,
    /// Media payload bytes received from upstreams.
    pub bytes_in: u64,
    /// Upstream connections that failed or ended so far.
    pub reconnects: u64,
    /// Why the last one failed or ended; empty when none did.
    pub last_error: rtmp_str<'a>,
}

impl<'a> rtmp_pull_stats<'a> {
    pub(crate) fn new(pull: &'a PullStats) -> Self {
        Self {
            url: rtmp_str::borrow(&pull.url),
            state: pull.state.into(),
            bytes_in: pull.bytes_in,
            reconnects: pull.reconnects,
            last_error: rtmp_str::borrow(pull.last_error.as_deref().unwrap_or("")),
        }
    }
}

/// The name of a relay state, static and NUL-terminated: `"connecting"`, `"live"`, `"backoff"`
/// (the names the Rust, Python and Node APIs use), `"unknown"` for other numbers. Never free it.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_relay_state_name(state: u32) -> *const c_char {
    let text: &'static str = match state {
        1 => "connecting\0",
        2 => "live\0",
        3 => "backoff\0",
        _ => "unknown\0",
    };
    text.as_ptr().cast()
}

/// Fills `*totals_out` with the server-wide counters.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_totals(
    stats: *const rtmp_stats,
    totals_out: *mut rtmp_server_totals,
) -> rtmp_result {
    ffi_panic_boundary! {
        let stats = &try_ref!(stats).stats;
        let out = try_out!(totals_out);
        *out = rtmp_server_totals {
            connections: stats.connections,
            total_connections: stats.total_connections,
            refused_connections: stats.refused_connections,
            bytes_in: stats.bytes_in,
            bytes_out: stats.bytes_out,
            streams: stats.streams.len(),
        };
        rtmp_result::Ok
    }
}

/// Fills `*stream_out` with stream number `index` (< `totals.streams`); `RTMP_RESULT_NOT_FOUND`
/// past the end.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_stream(
    stats: *const rtmp_stats,
    index: usize,
    stream_out: *mut rtmp_stream_stats<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let this = try_ref!(stats);
        let out = try_out!(stream_out);
        let Some(stream) = this.stats.streams.get(index) else {
            return fail(rtmp_result::NotFound, format!("no stream {index}"));
        };
        *out = rtmp_stream_stats {
            app: rtmp_str::borrow(&stream.key.app),
            name: rtmp_str::borrow(&stream.key.name),
            publisher_addr: rtmp_str::borrow(&this.publishers[index]),
            video_codec: rtmp_str::borrow(stream.video_codec.as_deref().unwrap_or("")),
            audio_codec: rtmp_str::borrow(stream.audio_codec.as_deref().unwrap_or("")),
            width: stream.width.unwrap_or(0),
            height: stream.height.unwrap_or(0),
            bytes_in: stream.bytes_in,
            bitrate_in: stream.bitrate_in,
            uptime_ms: u64::try_from(stream.uptime.as_millis()).unwrap_or(u64::MAX),
            players: stream.players.len(),
        };
        rtmp_result::Ok
    }
}

/// The publisher reconnect counts of stream number `index`: times its publisher vanished and its
/// players were held (`*interruptions_out`), and times a republish within the grace went on
/// (`*resumptions_out`); either pointer may be NULL. `RTMP_RESULT_NOT_FOUND` past the end. Not
/// in `rtmp_stream_stats`, whose size applications built against an older header fixed.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_stream_reconnects(
    stats: *const rtmp_stats,
    index: usize,
    interruptions_out: *mut u64,
    resumptions_out: *mut u64,
) -> rtmp_result {
    ffi_panic_boundary! {
        let Some(stream) = try_ref!(stats).stats.streams.get(index) else {
            return fail(rtmp_result::NotFound, format!("no stream {index}"));
        };
        // SAFETY: NULL or writable (C caller's promise).
        unsafe {
            if let Some(out) = interruptions_out.as_mut() {
                *out = stream.interruptions;
            }
            if let Some(out) = resumptions_out.as_mut() {
                *out = stream.resumptions;
            }
        }
        rtmp_result::Ok
    }
}

/// Fills `*player_out` with player `player` of stream `stream`; `RTMP_RESULT_NOT_FOUND` past the
/// end of either.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_player(
    stats: *const rtmp_stats,
    stream: usize,
    player: usize,
    player_out: *mut rtmp_player_stats<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let this = try_ref!(stats);
        let out = try_out!(player_out);
        let Some(p) = this.stats.streams.get(stream).and_then(|s| s.players.get(player)) else {
            return fail(rtmp_result::NotFound, format!("no player {player} of stream {stream}"));
        };
        *out = rtmp_player_stats {
            session_id: p.session_id,
            peer_addr: rtmp_str::borrow(&this.players[stream][player]),
            bytes_out: p.bytes_out,
            dropped_video: p.dropped_video,
            dropped_audio: p.dropped_audio,
            queue_depth: p.queue_depth,
        };
        rtmp_result::Ok
    }
}

/// How player `player` of stream `stream` fares against its latency budget: the gaps in its
/// sound (`*audio_gaps_out`: runs of audio dropped because its link could not carry audio
/// alone) and how far behind live it is now (`*behind_live_ms_out`); either pointer may be NULL.
/// `RTMP_RESULT_NOT_FOUND` past the end. Not in `rtmp_player_stats`, whose size applications
/// built against an older header fixed.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_player_latency(
    stats: *const rtmp_stats,
    stream: usize,
    player: usize,
    audio_gaps_out: *mut u64,
    behind_live_ms_out: *mut u64,
) -> rtmp_result {
    ffi_panic_boundary! {
        let Some(p) = try_ref!(stats).stats.streams.get(stream).and_then(|s| s.players.get(player)) else {
            return fail(rtmp_result::NotFound, format!("no player {player} of stream {stream}"));
        };
        // SAFETY: NULL or writable (C caller's promise).
        unsafe {
            if let Some(out) = audio_gaps_out.as_mut() {
                *out = p.audio_gaps;
            }
            if let Some(out) = behind_live_ms_out.as_mut() {
                *out = u64::try_from(p.behind_live.as_millis()).unwrap_or(u64::MAX);
            }
        }
        rtmp_result::Ok
    }
}

/// Who publishes stream number `index`: `RTMP_PEER_KIND_RTMP`, `RTMP_PEER_KIND_LOCAL` (an
/// `rtmp_local_publisher`, whose `publisher_addr` is `0.0.0.0:0`), `RTMP_PEER_KIND_PULL` (a pull
/// from an upstream, `rtmp_stats_stream_pull`) or `RTMP_PEER_KIND_NONE` when nobody does, into `*kind_out`. `RTMP_RESULT_NOT_FOUND` past the end. Not in
/// `rtmp_stream_stats`, whose size applications built against an older header fixed.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_stream_publisher_kind(
    stats: *const rtmp_stats,
    index: usize,
    kind_out: *mut rtmp_peer_kind,
) -> rtmp_result {
    ffi_panic_boundary! {
        let stats = try_ref!(stats);
        let out = try_out!(kind_out);
        let Some(stream) = stats.stats.streams.get(index) else {
            return fail(rtmp_result::NotFound, format!("no stream {index}"));
        };
        *out = stream.publisher_kind.into();
        rtmp_result::Ok
    }
}

/// What player `player` of stream `stream` is: `RTMP_PEER_KIND_RTMP` (a connection),
/// `RTMP_PEER_KIND_LOCAL` (an `rtmp_subscription`, whose `peer_addr` is `0.0.0.0:0`) or
/// `RTMP_PEER_KIND_FORWARD` (a forward to another server, `rtmp_stats_forward`), into
/// `*kind_out`. `RTMP_RESULT_NOT_FOUND` past the end of either. Not in `rtmp_player_stats`,
/// whose size applications built against an older header fixed.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_player_kind(
    stats: *const rtmp_stats,
    stream: usize,
    player: usize,
    kind_out: *mut rtmp_peer_kind,
) -> rtmp_result {
    ffi_panic_boundary! {
        let stats = try_ref!(stats);
        let out = try_out!(kind_out);
        let Some(p) = stats.stats.streams.get(stream).and_then(|s| s.players.get(player)) else {
            return fail(rtmp_result::NotFound, format!("no player {player} of stream {stream}"));
        };
        *out = p.kind.into();
        rtmp_result::Ok
    }
}

/// The number of forwards of stream number `index` (destinations from the `forward` rules, its
/// publish decision and `rtmp_server_add_forward`; index range for `rtmp_stats_forward`), into
/// `*count_out`. `RTMP_RESULT_NOT_FOUND` past the end. Not in `rtmp_stream_stats`, whose size
/// applications built against an older header fixed.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_stream_forwards(
    stats: *const rtmp_stats,
    index: usize,
    count_out: *mut usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        let stats = try_ref!(stats);
        let out = try_out!(count_out);
        let Some(stream) = stats.stats.streams.get(index) else {
            return fail(rtmp_result::NotFound, format!("no stream {index}"));
        };
        *out = stream.forwards.len();
        rtmp_result::Ok
    }
}

/// Fills `*forward_out` with forward `forward` of stream `stream` (its views are valid while
/// the `rtmp_stats` lives); `RTMP_RESULT_NOT_FOUND` past the end of either.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_forward(
    stats: *const rtmp_stats,
    stream: usize,
    forward: usize,
    forward_out: *mut rtmp_forward_stats<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let stats = try_ref!(stats);
        let out = try_out!(forward_out);
        let Some(f) = stats.stats.streams.get(stream).and_then(|s| s.forwards.get(forward)) else {
            return fail(rtmp_result::NotFound, format!("no forward {forward} of stream {stream}"));
        };
        *out = rtmp_forward_stats::new(f);
        rtmp_result::Ok
    }
}

/// Fills `*pull_out` with the pull of stream number `index` (the `pull` rules or `on_locate`;
/// its publisher kind is then `RTMP_PEER_KIND_PULL`); its views are valid while the
/// `rtmp_stats` lives. `RTMP_RESULT_NOT_FOUND` past the end, or when no pull runs for it.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_stream_pull(
    stats: *const rtmp_stats,
    index: usize,
    pull_out: *mut rtmp_pull_stats<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let stats = try_ref!(stats);
        let out = try_out!(pull_out);
        let Some(stream) = stats.stats.streams.get(index) else {
            return fail(rtmp_result::NotFound, format!("no stream {index}"));
        };
        let Some(pull) = &stream.pull else {
            return fail(rtmp_result::NotFound, format!("stream {index} is not pulled"));
        };
        *out = rtmp_pull_stats::new(pull);
        rtmp_result::Ok
    }
}

/// Frees a snapshot from `rtmp_server_stats`. NULL is ignored. Never free the one lent to
/// `on_stats`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stats_free(stats: *mut rtmp_stats) {
    ffi_panic_boundary! {
        free_box(stats);
    }
}
