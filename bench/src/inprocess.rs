//! The load harness's in-process server: rtmp-rs as a library (default configuration), with
//! `SUBSCRIBERS` local subscribers of `live/cam` that read every item and count the frames.
//! Prints `frames N` (all subscribers' frames so far) every 250 ms, for the harness to check
//! that they keep up.
//!
//! `inprocess ADDR SUBSCRIBERS`

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rtmp_core::server::{
    AcceptAll, RtmpServer, ServerConfig, Start, StreamKey, SubscribeOptions, SubscriptionItem,
};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr =
        args.next().and_then(|a| a.parse().ok()).expect("usage: inprocess ADDR SUBSCRIBERS");
    let subscribers: usize =
        args.next().and_then(|n| n.parse().ok()).expect("usage: inprocess ADDR SUBSCRIBERS");
    let server = RtmpServer::new(ServerConfig::default().bind(addr), AcceptAll).expect("bind");
    let handle = server.handle();
    let frames = Arc::new(AtomicU64::new(0));
    for _ in 0..subscribers {
        let handle = handle.clone();
        let frames = Arc::clone(&frames);
        tokio::spawn(async move {
            let options =
                SubscribeOptions::default().start(Start::Keyframe).wait(Some(Duration::from_secs(3600)));
            let key = StreamKey::new("live", "cam");
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
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            println!("frames {}", frames.load(Ordering::Relaxed));
        }
    });
    server.run().await.expect("serve");
}
