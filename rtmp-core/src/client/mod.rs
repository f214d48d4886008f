//! The RTMP client: play and publish against any server, over RTMP or RTMPS.
//!
//! Each client runs a driver task that owns the socket and the sans-IO [`ClientSession`]: it
//! answers pings and acknowledgements on its own, and the API talks to it through bounded
//! channels, so a slow consumer slows the socket (TCP backpressure), never memory.
//!
//! [`ClientSession`]: crate::proto::session::ClientSession

mod auth;
pub(crate) mod driver;
mod player;
mod publisher;
mod tls;
mod url;

use std::time::Duration;

use thiserror::Error;

pub use player::{PlayerEvent, RtmpPlayer};
pub use publisher::RtmpPublisher;
pub use tls::{TlsOptions, server_config_from_pem};
pub use url::{RtmpUrl, Scheme};

use crate::options::{Kind, OptionError, OptionTable, TimeUnit, Unset, Value};
use crate::proto::ProtocolError;

/// Why a client call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not an RTMP URL.
    #[error("bad RTMP URL {0}")]
    BadUrl(String),
    /// A socket error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The server broke the protocol.
    #[error("protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// An option is out of range ([`ClientConfig::validate`]).
    #[error("{0}")]
    BadConfig(#[from] OptionError),
    /// TLS setup or handshake failed.
    #[error("tls: {0}")]
    Tls(String),
    /// The server refused connect, publish or play.
    #[error("refused by the server: {code}: {description}")]
    Rejected {
        /// The status code (NetConnection.Connect.Rejected, NetStream.Publish.BadName, …).
        code: String,
        /// The server's description.
        description: String,
    },
    /// The server did not answer in time.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
}

/// Reconnection with exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// First delay.
    pub initial_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
    /// Give up after this many attempts in a row; `None` = never.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    /// 0.5 s doubling up to 10 s, forever.
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
            max_attempts: None,
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Time allowed for TCP (+TLS) connect, handshake, connect and publish/play to succeed.
    /// Default 10 s.
    pub connect_timeout: Duration,
    /// RTMPS certificate checking.
    pub tls: TlsOptions,
    /// Announce Enhanced RTMP codecs in connect (`fourCcList`), as ffmpeg does. Default on.
    pub enhanced_rtmp: bool,
    /// The `flashVer` sent in connect. Default `FMLE/3.0 (compatible; rtmp-rs)` (an encoder's,
    /// as OBS and ffmpeg send when publishing); players left at the default send ffmpeg's player
    /// version, `LNX 9,0,124,2`, so that servers that make encoders log in let them play.
    pub flash_ver: String,
    /// Reconnect after a drop (player and publisher). Default off.
    pub reconnect: Option<ReconnectPolicy>,
    /// Events buffered between the driver and the application. Default 256.
    pub event_buffer: usize,
    /// Outgoing chunk size. Default 4096.
    pub chunk_size: u32,
    /// Nothing received from the server for this long closes the connection
    /// ([`ClientError::Timeout`]`("idle")`, after which `reconnect` applies). Default 60 s, as the
    /// server's.
    pub idle_timeout: Duration,
    /// Ping the server every third of `idle_timeout` (at least every 100 ms), as the server pings
    /// its clients: a quiet server's answers keep the connection from idling. Default on.
    pub ping: bool,
}

/// Every [`ClientConfig`] option that is a plain value, described once (`tls` and `reconnect`
/// are structured and set by each skin's own form): the C, Python and Node skins set them
/// through this table, as the server's options through [`SERVER_OPTIONS`](crate::server::SERVER_OPTIONS).
pub static CLIENT_OPTIONS: OptionTable<ClientConfig> = crate::option_table!(ClientConfig {
    /// Time allowed for TCP (+TLS) connect, handshake, connect and publish/play.
    connect_timeout: Kind::Duration(Unset::Refused),
    /// Nothing received from the server for this long closes the connection.
    idle_timeout: Kind::Duration(Unset::Refused),
    /// Ping the server every third of idle_timeout, so that a quiet server's answers keep the connection.
    ping: Kind::Bool,
    /// Announce Enhanced RTMP codecs in connect (fourCcList), as ffmpeg does.
    enhanced_rtmp: Kind::Bool,
    /// The flashVer sent in connect.
    flash_ver: Kind::Text,
    /// Events buffered between the connection and the application.
    event_buffer: Kind::Int { min: 1, max: 1 << 20, nullable: false },
    /// Outgoing chunk size.
    chunk_size: Kind::Int { min: 128, max: 0xFF_FFFF, nullable: false },
});

impl ClientConfig {
    /// Sets the option named `name` (see [`CLIENT_OPTIONS`]), checked against its range; a bare
    /// number for a duration is read in `unit`.
    pub fn set_option(&mut self, name: &str, value: &Value, unit: TimeUnit) -> Result<(), OptionError> {
        CLIENT_OPTIONS.set(self, name, value, unit)
    }

    /// Checks every option against its range.
    pub fn validate(&self) -> Result<(), OptionError> {
        CLIENT_OPTIONS.validate(self)
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            tls: TlsOptions::default(),
            enhanced_rtmp: true,
            flash_ver: DEFAULT_FLASH_VER.into(),
            reconnect: None,
            event_buffer: 256,
            chunk_size: 4096,
            idle_timeout: Duration::from_secs(60),
            ping: true,
        }
    }
}

/// [`ClientConfig::flash_ver`]'s default.
const DEFAULT_FLASH_VER: &str = "FMLE/3.0 (compatible; rtmp-rs)";

/// What players send instead of [`DEFAULT_FLASH_VER`] (ffmpeg's when it plays).
const PLAYER_FLASH_VER: &str = "LNX 9,0,124,2";

/// The FourCCs announced when `enhanced_rtmp` is on.
const FOURCC_LIST: [&str; 12] =
    ["av01", "vp09", "vp08", "hvc1", "avc1", "vvc1", "ac-3", "ec-3", "Opus", ".mp3", "fLaC", "mp4a"];
