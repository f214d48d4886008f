//! `rtmp_server_config`: every `ServerConfig` field, plus the embedding layer's settings.

use std::ffi::{c_char, c_void};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rtmp_core::client::server_config_from_pem;
use rtmp_core::server::{PublisherPolicy, ServerConfig, TlsListener};

use crate::error::{fail, rtmp_result};
use crate::ffi::{Castable, OwnershipBox, free_box, to_box_ptr};
use crate::server::{CCallbacks, rtmp_callbacks};
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
        *out = to_box_ptr(CServerConfig { options: ServerOptions::default(), callbacks: None });
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

fn set(config: *mut rtmp_server_config, f: impl FnOnce(&mut CServerConfig)) -> rtmp_result {
    match crate::ffi::try_mut(config) {
        Some(config) => {
            f(config);
            rtmp_result::Ok
        }
        None => crate::error::null_parameter("config"),
    }
}

fn core(config: *mut rtmp_server_config, f: impl FnOnce(&mut ServerConfig)) -> rtmp_result {
    set(config, |c| f(&mut c.options.config))
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
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
        match addr.parse::<SocketAddr>() {
            Ok(addr) => core(config, |c| c.bind = addr),
            Err(_) => fail(rtmp_result::InvalidArgument, format!("bad bind address {addr:?}")),
        }
    }
}

/// Most simultaneous connections; extra ones are closed right after accept. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_connections(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.max_connections = value) }
}

/// Outgoing chunk size, 128 to 16777215. Default 4096.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_chunk_size(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! {
        if !(128..=0xFF_FFFF).contains(&value) {
            return fail(rtmp_result::InvalidArgument, format!("chunk size {value} is outside 128..=16777215"));
        }
        core(config, |c| c.chunk_size = value)
    }
}

/// Milliseconds allowed from accept to an answered `connect`. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_connection_timeout_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.connection_timeout = millis(ms)) }
}

/// A connection that sends nothing for this many milliseconds is closed. Default 60000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_idle_timeout_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.idle_timeout = millis(ms)) }
}

/// Window Acknowledgement Size announced to clients. Default 2500000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_window_ack_size(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.window_ack_size = value) }
}

/// Set Peer Bandwidth announced to clients. Default 2500000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_peer_bandwidth(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.peer_bandwidth = value) }
}

/// Largest message accepted, in bytes. Default 8388608 (8 MiB).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_message_size(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.max_message_size = value) }
}

/// Most chunk streams one connection may use. Default 64.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_chunk_streams(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.max_chunk_streams = value) }
}

/// Most message streams (`createStream`) per connection. Default 8.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_streams_per_connection(
    config: *mut rtmp_server_config,
    value: u32,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.max_streams_per_connection = value) }
}

/// AMF nesting depth limit. Default 64.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_amf_depth(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.max_amf_depth = value) }
}

/// Most entries in one AMF object, ECMA array, strict array or vector of a received command or
/// data message; a message with more closes the connection. Default 65536.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_amf_entries(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.max_amf_entries = value) }
}

/// Most bytes the values decoded from one received command or data message may take, counting
/// every copy made when AMF3 references are resolved; a message that decodes past it closes the
/// connection. Default 67108864 (64 MiB).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_max_amf_decoded_bytes(
    config: *mut rtmp_server_config,
    bytes: usize,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.max_amf_decoded_bytes = bytes) }
}

/// Messages queued per player before frames are dropped (video first). Default 512.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_player_queue_length(
    config: *mut rtmp_server_config,
    value: usize,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.player_queue_length = value) }
}

/// A player whose socket accepts nothing for this many milliseconds is disconnected. Default
/// 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_player_stall_timeout_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.player_stall_timeout = millis(ms)) }
}

/// Kernel send buffer per connection in bytes; 0 keeps the system default (the default).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_socket_send_buffer(
    config: *mut rtmp_server_config,
    bytes: usize,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.socket_send_buffer = (bytes > 0).then_some(bytes)) }
}

/// GOP cache cap in bytes; past it the cache is dropped until the next keyframe. Default
/// 16777216 (16 MiB).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_gop_cache_max_bytes(
    config: *mut rtmp_server_config,
    bytes: usize,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.gop_cache_max_bytes = bytes) }
}

/// GOP cache cap in media milliseconds. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_gop_cache_max_duration_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.gop_cache_max_duration = millis(ms)) }
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
            RTMP_PUBLISHER_POLICY_REJECT_NEW => PublisherPolicy::RejectNew,
            RTMP_PUBLISHER_POLICY_TAKE_OVER => PublisherPolicy::TakeOver,
            other => return fail(rtmp_result::InvalidArgument, format!("unknown publisher policy {other}")),
        };
        core(config, |c| c.publisher_policy = policy)
    }
}

/// How long a player may wait for a stream that is not (yet) published, in milliseconds;
/// negative waits forever, 0 fails at once with `Play.StreamNotFound`. Default 30000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_play_wait_timeout_ms(
    config: *mut rtmp_server_config,
    ms: i64,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.play_wait_timeout = u64::try_from(ms).ok().map(millis)) }
}

/// Rewrite each publisher's timestamps into a continuous timeline. Default false.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_normalize_timestamps(
    config: *mut rtmp_server_config,
    value: bool,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.normalize_timestamps = value) }
}

/// Announce Enhanced RTMP support to clients that ask. Default true.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_enhanced_rtmp(
    config: *mut rtmp_server_config,
    value: bool,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.enhanced_rtmp = value) }
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
        core(config, |c| c.fourcc_list = list)
    }
}

/// `capsEx` announced to Enhanced RTMP clients (bits: 1 reconnect, 2 multitrack, 4 ModEx, 8
/// timestamp nano offset). Default 14 (multitrack, ModEx, nano offset).
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_caps_ex(config: *mut rtmp_server_config, value: u32) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.caps_ex = value) }
}

/// How often `on_stats` is called, in milliseconds; 0 disables it. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_stats_interval_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.stats_interval = (ms > 0).then(|| millis(ms))) }
}

/// Holds each player's output up to `ms` milliseconds and writes it in one call (less CPU, more
/// latency); 0 writes at once. Default 0.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_write_coalescing_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.write_coalescing = (ms > 0).then(|| millis(ms))) }
}

/// Merged reads: after a read that emptied a publisher's socket, waits for the next `ms` tick
/// before reading it again, so one read takes in many messages (less CPU, up to `ms` more latency
/// from encoder to players and hooks); 0 reads each message as it arrives. Default 0.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_read_coalescing_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { core(config, |c| c.read_coalescing = (ms > 0).then(|| millis(ms))) }
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
            return core(config, |c| c.tls = None);
        }
        let bind = try_cstr!(bind);
        let cert = try_cstr!(cert_pem_path);
        let key = try_cstr!(key_pem_path);
        if crate::ffi::try_mut(config).is_none() {
            return crate::error::null_parameter("config");
        }
        let Ok(bind) = bind.parse::<SocketAddr>() else {
            return fail(rtmp_result::InvalidArgument, format!("bad TLS bind address {bind:?}"));
        };
        match server_config_from_pem(cert, key) {
            Ok(tls) => core(config, |c| c.tls = Some(TlsListener { bind, config: tls })),
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
    ffi_panic_boundary! {
        if threads == 0 {
            return fail(rtmp_result::InvalidArgument, "worker threads must be at least 1");
        }
        set(config, |c| c.options.worker_threads = threads)
    }
}

/// Milliseconds a decision (`RTMP_DECISION_DEFER`) may stay unanswered before it counts as a
/// reject. Default 10000.
#[unsafe(no_mangle)]
pub extern "C" fn rtmp_server_config_set_decision_timeout_ms(
    config: *mut rtmp_server_config,
    ms: u64,
) -> rtmp_result {
    ffi_panic_boundary! { set(config, |c| c.options.decision_timeout = millis(ms)) }
}
