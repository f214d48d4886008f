// Generated from the option schema (rtmp-core's CLIENT_OPTIONS)
// by `RTMP_RS_BLESS=1 cargo test -p rtmp-embed --test generated`; do not edit.

use napi_derive::napi;
use rtmp_core::options::Value;

use crate::options::{ClientTlsOptions, ReconnectOptions};

/// Player and publisher settings. Every field is optional; the defaults are the library's.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Time allowed for TCP (+TLS) connect, handshake, connect and publish/play. Milliseconds. Default 10s.
    pub connect_timeout_ms: Option<f64>,
    /// Nothing received from the server for this long closes the connection. Milliseconds. Default 60s.
    pub idle_timeout_ms: Option<f64>,
    /// Ping the server every third of idle_timeout, so that a quiet server's answers keep the connection. Default true.
    pub ping: Option<bool>,
    /// Announce Enhanced RTMP codecs in connect (fourCcList), as ffmpeg does. Default true.
    pub enhanced_rtmp: Option<bool>,
    /// The flashVer sent in connect. Default FMLE/3.0 (compatible; rtmp-rs).
    pub flash_ver: Option<String>,
    /// Events buffered between the connection and the application. Default 256.
    pub event_buffer: Option<f64>,
    /// Outgoing chunk size. Default 4096.
    pub chunk_size: Option<f64>,
    /// RTMPS certificate checking (for `rtmps://` URLs).
    pub tls: Option<ClientTlsOptions>,
    /// Reconnect after a drop. Default: off.
    pub reconnect: Option<ReconnectOptions>,
}

impl ClientOptions {
    /// The options given, by schema name.
    pub(crate) fn given(&self) -> Vec<(&'static str, Value)> {
        let mut given = Vec::new();
        if let Some(v) = &self.connect_timeout_ms {
            given.push(("connect_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.idle_timeout_ms {
            given.push(("idle_timeout", Value::from(*v)));
        }
        if let Some(v) = &self.ping {
            given.push(("ping", Value::from(*v)));
        }
        if let Some(v) = &self.enhanced_rtmp {
            given.push(("enhanced_rtmp", Value::from(*v)));
        }
        if let Some(v) = &self.flash_ver {
            given.push(("flash_ver", Value::from(v.clone())));
        }
        if let Some(v) = &self.event_buffer {
            given.push(("event_buffer", Value::from(*v)));
        }
        if let Some(v) = &self.chunk_size {
            given.push(("chunk_size", Value::from(*v)));
        }
        given
    }
}
