//! The client side of one connection: connect, then publish or play.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use super::chunk_io::ChunkIo;
use super::timer::{ConnectionTimers, Timers};
use super::{ClientEvent, SessionError, csid};
use crate::proto::ProtocolError;
use crate::proto::amf::{Amf0Value, AmfLimits, AmfObject};
use crate::proto::chunk::{ChunkLimits, RawMessage};
use crate::proto::handshake::{ClientHandshake, ClientMode};
use crate::proto::message::status::{self, read_info};
use crate::proto::message::{Command, ConnectParams, DataMessage, Message, UserControl, type_id};

/// Settings of a client session.
#[derive(Debug, Clone)]
pub struct ClientSessionConfig {
    /// Chunk stream limits for what the server sends.
    pub chunk_limits: ChunkLimits,
    /// AMF decoding limits.
    pub amf_limits: AmfLimits,
    /// Our outgoing chunk size, announced before connect as OBS does.
    pub chunk_size: u32,
    /// Window Acknowledgement Size we announce after the server's Set Peer Bandwidth.
    pub window_ack_size: u32,
    /// Handshake flavour; the default digest C1 works with every known server.
    pub handshake: ClientMode,
    /// Buffer length announced when playing, in ms.
    pub buffer_ms: u32,
}

impl Default for ClientSessionConfig {
    fn default() -> Self {
        Self {
            chunk_limits: ChunkLimits::default(),
            amf_limits: AmfLimits::default(),
            chunk_size: 4096,
            window_ack_size: 2_500_000,
            handshake: ClientMode::Digest { strict: false },
            buffer_ms: 3000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Ready,
    Connecting,
    Connected,
    Closed,
}

/// What to do once `createStream` answers.
#[derive(Debug, Clone)]
enum StreamIntent {
    Publish { name: String, publish_type: String },
    Play { name: String, start: f64 },
}

#[derive(Debug)]
enum Transaction {
    Connect,
    CreateStream(StreamIntent),
    Other,
}

/// A client session. Calls made before the handshake or connect finish are queued in order.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientSessionConfig,
    phase: Phase,
    handshake: ClientHandshake,
    io: ChunkIo,
    connect: Option<ConnectParams>,
    queued: Vec<StreamIntent>,
    transactions: HashMap<u64, Transaction>,
    next_transaction: u64,
    events: VecDeque<ClientEvent>,
    epoch_ms: u32,
    timers: Option<ConnectionTimers>,
}

impl ClientSession {
    /// A session that has queued C0+C1. `random` fills C1 and C2.
    pub fn new(config: ClientSessionConfig, epoch_ms: u32, random: &[u8; 1528]) -> Self {
        let mut io = ChunkIo::new(config.chunk_limits, config.amf_limits);
        let mut handshake = ClientHandshake::new(config.handshake, epoch_ms, random);
        handshake.start(&mut io.outbound);
        Self {
            config,
            phase: Phase::Handshake,
            handshake,
            io,
            connect: None,
            queued: Vec::new(),
            transactions: HashMap::new(),
            next_transaction: 1,
            events: VecDeque::new(),
            epoch_ms,
            timers: None,
        }
    }

    /// Arms the session's timers (connect, idle, ping; a play wait timeout is ignored),
    /// counting from `now` (the connection's start). Without this call the session never times
    /// out.
    pub fn with_timers(mut self, timers: Timers, now: Instant) -> Self {
        self.timers = Some(ConnectionTimers::new(timers, self.epoch_ms, now));
        self
    }

    /// The next deadline: call [`handle_timeout`](Self::handle_timeout) once it has passed.
    /// `None` while no timer runs. It may come early (input moved the idle deadline on); then
    /// `handle_timeout` does nothing but re-arm.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Closed {
            return None;
        }
        self.timers.as_ref().and_then(|t| t.poll_timeout(self.phase == Phase::Connected))
    }

    /// Runs the timers due at `now`: queues a PingRequest, or closes the session and reports
    /// [`ClientEvent::Timeout`] (connect or idle timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        let Some(timers) = self.timers.as_mut() else { return };
        let expired = timers.handle_timeout(now, self.phase == Phase::Connected, self.io.bytes_arrived());
        if let Some(kind) = expired.close {
            self.phase = Phase::Closed;
            self.events.push_back(ClientEvent::Timeout(kind));
        } else if let Some(timestamp) = expired.ping {
            self.ping(timestamp);
        }
    }

    /// Feeds bytes received from the server.
    pub fn handle_input(&mut self, mut input: &[u8]) -> Result<(), ProtocolError> {
        if self.phase == Phase::Handshake {
            let consumed = self.handshake.handle_input(input, &mut self.io.outbound)?;
            self.io.handshake_bytes += consumed as u64;
            input = &input[consumed..];
            if !self.handshake.is_done() {
                return Ok(());
            }
            self.phase = Phase::Ready;
            self.events.push_back(ClientEvent::HandshakeComplete);
            self.io.set_chunk_size(self.config.chunk_size);
            if let Some(params) = self.connect.clone() {
                self.send_connect(&params);
            }
        }
        self.io.decoder.push(input);
        while let Some((raw, message)) = self.io.next_message()? {
            self.handle_message(&raw, message);
        }
        self.io.acknowledge_if_due();
        Ok(())
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Bytes to send to the server.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.io.take_outbound()
    }

    /// True after `connect` succeeded.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// Sends `connect` (once the handshake is done).
    pub fn connect(&mut self, params: ConnectParams) -> Result<(), SessionError> {
        if self.connect.is_some() {
            return Err(SessionError::DuplicateConnect);
        }
        self.connect = Some(params.clone());
        if self.phase == Phase::Ready {
            self.send_connect(&params);
        }
        Ok(())
    }

    /// Starts publishing `name` as OBS does: releaseStream, FCPublish, createStream, then publish
    /// on the new stream. [`ClientEvent::PublishStarted`] reports success.
    pub fn publish(&mut self, name: &str, publish_type: &str) -> Result<(), SessionError> {
        self.start(StreamIntent::Publish { name: name.into(), publish_type: publish_type.into() })
    }

    /// Starts playing `name` (start -2: live, else recorded). [`ClientEvent::PlayStarted`]
    /// reports success.
    pub fn play(&mut self, name: &str) -> Result<(), SessionError> {
        self.start(StreamIntent::Play { name: name.into(), start: -2.0 })
    }

    /// Sends an FLV audio tag body on a publishing stream.
    pub fn send_audio(&mut self, stream_id: u32, timestamp: u32, payload: &[u8]) {
        self.io.encoder.write(
            csid::AUDIO,
            timestamp,
            type_id::AUDIO,
            stream_id,
            payload,
            &mut self.io.outbound,
        );
    }

    /// Sends an FLV video tag body on a publishing stream.
    pub fn send_video(&mut self, stream_id: u32, timestamp: u32, payload: &[u8]) {
        self.io.encoder.write(
            csid::VIDEO,
            timestamp,
            type_id::VIDEO,
            stream_id,
            payload,
            &mut self.io.outbound,
        );
    }

    /// Sends `@setDataFrame("onMetaData", metadata)`.
    pub fn send_metadata(&mut self, stream_id: u32, metadata: &AmfObject) {
        let data = DataMessage {
            name: "@setDataFrame".into(),
            values: vec!["onMetaData".into(), Amf0Value::EcmaArray(metadata.clone())],
        };
        self.send_data(stream_id, 0, &data);
    }

    /// Sends any data message (onTextData, onCuePoint, …).
    pub fn send_data(&mut self, stream_id: u32, timestamp: u32, data: &DataMessage) {
        self.io.send(csid::DATA, stream_id, timestamp, &Message::Data(data.clone()));
    }

    /// Stops publishing `name` on `stream_id`: FCUnpublish and deleteStream, as OBS does.
    pub fn unpublish(&mut self, stream_id: u32, name: &str) {
        let tx = self.transaction(Transaction::Other);
        self.io.send_command(csid::COMMAND, 0, Command::new("FCUnpublish", tx, vec![name.into()]));
        self.delete_stream(stream_id);
    }

    /// Closes a stream with deleteStream.
    pub fn delete_stream(&mut self, stream_id: u32) {
        let tx = self.transaction(Transaction::Other);
        self.io.send_command(
            csid::COMMAND,
            0,
            Command::new("deleteStream", tx, vec![f64::from(stream_id).into()]),
        );
    }

    /// Pauses or resumes playback of `stream_id` at `position_ms`.
    pub fn pause(&mut self, stream_id: u32, paused: bool, position_ms: f64) {
        let command = Command::new("pause", 0.0, vec![paused.into(), position_ms.into()]);
        self.io.send_command(csid::STREAM, stream_id, command);
    }

    /// Sends any command on message stream `stream_id` (0 for connection-level calls).
    pub fn send_command(&mut self, stream_id: u32, command: Command) {
        let csid = if stream_id == 0 { csid::COMMAND } else { csid::STREAM };
        self.io.send_command(csid, stream_id, command);
    }

    /// Sends a ping request (the server should answer with the same timestamp).
    pub fn ping(&mut self, timestamp: u32) {
        self.io.send(csid::CONTROL, 0, 0, &Message::UserControl(UserControl::PingRequest(timestamp)));
    }

    fn start(&mut self, intent: StreamIntent) -> Result<(), SessionError> {
        match self.phase {
            Phase::Closed => Err(SessionError::Closed),
            Phase::Connected => {
                self.create_stream(intent);
                Ok(())
            }
            _ if self.connect.is_none() => Err(SessionError::NotConnected),
            _ => {
                self.queued.push(intent);
                Ok(())
            }
        }
    }

    fn transaction(&mut self, kind: Transaction) -> f64 {
        let id = self.next_transaction;
        self.next_transaction += 1;
        if !matches!(kind, Transaction::Other) {
            self.transactions.insert(id, kind);
        }
        id as f64
    }

    fn send_connect(&mut self, params: &ConnectParams) {
        self.phase = Phase::Connecting;
        let tx = self.transaction(Transaction::Connect);
        self.io.send_command(csid::COMMAND, 0, params.to_command(tx));
    }

    fn create_stream(&mut self, intent: StreamIntent) {
        if let StreamIntent::Publish { name, .. } = &intent {
            for call in ["releaseStream", "FCPublish"] {
                let tx = self.transaction(Transaction::Other);
                self.io.send_command(csid::COMMAND, 0, Command::new(call, tx, vec![name.as_str().into()]));
            }
        }
        let tx = self.transaction(Transaction::CreateStream(intent));
        self.io.send_command(csid::COMMAND, 0, Command::new("createStream", tx, vec![]));
    }

    fn handle_message(&mut self, raw: &RawMessage, message: Message) {
        if self.io.handle_common(&message) {
            return;
        }
        let stream_id = raw.stream_id;
        let timestamp = raw.timestamp;
        match message {
            Message::Command(command) => self.handle_command(stream_id, command),
            Message::Audio(payload) => {
                self.events.push_back(ClientEvent::Audio { stream_id, timestamp, payload })
            }
            Message::Video(payload) => {
                self.events.push_back(ClientEvent::Video { stream_id, timestamp, payload })
            }
            Message::Data(data) => {
                let data = data.without_set_data_frame();
                match data.metadata() {
                    Some(metadata) => {
                        let metadata = metadata.clone();
                        self.events.push_back(ClientEvent::Metadata { stream_id, timestamp, metadata })
                    }
                    None => self.events.push_back(ClientEvent::Data { stream_id, timestamp, data }),
                }
            }
            Message::Aggregate(body) => {
                let Ok(parts) = crate::proto::message::split_aggregate(timestamp, &body) else { return };
                for part in parts {
                    let Ok(message) = Message::decode(part.type_id, part.payload, &self.config.amf_limits)
                    else {
                        continue;
                    };
                    let raw = RawMessage { timestamp: part.timestamp, ..raw.clone() };
                    self.handle_message(&raw, message);
                }
            }
            Message::SetPeerBandwidth { .. } => {
                self.io.send(csid::CONTROL, 0, 0, &Message::WindowAckSize(self.config.window_ack_size));
            }
            Message::UserControl(UserControl::StreamBegin(id)) => {
                self.events.push_back(ClientEvent::StreamBegin { stream_id: id })
            }
            Message::UserControl(UserControl::StreamEof(id)) => {
                self.events.push_back(ClientEvent::StreamEof { stream_id: id })
            }
            _ => {}
        }
    }

    fn handle_command(&mut self, stream_id: u32, command: Command) {
        let success = command.name == "_result";
        match command.name.as_str() {
            "_result" | "_error" => {
                let tracked = self.transactions.remove(&(command.transaction_id as u64));
                match tracked {
                    Some(Transaction::Connect) if success => {
                        self.phase = Phase::Connected;
                        let properties = command.command_object.as_object().cloned().unwrap_or_default();
                        let info = command
                            .arguments
                            .iter()
                            .find_map(Amf0Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        self.events.push_back(ClientEvent::Connected { properties, info });
                        for intent in std::mem::take(&mut self.queued) {
                            self.create_stream(intent);
                        }
                    }
                    Some(Transaction::Connect) => {
                        self.phase = Phase::Closed;
                        let (_, code, description) = read_info(&command).unwrap_or(("", "", ""));
                        self.events.push_back(ClientEvent::ConnectRejected {
                            code: if code.is_empty() { status::CONNECT_REJECTED.into() } else { code.into() },
                            description: description.into(),
                        });
                    }
                    Some(Transaction::CreateStream(intent)) if success => {
                        // ffmpeg requires `_result, tx, null, number`; OBS takes the 4th value.
                        let new_id = command.arg_number(0).unwrap_or(1.0) as u32;
                        self.events.push_back(ClientEvent::StreamCreated { stream_id: new_id });
                        self.begin(new_id, intent);
                    }
                    _ => self.events.push_back(ClientEvent::CallResult {
                        transaction_id: command.transaction_id,
                        success,
                    }),
                }
            }
            "onStatus" => {
                let Some((level, code, description)) = read_info(&command) else { return };
                let event = match code {
                    status::PUBLISH_START => Some(ClientEvent::PublishStarted { stream_id }),
                    status::PLAY_START => Some(ClientEvent::PlayStarted { stream_id }),
                    status::CONNECT_RECONNECT_REQUEST => {
                        let tc_url = command
                            .arguments
                            .iter()
                            .find_map(Amf0Value::as_object)
                            .and_then(|o| o.get_str("tcUrl"))
                            .map(str::to_owned);
                        Some(ClientEvent::ReconnectRequested { tc_url })
                    }
                    _ => None,
                };
                self.events.push_back(ClientEvent::Status {
                    stream_id,
                    level: level.into(),
                    code: code.into(),
                    description: description.into(),
                });
                self.events.extend(event);
            }
            // onBWDone, onFCPublish, |RtmpSampleAccess and friends need nothing from us.
            _ => {}
        }
    }

    fn begin(&mut self, stream_id: u32, intent: StreamIntent) {
        let command = match intent {
            StreamIntent::Publish { name, publish_type } => {
                Command::new("publish", 0.0, vec![name.into(), publish_type.into()])
            }
            StreamIntent::Play { name, start } => {
                let event = UserControl::SetBufferLength { stream_id, buffer_ms: self.config.buffer_ms };
                self.io.send_command(
                    csid::STREAM,
                    stream_id,
                    Command::new("play", 0.0, vec![name.into(), start.into()]),
                );
                self.io.send(csid::CONTROL, 0, 0, &Message::UserControl(event));
                return;
            }
        };
        self.io.send_command(csid::STREAM, stream_id, command);
    }
}
