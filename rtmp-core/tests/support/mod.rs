//! Shared helpers of the server integration tests: the tools (ffmpeg 9 and Debian's ffmpeg 5.1),
//! an in-process server with a recording handler, ffmpeg publishers and players, and a small
//! test client on our own `ClientSession`.

// Each test binary uses a different part of the support.
#![allow(dead_code, unused_imports)]

pub mod client;
pub mod ffmpeg;
pub mod gstreamer;
pub mod paced;
pub mod recorder;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtmp_core::server::{RtmpServer, ServerConfig, ServerHandle, StreamStats};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use client::{Synthetic, TestClient};
pub use ffmpeg::{Audio, Publish, Video, ffmpeg5, ffmpeg9, play};
pub use recorder::{Hook, Knobs, Recorder, RecordingHandler};

/// A server config for tests: loopback, an OS-chosen port, no periodic stats.
pub fn config() -> ServerConfig {
    ServerConfig::default().bind(SocketAddr::from(([127, 0, 0, 1], 0))).stats_interval(None)
}

/// An in-process server on 127.0.0.1 with a [`Recorder`] behind its handler.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where its RTMPS listener listens, if it has one.
    pub tls_addr: Option<SocketAddr>,
    /// Stats and shutdown.
    pub handle: ServerHandle,
    /// Every hook call.
    pub rec: Arc<Recorder>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server with `config` and a handler that accepts everything.
    pub fn start(config: ServerConfig) -> Self {
        Self::with_knobs(config, Knobs::default())
    }

    /// Starts a server whose handler follows `knobs`.
    pub fn with_knobs(config: ServerConfig, knobs: Knobs) -> Self {
        let rec = Arc::new(Recorder::new(knobs));
        let server = RtmpServer::new(config, RecordingHandler(Arc::clone(&rec))).expect("bind");
        let addr = server.local_addr().expect("local addr");
        let tls_addr = server.tls_local_addr().map(|addr| addr.expect("tls local addr"));
        let handle = server.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run_until(async {
            let _ = stopped.await;
        }));
        Self { addr, tls_addr, handle, rec, stop: Some(stop), task: Some(task) }
    }

    /// `rtmp://127.0.0.1:PORT/{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("rtmp://{}/{path}", self.addr)
    }

    /// The stats of stream `live/{name}`, if it exists.
    pub fn stream(&self, name: &str) -> Option<StreamStats> {
        self.handle.stats().streams.into_iter().find(|s| s.key.app == "live" && s.key.name == name)
    }

    /// Waits until `live/{name}` has a publisher whose video and audio configs are known.
    pub async fn wait_live(&self, name: &str, timeout: Duration) -> StreamStats {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.stream(name).filter(|s| s.publisher.is_some() && s.video_codec.is_some()) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "live/{name} not live within {timeout:?}: {:?}",
                self.handle.stats()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops through the `run_until` future (not the handle) and returns how long `run_until`
    /// took to return.
    pub async fn stop_with_future(&mut self) -> Duration {
        let started = Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join(started).await
    }

    /// Waits for `run_until` to return after a shutdown; returns the time since `started`.
    pub async fn join(&mut self, started: Instant) -> Duration {
        let task = self.task.take().expect("server already joined");
        let result = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("run_until did not return within 10 s");
        result.expect("server task panicked").expect("server error");
        started.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Polls `check` every 20 ms until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `fut` with a hard time limit, panicking with `what` if it takes longer.
pub async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| panic!("{what} took longer than {limit:?}"))
}
pub mod nginx;
