//! The RTMP server: pub/sub by app and stream key, GOP cache for late joiners, backpressure that
//! drops video before audio, handler hooks and limits. Built on tokio over [`crate::proto`].

mod auth;
#[doc(hidden)]
pub mod bench_support;
mod config;
mod connection;
mod forward;
mod gop;
mod handler;
mod local;
mod merged_read;
mod message;
mod output;
mod pull;
mod read_sizing;
mod registry;
mod runtime;
mod stats;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

pub use config::{PublishAuth, PublisherPolicy, SERVER_OPTIONS, ServerConfig, TlsListener};
pub use forward::{ForwardError, ForwardStats, ForwardTemplate, RelayState};
pub use handler::{
    AcceptAll, AudioFrame, Decision, DisconnectReason, MediaKind, MediaTag, PlayOptions, PlayParams,
    PublishOptions, PublishParams, RtmpHandler, SessionContext, StreamKey, VideoFrame,
};
pub use local::{
    FrameKind, LocalPublisher, MediaFrame, PublishError, Start, StreamEvent, SubscribeError,
    SubscribeOptions, Subscription, SubscriptionCloser, SubscriptionItem,
};
pub use pull::PullStats;
pub use stats::{PeerKind, PlayerStats, ServerStats, StreamInfo, StreamStats};

use merged_read::MergedReads;
use runtime::{ServerState, Shared};

/// How long connections get to say goodbye on shutdown before they are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// An RTMP server. `new` binds the socket (so [`local_addr`](Self::local_addr) is known at
/// once); `run` or `run_until` serve until shutdown.
pub struct RtmpServer<H: RtmpHandler> {
    listener: std::net::TcpListener,
    tls_listener: Option<std::net::TcpListener>,
    shared: Arc<Shared<H>>,
}

/// A cheap handle to a server: statistics, its streams in-process, and shutdown, from anywhere.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    state: Arc<ServerState>,
}

impl ServerHandle {
    /// A statistics snapshot.
    pub fn stats(&self) -> ServerStats {
        self.state.stats()
    }

    /// Reads the stream `key` in-process, as a player would get it (see [`Subscription`]).
    /// Fails when the stream is not published, unless `options.wait` gives it time to be.
    pub async fn subscribe(
        &self,
        key: &StreamKey,
        options: SubscribeOptions,
    ) -> Result<Subscription, SubscribeError> {
        Subscription::new(Arc::clone(&self.state), key, options).await
    }

    /// Publishes the stream `key` from in-process (see [`LocalPublisher`]). A stream that is
    /// published already is refused or taken over as [`ServerConfig::publisher_policy`] says.
    pub fn publish(&self, key: &StreamKey) -> Result<LocalPublisher, PublishError> {
        LocalPublisher::new(Arc::clone(&self.state), key)
    }

    /// Forwards the live stream `key` to `url` (RTMP or RTMPS) too, until its publisher stops
    /// or [`remove_forward`](Self::remove_forward). Needs the server running (forwards run on its
    /// runtime).
    pub fn add_forward(&self, key: &StreamKey, url: &str) -> Result<(), ForwardError> {
        let stream = self.state.registry.find(key).ok_or_else(|| ForwardError::NotLive(key.clone()))?;
        stream.add_forward(forward::Forward::start(&self.state, key, url.to_owned())?)
    }

    /// Stops forwarding `key` to `url`; whether it was forwarded there.
    pub fn remove_forward(&self, key: &StreamKey, url: &str) -> bool {
        self.state.registry.find(key).is_some_and(|stream| stream.remove_forward(url))
    }

    /// The live streams, sorted by key: who publishes each, its codecs, its players.
    pub fn streams(&self) -> Vec<StreamInfo> {
        self.state.registry.live()
    }

    /// Starts a graceful shutdown: publishers and players get their status, then `run` returns.
    pub fn shutdown(&self) {
        self.state.shutdown.send_replace(true);
    }
}

impl<H: RtmpHandler> RtmpServer<H> {
    /// Binds `config.bind` and prepares to serve with `handler`. A config whose values are out
    /// of range ([`ServerConfig::validate`]) is refused with `InvalidInput`.
    pub fn new(config: ServerConfig, handler: H) -> io::Result<Self> {
        let relay_tls = config.validated().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let bind = |addr: SocketAddr| -> io::Result<std::net::TcpListener> {
            let listener = std::net::TcpListener::bind(addr)?;
            listener.set_nonblocking(true)?;
            Ok(listener)
        };
        let listener = bind(config.bind)?;
        let tls_listener = config.tls.as_ref().map(|tls| bind(tls.bind)).transpose()?;
        let state = Arc::new(ServerState::new(config, relay_tls));
        // Forwards run on the server's runtime: known here when made inside one, else in `run_until`.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let _ = state.runtime.set(runtime);
        }
        let handler = Arc::new(handler);
        // Weak: the state outlives the serving (a handle keeps it), the handler must not (its
        // drop is how embedders learn that no hook runs any more).
        let weak = Arc::downgrade(&handler);
        let _ = state.forward_listener.set(forward::RelayListener(Box::new(move |key, stats| {
            if let Some(handler) = weak.upgrade() {
                handler.on_forward(key, stats);
            }
        })));
        let weak = Arc::downgrade(&handler);
        let _ = state.locator.set(pull::Locator(Box::new(move |key| {
            let handler = weak.upgrade();
            Box::pin(async move {
                match handler {
                    Some(handler) => handler.on_locate(&key).await,
                    None => Vec::new(),
                }
            })
        })));
        let weak = Arc::downgrade(&handler);
        let _ = state.pull_listener.set(forward::RelayListener(Box::new(move |key, stats| {
            if let Some(handler) = weak.upgrade() {
                handler.on_pull(key, stats);
            }
        })));
        Ok(Self { listener, tls_listener, shared: Arc::new(Shared { state, handler }) })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound RTMPS address, if a TLS listener is configured.
    pub fn tls_local_addr(&self) -> Option<io::Result<SocketAddr>> {
        self.tls_listener.as_ref().map(std::net::TcpListener::local_addr)
    }

    /// A handle for statistics and shutdown.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle { state: Arc::clone(&self.shared.state) }
    }

    /// A statistics snapshot.
    pub fn stats(&self) -> ServerStats {
        self.shared.stats()
    }

    /// Serves until [`ServerHandle::shutdown`] is called.
    pub async fn run(self) -> io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes or [`ServerHandle::shutdown`] is called, then closes
    /// every connection gracefully.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> io::Result<()> {
        let listener = TcpListener::from_std(self.listener)?;
        let _ = self.shared.state.runtime.set(tokio::runtime::Handle::current());
        let tls_listener = self.tls_listener.map(TcpListener::from_std).transpose()?;
        let shared = self.shared;
        let tls_acceptor = shared.config.tls.as_ref().map(|tls| TlsAcceptor::from(Arc::clone(&tls.config)));
        let mut tasks = JoinSet::new();
        if let Some(interval) = shared.config.stats_interval {
            tasks.spawn(stats_loop(Arc::clone(&shared), interval));
        }
        if let Some(window) = shared.config.write_coalescing {
            tasks.spawn(coalesced_flush_loop(Arc::clone(&shared.state), window));
        }
        let mut stop = shared.shutdown.subscribe();
        tokio::pin!(shutdown);
        tracing::info!(addr = %listener.local_addr()?, "rtmp server listening");
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                // `wait_for` yields a `watch::Ref` (a lock guard, not `Send`): drop it inside the
                // branch so the select output, and with it this future, stays `Send`.
                _ = async { drop(stop.wait_for(|s| *s).await) } => break,
                accepted = listener.accept() => match accepted {
                    Ok((socket, peer)) => accept(&shared, &mut tasks, socket, peer, None),
                    Err(e) => accept_failed(e).await,
                },
                accepted = accept_tls(tls_listener.as_ref()) => match accepted {
                    Ok((socket, peer)) => accept(&shared, &mut tasks, socket, peer, tls_acceptor.clone()),
                    Err(e) => accept_failed(e).await,
                },
                Some(_) = tasks.join_next() => {}
            }
        }
        drop(listener);
        shared.shutdown.send_replace(true);
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
            tasks.abort_all();
        }
        tracing::info!("rtmp server stopped");
        Ok(())
    }
}

/// Accepts on the RTMPS listener, or never when there is none.
async fn accept_tls(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Out of file descriptors and the like: back off instead of spinning.
async fn accept_failed(error: io::Error) {
    tracing::warn!(%error, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn accept<H: RtmpHandler>(
    shared: &Arc<Shared<H>>,
    tasks: &mut JoinSet<()>,
    socket: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
) {
    let counters = &shared.counters;
    if counters.connections.load(Ordering::Relaxed) >= shared.config.max_connections {
        counters.refused_connections.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%peer, limit = shared.config.max_connections, "connection refused: max_connections");
        drop(socket);
        return;
    }
    counters.connections.fetch_add(1, Ordering::Relaxed);
    let session_id = counters.total_connections.fetch_add(1, Ordering::Relaxed) + 1;
    let _ = socket.set_nodelay(true);
    if let Some(size) = shared.config.socket_send_buffer {
        let _ = socket2::SockRef::from(&socket).set_send_buffer_size(size);
    }
    let shared = Arc::clone(shared);
    tasks.spawn(async move {
        tracing::debug!(session = session_id, %peer, "connection");
        if let handler::Decision::Reject(reason) = shared.handler.on_connection(peer).await {
            tracing::info!(session = session_id, %peer, %reason, "connection rejected");
        } else if let Some(acceptor) = tls {
            let merged_reads = MergedReads::tcp(&socket);
            #[cfg(unix)]
            let fd = Some(std::os::fd::AsRawFd::as_raw_fd(&socket));
            #[cfg(not(unix))]
            let fd = None;
            match tokio::time::timeout(shared.config.connection_timeout, acceptor.accept(socket)).await {
                Ok(Ok(mut tls_stream)) => {
                    // The library's own buffer of records is out of the drop policy's reach too.
                    tls_stream.get_mut().1.set_buffer_limit(Some(output::TLS_BUFFER_LIMIT));
                    let shared = Arc::clone(&shared);
                    connection::serve_tls(shared, tls_stream, fd, merged_reads, peer, session_id).await
                }
                Ok(Err(error)) => tracing::info!(session = session_id, %peer, %error, "TLS handshake failed"),
                Err(_) => tracing::info!(session = session_id, %peer, "TLS handshake timeout"),
            }
        } else {
            connection::serve_tcp(Arc::clone(&shared), socket, peer, session_id).await;
        }
        shared.counters.connections.fetch_sub(1, Ordering::Relaxed);
    });
}

/// With write coalescing, writes every player's queued media once per `window`, from this one
/// task straight into the sockets: no player task wakes up per message or per window. Ends on
/// shutdown, like `stats_loop`.
async fn coalesced_flush_loop(state: Arc<runtime::ServerState>, window: Duration) {
    let mut stop = state.shutdown.subscribe();
    let mut ticker = tokio::time::interval(window);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let sent = state.registry.flush_coalesced();
                state.counters.bytes_out.fetch_add(sent, Ordering::Relaxed);
            }
            _ = async { drop(stop.wait_for(|s| *s).await) } => return,
        }
    }
}

/// Calls `on_stats` every `interval` until shutdown. It must end on shutdown: it shares the
/// `JoinSet` that `run_until` drains, and a task that never ends would hold every shutdown for
/// the whole grace period.
async fn stats_loop<H: RtmpHandler>(shared: Arc<Shared<H>>, interval: Duration) {
    let mut stop = shared.shutdown.subscribe();
    let mut ticker = tokio::time::interval(interval);
    // After a stall, carry on at the interval instead of calling on_stats in a burst.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let stats = shared.stats();
                shared.handler.on_stats(&stats);
            }
            _ = async { drop(stop.wait_for(|s| *s).await) } => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// `tokio::spawn(server.run())` must compile: the serving futures are `Send`.
    #[test]
    fn serving_futures_are_send() {
        let config = ServerConfig::default().bind(SocketAddr::from(([127, 0, 0, 1], 0)));
        let server = RtmpServer::new(config, AcceptAll).unwrap();
        let run = server.run_until(async {});
        assert_send(&run);
        drop(run);
        let server =
            RtmpServer::new(ServerConfig::default().bind(SocketAddr::from(([127, 0, 0, 1], 0))), AcceptAll)
                .unwrap();
        assert_send(&server.run());
    }

    /// The periodic stats task ends with the server instead of holding shutdown for the grace
    /// period.
    #[tokio::test]
    async fn shutdown_does_not_wait_for_the_stats_task() {
        let config = ServerConfig::default()
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .stats_interval(Some(Duration::from_millis(10)));
        let server = RtmpServer::new(config, AcceptAll).unwrap();
        let started = std::time::Instant::now();
        server.run_until(tokio::time::sleep(Duration::from_millis(50))).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1), "shutdown took {:?}", started.elapsed());
    }
}
