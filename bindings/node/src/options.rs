//! Option objects, camelCase with durations in milliseconds: the server's are generated from the
//! option schema (`server_options.rs`) and checked by it; the client's are below.

use napi_derive::napi;
use rtmp_core::client::{ClientConfig, ReconnectPolicy, TlsOptions};
use rtmp_core::options::{Field, Kind, TimeUnit, Unset, Value};
use rtmp_embed::{
    ClientOptions as EmbedClientOptions, Dispatch, ServerOptions as EmbedServerOptions, node_message,
    node_name,
};

pub use crate::client_options::ClientOptions;
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

/// A reconnection field, checked as the schema checks options (durations in ms).
fn reconnect_field<T: Field>(name: &str, kind: Kind, value: Option<f64>) -> Result<Option<T>, RtmpError> {
    let Some(v) = value else { return Ok(None) };
    let setting = kind
        .check(&Value::from(v), TimeUnit::Millis)
        .map_err(|p| RtmpError::invalid(format!("{name} {p}")))?;
    Ok(T::from_setting(setting))
}

/// One option as the schema describes it.
#[napi(object)]
pub struct OptionInfo {
    /// Its name in the schema (Python, C, TOML): `chunk_size`.
    pub name: String,
    /// Its field in `ServerOptions` or `ClientOptions`: `chunkSize`, `idleTimeoutMs`.
    pub field: String,
    /// What values it takes.
    pub takes: String,
    /// Its default, as text (durations with their unit).
    pub default_value: String,
    /// What it does.
    pub doc: String,
}

fn describe(options: impl Iterator<Item = rtmp_embed::OptionInfo>) -> Vec<OptionInfo> {
    options
        .map(|o| OptionInfo {
            name: o.name.into(),
            field: node_name(o.name, &o.kind),
            takes: o.kind.describe(),
            default_value: o.default.to_text(&o.kind),
            doc: o.doc.into(),
        })
        .collect()
}

/// Every server option, from the schema that checks them.
#[napi]
pub fn server_options() -> Vec<OptionInfo> {
    describe(rtmp_embed::server_options())
}

/// Every plain client option (`ClientOptions` has `tls` and `reconnect` besides).
#[napi]
pub fn client_options() -> Vec<OptionInfo> {
    describe(rtmp_embed::client_options().filter(|o| o.name != "worker_threads"))
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
            embed.set(name, &value, TimeUnit::Millis).map_err(|e| RtmpError::invalid(node_message(&e)))?;
        }
        if let Some(tls) = &self.tls {
            embed.set_tls(&tls.bind, &tls.cert_file, &tls.key_file).map_err(|e| match e.name.as_str() {
                "tls_bind" => RtmpError::invalid(e.message_for("tls.bind")),
                _ => RtmpError::new(crate::error::code::TLS, e.message_for("tls.certFile/tls.keyFile")),
            })?;
        }
        // What no single value shows (a `relayTlsRoots` file that cannot be read), here too.
        embed.config.validate().map_err(|e| RtmpError::invalid(node_message(&e)))?;
        let worker_threads = self.worker_threads.map(|_| embed.worker_threads);
        Ok(ServerSettings { embed, worker_threads })
    }
}

impl ClientOptions {
    /// Checks the plain options through the schema (durations in milliseconds), then TLS and
    /// reconnection.
    pub(crate) fn to_embed(&self) -> Result<EmbedClientOptions, RtmpError> {
        let mut c = ClientConfig::default();
        for (name, value) in self.given() {
            c.set_option(name, &value, TimeUnit::Millis).map_err(|e| RtmpError::invalid(node_message(&e)))?;
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
        if let Some(r) = &self.reconnect {
            let delay = Kind::Duration(Unset::Refused);
            let mut policy = ReconnectPolicy::default();
            if let Some(v) = reconnect_field("reconnect.initialDelayMs", delay, r.initial_delay_ms)? {
                policy.initial_delay = v;
            }
            if let Some(v) = reconnect_field("reconnect.maxDelayMs", delay, r.max_delay_ms)? {
                policy.max_delay = v;
            }
            let attempts = Kind::Int { min: 0, max: u32::MAX.into(), nullable: false };
            policy.max_attempts = reconnect_field("reconnect.maxAttempts", attempts, r.max_attempts)?;
            c.reconnect = Some(policy);
        }
        Ok(EmbedClientOptions { config: c, worker_threads: 1 })
    }
}
