//! Plays an RTMP(S) stream and counts what arrives:
//! `cargo run --example player -- rtmp://HOST/live/cam --duration 10 --out cam.flv`.
//! Ends by printing `video=N audio=M keyframes=K`.

use std::time::Duration;

use clap::Parser;
use rtmp_core::client::{ClientConfig, PlayerEvent, ReconnectPolicy, RtmpPlayer};
use rtmp_core::flv::{FlvTag, FlvWriter};

/// Play a stream, count frames, optionally record it to FLV.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// rtmp:// or rtmps:// URL of the stream.
    url: String,
    /// Stop after this many seconds (default: until the stream ends).
    #[arg(long)]
    duration: Option<f64>,
    /// Write what is played into this FLV file.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Accept any RTMPS certificate (self-signed test servers).
    #[arg(long)]
    insecure: bool,
    /// Reconnect after a drop.
    #[arg(long)]
    reconnect: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut config = ClientConfig::default();
    config.tls.insecure_skip_verify = args.insecure;
    config.reconnect = args.reconnect.then(ReconnectPolicy::default);
    let mut player = RtmpPlayer::connect(&args.url, config).await?;
    let mut writer = match &args.out {
        Some(path) => {
            Some(FlvWriter::new(std::io::BufWriter::new(std::fs::File::create(path)?), true, true)?)
        }
        None => None,
    };
    let (mut video, mut audio, mut keyframes) = (0u64, 0u64, 0u64);
    let deadline = args.duration.map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s));
    loop {
        let next = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, player.next_event()).await.ok(),
                None => Some(player.next_event().await),
            }
        };
        let Some(event) = next.await else { break };
        let tag = match event? {
            None => break,
            Some(PlayerEvent::Video { timestamp, payload, tag }) => {
                video += 1;
                if tag.as_ref().is_some_and(|t| t.is_keyframe() && !t.is_sequence_header()) {
                    keyframes += 1;
                }
                FlvTag { tag_type: 9, timestamp, data: payload }
            }
            Some(PlayerEvent::Audio { timestamp, payload, .. }) => {
                audio += 1;
                FlvTag { tag_type: 8, timestamp, data: payload }
            }
            Some(PlayerEvent::Metadata { timestamp, metadata }) => {
                let data = rtmp_core::proto::message::DataMessage {
                    name: "onMetaData".into(),
                    values: vec![rtmp_core::proto::amf::Amf0Value::EcmaArray(metadata)],
                };
                FlvTag { tag_type: 18, timestamp, data: data.encode() }
            }
            Some(_) => continue,
        };
        if let Some(writer) = writer.as_mut() {
            writer.write_tag(&tag)?;
        }
    }
    if let Some(writer) = writer {
        writer.into_inner()?;
    }
    player.close().await;
    println!("video={video} audio={audio} keyframes={keyframes}");
    Ok(())
}
