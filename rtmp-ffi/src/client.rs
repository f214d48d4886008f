//! `rtmp_client_config`, `rtmp_player` and `rtmp_publisher`.

use std::ffi::c_char;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use rtmp_core::client::ReconnectPolicy;

use crate::error::{embed_error, fail, rtmp_result};
use crate::ffi::{Castable, OwnershipBox, free_box, to_box_ptr};
use crate::frame::{owned_frame_ptr, rtmp_frame};
use crate::slice::rtmp_str;
use rtmp_core::options::{TimeUnit, Value};
use rtmp_embed::{ClientOptions, EmbeddedPlayer, EmbeddedPublisher, PlayerItem, Received, client_options};

/// Client settings for players and publishers: build one, set what differs from the defaults,
/// pass it to `rtmp_player_new` / `rtmp_publisher_new` (which copy it), free it. One thread at a
/// time.
pub struct rtmp_client_config {
    _private: [u8; 0],
}

impl Castable for rtmp_client_config {
    type RustType = ClientOptions;
    type Ownership = OwnershipBox;
}

/// A new client config with every default (listed at each setter). Free it with
/// `rtmp_client_config_free`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_new(config_out: *mut *mut rtmp_client_config) -> rtmp_result {
    ffi_panic_boundary! {
        let out = try_out!(config_out);
        *out = to_box_ptr(ClientOptions::default());
        rtmp_result::Ok
    }
}

/// Frees a client config. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_free(config: *mut rtmp_client_config) {
    ffi_panic_boundary! {
        free_box(config);
    }
}

fn set(config: *mut rtmp_client_config, f: impl FnOnce(&mut ClientOptions)) -> rtmp_result {
    match crate::ffi::try_mut(config) {
        Some(config) => {
            f(config);
            rtmp_result::Ok
        }
        None => crate::error::null_parameter("config"),
    }
}

/// Sets a client option through the schema (a bare number for a duration is milliseconds);
/// `RTMP_RESULT_INVALID_ARGUMENT`, with a message naming the option and its range, when refused.
fn option(config: *mut rtmp_client_config, name: &str, value: impl Into<Value>) -> rtmp_result {
    let Some(config) = crate::ffi::try_mut(config) else { return crate::error::null_parameter("config") };
    crate::error::option_result(config.set(name, &value.into(), TimeUnit::Millis))
}

/// Sets any client option that is a plain value by its name in the option reference (README,
/// "Client options"), from text as `rtmp_server_config_set` takes it (`"idle_timeout"`,
/// `"30s"`; `"ping"`, `"false"`). Every option without a setter of its own is set this way.
/// `RTMP_RESULT_INVALID_ARGUMENT` with a message naming the option and its range when the name
/// is unknown or the value out of range; the config is then unchanged.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_set(
    config: *mut rtmp_client_config,
    name: *const c_char,
    value: *const c_char,
) -> rtmp_result {
    ffi_panic_boundary! {
        let name = try_cstr!(name);
        let value = try_cstr!(value);
        match crate::error::option_by_name(client_options(), name, value) {
            Ok((name, value)) => option(config, name, value),
            Err(result) => result,
        }
    }
}

/// Milliseconds allowed for TCP (+TLS) connect, handshake, connect and publish/play. Default
/// 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_set_connect_timeout_ms(
    config: *mut rtmp_client_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "connect_timeout", ms) }
}

/// Accept any RTMPS certificate (tests against self-signed servers only). Default false.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_set_tls_insecure_skip_verify(
    config: *mut rtmp_client_config,
    value: bool,
) -> rtmp_result {
    ffi_panic_boundary! { set(config, |c| c.config.tls.insecure_skip_verify = value) }
}

/// Trusts every certificate of a PEM file, on top of the bundled web roots. `RTMP_RESULT_TLS`
/// for an unreadable file.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_add_tls_roots_pem(
    config: *mut rtmp_client_config,
    pem_path: *const c_char,
) -> rtmp_result {
    ffi_panic_boundary! {
        let config = try_mut!(config);
        let path = try_cstr!(pem_path);
        match config.config.tls.clone().add_roots_pem(path) {
            Ok(tls) => {
                config.config.tls = tls;
                rtmp_result::Ok
            }
            Err(e) => fail(rtmp_result::Tls, e.to_string()),
        }
    }
}

/// Announce Enhanced RTMP codecs in connect, as ffmpeg does. Default true.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_set_enhanced_rtmp(
    config: *mut rtmp_client_config,
    value: bool,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "enhanced_rtmp", value) }
}

/// The `flashVer` sent in connect. Default `"FMLE/3.0 (compatible; rtmp-rs)"`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_set_flash_ver(
    config: *mut rtmp_client_config,
    flash_ver: *const c_char,
) -> rtmp_result {
    ffi_panic_boundary! {
        let flash_ver = try_cstr!(flash_ver);
        option(config, "flash_ver", flash_ver)
    }
}

/// Reconnect after a drop, with exponential backoff from `initial_delay_ms` doubling up to
/// `max_delay_ms`, giving up after `max_attempts` failures in a row (0: never give up). With
/// `enabled` false the other values are ignored. Default off.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_set_reconnect(
    config: *mut rtmp_client_config,
    enabled: bool,
    initial_delay_ms: u64,
    max_delay_ms: u64,
    max_attempts: u32,
) -> rtmp_result {
    ffi_panic_boundary! {
        let policy = enabled.then(|| ReconnectPolicy {
            initial_delay: Duration::from_millis(initial_delay_ms),
            max_delay: Duration::from_millis(max_delay_ms.max(initial_delay_ms)),
            max_attempts: (max_attempts > 0).then_some(max_attempts),
        });
        set(config, |c| c.config.reconnect = policy)
    }
}

/// Events buffered between the connection and the application (at least 1). Default 256.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_set_event_buffer(
    config: *mut rtmp_client_config,
    events: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "event_buffer", events) }
}

/// Outgoing chunk size, 128 to 16777215. Default 4096.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_set_chunk_size(
    config: *mut rtmp_client_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "chunk_size", value) }
}

/// Runtime worker threads of each client built from this config (at least 1). Default 1.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_client_config_set_worker_threads(
    config: *mut rtmp_client_config,
    threads: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "worker_threads", threads) }
}

fn options(config: *const rtmp_client_config) -> ClientOptions {
    crate::ffi::try_ref(config).cloned().unwrap_or_default()
}

/// A connection playing one stream. Read it from one thread at a time; `rtmp_player_pause` and
/// `rtmp_player_close` may come from another thread.
pub struct rtmp_player {
    _private: [u8; 0],
}

pub(crate) struct CPlayer {
    player: EmbeddedPlayer,
    status: Mutex<[String; 3]>,
}

impl Castable for rtmp_player {
    type RustType = CPlayer;
    type Ownership = OwnershipBox;
}

/// What `rtmp_player_next` got.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtmp_player_event_kind {
    /// An audio frame (`frame` is set).
    Audio = 1,
    /// A video frame (`frame` is set).
    Video = 2,
    /// A data message other than metadata (`frame` is set).
    Data = 3,
    /// `onMetaData` (`frame` is set; read it with `rtmp_frame_metadata_*`).
    Metadata = 4,
    /// The stream (re)started.
    StreamBegin = 5,
    /// The publisher stopped; more may follow on republish.
    StreamEnd = 6,
    /// Another status message (`level`, `code`, `description` are set).
    Status = 7,
    /// The connection dropped and was re-established (reconnect enabled).
    Reconnected = 8,
}

/// One player event, filled by `rtmp_player_next`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtmp_player_event<'a> {
    /// What arrived.
    pub kind: rtmp_player_event_kind,
    /// For audio, video, data and metadata: a frame the caller owns (release it with
    /// `rtmp_frame_release`); NULL otherwise.
    pub frame: *const rtmp_frame,
    /// For status events: `"status"`, `"warning"` or `"error"`; empty otherwise. Valid until the
    /// next `rtmp_player_next` on this player or its free.
    pub level: rtmp_str<'a>,
    /// For status events: the code (`NetStream.Play.Reset`, …); empty otherwise. Same lifetime.
    pub code: rtmp_str<'a>,
    /// For status events: the description; empty otherwise. Same lifetime.
    pub description: rtmp_str<'a>,
}

/// Connects to `url` (`rtmp[s]://host[:port]/app[/inst]/stream[?query]`) and starts playing;
/// blocks until the server sent Play.Start. `config` may be NULL for the defaults (copied).
/// Errors: `RTMP_RESULT_INVALID_ARGUMENT` (bad URL), `RTMP_RESULT_IO`, `RTMP_RESULT_REJECTED`,
/// `RTMP_RESULT_TIMEOUT`, `RTMP_RESULT_TLS`, `RTMP_RESULT_PROTOCOL`; see `rtmp_last_error`.
/// Not from a media callback (`RTMP_RESULT_IN_CALLBACK`). Free it with `rtmp_player_free`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_player_new(
    config: *const rtmp_client_config,
    url: *const c_char,
    player_out: *mut *mut rtmp_player,
) -> rtmp_result {
    ffi_panic_boundary! {
        let url = try_cstr!(url);
        let out = try_out!(player_out);
        match EmbeddedPlayer::connect(url, options(config)) {
            Ok(player) => {
                *out = to_box_ptr(CPlayer { player, status: Mutex::default() });
                rtmp_result::Ok
            }
            Err(e) => embed_error(e),
        }
    }
}

/// Waits up to `timeout_ms` milliseconds (negative: forever) for the next event and fills
/// `*event_out`. Returns `RTMP_RESULT_TIMEOUT` when nothing came in time, `RTMP_RESULT_CLOSED`
/// once the connection ended (closed by either side; later calls return it again), or the error
/// that ended it. `*event_out` is written only on `RTMP_RESULT_OK`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_player_next(
    player: *mut rtmp_player,
    timeout_ms: i64,
    event_out: *mut rtmp_player_event<'static>,
) -> rtmp_result {
    ffi_panic_boundary! {
        let this = try_ref!(player);
        let out = try_out!(event_out);
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let item = match this.player.next(timeout) {
            Ok(Received::Item(item)) => item,
            Ok(Received::Timeout) => return fail(rtmp_result::Timeout, "no player event within the timeout"),
            Ok(Received::Closed) => return fail(rtmp_result::Closed, "the player's connection ended"),
            Err(e) => return embed_error(e),
        };
        let mut status = this.status.lock().unwrap_or_else(|e| e.into_inner());
        let mut frame = std::ptr::null();
        let kind = match item {
            PlayerItem::Frame(f) => {
                let kind = match f.kind() {
                    rtmp_embed::FrameKind::Audio => rtmp_player_event_kind::Audio,
                    rtmp_embed::FrameKind::Video => rtmp_player_event_kind::Video,
                    rtmp_embed::FrameKind::Data => rtmp_player_event_kind::Data,
                    rtmp_embed::FrameKind::Metadata => rtmp_player_event_kind::Metadata,
                };
                frame = owned_frame_ptr(f);
                kind
            }
            PlayerItem::StreamBegin => rtmp_player_event_kind::StreamBegin,
            PlayerItem::StreamEnd => rtmp_player_event_kind::StreamEnd,
            PlayerItem::Reconnected => rtmp_player_event_kind::Reconnected,
            PlayerItem::Status { level, code, description } => {
                *status = [level, code, description];
                rtmp_player_event_kind::Status
            }
        };
        let is_status = kind == rtmp_player_event_kind::Status;
        let view = |i: usize| {
            if is_status {
                // SAFETY: the strings live in the player until the next call or its free
                // (documented), which the C signature spells 'static.
                unsafe { std::mem::transmute::<rtmp_str<'_>, rtmp_str<'static>>(rtmp_str::borrow(&status[i])) }
            } else {
                rtmp_str::empty()
            }
        };
        *out = rtmp_player_event { kind, frame, level: view(0), code: view(1), description: view(2) };
        rtmp_result::Ok
    }
}

/// Pauses (`paused` true) or resumes the stream at `position_ms`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_player_pause(player: *mut rtmp_player, paused: bool, position_ms: f64) -> rtmp_result {
    ffi_panic_boundary! {
        match try_ref!(player).player.pause(paused, position_ms) {
            Ok(()) => rtmp_result::Ok,
            Err(e) => embed_error(e),
        }
    }
}

/// Stops playing (deleteStream) and closes the connection, waiting up to 5 s for the goodbye.
/// Events already received can still be read; then `rtmp_player_next` returns
/// `RTMP_RESULT_CLOSED`. Idempotent.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_player_close(player: *mut rtmp_player) -> rtmp_result {
    ffi_panic_boundary! {
        match try_ref!(player).player.close() {
            Ok(()) => rtmp_result::Ok,
            Err(e) => embed_error(e),
        }
    }
}

/// Closes the player if needed and frees it and its runtime. Frames it returned stay valid
/// until released. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_player_free(player: *mut rtmp_player) {
    ffi_panic_boundary! {
        free_box(player);
    }
}

/// A connection publishing one stream. Sends from one thread at a time (they are serialized
/// anyway); a send blocks while the socket is congested.
pub struct rtmp_publisher {
    _private: [u8; 0],
}

impl Castable for rtmp_publisher {
    type RustType = EmbeddedPublisher;
    type Ownership = OwnershipBox;
}

/// Connects to `url` and starts publishing; blocks until the server sent Publish.Start. `config`
/// may be NULL for the defaults. Errors as for `rtmp_player_new` (`RTMP_RESULT_REJECTED` when
/// the server refused the publish). Free it with `rtmp_publisher_free`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_publisher_new(
    config: *const rtmp_client_config,
    url: *const c_char,
    publisher_out: *mut *mut rtmp_publisher,
) -> rtmp_result {
    ffi_panic_boundary! {
        let url = try_cstr!(url);
        let out = try_out!(publisher_out);
        match EmbeddedPublisher::connect(url, options(config)) {
            Ok(publisher) => {
                *out = to_box_ptr(publisher);
                rtmp_result::Ok
            }
            Err(e) => embed_error(e),
        }
    }
}

fn sent(result: Result<(), rtmp_embed::EmbedError>) -> rtmp_result {
    match result {
        Ok(()) => rtmp_result::Ok,
        Err(e) => embed_error(e),
    }
}

/// Sends an FLV video tag body (legacy or Enhanced RTMP, any codec), copied, at `timestamp` ms.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_publisher_send_video(
    publisher: *mut rtmp_publisher,
    timestamp: u32,
    data: *const u8,
    len: usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        let publisher = try_ref!(publisher);
        let data = try_slice!(data, len);
        sent(publisher.send_video(timestamp, Bytes::copy_from_slice(data)))
    }
}

/// Sends an FLV audio tag body, copied, at `timestamp` ms.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_publisher_send_audio(
    publisher: *mut rtmp_publisher,
    timestamp: u32,
    data: *const u8,
    len: usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        let publisher = try_ref!(publisher);
        let data = try_slice!(data, len);
        sent(publisher.send_audio(timestamp, Bytes::copy_from_slice(data)))
    }
}

/// Sends an AMF0 data message (an FLV script tag body), copied; `onMetaData`, with or without
/// `@setDataFrame`, goes out as metadata. `RTMP_RESULT_PROTOCOL` when it does not decode.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_publisher_send_data(
    publisher: *mut rtmp_publisher,
    timestamp: u32,
    data: *const u8,
    len: usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        let publisher = try_ref!(publisher);
        let data = try_slice!(data, len);
        sent(publisher.send_data(timestamp, Bytes::copy_from_slice(data)))
    }
}

/// Sends a frame of any kind without copying it (relaying what a player or a server callback
/// got). The caller keeps its reference.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_publisher_send_frame(
    publisher: *mut rtmp_publisher,
    frame: *const rtmp_frame,
) -> rtmp_result {
    ffi_panic_boundary! {
        let publisher = try_ref!(publisher);
        let frame = try_ref!(frame);
        sent(publisher.send_frame(frame))
    }
}

/// Publishes an FLV file at real-time pace (by tag timestamps), blocking until done; with
/// `repeat` it loops forever (until an error). The number of tags sent goes to `*sent_out`
/// (may be NULL).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_publisher_publish_flv(
    publisher: *mut rtmp_publisher,
    path: *const c_char,
    repeat: bool,
    sent_out: *mut u64,
) -> rtmp_result {
    ffi_panic_boundary! {
        let publisher = try_ref!(publisher);
        let path = try_cstr!(path);
        match publisher.publish_flv(Path::new(path), repeat) {
            Ok(n) => {
                // SAFETY: NULL or writable (C caller's promise).
                if let Some(out) = unsafe { sent_out.as_mut() } {
                    *out = n;
                }
                rtmp_result::Ok
            }
            Err(e) => embed_error(e),
        }
    }
}

/// Unpublishes (FCUnpublish + deleteStream) and closes the connection; later sends return
/// `RTMP_RESULT_CLOSED`. Idempotent.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_publisher_close(publisher: *mut rtmp_publisher) -> rtmp_result {
    ffi_panic_boundary! {
        sent(try_ref!(publisher).close())
    }
}

/// Closes the publisher if needed and frees it and its runtime. NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_publisher_free(publisher: *mut rtmp_publisher) {
    ffi_panic_boundary! {
        let Some(p) = crate::ffi::try_ref(publisher.cast_const()) else { return };
        let _ = p.close();
        free_box(publisher);
    }
}
