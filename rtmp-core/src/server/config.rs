//! Server configuration: every limit is a field with a documented default.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::client::TlsOptions;
use crate::options::{Field, Kind, OptionError, OptionTable, Setting, TimeUnit, Unset, Value};
use crate::proto::amf::AmfLimits;
use crate::proto::chunk::ChunkLimits;
use crate::proto::session::ServerSessionConfig;

/// What happens when a second publisher asks for a stream key that is live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublisherPolicy {
    /// Refuse the newcomer with `NetStream.Publish.BadName` (nginx-rtmp, SRS).
    #[default]
    RejectNew,
    /// Disconnect the current publisher and let the newcomer take over: the reconnecting-encoder
    /// case, where the old TCP session has not timed out yet.
    TakeOver,
}

/// Who must authenticate with a user name and password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublishAuth {
    /// Nobody: the handler's hooks decide alone.
    #[default]
    None,
    /// Publishers, with Adobe's challenge (`authmod=adobe`, as Wowza and Adobe Media Server ask
    /// it; OBS, ffmpeg, FMLE, Wirecast and GStreamer answer it): encoders (a `flashVer` starting
    /// with `FMLE/`, as OBS, ffmpeg and GStreamer send) are challenged at connect, the password
    /// comes from [`RtmpHandler::on_credentials`](super::RtmpHandler::on_credentials), and a
    /// publish from a connection that did not authenticate is refused. Players without
    /// credentials connect as before (GStreamer's `rtmp2src` sends `FMLE/3.0` too, so it must
    /// be given credentials).
    Adobe,
}

/// An RTMPS listener beside the plain one.
#[derive(Clone)]
pub struct TlsListener {
    /// Address to listen on for RTMPS (e.g. `0.0.0.0:443`).
    pub bind: SocketAddr,
    /// Certificate and key; build it with [`server_config_from_pem`](crate::client::server_config_from_pem).
    pub config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener").field("bind", &self.bind).finish_non_exhaustive()
    }
}

/// Configuration of an [`RtmpServer`](super::RtmpServer). Build it with the chained setters:
/// `ServerConfig::default().bind(addr).max_connections(100)`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on. Default `0.0.0.0:1935`.
    pub bind: SocketAddr,
    /// Most simultaneous connections; extra ones are closed right after accept. Default 10 000.
    pub max_connections: usize,
    /// Outgoing chunk size, announced after connect. Default 4096 (nginx, OBS).
    pub chunk_size: u32,
    /// Time allowed from accept to an answered `connect`. Default 10 s.
    pub connection_timeout: Duration,
    /// A connection that sends nothing for this long is closed. Default 60 s (nginx).
    pub idle_timeout: Duration,
    /// Window Acknowledgement Size announced to clients. Default 2 500 000.
    pub window_ack_size: u32,
    /// Set Peer Bandwidth announced to clients. Default 2 500 000.
    pub peer_bandwidth: u32,
    /// Largest message accepted, in bytes. Default 8 MiB (4K keyframes fit).
    pub max_message_size: u32,
    /// Most chunk streams one connection may use. Default 64 (encoders use fewer than 10;
    /// each chunk's stream is found by a scan of these).
    pub max_chunk_streams: usize,
    /// Most message streams (`createStream`) per connection. Default 8.
    pub max_streams_per_connection: u32,
    /// AMF nesting depth limit. Default 64.
    pub max_amf_depth: usize,
    /// Most entries in one AMF object, ECMA array, strict array or vector of a command or data
    /// message; a message with more closes the connection. Default 65 536.
    pub max_amf_entries: usize,
    /// Most bytes the values decoded from one command or data message may take, counting every
    /// copy made when AMF3 references are resolved (a few hundred bytes that reference one long
    /// string over and over would otherwise expand into gigabytes); a message that decodes past
    /// it closes the connection. Default 64 MiB.
    pub max_amf_decoded_bytes: usize,
    /// Most messages queued per player, whatever its latency budget (a bound on memory); with no
    /// budget, how full the queue is sets what is dropped (video first). Default 512.
    pub player_queue_length: usize,
    /// A player whose socket accepts nothing for this long is disconnected; one that reads,
    /// however slowly, is never cut for it. Default 10 s.
    pub player_stall_timeout: Duration,
    /// How far a player may fall behind live, counting what its socket still holds: past it the
    /// player loses video (from disposable frames up to whole GOPs, resuming at a keyframe), and
    /// its audio only when the link cannot carry audio alone. `None` keeps everything the queue
    /// length allows. Default 2 s.
    pub player_latency_budget: Option<Duration>,
    /// Kernel send buffer per connection, if set (smaller = backpressure sooner). Default unset.
    pub socket_send_buffer: Option<usize>,
    /// GOP cache cap in bytes; past it the cache is dropped until the next keyframe. Default 16 MiB.
    pub gop_cache_max_bytes: usize,
    /// GOP cache cap in media time. Default 10 s.
    pub gop_cache_max_duration: Duration,
    /// Duplicate-publisher policy. Default [`PublisherPolicy::RejectNew`].
    pub publisher_policy: PublisherPolicy,
    /// How long a publisher that vanished without unpublishing (socket error, EOF, idle
    /// timeout) keeps its players: a republish of the key within it continues their playback
    /// without a notice (encoders reconnect by themselves after a network failure); past it they
    /// get `UnpublishNotify`. Zero unpublishes at once. Default 10 s.
    pub publisher_reconnect_grace: Duration,
    /// Where every publish is forwarded (push), as `[APP=]URL` rules: the URL may hold `{app}`,
    /// `{name}` and `{query}`, and without `APP=` the rule applies to every app (see
    /// [`super::ForwardTemplate`]). The publish decision may add destinations. Default none.
    pub forward: Vec<String>,
    /// The longest wait before a lost forward destination is tried again (the wait doubles from
    /// 1 s, with ±25 % jitter). Default 30 s.
    pub forward_max_backoff: Duration,
    /// Where a stream that is not published here is pulled from while someone plays it, as
    /// `[APP=]URL` rules tried in order (failover), `{app}` and `{name}` substituted; the
    /// handler's `on_locate` answers first. Default none.
    pub pull: Vec<String>,
    /// How long a pull goes on after its stream's last player left. Default 10 s.
    pub pull_idle_timeout: Duration,
    /// How long an upstream has to send media after the play is accepted before the next one is
    /// tried. Default 5 s.
    pub pull_start_timeout: Duration,
    /// PEM files of certificate authorities that `rtmps://` forwards and pulls trust beside the
    /// bundled web PKI roots: an origin or edge with a private CA. A file that cannot be read
    /// or holds no certificate fails [`RtmpServer::new`](super::RtmpServer::new). Default none.
    pub relay_tls_roots: Vec<String>,
    /// How long a player may wait for a stream that is not (yet) published; `None` = forever,
    /// zero = fail at once with `Play.StreamNotFound`. Default 30 s.
    pub play_wait_timeout: Option<Duration>,
    /// Rewrite each publisher's timestamps into a continuous timeline. Default off.
    pub normalize_timestamps: bool,
    /// Announce Enhanced RTMP support to clients that ask. Default on.
    pub enhanced_rtmp: bool,
    /// FourCCs announced to E-RTMP clients. Default: every codec the media layer parses.
    pub fourcc_list: Vec<String>,
    /// `capsEx` announced to E-RTMP clients. Default Multitrack | ModEx | TimestampNanoOffset.
    pub caps_ex: u32,
    /// How often `on_stats` is called; `None` disables it. Default 10 s.
    pub stats_interval: Option<Duration>,
    /// An RTMPS listener on its own address. Default none.
    pub tls: Option<TlsListener>,
    /// Hold each player's output up to this long and write it in one vectored call: far fewer
    /// writes (less CPU) for up to this much added latency (the server CPU per player falls to
    /// about half at 100 ms). One server task writes every player's window, straight into the
    /// sockets. Default none (low latency: each publisher read reaches each player in one
    /// write, at once).
    pub write_coalescing: Option<Duration>,
    /// Most players of one stream at once; a play past it gets `NetStream.Play.Failed`
    /// ("Too many players."). Default none (no limit).
    pub max_players_per_stream: Option<usize>,
    /// Merged reads for publishers (SRS's `mr`): after a read that emptied its socket, a
    /// publisher's connection reads again at the next tick of this window (the same ticks for
    /// every connection), so one read takes in many messages; on Linux the socket stays quiet
    /// meanwhile unless 1 MiB piles up, which is read at once. Each publisher read costs a wake-up
    /// of the task and of the runtime's thread: at 100 publishers on one core, 50 ms cut the
    /// server's CPU per publisher to a third (bench/README.md), for up to this much added latency
    /// from the encoder to players and hooks (and to the answers to the publisher's commands).
    /// Default none (every message is read when it arrives).
    pub read_coalescing: Option<Duration>,
    /// Who must authenticate with a user name and password. Default [`PublishAuth::None`].
    pub publish_auth: PublishAuth,
    /// Most authentication challenges handed out and not yet answered; past it the oldest are
    /// forgotten (their clients fail and retry). Default 1024.
    pub auth_max_pending: usize,
    /// How long a challenge may wait for its answer. Default 30 s.
    pub auth_challenge_lifetime: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let session = ServerSessionConfig::default();
        Self {
            bind: SocketAddr::from(([0, 0, 0, 0], 1935)),
            max_connections: 10_000,
            chunk_size: session.chunk_size,
            connection_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            window_ack_size: session.window_ack_size,
            peer_bandwidth: session.peer_bandwidth,
            max_message_size: session.chunk_limits.max_message_size,
            max_chunk_streams: session.chunk_limits.max_chunk_streams,
            max_streams_per_connection: session.max_streams,
            max_amf_depth: session.amf_limits.max_depth,
            max_amf_entries: session.amf_limits.max_entries,
            max_amf_decoded_bytes: session.amf_limits.max_decoded_bytes,
            player_queue_length: 512,
            player_stall_timeout: Duration::from_secs(10),
            player_latency_budget: Some(Duration::from_secs(2)),
            socket_send_buffer: None,
            gop_cache_max_bytes: 16 * 1024 * 1024,
            gop_cache_max_duration: Duration::from_secs(10),
            publisher_policy: PublisherPolicy::RejectNew,
            publisher_reconnect_grace: Duration::from_secs(10),
            forward: Vec::new(),
            forward_max_backoff: Duration::from_secs(30),
            pull: Vec::new(),
            pull_idle_timeout: Duration::from_secs(10),
            pull_start_timeout: Duration::from_secs(5),
            relay_tls_roots: Vec::new(),
            play_wait_timeout: Some(Duration::from_secs(30)),
            normalize_timestamps: false,
            enhanced_rtmp: session.enhanced_rtmp,
            fourcc_list: session.fourcc_list,
            caps_ex: session.caps_ex,
            stats_interval: Some(Duration::from_secs(10)),
            tls: None,
            write_coalescing: None,
            read_coalescing: None,
            max_players_per_stream: None,
            publish_auth: PublishAuth::None,
            auth_max_pending: 1024,
            auth_challenge_lifetime: Duration::from_secs(30),
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl ServerConfig {
            $(
                $(#[$doc])*
                pub fn $name(mut self, value: $ty) -> Self {
                    self.$name = value;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`ServerConfig::bind`].
    bind: SocketAddr,
    /// Sets [`ServerConfig::max_connections`].
    max_connections: usize,
    /// Sets [`ServerConfig::chunk_size`].
    chunk_size: u32,
    /// Sets [`ServerConfig::connection_timeout`].
    connection_timeout: Duration,
    /// Sets [`ServerConfig::idle_timeout`].
    idle_timeout: Duration,
    /// Sets [`ServerConfig::window_ack_size`].
    window_ack_size: u32,
    /// Sets [`ServerConfig::peer_bandwidth`].
    peer_bandwidth: u32,
    /// Sets [`ServerConfig::max_message_size`].
    max_message_size: u32,
    /// Sets [`ServerConfig::max_chunk_streams`].
    max_chunk_streams: usize,
    /// Sets [`ServerConfig::max_streams_per_connection`].
    max_streams_per_connection: u32,
    /// Sets [`ServerConfig::max_amf_depth`].
    max_amf_depth: usize,
    /// Sets [`ServerConfig::max_amf_entries`].
    max_amf_entries: usize,
    /// Sets [`ServerConfig::max_amf_decoded_bytes`].
    max_amf_decoded_bytes: usize,
    /// Sets [`ServerConfig::player_queue_length`].
    player_queue_length: usize,
    /// Sets [`ServerConfig::player_stall_timeout`].
    player_stall_timeout: Duration,
    /// Sets [`ServerConfig::player_latency_budget`].
    player_latency_budget: Option<Duration>,
    /// Sets [`ServerConfig::socket_send_buffer`].
    socket_send_buffer: Option<usize>,
    /// Sets [`ServerConfig::gop_cache_max_bytes`].
    gop_cache_max_bytes: usize,
    /// Sets [`ServerConfig::gop_cache_max_duration`].
    gop_cache_max_duration: Duration,
    /// Sets [`ServerConfig::publisher_policy`].
    publisher_policy: PublisherPolicy,
    /// Sets [`ServerConfig::publisher_reconnect_grace`].
    publisher_reconnect_grace: Duration,
    /// Sets [`ServerConfig::forward`].
    forward: Vec<String>,
    /// Sets [`ServerConfig::forward_max_backoff`].
    forward_max_backoff: Duration,
    /// Sets [`ServerConfig::pull`].
    pull: Vec<String>,
    /// Sets [`ServerConfig::pull_idle_timeout`].
    pull_idle_timeout: Duration,
    /// Sets [`ServerConfig::pull_start_timeout`].
    pull_start_timeout: Duration,
    /// Sets [`ServerConfig::relay_tls_roots`].
    relay_tls_roots: Vec<String>,
    /// Sets [`ServerConfig::play_wait_timeout`].
    play_wait_timeout: Option<Duration>,
    /// Sets [`ServerConfig::normalize_timestamps`].
    normalize_timestamps: bool,
    /// Sets [`ServerConfig::enhanced_rtmp`].
    enhanced_rtmp: bool,
    /// Sets [`ServerConfig::fourcc_list`].
    fourcc_list: Vec<String>,
    /// Sets [`ServerConfig::caps_ex`].
    caps_ex: u32,
    /// Sets [`ServerConfig::stats_interval`].
    stats_interval: Option<Duration>,
    /// Sets [`ServerConfig::tls`].
    tls: Option<TlsListener>,
    /// Sets [`ServerConfig::write_coalescing`].
    write_coalescing: Option<Duration>,
    /// Sets [`ServerConfig::read_coalescing`].
    read_coalescing: Option<Duration>,
    /// Sets [`ServerConfig::max_players_per_stream`].
    max_players_per_stream: Option<usize>,
    /// Sets [`ServerConfig::publish_auth`].
    publish_auth: PublishAuth,
    /// Sets [`ServerConfig::auth_max_pending`].
    auth_max_pending: usize,
    /// Sets [`ServerConfig::auth_challenge_lifetime`].
    auth_challenge_lifetime: Duration,
}

impl Field for PublisherPolicy {
    fn from_setting(setting: Setting) -> Option<Self> {
        match setting {
            Setting::Choice(0) => Some(Self::RejectNew),
            Setting::Choice(1) => Some(Self::TakeOver),
            _ => None,
        }
    }
    fn to_setting(&self) -> Setting {
        Setting::Choice(*self as usize)
    }
}

impl Field for PublishAuth {
    fn from_setting(setting: Setting) -> Option<Self> {
        match setting {
            Setting::Choice(0) => Some(Self::None),
            Setting::Choice(1) => Some(Self::Adobe),
            _ => None,
        }
    }
    fn to_setting(&self) -> Setting {
        Setting::Choice(*self as usize)
    }
}

const fn int(min: u64, max: u64) -> Kind {
    Kind::Int { min, max, nullable: false }
}

const DURATION: Kind = Kind::Duration(Unset::Refused);

/// Every [`ServerConfig`] option but `tls` (a certificate, not a value), described once: the
/// C, Python and Node skins, the example server's flags and its config file all set options
/// through this table, and [`ServerConfig::validate`] checks values set in Rust against it.
pub static SERVER_OPTIONS: OptionTable<ServerConfig> = crate::option_table!(ServerConfig {
    /// Address to listen on, host:port (port 0 picks a free port).
    bind: Kind::Addr,
    /// Most simultaneous connections; extra ones are closed right after accept.
    max_connections: int(1, 10_000_000),
    /// Outgoing chunk size, announced after connect.
    chunk_size: int(128, 0xFF_FFFF),
    /// Time allowed from accept to an answered connect.
    connection_timeout: DURATION,
    /// A connection that sends nothing for this long is closed.
    idle_timeout: DURATION,
    /// Window Acknowledgement Size announced to clients.
    window_ack_size: int(1, 0x7FFF_FFFF),
    /// Set Peer Bandwidth announced to clients.
    peer_bandwidth: int(1, 0x7FFF_FFFF),
    /// Largest message accepted, in bytes (RTMP's message length has 24 bits).
    max_message_size: int(1, 0xFF_FFFF),
    /// Most chunk streams one connection may use.
    max_chunk_streams: int(1, 65_600),
    /// Most message streams (createStream) per connection.
    max_streams_per_connection: int(1, 65_535),
    /// AMF nesting depth limit.
    max_amf_depth: int(1, 1024),
    /// Most entries in one AMF object or array of a received command or data message.
    max_amf_entries: int(1, 0xFFFF_FFFF),
    /// Most bytes the values decoded from one received command or data message may take.
    max_amf_decoded_bytes: int(1, 1 << 40),
    /// Most messages queued per player (with no latency budget, its fill sets the drops).
    player_queue_length: int(1, 1 << 20),
    /// A player whose socket accepts nothing for this long is disconnected.
    player_stall_timeout: DURATION,
    /// How far a player may fall behind live before it loses video, then audio (none: no limit).
    player_latency_budget: Kind::Duration(Unset::Off),
    /// Kernel send buffer per connection in bytes; none leaves the system's.
    socket_send_buffer: Kind::Int { min: 1, max: 1 << 30, nullable: true },
    /// GOP cache cap in bytes.
    gop_cache_max_bytes: int(0, 1 << 40),
    /// GOP cache cap in media time.
    gop_cache_max_duration: DURATION,
    /// What a second publisher of a live stream key gets: refused, or the stream.
    publisher_policy: Kind::Choice(&["reject_new", "take_over"]),
    /// How long the players of a publisher that vanished wait for its reconnect (0 unpublishes at once).
    publisher_reconnect_grace: DURATION,
    /// Forward every publish to these [APP=]URL rules ({app}, {name}, {query} are substituted).
    forward: Kind::List,
    /// The longest wait before a lost forward destination is tried again.
    forward_max_backoff: DURATION,
    /// Pull a stream not published here from these [APP=]URL rules, tried in order, while it is played.
    pull: Kind::List,
    /// How long a pull goes on after its stream's last player left.
    pull_idle_timeout: DURATION,
    /// How long an upstream has to send media before the next one is tried.
    pull_start_timeout: DURATION,
    /// PEM files of CAs that rtmps:// forwards and pulls trust beside the web PKI roots.
    relay_tls_roots: Kind::List,
    /// How long a player may wait for a stream that is not published (0 fails at once).
    play_wait_timeout: Kind::Duration(Unset::Forever),
    /// Rewrite each publisher's timestamps into a continuous timeline.
    normalize_timestamps: Kind::Bool,
    /// Announce Enhanced RTMP support to clients that ask.
    enhanced_rtmp: Kind::Bool,
    /// FourCCs announced to Enhanced RTMP clients.
    fourcc_list: Kind::List,
    /// capsEx announced to Enhanced RTMP clients.
    caps_ex: int(0, 0xFFFF_FFFF),
    /// How often on_stats is called.
    stats_interval: Kind::Duration(Unset::Off),
    /// Hold each player's output up to this long and write it at once (less CPU, more latency).
    write_coalescing: Kind::Duration(Unset::Off),
    /// Read an idle publisher again only at the next tick of this window (less CPU, more latency).
    read_coalescing: Kind::Duration(Unset::Off),
    /// Most players of one stream at once; more get NetStream.Play.Failed.
    max_players_per_stream: Kind::Int { min: 1, max: 10_000_000, nullable: true },
    /// Who must authenticate with a user name and password: none, or publishers with authmod=adobe.
    publish_auth: Kind::Choice(&["none", "adobe"]),
    /// Most authentication challenges handed out and not yet answered.
    auth_max_pending: int(1, 1 << 24),
    /// How long an authentication challenge may wait for its answer.
    auth_challenge_lifetime: DURATION,
});

impl ServerConfig {
    /// Sets the option named `name` (see [`SERVER_OPTIONS`]), checked against its range; a bare
    /// number for a duration is read in `unit`.
    pub fn set_option(&mut self, name: &str, value: &Value, unit: TimeUnit) -> Result<(), OptionError> {
        SERVER_OPTIONS.set(self, name, value, unit)
    }

    /// Checks every option against its range, the rules' syntax, and that every
    /// `relay_tls_roots` file holds a certificate (it reads them);
    /// [`RtmpServer::new`](super::RtmpServer::new) refuses a config that fails.
    pub fn validate(&self) -> Result<(), OptionError> {
        self.validated().map(drop)
    }

    /// [`Self::validate`], keeping what it read: how `rtmps://` forwards and pulls check their
    /// peer (the web PKI roots and every certificate of `relay_tls_roots`' files).
    pub(crate) fn validated(&self) -> Result<TlsOptions, OptionError> {
        SERVER_OPTIONS.validate(self)?;
        for rule in &self.forward {
            super::ForwardTemplate::parse(rule)
                .map_err(|problem| OptionError::invalid("forward", problem))?;
        }
        for rule in &self.pull {
            super::ForwardTemplate::parse(rule).map_err(|problem| OptionError::invalid("pull", problem))?;
        }
        let mut tls = TlsOptions::default();
        for path in &self.relay_tls_roots {
            let invalid =
                |problem: String| OptionError::invalid("relay_tls_roots", format!("{path}: {problem}"));
            let before = tls.extra_roots.len();
            tls = tls.add_roots_pem(path).map_err(|e| invalid(format!("cannot be read ({e})")))?;
            if tls.extra_roots.len() == before {
                return Err(invalid("holds no certificate".to_owned()));
            }
        }
        Ok(tls)
    }

    /// The forward rules, parsed ([`Self::validate`] checked them).
    pub(crate) fn forward_templates(&self) -> impl Iterator<Item = super::ForwardTemplate> + '_ {
        self.forward.iter().filter_map(|rule| super::ForwardTemplate::parse(rule).ok())
    }

    /// The per-connection protocol settings derived from this config.
    pub fn session_config(&self) -> ServerSessionConfig {
        ServerSessionConfig {
            chunk_limits: ChunkLimits {
                max_message_size: self.max_message_size,
                max_chunk_streams: self.max_chunk_streams,
            },
            amf_limits: AmfLimits {
                max_depth: self.max_amf_depth,
                max_entries: self.max_amf_entries,
                max_decoded_bytes: self.max_amf_decoded_bytes,
            },
            chunk_size: self.chunk_size,
            window_ack_size: self.window_ack_size,
            peer_bandwidth: self.peer_bandwidth,
            max_streams: self.max_streams_per_connection,
            normalize_timestamps: self.normalize_timestamps,
            fms_version: ServerSessionConfig::default().fms_version,
            enhanced_rtmp: self.enhanced_rtmp,
            fourcc_list: self.fourcc_list.clone(),
            caps_ex: self.caps_ex,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_every_option_round_trips() {
        assert_eq!(ServerConfig::default().validate(), Ok(()));
        let defaults = ServerConfig::default();
        for spec in SERVER_OPTIONS.options {
            let mut copy = ServerConfig::default();
            assert!((spec.apply)(&mut copy, (spec.get)(&defaults)), "{} round-trips", spec.name);
        }
    }

    #[test]
    fn set_option_refuses_out_of_range_values_with_the_name() {
        let mut config = ServerConfig::default();
        let error = config.set_option("chunk_size", &Value::Int(64), TimeUnit::Seconds).unwrap_err();
        assert_eq!(error.to_string(), "chunk_size must be an integer from 128 to 16777215, not 64");
        assert_eq!(config.chunk_size, 4096);
        config.set_option("publisher_policy", &Value::from("take-over"), TimeUnit::Seconds).unwrap();
        assert_eq!(config.publisher_policy, PublisherPolicy::TakeOver);
        config.set_option("play_wait_timeout", &Value::Null, TimeUnit::Seconds).unwrap();
        assert_eq!(config.play_wait_timeout, None);
        assert_eq!(ServerConfig::default().chunk_size(0).validate().unwrap_err().name, "chunk_size");
    }

    #[test]
    fn amf_limits_default_to_the_decoders_and_reach_the_session() {
        let defaults = ServerConfig::default();
        assert_eq!(defaults.session_config().amf_limits, AmfLimits::default());
        assert_eq!(
            (defaults.max_amf_depth, defaults.max_amf_entries, defaults.max_amf_decoded_bytes),
            (64, 65_536, 64 << 20)
        );
        let config = ServerConfig::default().max_amf_depth(3).max_amf_entries(5).max_amf_decoded_bytes(7);
        assert_eq!(
            config.session_config().amf_limits,
            AmfLimits { max_depth: 3, max_entries: 5, max_decoded_bytes: 7 }
        );
    }
}
