//! Option objects, camelCase with durations in milliseconds: the server's are generated from the
//! option schema (`server_options.rs`) and checked by it; the client's are below.

use std::time::Duration;

use napi_derive::napi;
use rtmp_core::client::{ClientConfig, ReconnectPolicy, TlsOptions};
use rtmp_core::options::TimeUnit;
use rtmp_embed::{
    ClientOptions as EmbedClientOptions, Dispatch, ServerOptions as EmbedServerOptions, Spelling,
};

pub use crate::server_options::ServerOptions;

use crate::error::RtmpError;

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

/// One server option as the schema describes it.
#[napi(object)]
pub struct ServerOptionInfo {
    /// Its name in the schema (Python, C, TOML): `chunk_size`.
    pub name: String,
    /// Its field in `ServerOptions`: `chunkSize`, `idleTimeoutMs`.
    pub field: String,
    /// What values it takes.
    pub takes: String,
    /// Its default, as text (durations with their unit).
    pub default_value: String,
    /// What it does.
    pub doc: String,
}

/// Every server option, from the schema that checks them.
#[napi]
pub fn server_options() -> Vec<ServerOptionInfo> {
    rtmp_embed::server_options()
        .map(|o| ServerOptionInfo {
            name: o.name.into(),
            field: Spelling::Node.spell(o.name, &o.kind),
            takes: o.kind.describe(),
            default_value: o.default.to_text(&o.kind),
            doc: o.doc.into(),
        })
        .collect()
}

/// The layer's options as the Node server takes them.
pub(crate) struct ServerSettings {
    pub(crate) embed: EmbedServerOptions,
    /// `Some` when the server wants a runtime of its own.
    pub(crate) worker_threads: Option<usize>,
}

impl ServerOptions {
    /// Checks every option given through the schema (durations in milliseconds).
    pub(crate) fn settings(&self) -> Result<ServerSettings, RtmpError> {
        let mut embed = EmbedServerOptions { dispatch: Dispatch::Inline, ..Default::default() };
        for (name, value) in self.given() {
            embed
                .set(name, &value, TimeUnit::Millis)
                .map_err(|e| RtmpError::invalid(Spelling::Node.message(&e)))?;
        }
        if let Some(tls) = &self.tls {
            embed.set_tls(&tls.bind, &tls.cert_file, &tls.key_file).map_err(|e| match e.name.as_str() {
                "tls_bind" => RtmpError::invalid(e.message_for("tls.bind")),
                _ => RtmpError::new(crate::error::code::TLS, e.message_for("tls.certFile/tls.keyFile")),
            })?;
        }
        let worker_threads = self.worker_threads.map(|_| embed.worker_threads);
        Ok(ServerSettings { embed, worker_threads })
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
