//! Publishes an FLV file at real-time pace:
//! `cargo run --example publisher -- input.flv rtmp://HOST/live/cam [--loop]`.

use clap::Parser;
use rtmp_core::client::{ClientConfig, RtmpPublisher};

/// Publish an FLV file to an RTMP(S) server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The FLV file (legacy or Enhanced RTMP codecs).
    file: std::path::PathBuf,
    /// rtmp:// or rtmps:// URL to publish to.
    url: String,
    /// Loop the file forever.
    #[arg(long = "loop")]
    repeat: bool,
    /// Accept any RTMPS certificate (self-signed test servers).
    #[arg(long)]
    insecure: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut config = ClientConfig::default();
    config.tls.insecure_skip_verify = args.insecure;
    let mut publisher = RtmpPublisher::connect(&args.url, config).await?;
    let sent = publisher.publish_flv(&args.file, args.repeat).await?;
    publisher.close().await?;
    println!("tags={sent}");
    Ok(())
}
