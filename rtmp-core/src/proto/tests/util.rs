//! In-memory client↔server pairs: whole sessions without sockets or clocks.

use bytes::{Bytes, BytesMut};

use crate::proto::chunk::{ChunkDecoder, ChunkEncoder, ChunkLimits, RawMessage};
use crate::proto::handshake::{ClientHandshake, ClientMode};
use crate::proto::message::{Command, ConnectParams, Message};
use crate::proto::session::{
    ClientEvent, ClientSession, ClientSessionConfig, RequestId, ServerEvent, ServerSession,
    ServerSessionConfig,
};

/// What the pair's server answers to requests on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    AcceptAll,
    Manual,
}

pub(crate) struct Pair {
    pub(crate) client: ClientSession,
    pub(crate) server: ServerSession,
    pub(crate) client_events: Vec<ClientEvent>,
    pub(crate) server_events: Vec<ServerEvent>,
    pub(crate) policy: Policy,
    /// Deliver bytes this many at a time (1 = byte by byte).
    pub(crate) fragment: usize,
}

pub(crate) fn random(seed: u8) -> [u8; 1528] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
}

pub(crate) fn connect_params(app: &str) -> ConnectParams {
    ConnectParams {
        app: app.into(),
        tc_url: Some(format!("rtmp://127.0.0.1:1935/{app}")),
        ..Default::default()
    }
}

impl Pair {
    pub(crate) fn new() -> Self {
        Self::with_configs(ClientSessionConfig::default(), ServerSessionConfig::default())
    }

    pub(crate) fn with_configs(client: ClientSessionConfig, server: ServerSessionConfig) -> Self {
        Self {
            client: ClientSession::new(client, 1000, &random(1)),
            server: ServerSession::new(server, 2000, &random(2)),
            client_events: Vec::new(),
            server_events: Vec::new(),
            policy: Policy::AcceptAll,
            fragment: usize::MAX,
        }
    }

    /// A pair whose client has connected to `app` (accepted).
    pub(crate) fn connected(app: &str) -> Self {
        let mut pair = Self::new();
        pair.client.connect(connect_params(app)).unwrap();
        pair.drive();
        assert!(pair.client.is_connected(), "{:?}", pair.client_events);
        pair
    }

    /// Moves bytes both ways until neither side has anything to send.
    pub(crate) fn drive(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            if let Some(bytes) = self.client.poll_transmit() {
                moved = true;
                for piece in bytes.chunks(self.fragment.min(bytes.len()).max(1)) {
                    self.server.handle_input(piece).expect("server input");
                }
            }
            while let Some(event) = self.server.poll_event() {
                if self.policy == Policy::AcceptAll
                    && let Some(request) = request_of(&event)
                {
                    self.server.accept(request).unwrap();
                }
                self.server_events.push(event);
            }
            if let Some(bytes) = self.server.poll_transmit() {
                moved = true;
                for piece in bytes.chunks(self.fragment.min(bytes.len()).max(1)) {
                    self.client.handle_input(piece).expect("client input");
                }
            }
            while let Some(event) = self.client.poll_event() {
                self.client_events.push(event);
            }
            if !moved {
                return;
            }
        }
        panic!("pair did not settle");
    }

    /// The request of the last server event that carries one.
    pub(crate) fn last_request(&self) -> RequestId {
        self.server_events.iter().rev().find_map(request_of).expect("no request")
    }

    /// Sends pre-chunked shared bytes from the server to the client, as the server layer does.
    pub(crate) fn deliver_shared(&mut self, bytes: &Bytes) {
        self.client.handle_input(bytes).unwrap();
        while let Some(event) = self.client.poll_event() {
            self.client_events.push(event);
        }
    }
}

pub(crate) fn request_of(event: &ServerEvent) -> Option<RequestId> {
    match event {
        ServerEvent::ConnectRequested { request, .. }
        | ServerEvent::PublishRequested { request, .. }
        | ServerEvent::PlayRequested { request, .. } => Some(*request),
        _ => None,
    }
}

/// A hand-driven client: handshake done, then raw messages of our choosing.
pub(crate) struct ScriptedClient {
    pub(crate) encoder: ChunkEncoder,
    pub(crate) decoder: ChunkDecoder,
}

impl ScriptedClient {
    /// Completes a handshake with `server`; returns the client.
    pub(crate) fn handshake(server: &mut ServerSession) -> Self {
        let mut hs = ClientHandshake::new(ClientMode::Simple, 0, &random(9));
        let mut out = BytesMut::new();
        hs.start(&mut out);
        server.handle_input(&out).unwrap();
        let reply = server.poll_transmit().unwrap();
        out.clear();
        let used = hs.handle_input(&reply, &mut out).unwrap();
        assert!(hs.is_done() && used == reply.len());
        server.handle_input(&out).unwrap();
        Self { encoder: ChunkEncoder::new(), decoder: ChunkDecoder::new(ChunkLimits::default()) }
    }

    pub(crate) fn bytes(&mut self, csid: u32, stream_id: u32, timestamp: u32, message: &Message) -> Vec<u8> {
        let (type_id, body) = message.encode();
        let mut out = BytesMut::new();
        self.encoder.write(csid, timestamp, type_id, stream_id, &body, &mut out);
        out.to_vec()
    }

    pub(crate) fn command(&mut self, stream_id: u32, command: Command) -> Vec<u8> {
        self.bytes(3, stream_id, 0, &Message::Command(command))
    }

    /// Everything the server sent, decoded.
    pub(crate) fn read(&mut self, server: &mut ServerSession) -> Vec<(RawMessage, Message)> {
        let mut out = Vec::new();
        while let Some(bytes) = server.poll_transmit() {
            self.decoder.push(&bytes);
        }
        while let Some(raw) = self.decoder.next_message().unwrap() {
            let message = Message::decode(raw.type_id, raw.payload.clone(), &Default::default()).unwrap();
            out.push((raw, message));
        }
        out
    }
}
