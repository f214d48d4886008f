// Generated from the option schema (rtmp-core's SERVER_OPTIONS and rtmp-embed's LAYER_OPTIONS)
// by `RTMP_RS_BLESS=1 cargo test -p rtmp-embed --test generated`; do not edit.

use napi_derive::napi;
use rtmp_core::options::Value;

use crate::options::ServerTlsOptions;

/// What a second publisher of a live stream key gets: refused, or the stream.
#[napi(string_enum = "kebab-case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublisherPolicy {
    /// `'reject-new'`
    RejectNew,
    /// `'take-over'`
    TakeOver,
}

/// Who must authenticate with a user name and password: none, or publishers with authmod=adobe.
#[napi(string_enum = "kebab-case")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishAuth {
    /// `'none'`
    None,
    /// `'adobe'`
    Adobe,
}

/// Server settings. Every field is optional; the defaults are the library's.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Address to listen on, host:port (port 0 picks a free port). Default 0.0.0.0:1935.
    pub bind: Option<String>,
    /// Most simultaneous connections; extra ones are closed right after accept. Default 10000.
    pub max_connections: Option<f64>,
    /// Outgoing chunk size, announced after connect. Default 4096.
    pub chunk_size: Option<f64>,
    /// Time allowed from accept to an answered connect. Milliseconds. Default 10s.
    pub connection_timeout_ms: Option<f64>,
    /// A connection that sends nothing for this long is closed. Milliseconds. Default 60s.
    pub idle_timeout_ms: Option<f64>,
    /// Window Acknowledgement Size announced to clients. Default 2500000.
    pub window_ack_size: Option<f64>,
    /// Set Peer Bandwidth announced to clients. Default 2500000.
    pub peer_bandwidth: Option<f64>,
    /// Largest message accepted, in bytes (RTMP's message length has 24 bits). Default 8388608.
    pub max_message_size: Option<f64>,
    /// Most chunk streams one connection may use. Default 64.
    pub max_chunk_streams: Option<f64>,
    /// Most message streams (createStream) per connection. Default 8.
    pub max_streams_per_connection: Option<f64>,
    /// AMF nesting depth limit. Default 64.
    pub max_amf_depth: Option<f64>,
    /// Most entries in one AMF object or array of a received command or data message. Default 65536.
    pub max_amf_entries: Option<f64>,
    /// Most bytes the values decoded from one received command or data message may take. Default 67108864.
    pub max_amf_decoded_bytes: Option<f64>,
    /// Most messages queued per player (with no latency budget, its fill sets the drops). Default 512.
    pub player_queue_length: Option<f64>,
    /// A player whose socket accepts nothing for this long is disconnected. Milliseconds. Default 10s.
    pub player_stall_timeout_ms: Option<f64>,
    /// How far a player may fall behind live before it loses video, then audio (none: no limit). Milliseconds; 0 turns it off. Default 2s.
    pub player_latency_budget_ms: Option<f64>,
    /// Kernel send buffer per connection in bytes; none leaves the system's. Default the system's.
    pub socket_send_buffer: Option<f64>,
    /// GOP cache cap in bytes. Default 16777216.
    pub gop_cache_max_bytes: Option<f64>,
    /// GOP cache cap in media time. Milliseconds. Default 10s.
    pub gop_cache_max_duration_ms: Option<f64>,
    /// What a second publisher of a live stream key gets: refused, or the stream. Default reject-new.
    #[napi(ts_type = "PublisherPolicy")]
    pub publisher_policy: Option<String>,
    /// How long the players of a publisher that vanished wait for its reconnect (0 unpublishes at once). Milliseconds. Default 10s.
    pub publisher_reconnect_grace_ms: Option<f64>,
    /// Forward every publish to these [APP=]URL rules ({app}, {name}, {query} are substituted). Default none.
    pub forward: Option<Vec<String>>,
    /// The longest wait before a lost forward destination is tried again. Milliseconds. Default 30s.
    pub forward_max_backoff_ms: Option<f64>,
    /// Pull a stream not published here from these [APP=]URL rules, tried in order, while it is played. Default none.
    pub pull: Option<Vec<String>>,
    /// How long a pull goes on after its stream's last player left. Milliseconds. Default 10s.
    pub pull_idle_timeout_ms: Option<f64>,
    /// How long an upstream has to send media before the next one is tried. Milliseconds. Default 5s.
    pub pull_start_timeout_ms: Option<f64>,
    /// PEM files of CAs that rtmps:// forwards and pulls trust beside the web PKI roots. Default none.
    pub relay_tls_roots: Option<Vec<String>>,
    /// How long a player may wait for a stream that is not published (0 fails at once). Milliseconds; `Infinity` waits forever. Default 30s.
    pub play_wait_timeout_ms: Option<f64>,
    /// Rewrite each publisher's timestamps into a continuous timeline. Default false.
    pub normalize_timestamps: Option<bool>,
    /// Announce Enhanced RTMP support to clients that ask. Default true.
    pub enhanced_rtmp: Option<bool>,
    /// FourCCs announced to Enhanced RTMP clients. Default every codec the library parses.
    pub fourcc_list: Option<Vec<String>>,
    /// capsEx announced to Enhanced RTMP clients. Default 14.
    pub caps_ex: Option<f64>,
    /// How often on_stats is called. Milliseconds; 0 turns it off. Default 10s.
    pub stats_interval_ms: Option<f64>,
    /// Hold each player's output up to this long and write it at once (less CPU, more latency). Milliseconds; 0 turns it off. Default off.
    pub write_coalescing_ms: Option<f64>,
    /// Read an idle publisher again only at the next tick of this window (less CPU, more latency). Milliseconds; 0 turns it off. Default off.
    pub read_coalescing_ms: Option<f64>,
    /// Most players of one stream at once; more get NetStream.Play.Failed. Default the system's.
    pub max_players_per_stream: Option<f64>,
    /// Who must authenticate with a user name and password: none, or publishers with authmod=adobe. Default none.
    #[napi(ts_type = "PublishAuth")]
    pub publish_auth: Option<String>,
    /// Most authentication challenges handed out and not yet answered. Default 1024.
    pub auth_max_pending: Option<f64>,
    /// How long an authentication challenge may wait for its answer. Milliseconds. Default 30s.
    pub auth_challenge_lifetime_ms: Option<f64>,
    /// Worker threads of a runtime of the server's own. Default 2.
    pub worker_threads: Option<f64>,
    /// How long a decision hook may take before it counts as a reject. Milliseconds. Default 10s.
    pub decision_timeout_ms: Option<f64>,
    /// Frame events that may wait for a slow handler; past it they are dropped and counted (Python, Node). Default 10000.
    pub max_pending_frames: Option<f64>,
    /// How long on_media_tag may take before the message passes anyway (Python, Node). Milliseconds. Default 1s.
    pub media_tag_timeout_ms: Option<f64>,
    /// Threads that run plain (not async) Python decision hooks side by side. Default 40.
    pub hook_threads: Option<f64>,
    /// An RTMPS listener on its own address. Default none.
    pub tls: Option<ServerTlsOptions>,
}

impl ServerOptions {
    /// The options given, by schema name.
    pub(crate) fn given(&self) -> Vec<(&'static str, Value)> {
        let mut given = Vec::new();
        if let Some(v) = &self.bind {
            given.push(("bind", Value::from(v.clone())));
        }
        if let Some(v) = &self.max_connections {
            given.push(("max_connections", Value::from(*v)));
        }
        if let Some(v) = &self.chunk_size {
            given.push(("chunk_size", Value::from(*v)));
        }
        if let Some(v) = &self.connection_timeout_ms {
            given.push(("connection_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.idle_timeout_ms {
            given.push(("idle_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.window_ack_size {
            given.push(("window_ack_size", Value::from(*v)));
        }
        if let Some(v) = &self.peer_bandwidth {
            given.push(("peer_bandwidth", Value::from(*v)));
        }
        if let Some(v) = &self.max_message_size {
            given.push(("max_message_size", Value::from(*v)));
        }
        if let Some(v) = &self.max_chunk_streams {
            given.push(("max_chunk_streams", Value::from(*v)));
        }
        if let Some(v) = &self.max_streams_per_connection {
            given.push(("max_streams_per_connection", Value::from(*v)));
        }
        if let Some(v) = &self.max_amf_depth {
            given.push(("max_amf_depth", Value::from(*v)));
        }
        if let Some(v) = &self.max_amf_entries {
            given.push(("max_amf_entries", Value::from(*v)));
        }
        if let Some(v) = &self.max_amf_decoded_bytes {
            given.push(("max_amf_decoded_bytes", Value::from(*v)));
        }
        if let Some(v) = &self.player_queue_length {
            given.push(("player_queue_length", Value::from(*v)));
        }
        if let Some(v) = &self.player_stall_timeout_ms {
            given.push(("player_stall_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.player_latency_budget_ms {
            given.push(("player_latency_budget", Value::from(*v)));
        }
        if let Some(v) = &self.socket_send_buffer {
            given.push(("socket_send_buffer", Value::from(*v)));
        }
        if let Some(v) = &self.gop_cache_max_bytes {
            given.push(("gop_cache_max_bytes", Value::from(*v)));
        }
        if let Some(v) = &self.gop_cache_max_duration_ms {
            given.push(("gop_cache_max_duration", Value::from(*v)));
        }
        if let Some(v) = &self.publisher_policy {
            given.push(("publisher_policy", Value::from(v.clone())));
        }
        if let Some(v) = &self.publisher_reconnect_grace_ms {
            given.push(("publisher_reconnect_grace", Value::from(*v)));
        }
        if let Some(v) = &self.forward {
            given.push(("forward", Value::from(v.clone())));
        }
        if let Some(v) = &self.forward_max_backoff_ms {
            given.push(("forward_max_backoff", Value::from(*v)));
        }
        if let Some(v) = &self.pull {
            given.push(("pull", Value::from(v.clone())));
        }
        if let Some(v) = &self.pull_idle_timeout_ms {
            given.push(("pull_idle_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.pull_start_timeout_ms {
            given.push(("pull_start_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.relay_tls_roots {
            given.push(("relay_tls_roots", Value::from(v.clone())));
        }
        if let Some(v) = &self.play_wait_timeout_ms {
            given.push(("play_wait_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.normalize_timestamps {
            given.push(("normalize_timestamps", Value::from(*v)));
        }
        if let Some(v) = &self.enhanced_rtmp {
            given.push(("enhanced_rtmp", Value::from(*v)));
        }
        if let Some(v) = &self.fourcc_list {
            given.push(("fourcc_list", Value::from(v.clone())));
        }
        if let Some(v) = &self.caps_ex {
            given.push(("caps_ex", Value::from(*v)));
        }
        if let Some(v) = &self.stats_interval_ms {
            given.push(("stats_interval", Value::from(*v)));
        }
        if let Some(v) = &self.write_coalescing_ms {
            given.push(("write_coalescing", Value::from(*v)));
        }
        if let Some(v) = &self.read_coalescing_ms {
            given.push(("read_coalescing", Value::from(*v)));
        }
        if let Some(v) = &self.max_players_per_stream {
            given.push(("max_players_per_stream", Value::from(*v)));
        }
        if let Some(v) = &self.publish_auth {
            given.push(("publish_auth", Value::from(v.clone())));
        }
        if let Some(v) = &self.auth_max_pending {
            given.push(("auth_max_pending", Value::from(*v)));
        }
        if let Some(v) = &self.auth_challenge_lifetime_ms {
            given.push(("auth_challenge_lifetime", Value::from(*v)));
        }
        if let Some(v) = &self.worker_threads {
            given.push(("worker_threads", Value::from(*v)));
        }
        if let Some(v) = &self.decision_timeout_ms {
            given.push(("decision_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.max_pending_frames {
            given.push(("max_pending_frames", Value::from(*v)));
        }
        if let Some(v) = &self.media_tag_timeout_ms {
            given.push(("media_tag_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.hook_threads {
            given.push(("hook_threads", Value::from(*v)));
        }
        given
    }
}
