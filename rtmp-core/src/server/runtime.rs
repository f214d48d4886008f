//! State shared by the listener and every connection task.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tokio::sync::watch;

use super::forward::{ForwardStats, RelayListener};
use super::pull::{Locator, PullStats};
use super::registry::Registry;
use super::stats::ServerStats;
use super::{RtmpHandler, ServerConfig};
use crate::client::TlsOptions;
use crate::proto::adobe::ChallengeStore;
use crate::proto::session::ServerSessionConfig;

/// Server-wide counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections: AtomicUsize,
    pub(crate) total_connections: AtomicU64,
    pub(crate) refused_connections: AtomicU64,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
}

/// What does not depend on the handler type: config, registry, counters, shutdown.
#[derive(Debug)]
pub(crate) struct ServerState {
    pub(crate) config: Arc<ServerConfig>,
    /// Derived once and shared by every connection's session.
    pub(crate) session_config: Arc<ServerSessionConfig>,
    pub(crate) registry: Registry,
    pub(crate) counters: Counters,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) started: Instant,
    /// The runtime `run_until` serves on: forwards run there.
    pub(crate) runtime: OnceLock<tokio::runtime::Handle>,
    /// The handler's `on_forward`.
    pub(crate) forward_listener: OnceLock<RelayListener<ForwardStats>>,
    /// The handler's `on_locate`.
    pub(crate) locator: OnceLock<Locator>,
    /// The handler's `on_pull`.
    pub(crate) pull_listener: OnceLock<RelayListener<PullStats>>,
    /// `authmod=adobe` challenges handed out and not yet answered.
    pub(crate) challenges: Mutex<ChallengeStore>,
    /// How `rtmps://` forwards and pulls check their peer: the web PKI roots and
    /// `relay_tls_roots`' certificates, as read at the start.
    pub(crate) relay_tls: TlsOptions,
}

impl ServerState {
    /// The state of a server with `config` (validated: `relay_tls` is what that read).
    pub(crate) fn new(config: ServerConfig, relay_tls: TlsOptions) -> Self {
        let challenges = ChallengeStore::new(config.auth_max_pending, config.auth_challenge_lifetime);
        Self {
            relay_tls,
            challenges: Mutex::new(challenges),
            session_config: Arc::new(config.session_config()),
            config: Arc::new(config),
            registry: Registry::default(),
            counters: Counters::default(),
            shutdown: watch::Sender::new(false),
            started: Instant::now(),
            runtime: OnceLock::new(),
            forward_listener: OnceLock::new(),
            locator: OnceLock::new(),
            pull_listener: OnceLock::new(),
        }
    }

    pub(crate) fn stats(&self) -> ServerStats {
        let c = &self.counters;
        ServerStats {
            connections: c.connections.load(Ordering::Relaxed),
            total_connections: c.total_connections.load(Ordering::Relaxed),
            refused_connections: c.refused_connections.load(Ordering::Relaxed),
            bytes_in: c.bytes_in.load(Ordering::Relaxed),
            bytes_out: c.bytes_out.load(Ordering::Relaxed),
            streams: self.registry.stats(),
        }
    }
}

/// The state plus the handler, as connection tasks see it.
pub(crate) struct Shared<H> {
    pub(crate) state: Arc<ServerState>,
    pub(crate) handler: Arc<H>,
}

impl<H: RtmpHandler> std::ops::Deref for Shared<H> {
    type Target = ServerState;

    fn deref(&self) -> &ServerState {
        &self.state
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::proto::adobe::{ChallengeStore, response};

    // Here, not in `proto::adobe`: the sans-IO core reads no clock, not even in its tests; the
    // store takes the time from its caller, as the server gives it.
    #[test]
    fn store_verifies_once_expires_and_stays_bounded() {
        let now = Instant::now();
        let mut store = ChallengeStore::new(2, Duration::from_secs(30));
        store.insert("o1".into(), "user", "live", "saltSALT".into(), "chal1234".into(), now);
        let pending = store.take("o1", now).unwrap();
        assert!(pending.verify(
            "o1",
            "pass",
            "0a1b2c3d",
            &response("user", "saltSALT", "pass", "o1", "0a1b2c3d")
        ));
        assert!(!pending.verify(
            "o1",
            "wrong",
            "0a1b2c3d",
            &response("user", "saltSALT", "pass", "o1", "0a1b2c3d")
        ));
        assert!(store.take("o1", now).is_none(), "answered once");

        store.insert("o2".into(), "u", "live", "s".into(), "c".into(), now);
        assert!(store.take("o2", now + Duration::from_secs(31)).is_none(), "expired");

        for i in 0..10 {
            store.insert(
                format!("x{i}"),
                "u",
                "live",
                "s".into(),
                "c".into(),
                now + Duration::from_millis(i),
            );
        }
        assert_eq!(store.len(), 2);
        assert!(store.take("x9", now).is_some() && store.take("x8", now).is_some(), "the newest stay");
    }
}
