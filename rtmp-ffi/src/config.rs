//! `rtmp_server_config`: every `ServerConfig` field, plus the embedding layer's settings.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use rtmp_core::options::{TimeUnit, Value};
use rtmp_embed::server_options;

use crate::error::{fail, rtmp_result};
use crate::ffi::{Castable, OwnershipBox, free_box, to_box_ptr};
use crate::server::{
    AuthCallbacks, CCallbacks, DataCallbacks, ReconnectCallbacks, RelayCallbacks, rtmp_callbacks,
    rtmp_decision_cb, rtmp_forward_cb, rtmp_frame_cb, rtmp_pull_cb, rtmp_resumed_cb, rtmp_stream_cb,
};
use crate::userdata::{Userdata, rtmp_userdata_drop};
use rtmp_embed::ServerOptions;

/// Server settings: build one, set what differs from the defaults, pass it to `rtmp_server_new`
/// (which copies it), free it. Not thread-safe: use it from one thread at a time.
pub struct rtmp_server_config {
    _private: [u8; 0],
}

pub(crate) struct CServerConfig {
    pub(crate) options: ServerOptions,
    pub(crate) callbacks: Option<Arc<CCallbacks>>,
    pub(crate) reconnect: ReconnectCallbacks,
    pub(crate) relay: RelayCallbacks,
    pub(crate) auth: AuthCallbacks,
    pub(crate) data: DataCallbacks,
}

impl Castable for rtmp_server_config {
    type RustType = CServerConfig;
    type Ownership = OwnershipBox;
}

/// What happens when a second publisher asks for a live stream key.
pub type rtmp_publisher_policy = u32;
/// Refuse the newcomer with `NetStream.Publish.BadName` (the default).
pub const RTMP_PUBLISHER_POLICY_REJECT_NEW: rtmp_publisher_policy = 0;
/// Disconnect the current publisher and let the newcomer take over.
pub const RTMP_PUBLISHER_POLICY_TAKE_OVER: rtmp_publisher_policy = 1;

/// A new config with every default (listed at each setter). Free it with
/// `rtmp_server_config_free`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_new(config_out: *mut *mut rtmp_server_config) -> rtmp_result {
    ffi_panic_boundary! {
        let out = try_out!(config_out);
        *out = to_box_ptr(CServerConfig {
            options: ServerOptions::default(),
            callbacks: None,
            reconnect: ReconnectCallbacks::default(),
            relay: RelayCallbacks::default(),
            auth: AuthCallbacks::default(),
            data: DataCallbacks::default(),
        });
        rtmp_result::Ok
    }
}

/// Frees a config. Servers built from it keep their copy (and their reference to the callbacks'
/// userdata). NULL is ignored.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_free(config: *mut rtmp_server_config) {
    ffi_panic_boundary! {
        free_box(config);
    }
}

/// Sets the callbacks (the struct is copied) and their userdata, replacing earlier ones; NULL
/// `callbacks` removes them (everything is then accepted). `userdata` is passed to every
/// callback, on many threads at once: it must be thread-safe and stay valid until its
/// destructor runs. `userdata_drop` (may be NULL) runs exactly once, when nothing holds the
/// callbacks any more: this config freed (or given other callbacks) and every server built from
/// it stopped or freed. It runs on the thread that let go last (the one calling
/// `rtmp_server_stop`, `rtmp_server_free`, `rtmp_server_config_free` or this function).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_callbacks(
    config: *mut rtmp_server_config,
    callbacks: *const rtmp_callbacks,
    userdata: *mut c_void,
    userdata_drop: rtmp_userdata_drop,
) -> rtmp_result {
    ffi_panic_boundary! {
        let config = try_mut!(config);
        // SAFETY: NULL or a readable struct (C caller's promise).
        let callbacks = unsafe { callbacks.as_ref() }.copied();
        let userdata = Userdata::new(userdata, userdata_drop);
        config.callbacks = callbacks.map(|callbacks| Arc::new(CCallbacks { callbacks, userdata }));
        rtmp_result::Ok
    }
}

/// Sets the publisher reconnect callbacks (see `rtmp_server_config_set_publisher_reconnect_grace_ms`),
/// replacing earlier ones; each may be NULL. They get the userdata of
/// `rtmp_server_config_set_callbacks` (NULL without it) and run like its connection callbacks,
/// on the blocking-pool threads, in order with the connection's other callbacks.
/// `on_publish_interrupted`: a publisher vanished without unpublishing (socket error, EOF, idle
/// timeout); its players are held for the grace (the session is the vanished publisher's; its
/// `on_unpublish` follows). `on_publish_resumed`: a publish of the stream was accepted within
/// the grace and its players went on without a notice (the session is the new publisher's).
/// Outside `rtmp_callbacks` so that its size stays what older applications were built with.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_reconnect_callbacks(
    config: *mut rtmp_server_config,
    on_publish_interrupted: rtmp_stream_cb,
    on_publish_resumed: rtmp_resumed_cb,
) -> rtmp_result {
    ffi_panic_boundary! {
        let config = try_mut!(config);
        config.reconnect = ReconnectCallbacks { on_publish_interrupted, on_publish_resumed };
        rtmp_result::Ok
    }
}

/// Sets the relay callbacks (forwards and pulls: the `forward` and `pull` options), replacing
/// earlier ones; each may be NULL. They get the userdata of `rtmp_server_config_set_callbacks`
/// (NULL without it). Outside `rtmp_callbacks` so that its size stays what older applications
/// were built with.
///
/// `on_forward`: a forward of a stream changed state (`RTMP_RELAY_STATE_CONNECTING`, `_LIVE`,
/// `_BACKOFF`). `on_pull`: the pull of a stream changed state. Both run on the runtime's worker
/// threads, like `on_stats`: return quickly, never block (queue the news); the stats and views
/// they get are lent for the call.
///
/// `on_locate`: a stream is played (or subscribed to in-process) but not published here; say
/// where to pull it from. A decision callback, run like `on_publish` on the blocking-pool
/// threads (it may block, up to the decision timeout): `rtmp_request_app` and
/// `rtmp_request_stream_name` give the stream's key; its session is not a connection (id 0,
/// address `0.0.0.0:0`). Answer with `rtmp_request_locate(request, urls, count)` (the upstream
/// URLs, tried in order), during the call or after returning `RTMP_DECISION_DEFER`.
/// `RTMP_DECISION_ACCEPT` or `RTMP_DECISION_REJECT` without a locate answer, an empty list, and
/// no answer within the decision timeout all mean no upstream from the hook: the server's `pull`
/// rules apply (and with none, players get `StreamNotFound` when `play_wait_timeout` passes).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_relay_callbacks(
    config: *mut rtmp_server_config,
    on_forward: rtmp_forward_cb,
    on_locate: rtmp_decision_cb,
    on_pull: rtmp_pull_cb,
) -> rtmp_result {
    ffi_panic_boundary! {
        let config = try_mut!(config);
        config.relay = RelayCallbacks { on_forward, on_locate, on_pull };
        rtmp_result::Ok
    }
}

/// Sets the publish authentication callback (the `publish_auth` option, `"adobe"`: encoders log
/// in with Adobe's `authmod=adobe` challenge at connect, and only a connection that logged in may
/// publish; players connect freely), replacing an earlier one; NULL removes it. It gets the
/// userdata of `rtmp_server_config_set_callbacks` (NULL without it). Outside `rtmp_callbacks` so
/// that its size stays what older applications were built with.
///
/// `on_credentials` asks for the password of a user while a client logs in (before its
/// `on_connect`): the request has kind `RTMP_REQUEST_KIND_CREDENTIALS`, `rtmp_request_app` (the
/// app logged in to) and `rtmp_request_user` (the user name); its session has the peer address
/// but no connect parameters yet. Answer with `rtmp_request_credentials(request, password)`
/// (NULL: no such user), during the call or after returning `RTMP_DECISION_DEFER`, from any
/// thread. The server checks the client's answer to its challenge against that password.
/// `RTMP_DECISION_ACCEPT` or `RTMP_DECISION_REJECT` without a credentials answer, and no answer
/// within the decision timeout, mean no such user (the client is told `nosuchuser`); so does
/// having no callback at all. It runs like the connection callbacks, on the blocking-pool threads
/// (it may block: a database lookup holds up only that connection). After a login, the user name
/// is on the connection's session (`rtmp_session_user`) in its later callbacks.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_auth_callbacks(
    config: *mut rtmp_server_config,
    on_credentials: rtmp_decision_cb,
) -> rtmp_result {
    ffi_panic_boundary! {
        let config = try_mut!(config);
        config.auth = AuthCallbacks { on_credentials };
        rtmp_result::Ok
    }
}

/// Sets the data message callback, replacing an earlier one; NULL removes it. It gets the userdata
/// of `rtmp_server_config_set_callbacks` (NULL without it). Outside `rtmp_callbacks` so that its
/// size stays what older applications were built with.
///
/// `on_data`: a publisher sent a data message other than `onMetaData` (`onTextData`, `onCuePoint`,
/// `onCaption`, …; an `@setDataFrame` wrapper taken off), after `on_media_tag` let it through.
/// The frame, lent for the call like the media callbacks' (`rtmp_frame_retain` keeps it), has kind
/// `RTMP_FRAME_KIND_DATA`, timestamp 0, the stream's app and name (`rtmp_frame_stream_app`,
/// `rtmp_frame_stream_name`), the message's name (`rtmp_frame_data_name`), its values
/// (`rtmp_frame_data_value_count`, `rtmp_frame_data_number`, `rtmp_frame_data_string`) and the
/// message as AMF0 (`rtmp_frame_payload`). It runs like the media callbacks, on the runtime's
/// worker threads: return quickly, never block.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_data_callbacks(
    config: *mut rtmp_server_config,
    on_data: rtmp_frame_cb,
) -> rtmp_result {
    ffi_panic_boundary! {
        let config = try_mut!(config);
        config.data = DataCallbacks { on_data };
        rtmp_result::Ok
    }
}

/// Sets a server option through the schema (a bare number for a duration is milliseconds);
/// `RTMP_RESULT_INVALID_ARGUMENT`, with a message naming the option and its range, when refused.
fn option(config: *mut rtmp_server_config, name: &str, value: impl Into<Value>) -> rtmp_result {
    let Some(config) = crate::ffi::try_mut(config) else { return crate::error::null_parameter("config") };
    crate::error::option_result(config.options.set(name, &value.into(), TimeUnit::Millis))
}

/// Sets any server option by its name in the option reference (README, "Server options"),
/// from text: a number (`"4096"`; a duration in milliseconds, or with its unit: `"500ms"`,
/// `"10s"`), `"true"`/`"false"`, `"none"` (off, or forever for `play_wait_timeout`), a
/// comma-separated list, or a name. Every option without a setter of its own is set this way.
/// `RTMP_RESULT_INVALID_ARGUMENT` with a message naming the option and its range when the name
/// is unknown or the value out of range; the config is then unchanged.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set(
    config: *mut rtmp_server_config,
    name: *const c_char,
    value: *const c_char,
) -> rtmp_result {
    ffi_panic_boundary! {
        let name = try_cstr!(name);
        let value = try_cstr!(value);
        match crate::error::option_by_name(server_options(), name, value) {
            Ok((name, value)) => option(config, name, value),
            Err(result) => result,
        }
    }
}

/// The address to listen on, `"IP:PORT"` (`"0.0.0.0:1935"`, `"[::]:1935"`, `"127.0.0.1:0"` for
/// a free port). Default `0.0.0.0:1935`. `RTMP_RESULT_INVALID_ARGUMENT` when unparsable.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_bind(
    config: *mut rtmp_server_config,
    addr: *const c_char,
) -> rtmp_result {
    ffi_panic_boundary! {
        let addr = try_cstr!(addr);
        option(config, "bind", addr)
    }
}

/// Most simultaneous connections; extra ones are closed right after accept. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_connections(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "max_connections", value) }
}

/// Outgoing chunk size, 128 to 16777215. Default 4096.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_chunk_size(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "chunk_size", value) }
}

/// Milliseconds allowed from accept to an answered `connect`. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_connection_timeout_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "connection_timeout", ms) }
}

/// A connection that sends nothing for this many milliseconds is closed. Default 60000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_idle_timeout_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "idle_timeout", ms) }
}

/// Window Acknowledgement Size announced to clients. Default 2500000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_window_ack_size(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "window_ack_size", value) }
}

/// Set Peer Bandwidth announced to clients. Default 2500000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_peer_bandwidth(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "peer_bandwidth", value) }
}

/// Largest message accepted, in bytes. Default 8388608 (8 MiB).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_message_size(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "max_message_size", value) }
}

/// Most chunk streams one connection may use. Default 64.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_chunk_streams(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "max_chunk_streams", value) }
}

/// Most message streams (`createStream`) per connection. Default 8.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_streams_per_connection(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "max_streams_per_connection", value) }
}

/// AMF nesting depth limit. Default 64.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_amf_depth(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "max_amf_depth", value) }
}

/// Most entries in one AMF object, ECMA array, strict array or vector of a received command or
/// data message; a message with more closes the connection. Default 65536.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_amf_entries(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "max_amf_entries", value) }
}

/// Most bytes the values decoded from one received command or data message may take, counting
/// every copy made when AMF3 references are resolved; a message that decodes past it closes the
/// connection. Default 67108864 (64 MiB).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_amf_decoded_bytes(
    config: *mut rtmp_server_config,
    bytes: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "max_amf_decoded_bytes", bytes) }
}

/// Messages queued per player before frames are dropped (video first). Default 512.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_player_queue_length(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "player_queue_length", value) }
}

/// A player whose socket accepts nothing for this many milliseconds is disconnected. Default
/// 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_player_stall_timeout_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "player_stall_timeout", ms) }
}

/// How far, in milliseconds, a player may fall behind live before it loses video, then audio
/// (only when its link cannot carry audio alone); 0 for no budget. Default 2000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_player_latency_budget_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "player_latency_budget", ms) }
}

/// Kernel send buffer per connection in bytes; 0 keeps the system default (the default).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_socket_send_buffer(
    config: *mut rtmp_server_config,
    bytes: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "socket_send_buffer", if bytes == 0 { Value::Null } else { bytes.into() }) }
}

/// GOP cache cap in bytes; past it the cache is dropped until the next keyframe. Default
/// 16777216 (16 MiB).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_gop_cache_max_bytes(
    config: *mut rtmp_server_config,
    bytes: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "gop_cache_max_bytes", bytes) }
}

/// GOP cache cap in media milliseconds. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_gop_cache_max_duration_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "gop_cache_max_duration", ms) }
}

/// Duplicate-publisher policy, one of `RTMP_PUBLISHER_POLICY_*`. Default
/// `RTMP_PUBLISHER_POLICY_REJECT_NEW`.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_publisher_policy(
    config: *mut rtmp_server_config,
    policy: rtmp_publisher_policy,
) -> rtmp_result {
    ffi_panic_boundary! {
        let policy = match policy {
            RTMP_PUBLISHER_POLICY_REJECT_NEW => "reject_new",
            RTMP_PUBLISHER_POLICY_TAKE_OVER => "take_over",
            other => return fail(rtmp_result::InvalidArgument, format!("unknown publisher policy {other}")),
        };
        option(config, "publisher_policy", policy)
    }
}

/// How long the players of a publisher that vanished without unpublishing (socket error, EOF,
/// idle timeout) wait for it to reconnect, in milliseconds: a republish within it goes on
/// without a notice to them, past it they get `UnpublishNotify`. 0 unpublishes at once. Default
/// 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_publisher_reconnect_grace_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "publisher_reconnect_grace", ms) }
}

/// How long a player may wait for a stream that is not (yet) published, in milliseconds;
/// negative waits forever, 0 fails at once with `Play.StreamNotFound`. Default 30000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_play_wait_timeout_ms(
    config: *mut rtmp_server_config,
    ms: i64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "play_wait_timeout", if ms < 0 { Value::Null } else { ms.into() }) }
}

/// Rewrite each publisher's timestamps into a continuous timeline. Default false.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_normalize_timestamps(
    config: *mut rtmp_server_config,
    value: bool,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "normalize_timestamps", value) }
}

/// Announce Enhanced RTMP support to clients that ask. Default true.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_enhanced_rtmp(
    config: *mut rtmp_server_config,
    value: bool,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "enhanced_rtmp", value) }
}

/// FourCCs announced to Enhanced RTMP clients: `count` NUL-terminated strings (`fourccs` may be
/// NULL when `count` is 0). Default: every codec the media layer parses.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_fourcc_list(
    config: *mut rtmp_server_config,
    fourccs: *const *const c_char,
    count: usize,
) -> rtmp_result {
    ffi_panic_boundary! {
        if fourccs.is_null() && count > 0 {
            return crate::error::null_parameter("fourccs");
        }
        let mut list = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: `count` readable pointers at `fourccs` (C caller's promise).
            let item = unsafe { *fourccs.add(i) };
            list.push(try_cstr!(item).to_owned());
        }
        option(config, "fourcc_list", list)
    }
}

/// `capsEx` announced to Enhanced RTMP clients (bits: 1 reconnect, 2 multitrack, 4 ModEx, 8
/// timestamp nano offset). Default 14 (multitrack, ModEx, nano offset).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_caps_ex(config: *mut rtmp_server_config, value: u32) -> rtmp_result {
    ffi_panic_boundary! { option(config, "caps_ex", value) }
}

/// How often `on_stats` is called, in milliseconds; 0 disables it. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_stats_interval_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "stats_interval", ms) }
}

/// Holds each player's output up to `ms` milliseconds and writes it in one call (less CPU, more
/// latency); 0 writes at once. Default 0.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_write_coalescing_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "write_coalescing", ms) }
}

/// Merged reads: after a read that emptied a publisher's socket, waits for the next `ms` tick
/// before reading it again, so one read takes in many messages (less CPU, up to `ms` more latency
/// from encoder to players and hooks); 0 reads each message as it arrives. Default 0.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_read_coalescing_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "read_coalescing", ms) }
}

/// Adds an RTMPS listener on `bind` (`"IP:PORT"`) with a PEM certificate chain file and a PEM
/// private key file, read now; NULL `bind` removes it (then the paths are ignored). Default
/// none. `RTMP_RESULT_INVALID_ARGUMENT` for a bad address, `RTMP_RESULT_TLS` for unusable files.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_tls(
    config: *mut rtmp_server_config,
    bind: *const c_char,
    cert_pem_path: *const c_char,
    key_pem_path: *const c_char,
) -> rtmp_result {
    ffi_panic_boundary! {
        if bind.is_null() {
            try_mut!(config).options.config.tls = None;
            return rtmp_result::Ok;
        }
        let bind = try_cstr!(bind);
        let cert = try_cstr!(cert_pem_path);
        let key = try_cstr!(key_pem_path);
        let config = try_mut!(config);
        match config.options.set_tls(bind, cert, key) {
            Ok(()) => rtmp_result::Ok,
            Err(e) if e.name == "tls_bind" => fail(rtmp_result::InvalidArgument, e.to_string()),
            Err(e) => fail(rtmp_result::Tls, e.to_string()),
        }
    }
}

/// Runtime worker threads of each server built from this config (at least 1). Default 2.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_worker_threads(
    config: *mut rtmp_server_config,
    threads: usize,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "worker_threads", threads) }
}

/// Milliseconds a decision (`RTMP_DECISION_DEFER`) may stay unanswered before it counts as a
/// reject. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_decision_timeout_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { option(config, "decision_timeout", ms) }
}
