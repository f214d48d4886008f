//! The rtmp-rs server: `cargo run --release --example server -- --bind 0.0.0.0:1935`.
//!
//! Publish with OBS to `rtmp://HOST/live` and a stream key, or with
//! `ffmpeg -re -i in.mp4 -c copy -f flv rtmp://HOST/live/cam`; play with
//! `ffplay rtmp://HOST/live/cam`. Logs follow `RUST_LOG` (default `info`).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use rtmp_core::client::server_config_from_pem;
use rtmp_core::server::{AcceptAll, PublisherPolicy, RtmpServer, ServerConfig, TlsListener};

/// An RTMP server that accepts every publisher and player.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:1935")]
    bind: SocketAddr,
    /// Most simultaneous connections.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    /// Outgoing chunk size.
    #[arg(long, default_value_t = 4096)]
    chunk_size: u32,
    /// Seconds from accept to an answered connect.
    #[arg(long, default_value_t = 10)]
    connection_timeout: u64,
    /// Seconds of silence before a connection is closed.
    #[arg(long, default_value_t = 60)]
    idle_timeout: u64,
    /// Largest message accepted, in bytes.
    #[arg(long, default_value_t = 8 * 1024 * 1024)]
    max_message_size: u32,
    /// Most chunk streams per connection.
    #[arg(long, default_value_t = 64)]
    max_chunk_streams: usize,
    /// Most message streams (createStream) per connection.
    #[arg(long, default_value_t = 8)]
    max_streams_per_connection: u32,
    /// Messages queued per player before video is dropped.
    #[arg(long, default_value_t = 512)]
    player_queue_length: usize,
    /// Seconds a player may accept nothing before it is disconnected.
    #[arg(long, default_value_t = 10)]
    player_stall_timeout: u64,
    /// GOP cache cap in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    gop_cache_max_bytes: usize,
    /// GOP cache cap in seconds of media.
    #[arg(long, default_value_t = 10)]
    gop_cache_max_duration: u64,
    /// Seconds a player waits for a stream that is not published (0: fail at once).
    #[arg(long, default_value_t = 30)]
    play_wait_timeout: u64,
    /// Hold each player's output up to this many ms and write it at once (less CPU, more latency).
    #[arg(long)]
    write_coalescing_ms: Option<u64>,
    /// After a publisher's socket is emptied, wait this many ms before reading it again, so one
    /// read takes in many messages (less CPU per publisher, more latency).
    #[arg(long)]
    read_coalescing_ms: Option<u64>,
    /// Let a new publisher take over a live stream key instead of being refused.
    #[arg(long)]
    takeover: bool,
    /// Rewrite publisher timestamps into a continuous timeline.
    #[arg(long)]
    normalize_timestamps: bool,
    /// Also listen for RTMPS on this address (needs --tls-cert and --tls-key).
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    tls_bind: Option<SocketAddr>,
    /// PEM certificate chain for RTMPS.
    #[arg(long)]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for RTMPS.
    #[arg(long)]
    tls_key: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = ServerConfig::default()
        .bind(args.bind)
        .max_connections(args.max_connections)
        .chunk_size(args.chunk_size)
        .connection_timeout(Duration::from_secs(args.connection_timeout))
        .idle_timeout(Duration::from_secs(args.idle_timeout))
        .max_message_size(args.max_message_size)
        .max_chunk_streams(args.max_chunk_streams)
        .max_streams_per_connection(args.max_streams_per_connection)
        .player_queue_length(args.player_queue_length)
        .player_stall_timeout(Duration::from_secs(args.player_stall_timeout))
        .gop_cache_max_bytes(args.gop_cache_max_bytes)
        .gop_cache_max_duration(Duration::from_secs(args.gop_cache_max_duration))
        .play_wait_timeout(Some(Duration::from_secs(args.play_wait_timeout)))
        .publisher_policy(if args.takeover { PublisherPolicy::TakeOver } else { PublisherPolicy::RejectNew })
        .normalize_timestamps(args.normalize_timestamps)
        .write_coalescing(args.write_coalescing_ms.map(Duration::from_millis))
        .read_coalescing(args.read_coalescing_ms.map(Duration::from_millis));
    let config = match (args.tls_bind, &args.tls_cert, &args.tls_key) {
        (Some(bind), Some(cert), Some(key)) => {
            config.tls(Some(TlsListener { bind, config: server_config_from_pem(cert, key)? }))
        }
        _ => config,
    };
    let server = RtmpServer::new(config, AcceptAll)?;
    println!("listening on rtmp://{}", server.local_addr()?);
    if let Some(addr) = server.tls_local_addr() {
        println!("listening on rtmps://{}", addr?);
    }
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
