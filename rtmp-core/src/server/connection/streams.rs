//! What one connection publishes and plays: the handler's decisions on publish and play, the
//! stream each joins in the registry, and their ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Connection;
use crate::proto::message::status;
use crate::proto::session::RequestId;
use crate::server::forward::Forward;
use crate::server::handler::{Decision, PlayOptions, PlayParams, PublishOptions, PublishParams, RtmpHandler};
use crate::server::registry::{ClaimError, Player, Stream};
use crate::server::runtime::ServerState;

/// Ends outage `generation` of `stream` when the reconnect grace runs out without a republish,
/// or at once when the server stops (nothing is left to wait for, and the task must not
/// outlive the server).
async fn end_outage(state: Arc<ServerState>, stream: Arc<Stream>, generation: u64) {
    let mut stop = state.shutdown.subscribe();
    tokio::select! {
        () = tokio::time::sleep(state.config.publisher_reconnect_grace) => {}
        // `wait_for`'s guard is not `Send`: dropped inside, as in `run_until`.
        () = async { drop(stop.wait_for(|stopping| *stopping).await) } => {}
    }
    if stream.end_outage(generation) {
        tracing::info!(key = %stream.key, "reconnect grace over: unpublish");
        state.registry.remove_if_unused(&stream.key);
    }
}

/// A publish this connection's handler and registry accepted.
pub(super) struct Publishing {
    pub(super) stream_id: u32,
    pub(super) stream: Arc<Stream>,
}

/// A play this connection's handler and registry accepted.
pub(super) struct Playing {
    pub(super) stream_id: u32,
    pub(super) stream: Arc<Stream>,
    pub(super) player: Arc<Player>,
}

impl<H: RtmpHandler> Connection<H> {
    /// The handler's decision on a publish, then the stream's: one publisher at a time, as the
    /// publisher policy says.
    pub(super) async fn decide_publish(&mut self, request: RequestId, params: PublishParams) {
        let handler = Arc::clone(&self.shared.handler);
        if self.shared.config.publish_auth != crate::server::PublishAuth::None && self.ctx.user.is_none() {
            tracing::info!(session = self.ctx.session_id, key = %params.key, "publish refused: not authenticated");
            let _ = self.session.reject(request, "Authentication required to publish.");
            return;
        }
        let options = match handler.on_publish(&self.ctx, &params).await {
            Decision::Reject(reason) => {
                tracing::info!(session = self.ctx.session_id, key = %params.key, %reason, "publish rejected");
                let _ = self.session.reject(request, &reason);
                return;
            }
            Decision::AcceptPublish(options) => options,
            Decision::Accept | Decision::AcceptWith(_) => PublishOptions::default(),
        };
        let config = &self.shared.config;
        let stream = self.shared.registry.stream(&params.key, config);
        let claim = stream.claim_publisher(
            self.ctx.session_id,
            self.ctx.peer_addr,
            Arc::clone(&self.kick),
            config.publisher_policy,
            crate::server::PeerKind::Rtmp,
        );
        match claim {
            Ok(resumed) => {
                tracing::info!(session = self.ctx.session_id, key = %params.key, ?resumed, "publish");
                let _ = self.session.accept(request);
                if let Some(outage) = resumed {
                    handler.on_publish_resumed(&self.ctx, &params.key, outage).await;
                } else {
                    self.start_forwards(&stream, &params, options);
                }
                self.publishing.push(Publishing { stream_id: params.stream_id, stream });
            }
            Err(ClaimError::AlreadyPublishing) => {
                tracing::info!(session = self.ctx.session_id, key = %params.key, "publish refused: already publishing");
                let _ =
                    self.session.reject_with_code(request, status::PUBLISH_BAD_NAME, "Already publishing");
                self.shared.registry.remove_if_unused(&params.key);
            }
        }
    }

    /// Starts the forwards of a new publish: the server's rules for its app, then the decision's.
    /// A destination that fails to start is logged; the publish goes on.
    fn start_forwards(&self, stream: &Arc<Stream>, params: &PublishParams, options: PublishOptions) {
        let query = crate::proto::message::split_query(&params.stream_name.raw).1.unwrap_or_default();
        let key = &params.key;
        let templates = self.shared.config.forward_templates();
        let urls = templates.filter(|t| t.applies_to(&key.app)).map(|t| t.render(key, query));
        for url in urls.chain(options.forward) {
            let started =
                Forward::start(&self.shared.state, key, url.clone()).and_then(|f| stream.add_forward(f));
            match started {
                Ok(()) => tracing::info!(session = self.ctx.session_id, %key, %url, "forward"),
                Err(error) => {
                    tracing::warn!(session = self.ctx.session_id, %key, %url, %error, "forward refused")
                }
            }
        }
    }

    /// The handler's decision on a play; an accepted player joins its stream, live or waiting
    /// for a publisher (the session keeps the play wait timeout).
    pub(super) async fn decide_play(&mut self, request: RequestId, params: PlayParams) {
        let handler = Arc::clone(&self.shared.handler);
        let options = match handler.on_play(&self.ctx, &params).await {
            Decision::Reject(reason) => {
                tracing::info!(session = self.ctx.session_id, key = %params.key, %reason, "play rejected");
                let _ = self.session.reject(request, &reason);
                return;
            }
            Decision::Accept | Decision::AcceptPublish(_) => PlayOptions::default(),
            Decision::AcceptWith(options) => options,
        };
        let config = Arc::clone(&self.shared.config);
        let stream = self.shared.registry.stream(&params.key, &config);
        let live = stream.is_live();
        if !live && config.play_wait_timeout == Some(Duration::ZERO) {
            let _ = self.session.reject_with_code(request, status::PLAY_STREAM_NOT_FOUND, "No such stream.");
            self.shared.registry.remove_if_unused(&params.key);
            return;
        }
        if !stream.admit_player(config.max_players_per_stream) {
            tracing::info!(session = self.ctx.session_id, key = %params.key, "play refused: max_players_per_stream");
            let _ = self.session.reject_with_code(request, status::PLAY_FAILED, "Too many players.");
            return;
        }
        tracing::info!(session = self.ctx.session_id, key = %params.key, live, "play");
        let _ = self.session.accept(request);
        let queue = self.output.queue(config.player_queue_length, options.latency_budget);
        let legacy = crate::server::message::takes_legacy_form(self.ctx.connect.as_deref());
        let player = Player::new(self.ctx.session_id, self.ctx.peer_addr, params.stream_id, queue);
        let player = Arc::new(player.legacy_form(legacy));
        // Play.Start must precede the cached media: the session's bytes are flushed before any
        // queue is drained, and the cache goes into the queue here. Held until this read's
        // replies are written, so no publisher writes live media before them either.
        self.output.hold();
        stream.add_player(Arc::clone(&player));
        // Asked again once in: a publisher that arrived since did not tell this player (its
        // PublishNotify ends the wait), and one that arrives from now on will.
        if !stream.is_live() {
            self.session.wait_for_publisher(params.stream_id, Instant::now().into_std());
            crate::server::pull::ensure(&self.shared.state, &stream);
        }
        self.playing.push(Playing { stream_id: params.stream_id, stream, player });
    }

    /// Ends the publishes on `stream_id` (all of them for `None`), telling the handler. Those
    /// of a publisher that `vanished` (no unpublish) hold their players for the reconnect grace.
    pub(super) async fn stop_publishing(&mut self, stream_id: Option<u32>, vanished: bool) {
        let (ended, kept): (Vec<_>, Vec<_>) =
            self.publishing.drain(..).partition(|p| stream_id.is_none_or(|id| id == p.stream_id));
        self.publishing = kept;
        let grace = self.shared.config.publisher_reconnect_grace;
        for p in ended {
            let key = &p.stream.key;
            let outage = (vanished && !grace.is_zero())
                .then(|| p.stream.interrupt_publisher(self.ctx.session_id))
                .flatten();
            if let Some(generation) = outage {
                tracing::info!(session = self.ctx.session_id, %key, ?grace, "publish interrupted");
                self.shared.handler.on_publish_interrupted(&self.ctx, key).await;
                tokio::spawn(end_outage(Arc::clone(&self.shared.state), Arc::clone(&p.stream), generation));
            } else {
                // False after a takeover: the stream is someone else's now, but this publish
                // ended all the same and the handler hears of it.
                let still_ours = p.stream.release_publisher(self.ctx.session_id);
                tracing::info!(session = self.ctx.session_id, %key, replaced = !still_ours, "unpublish");
            }
            self.shared.handler.on_unpublish(&self.ctx, key).await;
            self.shared.registry.remove_if_unused(key);
        }
    }

    /// Ends the plays on `stream_id` (all of them for `None`), telling the handler.
    pub(super) async fn stop_playing(&mut self, stream_id: Option<u32>) {
        let (ended, kept): (Vec<_>, Vec<_>) =
            self.playing.drain(..).partition(|p| stream_id.is_none_or(|id| id == p.stream_id));
        self.playing = kept;
        for p in ended {
            p.stream.remove_player(&p.player);
            tracing::info!(session = self.ctx.session_id, key = %p.stream.key, "play stop");
            self.shared.handler.on_play_stop(&self.ctx, &p.stream.key).await;
            self.shared.registry.remove_if_unused(&p.stream.key);
        }
    }
}
