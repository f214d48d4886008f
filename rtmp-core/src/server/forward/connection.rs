//! A forward's connection to a plain RTMP destination on the one output path: once the
//! destination accepted the publish, the forward is a player of the stream whose socket is the
//! destination's. Publishers' tasks write the stream's shared chunks straight into it, as into a
//! network player's; the forward's task only writes what queued (a slow destination) and answers
//! the destination (acknowledgements, pings). RTMPS destinations, which the output path never
//! writes directly, publish through the client instead.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};

use super::{Ended, Runner};
use crate::client::driver::{ClientAuth, start_publish};
use crate::client::{ClientConfig, ClientError, RtmpUrl};
use crate::proto::session::{ClientEvent, ClientSession};
use crate::server::output::{Notice, NoticeWriter, OutputLimits, PlayerOutput, SharedWriter};
use crate::server::registry::{Player, Replay, Stream};

/// The stream's notices as the destination's connection sends them: the publisher's end is an
/// unpublish there, and the forward's end.
struct Unpublish<'a> {
    session: &'a mut ClientSession,
    name: &'a str,
    ended: bool,
}

impl NoticeWriter for Unpublish<'_> {
    fn notice(&mut self, stream_id: u32, notice: Notice) -> Vec<Bytes> {
        match notice {
            Notice::Unpublished => {
                self.ended = true;
                self.session.unpublish(stream_id, self.name);
                std::iter::from_fn(|| self.session.poll_transmit()).collect()
            }
            // A publisher back within the reconnect grace: the destination saw no end.
            Notice::Published => Vec::new(),
        }
    }
}

/// Leaves the stream when the connection ends, however it ends.
struct Membership {
    stream: Arc<Stream>,
    player: Arc<Player>,
    runner_state: Arc<crate::server::runtime::ServerState>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.stream.remove_player(&self.player);
        self.runner_state.registry.remove_if_unused(&self.stream.key);
    }
}

impl Runner {
    /// Connects to `url` (plain RTMP), publishes, and serves the destination from the stream's
    /// output path until the stream or the destination ends.
    pub(super) async fn publish_on_output_path(
        &self,
        url: &RtmpUrl,
        config: &ClientConfig,
        failures: &mut u32,
    ) -> Ended {
        let connect = async {
            // Credentials in the URL: a refusal for authentication connects again.
            let mut auth = ClientAuth::new(url);
            loop {
                let mut tcp = TcpStream::connect(url.authority()).await?;
                tcp.set_nodelay(true)?;
                match start_publish(&mut tcp, url, config, auth.query()).await {
                    Ok((session, stream_id)) => return Ok::<_, ClientError>((tcp, session, stream_id)),
                    Err(e) => auth.retry(e)?,
                }
            }
        };
        let (tcp, mut session, stream_id) = match timeout(config.connect_timeout, connect).await {
            Ok(Ok(connected)) => connected,
            Ok(Err(e)) => return Ended::Failed(e.to_string()),
            Err(_) => return Ended::Failed(ClientError::Timeout("connect").to_string()),
        };
        let Some(stream) = self.live_stream().await else { return Ended::Stream };
        let peer_addr = tcp.peer_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (reader, write) = tcp.into_split();
        let state = &self.state;
        let (mut output, mut writer) = PlayerOutput::tcp(write, OutputLimits::of(&state.config));
        if !stream.admit_player(state.config.max_players_per_stream) {
            return Ended::Failed("the stream has its most players".into());
        }
        let queue = output.queue(state.config.player_queue_length, None);
        let session_id = crate::server::local::local_session_id();
        let player = Arc::new(Player::forward(session_id, peer_addr, stream_id, queue));
        // Metadata and sequence headers now, media from the next keyframe.
        stream.add_player_from(Arc::clone(&player), Replay::Headers);
        let member = Membership { stream, player, runner_state: Arc::clone(state) };
        self.record_connection(Some(Arc::clone(&member.player)));
        *failures = 0;
        self.set(super::RelayState::Live, None);
        let mut destination = Destination { reader, session: &mut session, input: BytesMut::new() };
        let play = Play { player: &member.player, stream_id, name: &url.stream };
        let ended = destination.serve(self, play, &mut output, &mut writer).await;
        self.record_connection(None);
        ended
    }

    /// The stream, once live: during a publisher's outage (reconnect grace) it waits for it.
    async fn live_stream(&self) -> Option<Arc<Stream>> {
        let give_up = Instant::now() + self.state.config.publisher_reconnect_grace;
        loop {
            let stream = self.state.registry.find(&self.key)?;
            if stream.is_live() {
                return Some(stream);
            }
            if Instant::now() >= give_up {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// The forward as a player: its queue, and the destination's message stream and stream name.
struct Play<'a> {
    player: &'a Player,
    stream_id: u32,
    name: &'a str,
}

/// The destination's side of the connection: what it sends (acknowledgements, pings, statuses)
/// read through the client session.
struct Destination<'a> {
    reader: tokio::net::tcp::OwnedReadHalf,
    session: &'a mut ClientSession,
    input: BytesMut,
}

impl Destination<'_> {
    async fn serve(
        &mut self,
        runner: &Runner,
        play: Play<'_>,
        output: &mut PlayerOutput,
        writer: &mut SharedWriter,
    ) -> Ended {
        let counter = &runner.state.counters.bytes_out;
        let notify = output.notify();
        let mut shutdown = runner.state.shutdown.subscribe();
        loop {
            // The queue first: what the replay queued, and anything queued while the task was away.
            let mut notices = Unpublish { session: &mut *self.session, name: play.name, ended: false };
            let plays = std::iter::once((play.stream_id, &play.player.queue));
            if let Err(reason) = output.write_queues(writer, &mut notices, plays, counter).await {
                return Ended::Failed(reason.to_string());
            }
            if notices.ended {
                return Ended::Stream;
            }
            output.release();
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            tokio::select! {
                biased;
                read = self.reader.read_buf(&mut self.input) => {
                    match read {
                        Ok(0) => return Ended::Failed(ClientError::Closed.to_string()),
                        Ok(_) => {}
                        Err(e) => return Ended::Failed(e.to_string()),
                    }
                    let handled = self.session.handle_input(&self.input);
                    self.input.clear();
                    if let Err(e) = handled {
                        return Ended::Failed(e.to_string());
                    }
                    if let Err(error) = self.answer(output, writer, counter).await {
                        return Ended::Failed(error);
                    }
                }
                () = notify.notified() => {}
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.session.handle_timeout(Instant::now().into_std());
                    if let Err(error) = self.answer(output, writer, counter).await {
                        return Ended::Failed(error);
                    }
                }
                // `wait_for`'s guard is not `Send`: dropped inside, as in `run_until`.
                () = async { drop(shutdown.wait_for(|stopping| *stopping).await) } => {
                    self.session.unpublish(play.stream_id, play.name);
                    let _ = self.answer(output, writer, counter).await;
                    return Ended::Stream;
                }
            }
        }
    }

    /// Writes what the session has to send (acknowledgements, pongs) and judges its events: an
    /// error status or a timeout ends the connection.
    async fn answer(
        &mut self,
        output: &mut PlayerOutput,
        writer: &mut SharedWriter,
        counter: &std::sync::atomic::AtomicU64,
    ) -> Result<(), String> {
        let replies: Vec<Bytes> = std::iter::from_fn(|| self.session.poll_transmit()).collect();
        output.write(writer, replies, counter).await.map_err(|reason| reason.to_string())?;
        output.release();
        while let Some(event) = self.session.poll_event() {
            match event {
                ClientEvent::Status { level, code, description, .. } if level == "error" => {
                    return Err(format!("{code}: {description}"));
                }
                ClientEvent::Timeout(_) => return Err(ClientError::Timeout("idle").to_string()),
                _ => {}
            }
        }
        Ok(())
    }
}
