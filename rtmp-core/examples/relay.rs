//! Pulls a stream from one server and pushes it to another:
//! `cargo run --example relay -- rtmp://SRC/live/cam rtmp://DST/live/cam`.

use clap::Parser;
use rtmp_core::client::{ClientConfig, PlayerEvent, RtmpPlayer, RtmpPublisher};

/// Relay a stream between two RTMP(S) servers.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Source stream URL.
    src: String,
    /// Destination stream URL.
    dst: String,
    /// Accept any RTMPS certificate on either side.
    #[arg(long)]
    insecure: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut config = ClientConfig::default();
    config.tls.insecure_skip_verify = args.insecure;
    let mut player = RtmpPlayer::connect(&args.src, config.clone()).await?;
    let mut publisher = RtmpPublisher::connect(&args.dst, config).await?;
    let mut relayed = 0u64;
    while let Some(event) = player.next_event().await? {
        match event {
            PlayerEvent::Metadata { metadata, .. } => publisher.send_metadata(&metadata).await?,
            PlayerEvent::Video { timestamp, payload, .. } => publisher.send_video(timestamp, payload).await?,
            PlayerEvent::Audio { timestamp, payload, .. } => publisher.send_audio(timestamp, payload).await?,
            PlayerEvent::Data { timestamp, data } => publisher.send_data(timestamp, data).await?,
            PlayerEvent::StreamEnd => break,
            _ => continue,
        }
        relayed += 1;
    }
    publisher.close().await?;
    println!("relayed={relayed}");
    Ok(())
}
