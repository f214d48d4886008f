//! Option objects: every field of the core's `ServerConfig` and `ClientConfig`, camelCase, with
//! durations in milliseconds, checked when the object is built.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use napi_derive::napi;
use rtmp_core::client::{ClientConfig, ReconnectPolicy, TlsOptions, server_config_from_pem};
use rtmp_core::server::{PublisherPolicy as CorePolicy, ServerConfig, TlsListener};
use rtmp_embed::{ClientOptions as EmbedClientOptions, Dispatch, ServerOptions as EmbedServerOptions};

use crate::error::RtmpError;

/// What happens when a second publisher asks for a stream key that is live.
#[napi(string_enum = "kebab-case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublisherPolicy {
    /// Refuse the newcomer with `NetStream.Publish.BadName` (the default).
    RejectNew,
    /// Disconnect the current publisher and let the newcomer take over (a reconnecting
    /// encoder whose old session has not timed out yet).
    TakeOver,
}

/// An RTMPS listener beside the plain one.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ServerTlsOptions {
    /// Address to listen on for RTMPS, `host:port` (`0.0.0.0:443`; port 0 picks one).
    pub bind: String,
    /// PEM file with the certificate chain.
    pub cert_file: String,
    /// PEM file with the private key.
    pub key_file: String,
}

/// Server settings. Every field is optional; the defaults are the library's.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Address to listen on, `host:port`. Default `0.0.0.0:1935`; port 0 picks a free port.
    pub bind: Option<String>,
    /// Most simultaneous connections; extra ones are closed right after accept. Default 10000.
    pub max_connections: Option<f64>,
    /// Outgoing chunk size, announced after connect. Default 4096.
    pub chunk_size: Option<f64>,
    /// Time allowed from accept to an answered `connect`, ms. Default 10000.
    pub connection_timeout_ms: Option<f64>,
    /// A connection that sends nothing for this long is closed, ms. Default 60000.
    pub idle_timeout_ms: Option<f64>,
    /// Window Acknowledgement Size announced to clients. Default 2500000.
    pub window_ack_size: Option<f64>,
    /// Set Peer Bandwidth announced to clients. Default 2500000.
    pub peer_bandwidth: Option<f64>,
    /// Largest message accepted, bytes. Default 8 MiB.
    pub max_message_size: Option<f64>,
    /// Most chunk streams one connection may use. Default 64.
    pub max_chunk_streams: Option<f64>,
    /// Most message streams (`createStream`) per connection. Default 8.
    pub max_streams_per_connection: Option<f64>,
    /// AMF nesting depth limit. Default 64.
    pub max_amf_depth: Option<f64>,
    /// Most entries in one AMF object or array of a received command or data message; a message
    /// with more closes the connection. Default 65536.
    pub max_amf_entries: Option<f64>,
    /// Most bytes the values decoded from one received command or data message may take,
    /// counting the copies AMF3 references make; a message past it closes the connection.
    /// Default 64 MiB.
    pub max_amf_decoded_bytes: Option<f64>,
    /// Messages queued per player before frames are dropped (video first). Default 512.
    pub player_queue_length: Option<f64>,
    /// A player whose socket accepts nothing for this long is disconnected, ms. Default 10000.
    pub player_stall_timeout_ms: Option<f64>,
    /// Kernel send buffer per connection, bytes. Default: the system's.
    pub socket_send_buffer: Option<f64>,
    /// GOP cache cap in bytes. Default 16 MiB.
    pub gop_cache_max_bytes: Option<f64>,
    /// GOP cache cap in media time, ms. Default 10000.
    pub gop_cache_max_duration_ms: Option<f64>,
    /// Duplicate-publisher policy. Default `'reject-new'`.
    pub publisher_policy: Option<PublisherPolicy>,
    /// How long a player may wait for a stream that is not published, ms; `Infinity` waits
    /// forever, 0 fails at once with `Play.StreamNotFound`. Default 30000.
    pub play_wait_timeout_ms: Option<f64>,
    /// Rewrite each publisher's timestamps into a continuous timeline. Default false.
    pub normalize_timestamps: Option<bool>,
    /// Announce Enhanced RTMP support to clients that ask. Default true.
    pub enhanced_rtmp: Option<bool>,
    /// FourCCs announced to E-RTMP clients. Default: every codec the media layer parses.
    pub fourcc_list: Option<Vec<String>>,
    /// `capsEx` announced to E-RTMP clients. Default Multitrack | ModEx | TimestampNanoOffset.
    pub caps_ex: Option<f64>,
    /// How often `onStats` is called, ms; 0 turns it off. Default 10000.
    pub stats_interval_ms: Option<f64>,
    /// Hold each player's output up to this many ms and write it at once (less CPU, more
    /// latency); 0 writes at once. Default 0.
    pub write_coalescing_ms: Option<f64>,
    /// Merged reads: once a publisher's socket is empty, read it again only at the next tick of
    /// this many ms, many messages a read (less CPU, up to this much more latency from encoder
    /// to players and hooks); 0 reads each message as it arrives. Default 0.
    pub read_coalescing_ms: Option<f64>,
    /// An RTMPS listener on its own address. Default none.
    pub tls: Option<ServerTlsOptions>,
    /// Runtime worker threads of a runtime of this server's own. Default: the runtime the
    /// package shares between servers and clients (2 threads).
    pub worker_threads: Option<f64>,
    /// How long a decision hook (`onConnection`, `onConnect`, `onPublish`, `onPlay`) may take
    /// before it counts as a reject, ms. Default 10000.
    pub decision_timeout_ms: Option<f64>,
    /// How long `onMediaTag` may take before the message passes anyway, ms. Default 1000.
    pub media_tag_timeout_ms: Option<f64>,
}

/// How an RTMPS client checks the server.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ClientTlsOptions {
    /// Accept any certificate. Only for tests against self-signed servers. Default false.
    pub insecure_skip_verify: Option<bool>,
    /// A PEM file whose certificates are trusted on top of the bundled web roots.
    pub ca_file: Option<String>,
}

/// Reconnection with exponential backoff; give `{}` for the defaults.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ReconnectOptions {
    /// First delay, ms. Default 500.
    pub initial_delay_ms: Option<f64>,
    /// Longest delay, ms. Default 10000.
    pub max_delay_ms: Option<f64>,
    /// Give up after this many attempts in a row. Default: never.
    pub max_attempts: Option<f64>,
}

/// Player and publisher settings. Every field is optional.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Time allowed for TCP (+TLS) connect, handshake, connect and publish/play, ms.
    /// Default 10000.
    pub connect_timeout_ms: Option<f64>,
    /// RTMPS certificate checking (for `rtmps://` URLs).
    pub tls: Option<ClientTlsOptions>,
    /// Announce Enhanced RTMP codecs in connect, as ffmpeg does. Default true.
    pub enhanced_rtmp: Option<bool>,
    /// The `flashVer` sent in connect. Default `FMLE/3.0 (compatible; rtmp-rs)`.
    pub flash_ver: Option<String>,
    /// Reconnect after a drop. Default: off.
    pub reconnect: Option<ReconnectOptions>,
    /// Events buffered between the connection and JS. Default 256.
    pub event_buffer: Option<f64>,
    /// Outgoing chunk size. Default 4096.
    pub chunk_size: Option<f64>,
}

/// A checked non-negative integer no larger than `max`.
fn integer(name: &str, value: Option<f64>, max: u64) -> Result<Option<u64>, RtmpError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max as f64 => Ok(Some(v as u64)),
        Some(v) => Err(RtmpError::invalid(format!("{name} must be an integer from 0 to {max}, not {v}"))),
    }
}

fn u32_field(name: &str, value: Option<f64>) -> Result<Option<u32>, RtmpError> {
    Ok(integer(name, value, u32::MAX.into())?.map(|v| v as u32))
}

fn usize_field(name: &str, value: Option<f64>) -> Result<Option<usize>, RtmpError> {
    Ok(integer(name, value, (1u64 << 53) - 1)?.map(|v| v as usize))
}

/// A duration in ms; `Infinity` is `Some(None)` when `infinite_ok`.
fn millis(name: &str, value: Option<f64>, infinite_ok: bool) -> Result<Option<Option<Duration>>, RtmpError> {
    match value {
        None => Ok(None),
        Some(v) if v == f64::INFINITY && infinite_ok => Ok(Some(None)),
        Some(v) if (0.0..=1e12).contains(&v) => Ok(Some(Some(Duration::from_secs_f64(v / 1000.0)))),
        Some(v) => Err(RtmpError::invalid(format!(
            "{name} must be a number of milliseconds{}, not {v}",
            if infinite_ok { " or Infinity" } else { "" }
        ))),
    }
}

fn duration(name: &str, value: Option<f64>) -> Result<Option<Duration>, RtmpError> {
    Ok(millis(name, value, false)?.flatten())
}

/// Parses `host:port` (an IP or a name that resolves).
pub(crate) fn socket_addr(name: &str, text: &str) -> Result<SocketAddr, RtmpError> {
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    text.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| RtmpError::invalid(format!("{name} must be host:port, not {text:?}")))
}

/// The layer's options, plus the `onMediaTag` timeout the Node skin adds.
pub(crate) struct ServerSettings {
    pub(crate) embed: EmbedServerOptions,
    /// `Some` when the server wants a runtime of its own.
    pub(crate) worker_threads: Option<usize>,
    pub(crate) media_tag_timeout: Duration,
}

impl ServerOptions {
    pub(crate) fn settings(&self) -> Result<ServerSettings, RtmpError> {
        let mut c = ServerConfig::default();
        if let Some(bind) = &self.bind {
            c.bind = socket_addr("bind", bind)?;
        }
        macro_rules! set {
            ($field:ident, $conv:ident, $name:literal) => {
                if let Some(v) = $conv($name, self.$field)? {
                    c.$field = v;
                }
            };
        }
        set!(max_connections, usize_field, "maxConnections");
        set!(chunk_size, u32_field, "chunkSize");
        if let Some(v) = duration("connectionTimeoutMs", self.connection_timeout_ms)? {
            c.connection_timeout = v;
        }
        if let Some(v) = duration("idleTimeoutMs", self.idle_timeout_ms)? {
            c.idle_timeout = v;
        }
        set!(window_ack_size, u32_field, "windowAckSize");
        set!(peer_bandwidth, u32_field, "peerBandwidth");
        set!(max_message_size, u32_field, "maxMessageSize");
        set!(max_chunk_streams, usize_field, "maxChunkStreams");
        set!(max_streams_per_connection, u32_field, "maxStreamsPerConnection");
        set!(max_amf_depth, usize_field, "maxAmfDepth");
        set!(max_amf_entries, usize_field, "maxAmfEntries");
        set!(max_amf_decoded_bytes, usize_field, "maxAmfDecodedBytes");
        set!(player_queue_length, usize_field, "playerQueueLength");
        if let Some(v) = duration("playerStallTimeoutMs", self.player_stall_timeout_ms)? {
            c.player_stall_timeout = v;
        }
        if let Some(v) = usize_field("socketSendBuffer", self.socket_send_buffer)? {
            c.socket_send_buffer = Some(v);
        }
        set!(gop_cache_max_bytes, usize_field, "gopCacheMaxBytes");
        if let Some(v) = duration("gopCacheMaxDurationMs", self.gop_cache_max_duration_ms)? {
            c.gop_cache_max_duration = v;
        }
        if let Some(policy) = &self.publisher_policy {
            c.publisher_policy = match policy {
                PublisherPolicy::RejectNew => CorePolicy::RejectNew,
                PublisherPolicy::TakeOver => CorePolicy::TakeOver,
            };
        }
        if let Some(v) = millis("playWaitTimeoutMs", self.play_wait_timeout_ms, true)? {
            c.play_wait_timeout = v;
        }
        if let Some(v) = self.normalize_timestamps {
            c.normalize_timestamps = v;
        }
        if let Some(v) = self.enhanced_rtmp {
            c.enhanced_rtmp = v;
        }
        if let Some(list) = &self.fourcc_list {
            c.fourcc_list.clone_from(list);
        }
        set!(caps_ex, u32_field, "capsEx");
        if let Some(v) = duration("statsIntervalMs", self.stats_interval_ms)? {
            c.stats_interval = (!v.is_zero()).then_some(v);
        }
        if let Some(v) = duration("writeCoalescingMs", self.write_coalescing_ms)? {
            c.write_coalescing = (!v.is_zero()).then_some(v);
        }
        if let Some(v) = duration("readCoalescingMs", self.read_coalescing_ms)? {
            c.read_coalescing = (!v.is_zero()).then_some(v);
        }
        if let Some(tls) = &self.tls {
            let bind = socket_addr("tls.bind", &tls.bind)?;
            let config = server_config_from_pem(&tls.cert_file, &tls.key_file)?;
            c.tls = Some(TlsListener { bind, config });
        }
        let worker_threads = usize_field("workerThreads", self.worker_threads)?;
        if worker_threads == Some(0) {
            return Err(RtmpError::invalid("workerThreads must be at least 1"));
        }
        let mut embed = EmbedServerOptions { config: c, dispatch: Dispatch::Inline, ..Default::default() };
        if let Some(v) = duration("decisionTimeoutMs", self.decision_timeout_ms)? {
            embed.decision_timeout = v;
        }
        if let Some(n) = worker_threads {
            embed.worker_threads = n;
        }
        let media_tag_timeout =
            duration("mediaTagTimeoutMs", self.media_tag_timeout_ms)?.unwrap_or(Duration::from_secs(1));
        Ok(ServerSettings { embed, worker_threads, media_tag_timeout })
    }
}

impl ClientOptions {
    pub(crate) fn to_embed(&self) -> Result<EmbedClientOptions, RtmpError> {
        let mut c = ClientConfig::default();
        if let Some(v) = duration("connectTimeoutMs", self.connect_timeout_ms)? {
            c.connect_timeout = v;
        }
        if let Some(tls) = &self.tls {
            let mut options = TlsOptions {
                insecure_skip_verify: tls.insecure_skip_verify.unwrap_or(false),
                ..TlsOptions::default()
            };
            if let Some(file) = &tls.ca_file {
                options = options.add_roots_pem(file)?;
            }
            c.tls = options;
        }
        if let Some(v) = self.enhanced_rtmp {
            c.enhanced_rtmp = v;
        }
        if let Some(v) = &self.flash_ver {
            c.flash_ver.clone_from(v);
        }
        if let Some(r) = &self.reconnect {
            let mut policy = ReconnectPolicy::default();
            if let Some(v) = duration("reconnect.initialDelayMs", r.initial_delay_ms)? {
                policy.initial_delay = v;
            }
            if let Some(v) = duration("reconnect.maxDelayMs", r.max_delay_ms)? {
                policy.max_delay = v;
            }
            policy.max_attempts = u32_field("reconnect.maxAttempts", r.max_attempts)?;
            c.reconnect = Some(policy);
        }
        if let Some(v) = usize_field("eventBuffer", self.event_buffer)? {
            c.event_buffer = v.max(1);
        }
        if let Some(v) = u32_field("chunkSize", self.chunk_size)? {
            c.chunk_size = v;
        }
        Ok(EmbedClientOptions { config: c, worker_threads: 1 })
    }
}
