//! A server's streams in-process: `rtmp_subscription` (read a stream as a local player),
//! `rtmp_local_publisher` (publish a stream from the application) and `rtmp_stream_list` (what
//! is live, and who publishes it).

use std::ffi::c_char;
use std::time::Duration;

use bytes::Bytes;
use rtmp_core::server::{PeerKind, Start, StreamInfo, SubscribeOptions};
use rtmp_embed::{EmbeddedLocalPublisher, EmbeddedSubscription, FrameKind, LocalItem, LocalReceived};

use crate::error::{embed_error, fail, rtmp_result};
use crate::ffi::{Castable, OwnershipBox, free_box, to_box_ptr};
use crate::frame::{owned_frame_ptr, rtmp_frame};
use crate::server::{CServer, rtmp_server};
use crate::slice::rtmp_str;

/// Who is at the other end of a publish or a play. The numbers are fixed.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtmp_peer_kind {
    /// Nobody (a stream that nobody publishes now).
    None = 0,
    /// An RTMP or RTMPS connection.
    Rtmp = 1,
    /// In-process: an `rtmp_local_publisher` or an `rtmp_subscription`.
    Local = 2,
    /// A forward of the stream to another server (a player of it).
    Forward = 3,
    /// A pull of the stream from an upstream server (its publisher).
    Pull = 4,
}

impl From<PeerKind> for rtmp_peer_kind {
    fn from(kind: PeerKind) -> Self {
        match kind {
            PeerKind::Rtmp => Self::Rtmp,
            PeerKind::Local => Self::Local,
            PeerKind::Forward => Self::Forward,
            PeerKind::Pull => Self::Pull,
        }
    }
}

impl From<Option<PeerKind>> for rtmp_peer_kind {
    fn from(kind: Option<PeerKind>) -> Self {
        kind.map_or(Self::None, Self::from)
    }
}

// ---- subscribe options ----

/// Where a subscription starts (`rtmp_subscribe_options_set_start`). The numbers are fixed.
pub type rtmp_subscribe_start = u32;
/// Like a network player that joins late: metadata, sequence headers, the cached GOP (from its
/// keyframe), then live. The default.
pub const RTMP_SUBSCRIBE_START_GOP: rtmp_subscribe_start = 0;
/// Metadata and sequence headers, then live from the next keyframe.
pub const RTMP_SUBSCRIBE_START_KEYFRAME: rtmp_subscribe_start = 1;
/// Metadata and sequence headers, then whatever is published next, inter frames included.
pub const RTMP_SUBSCRIBE_START_LIVE: rtmp_subscribe_start = 2;

/// The longest latency budget a subscription takes, in milliseconds (one day).
const MAX_BUDGET_MS: i64 = 86_400_000;

/// How to subscribe: where to start, how long to wait for the stream to be published, and the
/// latency budget. Build one, set what differs from the defaults, pass it to
/// `rtmp_server_subscribe` (which copies it), free it with `rtmp_subscribe_options_free`. NULL
/// options mean every default. One thread at a time.
pub struct rtmp_subscribe_options {
    _private: [u8; 0],
}

impl Castable for rtmp_subscribe_options {
    type RustType = SubscribeOptions;
    type Ownership = OwnershipBox;
}

/// New options with every default: start `RTMP_SUBSCRIBE_START_GOP`, no wait (a stream that
/// is not published fails at once), the server's latency budget. Free them with
/// `rtmp_subscribe_options_free`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_subscribe_options_new(options_out: *mut *mut rtmp_subscribe_options) -> rtmp_result {
    ffi_panic_boundary! {
        let out = try_out!(options_out);
        *out = to_box_ptr(SubscribeOptions::default());
        rtmp_result::Ok
    }
}

/// Frees options. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_subscribe_options_free(options: *mut rtmp_subscribe_options) {
    ffi_panic_boundary! {
        free_box(options);
    }
}

/// Where the subscription starts: `RTMP_SUBSCRIBE_START_GOP` (the default),
/// `RTMP_SUBSCRIBE_START_KEYFRAME` or `RTMP_SUBSCRIBE_START_LIVE`; another number is
/// `RTMP_RESULT_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_subscribe_options_set_start(
    options: *mut rtmp_subscribe_options,
    start: rtmp_subscribe_start,
) -> rtmp_result {
    ffi_panic_boundary! {
        let options = try_mut!(options);
        options.start = match start {
            RTMP_SUBSCRIBE_START_GOP => Start::Gop,
            RTMP_SUBSCRIBE_START_KEYFRAME => Start::Keyframe,
            RTMP_SUBSCRIBE_START_LIVE => Start::Live,
            other => return fail(rtmp_result::InvalidArgument, format!("unknown subscribe start {other}")),
        };
        rtmp_result::Ok
    }
}

/// How long `rtmp_server_subscribe` waits for a stream that is not published yet, in
/// milliseconds: 0 (the default) fails at once with `RTMP_RESULT_NOT_FOUND`; a positive value
/// waits up to that long, then fails alike; a negative value waits until the stream is
/// published or the server stops.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_subscribe_options_set_wait_ms(
    options: *mut rtmp_subscribe_options,
    ms: i64,
) -> rtmp_result {
    ffi_panic_boundary! {
        let options = try_mut!(options);
        options.wait = match ms {
            0 => None,
            ms if ms < 0 => Some(Duration::MAX),
            ms => Some(Duration::from_millis(ms.unsigned_abs())),
        };
        rtmp_result::Ok
    }
}

/// How far behind live the reader may fall before its video is dropped (resuming at a
/// keyframe), in milliseconds, from 1 to 86400000; negative (the default) takes the server's
/// `player_latency_budget`. Audio is bounded only by the server's `player_queue_length`. 0 is
/// `RTMP_RESULT_INVALID_ARGUMENT`: a subscription has no "no budget" setting (a server whose
/// `player_latency_budget` is 0 gives its subscriptions none).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_subscribe_options_set_latency_budget_ms(
    options: *mut rtmp_subscribe_options,
    ms: i64,
) -> rtmp_result {
    ffi_panic_boundary! {
        let options = try_mut!(options);
        options.latency_budget = match ms {
            ms if ms < 0 => None,
            1..=MAX_BUDGET_MS => Some(Duration::from_millis(ms.unsigned_abs())),
            ms => {
                return fail(
                    rtmp_result::InvalidArgument,
                    format!(
                        "latency budget must be from 1 to {MAX_BUDGET_MS} ms, or negative for the \
                         server's, not {ms}"
                    ),
                );
            }
        };
        rtmp_result::Ok
    }
}

// ---- subscriptions ----

/// A stream of a server read in-process, as a player of kind local: the frames the publisher
/// sends (shared, not copied) and the stream's events, at the reader's pace. A reader that
/// falls behind loses video (resuming at a keyframe; audio is kept within the server's
/// `player_queue_length`) and never slows the publisher or other players; the drops come as
/// `RTMP_SUBSCRIPTION_ITEM_KIND_DROPPED` items and count in the stream's statistics.
///
/// Threads: `rtmp_subscription_next` from any thread (readers on several threads take turns,
/// each item goes to one of them); `rtmp_subscription_close` from any thread, also while another
/// thread waits in `rtmp_subscription_next`; `rtmp_subscription_free` last. A subscription may
/// outlive its server (it then reports `RTMP_RESULT_CLOSED`).
///
/// There is no callback form: the server's media callbacks (`on_video_frame`, …) already push
/// every frame on runtime threads, where nothing may block; a subscription is pulled on the
/// application's threads, at their pace, which is what makes its drop policy possible.
pub struct rtmp_subscription {
    _private: [u8; 0],
}

impl Castable for rtmp_subscription {
    type RustType = EmbeddedSubscription;
    type Ownership = OwnershipBox;
}

/// What `rtmp_subscription_next` got. The numbers are fixed; where a kind means what a
/// `rtmp_player_event_kind` means, it has the same number (1 to 6).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtmp_subscription_item_kind {
    /// An audio frame (`frame` is set).
    Audio = 1,
    /// A video frame (`frame` is set).
    Video = 2,
    /// A data message other than metadata (`frame` is set).
    Data = 3,
    /// `onMetaData` (`frame` is set; read it with `rtmp_frame_metadata_*`).
    Metadata = 4,
    /// A publisher started: after an `RTMP_SUBSCRIPTION_ITEM_KIND_UNPUBLISHED`, or taking the
    /// stream over from the previous one (then without an unpublish); metadata and sequence
    /// headers follow, video from a keyframe. Not sent for the publisher that was there, or was
    /// waited for, when the subscription began.
    Published = 5,
    /// The publisher stopped (network players got `UnpublishNotify`); more may follow on
    /// republish.
    Unpublished = 6,
    /// Frames were dropped since the previous item because the reader fell behind
    /// (`dropped_video`, `dropped_audio`).
    Dropped = 9,
}

/// One item of a subscription, filled by `rtmp_subscription_next`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtmp_subscription_item {
    /// What arrived.
    pub kind: rtmp_subscription_item_kind,
    /// For audio, video, data and metadata: a frame the caller owns (release it with
    /// `rtmp_frame_release`; its stream app and name are set); NULL otherwise.
    pub frame: *const rtmp_frame,
    /// For `RTMP_SUBSCRIPTION_ITEM_KIND_DROPPED`: video frames dropped (and skipped after them
    /// until a keyframe); 0 otherwise.
    pub dropped_video: u64,
    /// For `RTMP_SUBSCRIPTION_ITEM_KIND_DROPPED`: audio and data messages dropped (the queue was
    /// full); 0 otherwise.
    pub dropped_audio: u64,
}

fn server_stopped(server: &CServer) -> Option<rtmp_result> {
    (*server.stopped.borrow()).then(|| fail(rtmp_result::InvalidState, "the server is stopped"))
}

/// Subscribes to stream `key` (`"app/name"`, e.g. `"live/cam"`) of `server`. `options` may be
/// NULL for the defaults (start at the GOP, no wait, the server's latency budget); they are
/// copied. With a wait it blocks until the stream is published, the wait ends or the server
/// stops. On success `*subscription_out` is a subscription the caller owns: free it with
/// `rtmp_subscription_free`.
///
/// Errors: `RTMP_RESULT_INVALID_ARGUMENT` (a key that is not `"app/name"`),
/// `RTMP_RESULT_NOT_FOUND` (not published, within the wait when there is one),
/// `RTMP_RESULT_REJECTED` (the stream has `max_players_per_stream` players already),
/// `RTMP_RESULT_CLOSED` (the server stopped during the wait), `RTMP_RESULT_INVALID_STATE` (the
/// server was stopped before). Any thread except inside a media callback
/// (`RTMP_RESULT_IN_CALLBACK`); connection callbacks may call it.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_subscribe(
    server: *const rtmp_server,
    key: *const c_char,
    options: *const rtmp_subscribe_options,
    subscription_out: *mut *mut rtmp_subscription,
) -> rtmp_result {
    ffi_panic_boundary! {
        let server = try_ref!(server);
        let key = try_cstr!(key);
        let out = try_out!(subscription_out);
        let options = crate::ffi::try_ref(options).cloned().unwrap_or_default();
        if let Some(result) = server_stopped(server) {
            return result;
        }
        let mut stopped = server.stopped.subscribe();
        let embedded = &server.server;
        let subscribe = async move {
            let stop = async {
                loop {
                    if *stopped.borrow_and_update() {
                        return;
                    }
                    if stopped.changed().await.is_err() {
                        return;
                    }
                }
            };
            tokio::select! {
                subscribed = EmbeddedSubscription::subscribe_async(embedded, key, options) => Some(subscribed),
                () = stop => None,
            }
        };
        match embedded.runtime().block_on("subscribing", subscribe) {
            Ok(Some(Ok(subscription))) => {
                *out = to_box_ptr(subscription);
                rtmp_result::Ok
            }
            Ok(Some(Err(e))) | Err(e) => embed_error(e),
            Ok(None) => fail(rtmp_result::Closed, "the server stopped while the subscribe waited"),
        }
    }
}

/// Waits up to `timeout_ms` milliseconds (negative: until an item comes or the subscription
/// closes; 0: only takes an item already queued) for the next item and fills `*item_out`.
/// Returns `RTMP_RESULT_TIMEOUT` when nothing came in time, `RTMP_RESULT_CLOSED` once the
/// subscription was closed (`rtmp_subscription_close`, from any thread, wakes a waiting call)
/// or the server stopped (items queued before a stop are still returned first); later calls
/// return it again. `*item_out` is written only on `RTMP_RESULT_OK`; its frame, if any, belongs
/// to the caller.
///
/// Any thread. Inside a media callback a call that would wait returns `RTMP_RESULT_IN_CALLBACK`:
/// poll there with `timeout_ms` 0.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_subscription_next(
    subscription: *mut rtmp_subscription,
    timeout_ms: i64,
    item_out: *mut rtmp_subscription_item,
) -> rtmp_result {
    ffi_panic_boundary! {
        let subscription = try_ref!(subscription);
        let out = try_out!(item_out);
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let item = match subscription.next(timeout) {
            Ok(LocalReceived::Item(item)) => item,
            Ok(LocalReceived::Timeout) => {
                return fail(rtmp_result::Timeout, "no subscription item within the timeout");
            }
            Ok(LocalReceived::Closed) => {
                return fail(rtmp_result::Closed, "the subscription is closed, or its server stopped");
            }
            Err(e) => return embed_error(e),
        };
        *out = match item {
            LocalItem::Frame(frame) => {
                let kind = match frame.kind() {
                    FrameKind::Audio => rtmp_subscription_item_kind::Audio,
                    FrameKind::Video => rtmp_subscription_item_kind::Video,
                    FrameKind::Data => rtmp_subscription_item_kind::Data,
                    FrameKind::Metadata => rtmp_subscription_item_kind::Metadata,
                };
                rtmp_subscription_item { kind, frame: owned_frame_ptr(frame), dropped_video: 0, dropped_audio: 0 }
            }
            LocalItem::Published => event(rtmp_subscription_item_kind::Published, 0, 0),
            LocalItem::Unpublished => event(rtmp_subscription_item_kind::Unpublished, 0, 0),
            LocalItem::Dropped { video, audio } => event(rtmp_subscription_item_kind::Dropped, video, audio),
        };
        rtmp_result::Ok
    }
}

fn event(kind: rtmp_subscription_item_kind, video: u64, audio: u64) -> rtmp_subscription_item {
    rtmp_subscription_item { kind, frame: std::ptr::null(), dropped_video: video, dropped_audio: audio }
}

/// Leaves the stream: what was queued is dropped, a call waiting in `rtmp_subscription_next`
/// returns `RTMP_RESULT_CLOSED`, and so do later ones. Idempotent. Any thread (media callbacks
/// included: it never waits).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_subscription_close(subscription: *mut rtmp_subscription) -> rtmp_result {
    ffi_panic_boundary! {
        try_ref!(subscription).close();
        rtmp_result::Ok
    }
}

/// Closes the subscription if needed and frees it. Frames it returned stay valid until
/// released. NULL is ignored. The last call on a subscription: no other thread may be using it.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_subscription_free(subscription: *mut rtmp_subscription) {
    ffi_panic_boundary! {
        free_box(subscription);
    }
}

// ---- local publishers ----

/// A stream of a server published in-process. Network players, late joiners (the GOP cache)
/// and subscriptions see it as they see an RTMP publisher; a conflict with another publisher
/// follows the server's `publisher_policy`, both ways (with `RTMP_PUBLISHER_POLICY_TAKE_OVER` a
/// later RTMP publisher takes the stream over, and the next send returns `RTMP_RESULT_CLOSED`).
/// Sends are validated (a bad payload never reaches the players) and never wait: a slow player
/// queues or drops as it would for any publisher.
///
/// Threads: every function from any thread, media callbacks included; sends from several
/// threads are serialized. `rtmp_local_publisher_free` last. A publisher may outlive its server
/// (its sends then return `RTMP_RESULT_CLOSED`).
pub struct rtmp_local_publisher {
    _private: [u8; 0],
}

pub(crate) struct CLocalPublisher {
    publisher: EmbeddedLocalPublisher,
    /// The server's stop flag: a stopped server takes no more media.
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl Castable for rtmp_local_publisher {
    type RustType = CLocalPublisher;
    type Ownership = OwnershipBox;
}

/// Publishes stream `key` (`"app/name"`) of `server` from the application. On success
/// `*publisher_out` is a publisher the caller owns: free it with `rtmp_local_publisher_free`.
/// Errors: `RTMP_RESULT_INVALID_ARGUMENT` (a key that is not `"app/name"`),
/// `RTMP_RESULT_REJECTED` (the stream is published already and the publisher policy keeps its
/// publisher; with `RTMP_PUBLISHER_POLICY_TAKE_OVER` the current publisher is disconnected
/// instead), `RTMP_RESULT_INVALID_STATE` (the server is stopped). Never waits; any thread,
/// media callbacks included.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_publish(
    server: *const rtmp_server,
    key: *const c_char,
    publisher_out: *mut *mut rtmp_local_publisher,
) -> rtmp_result {
    ffi_panic_boundary! {
        let server = try_ref!(server);
        let key = try_cstr!(key);
        let out = try_out!(publisher_out);
        if let Some(result) = server_stopped(server) {
            return result;
        }
        match EmbeddedLocalPublisher::publish(&server.server, key) {
            Ok(publisher) => {
                *out = to_box_ptr(CLocalPublisher { publisher, stopped: server.stopped.subscribe() });
                rtmp_result::Ok
            }
            Err(e) => embed_error(e),
        }
    }
}

impl CLocalPublisher {
    fn send(
        &self,
        send: impl FnOnce(&EmbeddedLocalPublisher) -> Result<(), rtmp_embed::EmbedError>,
    ) -> rtmp_result {
        if *self.stopped.borrow() {
            self.publisher.close();
            return fail(rtmp_result::Closed, "the server is stopped");
        }
        match send(&self.publisher) {
            Ok(()) => rtmp_result::Ok,
            Err(e) => embed_error(e),
        }
    }
}

/// Sends an FLV video tag body (legacy or Enhanced RTMP, any codec), copied, at `timestamp` ms.
/// `RTMP_RESULT_INVALID_ARGUMENT` when it is not a valid video tag body or the timestamp goes
/// back more than a second; `RTMP_RESULT_CLOSED` once closed, taken over or the server stopped
/// (`rtmp_last_error` tells which).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_local_publisher_send_video(
    publisher: *mut rtmp_local_publisher,
    timestamp: u32,
    data: *const u8,
    len: usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        let this = try_ref!(publisher);
        let data = try_slice!(data, len);
        this.send(|p| p.send_video(timestamp, Bytes::copy_from_slice(data)))
    }
}

/// Sends an FLV audio tag body, copied, at `timestamp` ms. Results as for
/// `rtmp_local_publisher_send_video`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_local_publisher_send_audio(
    publisher: *mut rtmp_local_publisher,
    timestamp: u32,
    data: *const u8,
    len: usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        let this = try_ref!(publisher);
        let data = try_slice!(data, len);
        this.send(|p| p.send_audio(timestamp, Bytes::copy_from_slice(data)))
    }
}

/// Sends an AMF0 data message (an FLV script tag body), copied, at `timestamp` ms. This is also
/// how metadata goes out: an `onMetaData` message (with or without `@setDataFrame`) becomes the
/// stream's metadata, kept for late joiners. `RTMP_RESULT_INVALID_ARGUMENT` when it does not
/// decode as AMF0; otherwise as `rtmp_local_publisher_send_video`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_local_publisher_send_data(
    publisher: *mut rtmp_local_publisher,
    timestamp: u32,
    data: *const u8,
    len: usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        let this = try_ref!(publisher);
        let data = try_slice!(data, len);
        this.send(|p| p.send_data(timestamp, Bytes::copy_from_slice(data)))
    }
}

/// Sends a frame of any kind without copying it: one from `rtmp_subscription_next` (re-publish
/// a stream under another key), `rtmp_player_next`, a server callback or `rtmp_frame_new`. The
/// caller keeps its reference. Validated and refused as the other sends.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_local_publisher_send_frame(
    publisher: *mut rtmp_local_publisher,
    frame: *const rtmp_frame,
) -> rtmp_result {
    ffi_panic_boundary! {
        let this = try_ref!(publisher);
        let frame = try_ref!(frame);
        this.send(|p| p.send_frame(frame))
    }
}

/// Whether it still publishes: not closed, not taken over, its server not stopped (false for
/// NULL).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_local_publisher_is_publishing(publisher: *mut rtmp_local_publisher) -> bool {
    ffi_panic_boundary! {
        let this = try_ref!(publisher);
        !*this.stopped.borrow() && this.publisher.is_publishing()
    }
}

/// Unpublishes: network players get `UnpublishNotify`, subscriptions an
/// `RTMP_SUBSCRIPTION_ITEM_KIND_UNPUBLISHED` item; later sends return `RTMP_RESULT_CLOSED`.
/// Idempotent (a publisher taken over just stays closed). Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_local_publisher_close(publisher: *mut rtmp_local_publisher) -> rtmp_result {
    ffi_panic_boundary! {
        try_ref!(publisher).publisher.close();
        rtmp_result::Ok
    }
}

/// Closes the publisher if needed and frees it. NULL is ignored. The last call on a publisher.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_local_publisher_free(publisher: *mut rtmp_local_publisher) {
    ffi_panic_boundary! {
        free_box(publisher);
    }
}

// ---- the live streams ----

/// The live streams of a server at one moment, sorted by key (`rtmp_server_streams`).
/// Immutable; the views it gives are valid while it lives. Free it with
/// `rtmp_stream_list_free`. Any thread.
pub struct rtmp_stream_list {
    _private: [u8; 0],
}

impl Castable for rtmp_stream_list {
    type RustType = Vec<StreamInfo>;
    type Ownership = OwnershipBox;
}

/// One live stream. The strings are views valid while the `rtmp_stream_list` lives.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtmp_stream_info<'a> {
    /// The app (`live`).
    pub app: rtmp_str<'a>,
    /// The stream name (`cam`).
    pub name: rtmp_str<'a>,
    /// Who publishes it: `RTMP_PEER_KIND_RTMP` or `RTMP_PEER_KIND_LOCAL`.
    pub publisher: rtmp_peer_kind,
    /// RFC 6381 codec string of the video (`avc1.64001f`); empty until known.
    pub video_codec: rtmp_str<'a>,
    /// Codec string of the audio (`mp4a.40.2`); empty until known.
    pub audio_codec: rtmp_str<'a>,
    /// RTMP players.
    pub players: usize,
    /// Local subscribers (`rtmp_subscription`s).
    pub subscribers: usize,
}

/// The live streams of `server`, with who publishes each, its codecs and its players and
/// subscribers. On success `*list_out` belongs to the caller: free it with
/// `rtmp_stream_list_free`. Any thread, callbacks included.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_streams(
    server: *const rtmp_server,
    list_out: *mut *mut rtmp_stream_list,
) -> rtmp_result {
    ffi_panic_boundary! {
        let server = try_ref!(server);
        let out = try_out!(list_out);
        *out = to_box_ptr(server.server.handle().streams());
        rtmp_result::Ok
    }
}

/// The number of streams in `list` (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stream_list_len(list: *const rtmp_stream_list) -> usize {
    ffi_panic_boundary! {
        try_ref!(list).len()
    }
}

/// Fills `*info_out` with stream number `index` (< `rtmp_stream_list_len`);
/// `RTMP_RESULT_NOT_FOUND` past the end.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stream_list_get(
    list: *const rtmp_stream_list,
    index: usize,
    info_out: *mut rtmp_stream_info<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let list = try_ref!(list);
        let out = try_out!(info_out);
        let Some(info) = list.get(index) else {
            return fail(rtmp_result::NotFound, format!("no stream {index}"));
        };
        *out = rtmp_stream_info {
            app: rtmp_str::borrow(&info.key.app),
            name: rtmp_str::borrow(&info.key.name),
            publisher: info.publisher.into(),
            video_codec: rtmp_str::borrow(info.video_codec.as_deref().unwrap_or("")),
            audio_codec: rtmp_str::borrow(info.audio_codec.as_deref().unwrap_or("")),
            players: info.players,
            subscribers: info.subscribers,
        };
        rtmp_result::Ok
    }
}

/// Frees a list from `rtmp_server_streams`. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_stream_list_free(list: *mut rtmp_stream_list) {
    ffi_panic_boundary! {
        free_box(list);
    }
}
