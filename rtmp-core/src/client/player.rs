//! Playing a stream: an async sequence of metadata, audio and video frames.

use bytes::Bytes;

use super::driver::{self, Command, DriverHandle, Intent};
use super::{ClientConfig, ClientError, RtmpUrl};
use crate::proto::amf::AmfObject;
use crate::proto::media::{AudioTag, VideoTag};
use crate::proto::message::{DataMessage, status};
use crate::proto::session::ClientEvent;

/// What a player receives.
#[derive(Debug, Clone)]
pub enum PlayerEvent {
    /// `onMetaData`.
    Metadata {
        /// Timestamp in ms.
        timestamp: u32,
        /// The metadata object.
        metadata: AmfObject,
    },
    /// A video message: the raw FLV tag body (shared, not copied) and its parsed view, if it
    /// parsed.
    Video {
        /// Timestamp in ms.
        timestamp: u32,
        /// The FLV video tag body.
        payload: Bytes,
        /// Codec, frame type, CTS, track.
        tag: Option<VideoTag>,
    },
    /// An audio message.
    Audio {
        /// Timestamp in ms.
        timestamp: u32,
        /// The FLV audio tag body.
        payload: Bytes,
        /// Codec, sequence header or not, track.
        tag: Option<AudioTag>,
    },
    /// Another data message (text, cue points).
    Data {
        /// Timestamp in ms.
        timestamp: u32,
        /// The message.
        data: DataMessage,
    },
    /// The stream (re)started (StreamBegin or PublishNotify).
    StreamBegin,
    /// The publisher stopped (UnpublishNotify, StreamEOF or Play.Stop); more may follow on republish.
    StreamEnd,
    /// Any other status from the server.
    Status {
        /// "status", "warning" or "error".
        level: String,
        /// The code.
        code: String,
        /// The description.
        description: String,
    },
    /// The connection was re-established: after a drop (with reconnect enabled), or because the
    /// server asked for it (E-RTMP ReconnectRequest, always followed).
    Reconnected,
}

/// A connection playing one stream.
pub struct RtmpPlayer {
    url: RtmpUrl,
    config: ClientConfig,
    handle: Option<DriverHandle>,
}

impl RtmpPlayer {
    /// Connects to `url` and starts playing; returns once the server sent Play.Start.
    pub async fn connect(url: &str, config: ClientConfig) -> Result<Self, ClientError> {
        let url = RtmpUrl::parse(url)?;
        let handle = driver::open(&url, &config, Intent::Play).await?;
        Ok(Self { url, config, handle: Some(handle) })
    }

    /// The next event; `Ok(None)` when the connection ended (and reconnecting is off or gave up).
    pub async fn next_event(&mut self) -> Result<Option<PlayerEvent>, ClientError> {
        loop {
            let Some(handle) = self.handle.as_mut() else { return Ok(None) };
            match handle.events.recv().await {
                Some(Ok(ClientEvent::ReconnectRequested { tc_url })) => {
                    // E-RTMP: the server moves us (maintenance, load); follow at once.
                    if let Some(tc_url) = tc_url {
                        self.url = self.url.with_tc_url(&tc_url)?;
                    }
                    if let Some(old) = self.handle.take() {
                        let _ = old.commands.send(Command::Close).await;
                    }
                    self.handle = Some(driver::open(&self.url, &self.config, Intent::Play).await?);
                    return Ok(Some(PlayerEvent::Reconnected));
                }
                Some(Ok(event)) => {
                    if let Some(event) = convert(event) {
                        return Ok(Some(event));
                    }
                }
                Some(Err(error)) => {
                    self.handle = None;
                    if self.config.reconnect.is_none() {
                        return Err(error);
                    }
                    if self.reconnect().await? {
                        return Ok(Some(PlayerEvent::Reconnected));
                    }
                    return Err(error);
                }
                None => {
                    self.handle = None;
                    return Ok(None);
                }
            }
        }
    }

    /// Pauses or resumes the stream.
    pub async fn pause(&mut self, paused: bool, position_ms: f64) -> Result<(), ClientError> {
        let handle = self.handle.as_ref().ok_or(ClientError::Closed)?;
        handle.commands.send(Command::Pause { paused, position_ms }).await.map_err(|_| ClientError::Closed)
    }

    /// Stops playing (deleteStream) and closes the connection.
    pub async fn close(mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.commands.send(Command::Close).await;
        }
    }

    async fn reconnect(&mut self) -> Result<bool, ClientError> {
        let Some(policy) = self.config.reconnect else { return Ok(false) };
        self.handle = driver::reopen(&self.url, &self.config, Intent::Play, policy).await;
        Ok(self.handle.is_some())
    }
}

fn convert(event: ClientEvent) -> Option<PlayerEvent> {
    Some(match event {
        ClientEvent::Metadata { timestamp, metadata, .. } => PlayerEvent::Metadata { timestamp, metadata },
        ClientEvent::Video { timestamp, payload, .. } => {
            let tag = VideoTag::parse(&payload).ok();
            PlayerEvent::Video { timestamp, payload, tag }
        }
        ClientEvent::Audio { timestamp, payload, .. } => {
            let tag = AudioTag::parse(&payload).ok();
            PlayerEvent::Audio { timestamp, payload, tag }
        }
        ClientEvent::Data { timestamp, data, .. } => PlayerEvent::Data { timestamp, data },
        ClientEvent::StreamBegin { .. } => PlayerEvent::StreamBegin,
        ClientEvent::StreamEof { .. } => PlayerEvent::StreamEnd,
        ClientEvent::Status { code, .. }
            if code == status::PLAY_UNPUBLISH_NOTIFY
                || code == status::PLAY_STOP
                || code == "NetStream.Play.Complete" =>
        {
            PlayerEvent::StreamEnd
        }
        ClientEvent::Status { level, code, description, .. } => {
            PlayerEvent::Status { level, code, description }
        }
        _ => return None,
    })
}
