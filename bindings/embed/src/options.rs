//! The server option schema as the skins see it: the core's [`SERVER_OPTIONS`] plus the layer's
//! own ([`LAYER_OPTIONS`]), set by name and checked once here. Each skin spells the names its
//! own way ([`node_name`] in Node) and reads bare numbers for durations in its own unit, and does nothing
//! else per option: a new option is one entry in a table.

use std::time::Duration;

use rtmp_core::client::{CLIENT_OPTIONS, server_config_from_pem};
use rtmp_core::option_table;
use rtmp_core::options::{Kind, OptionError, OptionTable, Setting, TimeUnit, Unset, Value};
use rtmp_core::server::{SERVER_OPTIONS, TlsListener};

use crate::client::ClientOptions;
use crate::server::ServerOptions;

/// The options of the embedding layer itself (threads, the event policy's bounds).
pub static LAYER_OPTIONS: OptionTable<ServerOptions> = option_table!(ServerOptions {
    /// Worker threads of a runtime of the server's own.
    worker_threads: Kind::Int { min: 1, max: 1024, nullable: false },
    /// How long a decision hook may take before it counts as a reject.
    decision_timeout: Kind::Duration(Unset::Refused),
    /// Frame events that may wait for a slow handler; past it they are dropped and counted (Python, Node).
    max_pending_frames: Kind::Int { min: 1, max: 1 << 24, nullable: false },
    /// How long on_media_tag may take before the message passes anyway (Python, Node).
    media_tag_timeout: Kind::Duration(Unset::Refused),
    /// Threads that run plain (not async) Python decision hooks side by side.
    hook_threads: Kind::Int { min: 1, max: 1024, nullable: false },
});

/// The client options of the embedding layer itself.
pub static CLIENT_LAYER_OPTIONS: OptionTable<ClientOptions> = option_table!(ClientOptions {
    /// Worker threads of a runtime of the client's own.
    worker_threads: Kind::Int { min: 1, max: 1024, nullable: false },
});

/// One option as a skin or a generator sees it.
#[derive(Debug, Clone)]
pub struct OptionInfo {
    /// The schema name (snake_case).
    pub name: &'static str,
    /// Type, unit and range.
    pub kind: Kind,
    /// One line saying what it does.
    pub doc: &'static str,
    /// The default value.
    pub default: Setting,
}

impl OptionInfo {
    /// The options of `table`, with the defaults of `T`.
    pub fn of<T: Default>(table: &'static OptionTable<T>) -> impl Iterator<Item = Self> {
        let defaults = T::default();
        table.options.iter().map(move |spec| Self {
            name: spec.name,
            kind: spec.kind,
            doc: spec.doc,
            default: (spec.get)(&defaults),
        })
    }
}

/// Every server option, the core's then the layer's, with its default.
pub fn server_options() -> impl Iterator<Item = OptionInfo> {
    OptionInfo::of(&SERVER_OPTIONS).chain(OptionInfo::of(&LAYER_OPTIONS))
}

/// Every client option that is a plain value, the core's then the layer's, with its default
/// (`reconnect` and `tls` are structured: each skin has its own form of them).
pub fn client_options() -> impl Iterator<Item = OptionInfo> {
    OptionInfo::of(&CLIENT_OPTIONS).chain(OptionInfo::of(&CLIENT_LAYER_OPTIONS))
}

impl ClientOptions {
    /// Sets the client option named `name`, checked against its range; a bare number for a
    /// duration is read in `unit`.
    pub fn set(&mut self, name: &str, value: &Value, unit: TimeUnit) -> Result<(), OptionError> {
        if CLIENT_OPTIONS.find(name).is_some() {
            CLIENT_OPTIONS.set(&mut self.config, name, value, unit)
        } else {
            CLIENT_LAYER_OPTIONS.set(self, name, value, unit)
        }
    }
}

impl ServerOptions {
    /// Sets the server option named `name`, checked against its range; a bare number for a
    /// duration is read in `unit`.
    pub fn set(&mut self, name: &str, value: &Value, unit: TimeUnit) -> Result<(), OptionError> {
        if SERVER_OPTIONS.find(name).is_some() {
            SERVER_OPTIONS.set(&mut self.config, name, value, unit)
        } else {
            LAYER_OPTIONS.set(self, name, value, unit)
        }
    }

    /// The value of the server option named `name`.
    pub fn get(&self, name: &str) -> Option<Setting> {
        match SERVER_OPTIONS.find(name) {
            Some(spec) => Some((spec.get)(&self.config)),
            None => LAYER_OPTIONS.find(name).map(|spec| (spec.get)(self)),
        }
    }

    /// Adds the RTMPS listener: `bind` (host:port) and the PEM files of the certificate chain
    /// and its key. The error names the part that failed.
    pub fn set_tls(&mut self, bind: &str, cert_file: &str, key_file: &str) -> Result<(), OptionError> {
        let bind = match Kind::Addr.check(&Value::from(bind), TimeUnit::Seconds) {
            Ok(Setting::Addr(addr)) => addr,
            Ok(_) => unreachable!("an Addr option checks to an address"),
            Err(problem) => return Err(OptionError { name: "tls_bind".into(), problem, wrong_type: false }),
        };
        let config = server_config_from_pem(cert_file, key_file).map_err(|e| OptionError {
            name: "tls_cert".into(),
            problem: format!("could not be loaded: {e}"),
            wrong_type: false,
        })?;
        self.config.tls = Some(TlsListener { bind, config });
        Ok(())
    }

    /// Checks every option against its range (values set in Rust, not by name).
    pub fn validate(&self) -> Result<(), OptionError> {
        SERVER_OPTIONS.validate(&self.config)?;
        LAYER_OPTIONS.validate(self)
    }
}

/// An option's name as Node spells it: camelCase, durations with `Ms` (they are milliseconds
/// there): `chunkSize`, `connectionTimeoutMs`. Python, C and TOML use the schema's names.
pub fn node_name(name: &str, kind: &Kind) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    if matches!(kind, Kind::Duration(_)) {
        out.push_str("Ms");
    }
    out
}

/// The error's message with the option named as Node spells it.
pub fn node_message(error: &OptionError) -> String {
    let kind = all_options().find(|o| o.name == error.name).map_or(Kind::Text, |o| o.kind);
    error.message_for(&node_name(&error.name, &kind))
}

/// Server options, then client options (a name in both has the same kind in both).
fn all_options() -> impl Iterator<Item = OptionInfo> {
    server_options().chain(client_options())
}

/// A duration as seconds (Python) or milliseconds (Node, C): how a skin gives one back.
pub fn duration_in(d: Duration, unit: TimeUnit) -> f64 {
    match unit {
        TimeUnit::Seconds => d.as_secs_f64(),
        TimeUnit::Millis => d.as_secs_f64() * 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_camel_case_with_ms_for_durations() {
        let duration = Kind::Duration(Unset::Refused);
        assert_eq!(node_name("connection_timeout", &duration), "connectionTimeoutMs");
        assert_eq!(node_name("max_amf_depth", &Kind::Bool), "maxAmfDepth");
    }

    #[test]
    fn every_option_is_set_by_name_in_either_table() {
        let mut options = ServerOptions::default();
        options.set("chunk_size", &Value::Int(8192), TimeUnit::Millis).unwrap();
        options.set("decision_timeout", &Value::Int(250), TimeUnit::Millis).unwrap();
        assert_eq!(options.config.chunk_size, 8192);
        assert_eq!(options.decision_timeout, Duration::from_millis(250));
        let error = options.set("worker_threads", &Value::Int(0), TimeUnit::Millis).unwrap_err();
        assert_eq!(node_message(&error), "workerThreads must be an integer from 1 to 1024, not 0");
        assert_eq!(options.validate(), Ok(()));
        assert!(server_options().all(|o| !o.doc.is_empty()));
    }
}
