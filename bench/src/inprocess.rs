//! The load harness's in-process server: rtmp-rs as a library (default configuration, as an
//! application embeds it), with what a scenario asks for beside its network players: local
//! subscribers of `live/cam` that read every item and count the frames (printed as `frames N`
//! every 250 ms, for the harness to check that they keep up), forwards of `live/cam` to another
//! server, or a pull rule.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Parser;
use rtmp_core::server::{
    AcceptAll, RtmpServer, ServerConfig, Start, StreamKey, SubscribeOptions, SubscriptionItem,
};

#[derive(Debug, Parser)]
struct Args {
    /// Where to listen.
    #[arg(long)]
    bind: SocketAddr,
    /// Local subscribers of live/cam.
    #[arg(long, default_value_t = 0)]
    subscribers: usize,
    /// Forwards of live/cam, once it is live, to rtmp://FORWARD_TO/live/cam-N.
    #[arg(long, default_value_t = 0)]
    forwards: usize,
    /// The forwards' destination server, HOST:PORT.
    #[arg(long)]
    forward_to: Option<String>,
    /// A pull rule (ServerConfig::pull).
    #[arg(long)]
    pull: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let config = ServerConfig::default().bind(args.bind).pull(args.pull.into_iter().collect());
    let server = RtmpServer::new(config, AcceptAll).expect("bind");
    let handle = server.handle();
    let key = StreamKey::new("live", "cam");
    let frames = Arc::new(AtomicU64::new(0));
    for _ in 0..args.subscribers {
        let (handle, frames, key) = (handle.clone(), Arc::clone(&frames), key.clone());
        tokio::spawn(async move {
            let options =
                SubscribeOptions::default().start(Start::Keyframe).wait(Some(Duration::from_secs(3600)));
            let Ok(mut subscription) = handle.subscribe(&key, options).await else { return };
            while let Some(item) = subscription.next().await {
                if let SubscriptionItem::Frame(frame) = item {
                    // Touch the payload as a reader would (its length), not more.
                    std::hint::black_box(frame.payload.len());
                    frames.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    if let Some(destination) = args.forward_to.filter(|_| args.forwards > 0) {
        let (handle, key) = (handle.clone(), key.clone());
        tokio::spawn(async move {
            while !handle.streams().iter().any(|s| s.key == key) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            for n in 0..args.forwards {
                handle.add_forward(&key, &format!("rtmp://{destination}/live/cam-{n}")).expect("forward");
            }
        });
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            println!("frames {}", frames.load(Ordering::Relaxed));
        }
    });
    server.run().await.expect("serve");
}
