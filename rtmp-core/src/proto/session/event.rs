//! What sessions tell the IO layer.

use bytes::Bytes;

use super::{RequestId, TimeoutKind};
use crate::proto::amf::AmfObject;
use crate::proto::handshake::HandshakeKind;
use crate::proto::message::{ConnectParams, DataMessage, StreamName};

/// An event of a server session, in the order the peer caused them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The handshake finished.
    HandshakeComplete {
        /// Simple, or digest with the scheme the client used.
        kind: HandshakeKind,
    },
    /// `connect` arrived; answer with accept or reject.
    ConnectRequested {
        /// The request to answer.
        request: RequestId,
        /// What the client sent.
        params: ConnectParams,
    },
    /// `releaseStream` (already answered): OBS and ffmpeg send it before publishing.
    ReleaseStream {
        /// The stream name.
        name: StreamName,
    },
    /// `FCPublish` (already answered): announces a publish.
    FcPublish {
        /// The stream name.
        name: StreamName,
    },
    /// `FCUnpublish` (already answered): announces the end of a publish.
    FcUnpublish {
        /// The stream name.
        name: StreamName,
    },
    /// `createStream` was answered with this message stream id.
    StreamCreated {
        /// The new message stream id.
        stream_id: u32,
    },
    /// `publish` arrived; answer with accept or reject.
    PublishRequested {
        /// The request to answer.
        request: RequestId,
        /// The message stream the media will arrive on.
        stream_id: u32,
        /// The application (the connect app, or taken from the name when the app was empty).
        app: String,
        /// The stream name and its query.
        name: StreamName,
        /// `live`, `record` or `append`.
        publish_type: String,
    },
    /// `play` arrived; answer with accept or reject.
    PlayRequested {
        /// The request to answer.
        request: RequestId,
        /// The message stream the media must be sent on.
        stream_id: u32,
        /// The application.
        app: String,
        /// The stream name and its query.
        name: StreamName,
        /// Start position: -2 live or recorded, -1 live only, ≥ 0 recorded from there.
        start: f64,
        /// Duration: -1 until the end.
        duration: f64,
        /// Whether to flush a playlist.
        reset: bool,
    },
    /// An accepted publish ended (FCUnpublish/closeStream/deleteStream).
    PublishFinished {
        /// The message stream.
        stream_id: u32,
        /// The application.
        app: String,
        /// The stream name.
        name: StreamName,
    },
    /// An accepted play ended (closeStream/deleteStream).
    PlayFinished {
        /// The message stream.
        stream_id: u32,
        /// The application.
        app: String,
        /// The stream name.
        name: StreamName,
    },
    /// `pause` (already answered with Pause.Notify / Unpause.Notify).
    Paused {
        /// The message stream.
        stream_id: u32,
        /// True to pause, false to resume.
        paused: bool,
        /// The client's stream position in milliseconds.
        position_ms: f64,
    },
    /// `receiveAudio` / `receiveVideo`: the player wants (or no longer wants) a media type.
    MediaSelection {
        /// The message stream.
        stream_id: u32,
        /// New audio choice, if this changed it.
        audio: Option<bool>,
        /// New video choice, if this changed it.
        video: Option<bool>,
    },
    /// Audio from an accepted publisher.
    Audio {
        /// The message stream.
        stream_id: u32,
        /// Timestamp in ms (normalised if configured).
        timestamp: u32,
        /// The FLV audio tag body.
        payload: Bytes,
    },
    /// Video from an accepted publisher.
    Video {
        /// The message stream.
        stream_id: u32,
        /// Timestamp in ms (normalised if configured).
        timestamp: u32,
        /// The FLV video tag body.
        payload: Bytes,
    },
    /// `@setDataFrame onMetaData` (or a bare `onMetaData`) from an accepted publisher.
    Metadata {
        /// The message stream.
        stream_id: u32,
        /// Timestamp in ms.
        timestamp: u32,
        /// The metadata object.
        metadata: AmfObject,
        /// `onMetaData` + object encoded as AMF0, ready to send to players.
        payload: Bytes,
    },
    /// Another data message (`onTextData`, `onCuePoint`, …) from an accepted publisher.
    Data {
        /// The message stream.
        stream_id: u32,
        /// Timestamp in ms.
        timestamp: u32,
        /// The decoded message.
        data: DataMessage,
        /// The message encoded as AMF0, ready to forward.
        payload: Bytes,
    },
    /// The client set its buffer length for a stream.
    BufferLength {
        /// The message stream.
        stream_id: u32,
        /// Milliseconds.
        buffer_ms: u32,
    },
    /// The client answered a ping.
    PingResponse {
        /// The timestamp we sent.
        timestamp: u32,
    },
    /// A command this server does not implement (answered with `_error` when it expected a reply).
    UnknownCommand {
        /// The command name.
        name: String,
    },
    /// A deadline passed (see [`ServerSession::handle_timeout`](super::ServerSession::handle_timeout)).
    Timeout(TimeoutKind),
}

/// An event of a client session.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The handshake finished.
    HandshakeComplete,
    /// `connect` succeeded.
    Connected {
        /// The server's properties object (fmsVer, capabilities, E-RTMP support).
        properties: AmfObject,
        /// The info object (code NetConnection.Connect.Success).
        info: AmfObject,
    },
    /// `connect` was refused.
    ConnectRejected {
        /// The status code.
        code: String,
        /// The server's description (Adobe/Limelight auth challenges live here).
        description: String,
    },
    /// `createStream` returned a message stream id.
    StreamCreated {
        /// The new message stream id.
        stream_id: u32,
    },
    /// The server confirmed publishing.
    PublishStarted {
        /// The message stream.
        stream_id: u32,
    },
    /// The server started playback.
    PlayStarted {
        /// The message stream.
        stream_id: u32,
    },
    /// Any onStatus, including errors (level "error" ends publishing/playing).
    Status {
        /// The message stream it concerns.
        stream_id: u32,
        /// "status", "warning" or "error".
        level: String,
        /// The status code.
        code: String,
        /// The description.
        description: String,
    },
    /// The server asks us to reconnect (E-RTMP), optionally to another URL.
    ReconnectRequested {
        /// The new tcUrl, if given.
        tc_url: Option<String>,
    },
    /// StreamBegin.
    StreamBegin {
        /// The message stream.
        stream_id: u32,
    },
    /// StreamEOF.
    StreamEof {
        /// The message stream.
        stream_id: u32,
    },
    /// Audio from the server.
    Audio {
        /// The message stream.
        stream_id: u32,
        /// Timestamp in ms.
        timestamp: u32,
        /// The FLV audio tag body.
        payload: Bytes,
    },
    /// Video from the server.
    Video {
        /// The message stream.
        stream_id: u32,
        /// Timestamp in ms.
        timestamp: u32,
        /// The FLV video tag body.
        payload: Bytes,
    },
    /// onMetaData from the server.
    Metadata {
        /// The message stream.
        stream_id: u32,
        /// Timestamp in ms.
        timestamp: u32,
        /// The metadata object.
        metadata: AmfObject,
    },
    /// Another data message.
    Data {
        /// The message stream.
        stream_id: u32,
        /// Timestamp in ms.
        timestamp: u32,
        /// The decoded message.
        data: DataMessage,
    },
    /// A `_result` or `_error` to a call this session did not track.
    CallResult {
        /// The transaction id.
        transaction_id: f64,
        /// True for `_result`, false for `_error`.
        success: bool,
    },
    /// A deadline passed: the session is closed (see
    /// [`ClientSession::handle_timeout`](super::ClientSession::handle_timeout)).
    Timeout(TimeoutKind),
}
