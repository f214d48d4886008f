//! Internals the criterion benches drive (not a public API): fan-out of a publisher's messages to
//! many players' queues, without sockets.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;

use super::message::PublishedMessage;
use super::output::{Outgoing, PlayerQueue};
use super::registry::{Player, Stream};
use super::{PublisherPolicy, ServerConfig, StreamKey};
use crate::proto::media::VideoTag;

/// A live stream with `players` players that only have queues (as TLS players do).
#[doc(hidden)]
pub struct FanoutBench {
    stream: Arc<Stream>,
    players: Vec<Arc<Player>>,
    batch: Vec<PublishedMessage>,
    drained: Vec<Outgoing>,
    timestamp: u32,
}

impl FanoutBench {
    /// The stream, its publisher and players, past the first keyframe.
    pub fn new(players: usize) -> Self {
        let config = ServerConfig::default();
        let stream = Arc::new(Stream::new(StreamKey::new("live", "bench"), &config));
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 1935));
        stream
            .claim_publisher(1, addr, Arc::default(), PublisherPolicy::RejectNew, super::PeerKind::Rtmp)
            .expect("a new stream");
        let players: Vec<_> = (0..players as u64)
            .map(|id| {
                let queue = PlayerQueue::unattached(config.player_queue_length, config.player_latency_budget);
                Arc::new(Player::new(id + 2, addr, 1, queue))
            })
            .collect();
        for player in &players {
            stream.add_player(Arc::clone(player));
        }
        let mut bench = Self { stream, players, batch: Vec::new(), drained: Vec::new(), timestamp: 0 };
        bench.publish_video(&Bytes::from_static(&[0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]));
        bench
    }

    /// One video message (an FLV video tag body) to every player, then every queue drained as
    /// the players' tasks would.
    pub fn publish_video(&mut self, tag: &Bytes) {
        self.timestamp += 33;
        let parsed = VideoTag::parse(tag).ok();
        self.batch.push(PublishedMessage::video(self.timestamp, tag.clone(), parsed.as_ref()));
        let _ = self.stream.publish(1, &mut self.batch);
        for player in &self.players {
            player.queue.drain(&mut self.drained, usize::MAX);
            self.drained.clear();
        }
    }
}
