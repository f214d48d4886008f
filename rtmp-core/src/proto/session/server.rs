//! The server side of one connection.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use super::chunk_io::ChunkIo;
use super::timer::{ConnectionTimers, TimeoutKind, Timers, earliest};
use super::{RequestId, ServerEvent, SessionError, TimestampNormalizer, csid};
use crate::proto::ProtocolError;
use crate::proto::amf::{Amf0Value, AmfLimits, AmfObject};
use crate::proto::chunk::{ChunkLimits, RawMessage};
use crate::proto::handshake::ServerHandshake;
use crate::proto::message::status::{self, StatusLevel, info_object};
use crate::proto::message::{
    BandwidthLimit, Command, ConnectParams, DataMessage, Message, StreamName, UserControl, split_aggregate,
    type_id,
};

/// Settings of a server session; the server's config fills them.
#[derive(Debug, Clone)]
pub struct ServerSessionConfig {
    /// Chunk stream limits (message size, chunk streams).
    pub chunk_limits: ChunkLimits,
    /// AMF decoding limits.
    pub amf_limits: AmfLimits,
    /// Our outgoing chunk size, announced right after connect (nginx and OBS use 4096).
    pub chunk_size: u32,
    /// Window Acknowledgement Size we announce.
    pub window_ack_size: u32,
    /// Set Peer Bandwidth we announce (dynamic).
    pub peer_bandwidth: u32,
    /// Most message streams (`createStream`) one connection may open.
    pub max_streams: u32,
    /// Rewrite each publisher's timestamps into a continuous timeline starting at 0.
    pub normalize_timestamps: bool,
    /// The `fmsVer` reported in the connect reply.
    pub fms_version: String,
    /// Answer E-RTMP capability negotiation in the connect reply.
    pub enhanced_rtmp: bool,
    /// FourCCs we accept and forward, announced to E-RTMP clients.
    pub fourcc_list: Vec<String>,
    /// `capsEx` we announce to E-RTMP clients.
    pub caps_ex: u32,
}

impl Default for ServerSessionConfig {
    fn default() -> Self {
        Self {
            chunk_limits: ChunkLimits::default(),
            amf_limits: AmfLimits::default(),
            chunk_size: 4096,
            window_ack_size: 2_500_000,
            peer_bandwidth: 2_500_000,
            max_streams: 8,
            normalize_timestamps: false,
            fms_version: "FMS/3,0,1,123".into(),
            enhanced_rtmp: true,
            fourcc_list: [
                "av01", "vp09", "vp08", "hvc1", "avc1", "vvc1", "ac-3", "ec-3", "Opus", ".mp3", "fLaC",
                "mp4a",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            caps_ex: 0x02 | 0x04 | 0x08,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    AwaitingConnect,
    ConnectPending,
    Connected,
    Closing,
}

/// What a message stream created by `createStream` is doing.
#[derive(Debug)]
enum StreamRole {
    Idle,
    Pending,
    Publishing { app: String, name: StreamName, normalizer: Option<TimestampNormalizer> },
    Playing { app: String, name: StreamName },
}

/// The message streams of the connection (at most `max_streams`, 8 by default) and their
/// roles: a scan of a few entries, once per media message, is cheaper than hashing.
#[derive(Debug, Default)]
struct StreamRoles(Vec<(u32, StreamRole)>);

impl StreamRoles {
    fn insert(&mut self, id: u32, role: StreamRole) {
        match self.get_mut(&id) {
            Some(slot) => *slot = role,
            None => self.0.push((id, role)),
        }
    }

    fn get_mut(&mut self, id: &u32) -> Option<&mut StreamRole> {
        self.0.iter_mut().find(|(i, _)| i == id).map(|(_, role)| role)
    }

    fn contains_key(&self, id: &u32) -> bool {
        self.0.iter().any(|(i, _)| i == id)
    }

    fn remove(&mut self, id: &u32) {
        self.0.retain(|(i, _)| i != id);
    }

    fn iter(&self) -> impl Iterator<Item = (&u32, &StreamRole)> {
        self.0.iter().map(|(id, role)| (id, role))
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

#[derive(Debug)]
enum PendingRequest {
    Connect { transaction_id: f64, object_encoding: f64, enhanced: bool },
    Publish { stream_id: u32, app: String, name: StreamName },
    Play { stream_id: u32, app: String, name: StreamName, reset: bool },
}

/// A server session: handshake, then the command flows of OBS, ffmpeg, GStreamer and librtmp.
#[derive(Debug)]
pub struct ServerSession {
    config: Arc<ServerSessionConfig>,
    phase: Phase,
    /// Boxed and dropped once done: its 3 KiB of packet buffers would otherwise stay with every
    /// idle connection.
    handshake: Option<Box<ServerHandshake>>,
    io: ChunkIo,
    app: String,
    streams: StreamRoles,
    next_stream_id: u32,
    pending: HashMap<RequestId, PendingRequest>,
    next_request: u64,
    events: VecDeque<ServerEvent>,
    /// The handshake's epoch, for the timestamps of pings.
    epoch_ms: u32,
    /// Connect, idle and ping deadlines, once [`Self::with_timers`] armed them.
    timers: Option<ConnectionTimers>,
    /// Accepted plays waiting for a publisher, and until when.
    play_waits: Vec<(u32, Instant)>,
}

impl ServerSession {
    /// A session waiting for C0+C1. `random` fills S1 and S2.
    /// A server shares one config among its sessions (`Arc`); a plain config works too.
    pub fn new(config: impl Into<Arc<ServerSessionConfig>>, epoch_ms: u32, random: &[u8; 1528]) -> Self {
        let config = config.into();
        let io = ChunkIo::new(config.chunk_limits, config.amf_limits);
        Self {
            config,
            phase: Phase::Handshake,
            handshake: Some(Box::new(ServerHandshake::new(epoch_ms, random))),
            io,
            app: String::new(),
            streams: StreamRoles::default(),
            next_stream_id: 1,
            pending: HashMap::new(),
            next_request: 1,
            events: VecDeque::new(),
            epoch_ms,
            timers: None,
            play_waits: Vec::new(),
        }
    }

    /// Arms the session's timers, counting from `now` (the connection's start). Without this
    /// call the session never times out.
    pub fn with_timers(mut self, timers: Timers, now: Instant) -> Self {
        self.timers = Some(ConnectionTimers::new(timers, self.epoch_ms, now));
        self
    }

    /// The next deadline: call [`handle_timeout`](Self::handle_timeout) once it has passed.
    /// `None` while no timer runs. It may come early (input moved the idle deadline on); then
    /// `handle_timeout` does nothing but re-arm.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Closing {
            return None;
        }
        let connection = self.timers.as_ref().and_then(|t| t.poll_timeout(self.phase == Phase::Connected));
        earliest(connection, self.play_waits.iter().map(|&(_, at)| at).min())
    }

    /// Runs the timers due at `now`: queues a PingRequest, or reports
    /// [`ServerEvent::Timeout`] (the connect or idle timeout closes the session; an expired play
    /// wait is answered with `NetStream.Play.StreamNotFound` and ends that play).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Closing {
            return;
        }
        if let Some(timers) = self.timers.as_mut() {
            let expired = timers.handle_timeout(now, self.phase == Phase::Connected, self.io.bytes_arrived());
            if let Some(kind) = expired.close {
                self.phase = Phase::Closing;
                self.events.push_back(ServerEvent::Timeout(kind));
                return;
            }
            if let Some(timestamp) = expired.ping {
                self.send_user_control(UserControl::PingRequest(timestamp));
            }
        }
        let mut i = 0;
        while i < self.play_waits.len() {
            if self.play_waits[i].1 > now {
                i += 1;
                continue;
            }
            let (stream_id, _) = self.play_waits.swap_remove(i);
            if let Some(role @ StreamRole::Playing { .. }) = self.streams.get_mut(&stream_id) {
                *role = StreamRole::Idle;
                self.send_status(stream_id, status::PLAY_STREAM_NOT_FOUND, "No publisher arrived in time.");
                self.events.push_back(ServerEvent::Timeout(TimeoutKind::PlayWait { stream_id }));
            }
        }
    }

    /// The accepted play on `stream_id` has no publisher yet: unless
    /// [`publisher_arrived`](Self::publisher_arrived) follows within the play wait timeout, the
    /// session fails it (see [`handle_timeout`](Self::handle_timeout)). Without that timeout, it
    /// waits forever.
    pub fn wait_for_publisher(&mut self, stream_id: u32, now: Instant) {
        let Some(wait) = self.timers.as_ref().and_then(|t| t.play_wait_timeout()) else { return };
        self.play_waits.retain(|&(id, _)| id != stream_id);
        self.play_waits.push((stream_id, now + wait));
    }

    /// A publisher went live on the stream the play on `stream_id` plays: ends its wait and
    /// tells the player (StreamBegin, Play.PublishNotify, Play.Reset, Play.Start).
    pub fn publisher_arrived(&mut self, stream_id: u32) {
        self.play_waits.retain(|&(id, _)| id != stream_id);
        let Some(StreamRole::Playing { name, .. }) = self.streams.get_mut(&stream_id) else { return };
        let name = name.name.clone();
        self.send_user_control(UserControl::StreamBegin(stream_id));
        self.send_status(stream_id, status::PLAY_PUBLISH_NOTIFY, &format!("{name} is now published."));
        self.send_status(stream_id, status::PLAY_RESET, &format!("Playing and resetting {name}."));
        self.send_status(stream_id, status::PLAY_START, &format!("Started playing {name}."));
    }

    /// The publisher of the stream the play on `stream_id` plays stopped: tells the player
    /// (Play.UnpublishNotify, StreamEOF). The play goes on, waiting for the next publisher.
    pub fn publisher_left(&mut self, stream_id: u32) {
        if !matches!(self.streams.get_mut(&stream_id), Some(StreamRole::Playing { .. })) {
            return;
        }
        self.send_status(stream_id, status::PLAY_UNPUBLISH_NOTIFY, "The publisher stopped.");
        self.send_user_control(UserControl::StreamEof(stream_id));
    }

    /// Feeds bytes received from the client. An error means the connection must be closed
    /// (after sending what [`poll_transmit`](Self::poll_transmit) still holds).
    pub fn handle_input(&mut self, input: &[u8]) -> Result<(), ProtocolError> {
        self.io.decoder.push(input);
        self.handle_buffered()
    }

    /// The buffer the session keeps received bytes in: an IO layer that reads straight into
    /// its spare capacity, then calls [`handle_buffered`](Self::handle_buffered), saves a copy.
    /// Complete messages are handed out as slices of this buffer, and keep its allocation alive
    /// while they live: room reserved per read would then be a new allocation per read, so
    /// reserve room for many reads at once.
    pub fn input_buffer(&mut self) -> &mut BytesMut {
        self.io.decoder.buffer_mut()
    }

    /// Processes the bytes read into [`input_buffer`](Self::input_buffer); errors as for
    /// [`handle_input`](Self::handle_input).
    pub fn handle_buffered(&mut self) -> Result<(), ProtocolError> {
        if let Some(handshake) = self.handshake.as_mut() {
            let input = self.io.decoder.buffer_mut();
            let consumed = handshake.handle_input(input, &mut self.io.outbound)?;
            input.advance(consumed);
            self.io.handshake_bytes += consumed as u64;
            if !handshake.is_done() {
                return Ok(());
            }
            self.phase = Phase::AwaitingConnect;
            if let Some(kind) = handshake.kind() {
                self.events.push_back(ServerEvent::HandshakeComplete { kind });
            }
            self.handshake = None;
        }
        while let Some((raw, message)) = self.io.next_message()? {
            self.handle_message(raw, message)?;
        }
        self.io.acknowledge_if_due();
        Ok(())
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Bytes to send to the client, all replies of one burst together.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.io.take_outbound()
    }

    /// True once the session has refused the connection, shut down or timed out: flush, then
    /// close.
    pub fn is_closing(&self) -> bool {
        self.phase == Phase::Closing
    }

    /// The application of the accepted connect.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// Our outgoing chunk size: the size shared media must be chunked at for this session.
    pub fn chunk_size(&self) -> u32 {
        self.io.encoder.chunk_size()
    }

    /// Total bytes received, handshake included.
    pub fn bytes_received(&self) -> u64 {
        self.io.bytes_received()
    }

    /// Accepts a pending connect, publish or play.
    pub fn accept(&mut self, request: RequestId) -> Result<(), SessionError> {
        match self.pending.remove(&request).ok_or(SessionError::UnknownRequest(request))? {
            PendingRequest::Connect { transaction_id, object_encoding, enhanced } => {
                self.accept_connect(transaction_id, object_encoding, enhanced);
            }
            PendingRequest::Publish { stream_id, app, name } => {
                let normalizer = self.config.normalize_timestamps.then(TimestampNormalizer::default);
                self.send_status(
                    stream_id,
                    status::PUBLISH_START,
                    &format!("{} is now published.", name.name),
                );
                self.streams.insert(stream_id, StreamRole::Publishing { app, name, normalizer });
            }
            PendingRequest::Play { stream_id, app, name, reset } => {
                self.io.send(csid::CONTROL, 0, 0, &Message::UserControl(UserControl::StreamBegin(stream_id)));
                if reset {
                    self.send_status(
                        stream_id,
                        status::PLAY_RESET,
                        &format!("Playing and resetting {}.", name.name),
                    );
                }
                self.send_status(stream_id, status::PLAY_START, &format!("Started playing {}.", name.name));
                let sample_access = DataMessage {
                    name: "|RtmpSampleAccess".into(),
                    values: vec![Amf0Value::Boolean(true), Amf0Value::Boolean(true)],
                };
                self.io.send(csid::STREAM, stream_id, 0, &Message::Data(sample_access));
                self.send_status(stream_id, status::DATA_START, "Data start.");
                self.streams.insert(stream_id, StreamRole::Playing { app, name });
            }
        }
        Ok(())
    }

    /// Rejects a pending request with the code that fits it: Connect.Rejected (the session then
    /// closes), Publish.Denied, or Play.Failed. `reason` becomes the description.
    pub fn reject(&mut self, request: RequestId, reason: &str) -> Result<(), SessionError> {
        let code = match self.pending.get(&request).ok_or(SessionError::UnknownRequest(request))? {
            PendingRequest::Connect { .. } => status::CONNECT_REJECTED,
            PendingRequest::Publish { .. } => status::PUBLISH_DENIED,
            PendingRequest::Play { .. } => status::PLAY_FAILED,
        };
        self.reject_with_code(request, code, reason)
    }

    /// Rejects a pending request with a specific status code (e.g. Publish.BadName,
    /// Play.StreamNotFound).
    pub fn reject_with_code(
        &mut self,
        request: RequestId,
        code: &str,
        reason: &str,
    ) -> Result<(), SessionError> {
        match self.pending.remove(&request).ok_or(SessionError::UnknownRequest(request))? {
            PendingRequest::Connect { transaction_id, .. } => {
                let info = info_object(StatusLevel::Error, code, reason);
                self.io.send_command(
                    csid::COMMAND,
                    0,
                    Command::new("_error", transaction_id, vec![info.into()]),
                );
                self.phase = Phase::Closing;
            }
            PendingRequest::Publish { stream_id, .. } | PendingRequest::Play { stream_id, .. } => {
                self.send_status(stream_id, code, reason);
                self.streams.insert(stream_id, StreamRole::Idle);
            }
        }
        Ok(())
    }

    /// Sends `onStatus` on a message stream (e.g. UnpublishNotify to players).
    pub fn send_status(&mut self, stream_id: u32, code: &str, description: &str) {
        self.io.send_command(csid::STREAM, stream_id, status::on_status(code, description));
    }

    /// Asks the client to reconnect (E-RTMP `NetConnection.Connect.ReconnectRequest`), optionally
    /// to another tcUrl: for maintenance or moving load without dropping viewers.
    pub fn request_reconnect(&mut self, tc_url: Option<&str>) {
        let mut info =
            info_object(StatusLevel::Status, status::CONNECT_RECONNECT_REQUEST, "Please reconnect.");
        if let Some(url) = tc_url {
            info.insert("tcUrl", url);
        }
        self.io.send_command(csid::STREAM, 0, Command::new("onStatus", 0.0, vec![Amf0Value::Object(info)]));
    }

    /// Sends a user control event (StreamBegin, StreamEOF, PingRequest, …).
    pub fn send_user_control(&mut self, event: UserControl) {
        self.io.send(csid::CONTROL, 0, 0, &Message::UserControl(event));
    }

    /// Tells the client the server is going away: onStatus NetConnection.Connect.AppShutdown
    /// and, for each publisher, Unpublish.Success.
    pub fn send_shutdown(&mut self) {
        let publishers: Vec<u32> = self
            .streams
            .iter()
            .filter_map(|(id, role)| matches!(role, StreamRole::Publishing { .. }).then_some(*id))
            .collect();
        for stream_id in publishers {
            self.send_status(stream_id, status::UNPUBLISH_SUCCESS, "Server shutting down.");
        }
        self.send_status(0, status::CONNECT_APP_SHUTDOWN, "Server shutting down.");
        self.phase = Phase::Closing;
    }

    fn new_request(&mut self, request: PendingRequest) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        self.pending.insert(id, request);
        id
    }

    fn accept_connect(&mut self, transaction_id: f64, object_encoding: f64, enhanced: bool) {
        self.phase = Phase::Connected;
        // Most connections of a large server idle from here on: give back what the handshake and
        // connect burst needed.
        self.events.shrink_to_fit();
        self.pending.shrink_to_fit();
        let io = &mut self.io;
        io.send(csid::CONTROL, 0, 0, &Message::WindowAckSize(self.config.window_ack_size));
        let bandwidth =
            Message::SetPeerBandwidth { size: self.config.peer_bandwidth, limit: BandwidthLimit::Dynamic };
        io.send(csid::CONTROL, 0, 0, &bandwidth);
        io.set_chunk_size(self.config.chunk_size);
        let mut properties: AmfObject =
            [("fmsVer", Amf0Value::from(self.config.fms_version.as_str())), ("capabilities", 31.0.into())]
                .into_iter()
                .collect();
        properties.insert("mode", 1.0);
        if enhanced && self.config.enhanced_rtmp {
            let list = self.config.fourcc_list.iter().map(|f| Amf0Value::from(f.as_str())).collect();
            properties.insert("fourCcList", Amf0Value::StrictArray(list));
            properties.insert("capsEx", self.config.caps_ex);
        }
        let mut info = info_object(StatusLevel::Status, status::CONNECT_SUCCESS, "Connection succeeded.");
        info.insert("objectEncoding", object_encoding);
        let reply = Command {
            name: "_result".into(),
            transaction_id,
            command_object: Amf0Value::Object(properties),
            arguments: vec![Amf0Value::Object(info)],
        };
        io.send_command(csid::COMMAND, 0, reply);
    }

    fn handle_message(&mut self, raw: RawMessage, message: Message) -> Result<(), ProtocolError> {
        if self.io.handle_common(&message) {
            return Ok(());
        }
        match message {
            Message::Command(command) => self.handle_command(raw.stream_id, command)?,
            Message::Audio(payload) => {
                self.handle_media(raw.stream_id, raw.timestamp, type_id::AUDIO, payload)
            }
            Message::Video(payload) => {
                self.handle_media(raw.stream_id, raw.timestamp, type_id::VIDEO, payload)
            }
            Message::Data(data) => {
                // An AMF3 data message's body is AMF0 after a format byte: relayed as AMF0.
                let payload = match (raw.type_id, raw.payload.first()) {
                    (type_id::DATA_AMF3, Some(0)) => raw.payload.slice(1..),
                    _ => raw.payload,
                };
                self.handle_data(raw.stream_id, raw.timestamp, data, payload);
            }
            Message::Aggregate(body) => {
                for part in split_aggregate(raw.timestamp, &body).map_err(ProtocolError::from)? {
                    match part.type_id {
                        type_id::AUDIO | type_id::VIDEO => {
                            self.handle_media(raw.stream_id, part.timestamp, part.type_id, part.payload)
                        }
                        type_id::DATA_AMF0 => {
                            let data = DataMessage::decode(&part.payload, &self.config.amf_limits)?;
                            self.handle_data(raw.stream_id, part.timestamp, data, part.payload);
                        }
                        _ => {}
                    }
                }
            }
            Message::UserControl(UserControl::SetBufferLength { stream_id, buffer_ms }) => {
                self.events.push_back(ServerEvent::BufferLength { stream_id, buffer_ms });
            }
            Message::UserControl(UserControl::PingResponse(timestamp)) => {
                self.events.push_back(ServerEvent::PingResponse { timestamp });
            }
            // Acknowledgements, peer bandwidth, shared objects, and unknown types need no answer.
            _ => {}
        }
        Ok(())
    }

    fn handle_command(&mut self, stream_id: u32, command: Command) -> Result<(), ProtocolError> {
        match (self.phase, command.name.as_str()) {
            (Phase::AwaitingConnect, "connect") => {
                let params = ConnectParams::from_command(&command);
                self.app = params.app.clone();
                self.phase = Phase::ConnectPending;
                let request = self.new_request(PendingRequest::Connect {
                    transaction_id: command.transaction_id,
                    object_encoding: params.object_encoding,
                    enhanced: params.is_enhanced(),
                });
                self.events.push_back(ServerEvent::ConnectRequested { request, params });
            }
            (_, "connect") => return Err(SessionError::DuplicateConnect.into()),
            (Phase::Connected, _) => self.handle_connected_command(stream_id, command)?,
            // Replies and notifications a client may send early carry no request.
            (_, "_result" | "_error" | "onStatus") => {}
            (Phase::Closing, _) => {}
            (_, name) => return Err(SessionError::CommandBeforeConnect(name.to_owned()).into()),
        }
        Ok(())
    }

    fn handle_connected_command(
        &mut self,
        message_stream: u32,
        command: Command,
    ) -> Result<(), ProtocolError> {
        let tx = command.transaction_id;
        let name_arg = || StreamName::parse(command.arg_str(0).unwrap_or(""));
        match command.name.as_str() {
            "releaseStream" => {
                self.reply_result(tx, Amf0Value::Undefined);
                self.events.push_back(ServerEvent::ReleaseStream { name: name_arg() });
            }
            "FCPublish" => {
                self.reply_result(tx, Amf0Value::Undefined);
                self.events.push_back(ServerEvent::FcPublish { name: name_arg() });
            }
            "FCUnpublish" => {
                self.reply_result(tx, Amf0Value::Undefined);
                let name = name_arg();
                self.events.push_back(ServerEvent::FcUnpublish { name: name.clone() });
                let publishing = self.streams.iter().find_map(|(id, role)| match role {
                    StreamRole::Publishing { name: n, .. } if n.name == name.name => Some(*id),
                    _ => None,
                });
                if let Some(id) = publishing {
                    self.finish_stream(id, true);
                }
            }
            "FCSubscribe" | "_checkbw" => self.reply_result(tx, Amf0Value::Undefined),
            "getStreamLength" => self.reply_result(tx, Amf0Value::Number(0.0)),
            "createStream" => {
                if self.streams.len() as u32 >= self.config.max_streams {
                    self.reply_error(tx, status::CALL_FAILED, "Too many streams on this connection.");
                } else {
                    let id = self.next_stream_id;
                    self.next_stream_id += 1;
                    self.streams.insert(id, StreamRole::Idle);
                    self.reply_result(tx, Amf0Value::Number(f64::from(id)));
                    self.events.push_back(ServerEvent::StreamCreated { stream_id: id });
                }
            }
            "publish" => {
                self.check_stream(message_stream, "publish")?;
                let (app, name) = self.effective_names(command.arg_str(0).unwrap_or(""));
                let publish_type = command.arg_str(1).unwrap_or("live").to_owned();
                self.streams.insert(message_stream, StreamRole::Pending);
                let request = self.new_request(PendingRequest::Publish {
                    stream_id: message_stream,
                    app: app.clone(),
                    name: name.clone(),
                });
                self.events.push_back(ServerEvent::PublishRequested {
                    request,
                    stream_id: message_stream,
                    app,
                    name,
                    publish_type,
                });
            }
            "play" | "play2" => {
                self.check_stream(message_stream, &command.name)?;
                let (raw_name, start, duration, reset) = if command.name == "play2" {
                    let options = command.arguments.first().and_then(Amf0Value::as_object);
                    let get = |k: &str| options.and_then(|o| o.get_number(k));
                    (
                        options.and_then(|o| o.get_str("streamName")).unwrap_or(""),
                        get("start").unwrap_or(-2.0),
                        get("len").unwrap_or(-1.0),
                        true,
                    )
                } else {
                    (
                        command.arg_str(0).unwrap_or(""),
                        command.arg_number(1).unwrap_or(-2.0),
                        command.arg_number(2).unwrap_or(-1.0),
                        command.arg_bool(3).unwrap_or(true),
                    )
                };
                let (app, name) = self.effective_names(raw_name);
                self.streams.insert(message_stream, StreamRole::Pending);
                let request = self.new_request(PendingRequest::Play {
                    stream_id: message_stream,
                    app: app.clone(),
                    name: name.clone(),
                    reset,
                });
                self.events.push_back(ServerEvent::PlayRequested {
                    request,
                    stream_id: message_stream,
                    app,
                    name,
                    start,
                    duration,
                    reset,
                });
            }
            "pause" | "pauseRaw" => {
                let paused = command.arg_bool(0).unwrap_or(true);
                let position_ms = command.arg_number(1).unwrap_or(0.0);
                let (code, text) = if paused {
                    (status::PAUSE_NOTIFY, "Paused.")
                } else {
                    (status::UNPAUSE_NOTIFY, "Unpaused.")
                };
                self.send_status(message_stream, code, text);
                self.events.push_back(ServerEvent::Paused { stream_id: message_stream, paused, position_ms });
            }
            "seek" => self.send_status(
                message_stream,
                status::SEEK_NOTIFY,
                "Seeking is not possible on live streams.",
            ),
            "receiveAudio" | "receiveVideo" => {
                let enabled = command.arg_bool(0).unwrap_or(true);
                let audio = (command.name == "receiveAudio").then_some(enabled);
                let video = (command.name == "receiveVideo").then_some(enabled);
                self.events.push_back(ServerEvent::MediaSelection {
                    stream_id: message_stream,
                    audio,
                    video,
                });
            }
            "closeStream" => self.finish_stream(message_stream, false),
            "deleteStream" => {
                // GStreamer sends the stream name instead of the id.
                let id = command.arg_number(0).map(|n| n as u32).unwrap_or(message_stream);
                self.finish_stream(id, false);
                self.streams.remove(&id);
            }
            "_result" | "_error" | "onStatus" | "onBWDone" => {}
            name => {
                if tx != 0.0 {
                    self.reply_error(tx, status::CALL_FAILED, &format!("Method not found ({name})."));
                }
                self.events.push_back(ServerEvent::UnknownCommand { name: name.to_owned() });
            }
        }
        Ok(())
    }

    fn check_stream(&self, stream_id: u32, command: &str) -> Result<(), SessionError> {
        if self.streams.contains_key(&stream_id) {
            Ok(())
        } else {
            Err(SessionError::UnknownStream { command: command.to_owned(), stream_id })
        }
    }

    /// OBS users sometimes leave the app empty and put `app/key` in the stream key: take the app
    /// from the name then.
    fn effective_names(&self, raw_name: &str) -> (String, StreamName) {
        let (path, _) = crate::proto::message::split_query(raw_name);
        if self.app.is_empty()
            && let Some((app, _)) = path.rsplit_once('/')
        {
            let rest = &raw_name[app.len() + 1..];
            return (app.to_owned(), StreamName::parse(rest));
        }
        (self.app.clone(), StreamName::parse(raw_name))
    }

    /// Ends whatever the message stream was doing and reports it.
    fn finish_stream(&mut self, stream_id: u32, from_fc_unpublish: bool) {
        self.play_waits.retain(|&(id, _)| id != stream_id);
        let Some(role) = self.streams.get_mut(&stream_id) else { return };
        match std::mem::replace(role, StreamRole::Idle) {
            StreamRole::Publishing { app, name, .. } => {
                if !from_fc_unpublish {
                    self.send_status(
                        stream_id,
                        status::UNPUBLISH_SUCCESS,
                        &format!("{} is now unpublished.", name.name),
                    );
                }
                self.events.push_back(ServerEvent::PublishFinished { stream_id, app, name });
            }
            StreamRole::Playing { app, name } => {
                self.events.push_back(ServerEvent::PlayFinished { stream_id, app, name });
            }
            StreamRole::Pending => {
                // Answering a request for a stream that is gone is harmless; drop the request.
                self.pending.retain(|_, p| match p {
                    PendingRequest::Publish { stream_id: s, .. }
                    | PendingRequest::Play { stream_id: s, .. } => *s != stream_id,
                    PendingRequest::Connect { .. } => true,
                });
            }
            StreamRole::Idle => {}
        }
    }

    fn reply_result(&mut self, tx: f64, value: Amf0Value) {
        self.io.send_command(csid::COMMAND, 0, Command::new("_result", tx, vec![value]));
    }

    fn reply_error(&mut self, tx: f64, code: &str, description: &str) {
        let info = info_object(StatusLevel::Error, code, description);
        self.io.send_command(csid::COMMAND, 0, Command::new("_error", tx, vec![info.into()]));
    }

    fn publishing_timestamp(&mut self, stream_id: u32, timestamp: u32) -> Option<u32> {
        match self.streams.get_mut(&stream_id) {
            Some(StreamRole::Publishing { normalizer, .. }) => {
                Some(normalizer.as_mut().map_or(timestamp, |n| n.normalize(timestamp)))
            }
            _ => None,
        }
    }

    fn handle_media(&mut self, stream_id: u32, timestamp: u32, kind: u8, payload: Bytes) {
        // Media on a stream that is not publishing (not yet accepted, or rejected) is dropped.
        let Some(timestamp) = self.publishing_timestamp(stream_id, timestamp) else { return };
        self.events.push_back(if kind == type_id::AUDIO {
            ServerEvent::Audio { stream_id, timestamp, payload }
        } else {
            ServerEvent::Video { stream_id, timestamp, payload }
        });
    }

    fn handle_data(&mut self, stream_id: u32, timestamp: u32, data: DataMessage, payload: Bytes) {
        let Some(timestamp) = self.publishing_timestamp(stream_id, timestamp) else { return };
        // Relayed as received, minus the @setDataFrame wrapper: re-encoding the decoded values
        // would expand AMF references, a few kB in and up to the AMF budget out, cached and
        // sent to every player.
        let payload = if data.name == "@setDataFrame" {
            match DataMessage::skip_first_string(&payload) {
                Some(payload) => payload,
                None => return,
            }
        } else {
            payload
        };
        let data = data.without_set_data_frame();
        if let Some(metadata) = data.metadata().cloned() {
            self.events.push_back(ServerEvent::Metadata { stream_id, timestamp, metadata, payload });
        } else if data.name != "@clearDataFrame" {
            self.events.push_back(ServerEvent::Data { stream_id, timestamp, data, payload });
        }
    }
}
