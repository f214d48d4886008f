//! Publishing a stream: metadata and audio/video tags of any codec, or a whole FLV file.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, sleep_until};

use super::driver::{self, Command, DriverHandle, Intent};
use super::{ClientConfig, ClientError, RtmpUrl};
use crate::flv::{FlvReader, FlvTag};
use crate::proto::amf::AmfObject;
use crate::proto::media::{AudioTag, VideoTag};
use crate::proto::message::{DataMessage, type_id};
use crate::proto::session::ClientEvent;

/// A connection publishing one stream.
pub struct RtmpPublisher {
    url: RtmpUrl,
    config: ClientConfig,
    handle: DriverHandle,
    /// What a new connection needs before media decodes: metadata and sequence headers.
    metadata: Option<AmfObject>,
    video_header: Option<Bytes>,
    audio_header: Option<Bytes>,
}

impl RtmpPublisher {
    /// Connects to `url` and starts publishing; returns once the server sent Publish.Start.
    pub async fn connect(url: &str, config: ClientConfig) -> Result<Self, ClientError> {
        let url = RtmpUrl::parse(url)?;
        let handle = driver::open(&url, &config, Intent::Publish).await?;
        Ok(Self { url, config, handle, metadata: None, video_header: None, audio_header: None })
    }

    /// Sends `@setDataFrame onMetaData` (resent after a reconnect).
    pub async fn send_metadata(&mut self, metadata: &AmfObject) -> Result<(), ClientError> {
        self.metadata = Some(metadata.clone());
        self.send(Command::Metadata(metadata.clone())).await
    }

    /// Sends an FLV video tag body (legacy or Enhanced RTMP, any codec). A server's E-RTMP
    /// ReconnectRequest is followed just before a keyframe, so the new connection starts with one.
    pub async fn send_video(&mut self, timestamp: u32, payload: Bytes) -> Result<(), ClientError> {
        let tag = VideoTag::parse(&payload).ok();
        if tag.as_ref().is_some_and(VideoTag::is_sequence_header) {
            self.video_header = Some(payload.clone());
        }
        let keyframe = tag.is_some_and(|t| t.is_keyframe() && !t.is_sequence_header());
        if keyframe && let Some(tc_url) = self.reconnect_requested() {
            if let Some(tc_url) = tc_url {
                self.url = self.url.with_tc_url(&tc_url)?;
            }
            let _ = self.handle.commands.send(Command::Close).await;
            self.handle = driver::open(&self.url, &self.config, Intent::Publish).await?;
            self.resend_headers(timestamp).await;
        }
        self.send(Command::Video { timestamp, payload }).await
    }

    /// A pending ReconnectRequest (with its optional new tcUrl), taken from the event queue.
    fn reconnect_requested(&mut self) -> Option<Option<String>> {
        let mut requested = None;
        while let Ok(event) = self.handle.events.try_recv() {
            if let Ok(ClientEvent::ReconnectRequested { tc_url }) = event {
                requested = Some(tc_url);
            }
        }
        requested
    }

    /// Sends an FLV audio tag body.
    pub async fn send_audio(&mut self, timestamp: u32, payload: Bytes) -> Result<(), ClientError> {
        if AudioTag::parse(&payload).is_ok_and(|t| t.is_sequence_header()) {
            self.audio_header = Some(payload.clone());
        }
        self.send(Command::Audio { timestamp, payload }).await
    }

    /// After a reconnect: metadata and the last sequence headers, so players of the new
    /// connection can decode.
    async fn resend_headers(&mut self, timestamp: u32) {
        let mut commands = Vec::new();
        commands.extend(self.metadata.clone().map(Command::Metadata));
        commands.extend(self.audio_header.clone().map(|payload| Command::Audio { timestamp, payload }));
        commands.extend(self.video_header.clone().map(|payload| Command::Video { timestamp, payload }));
        for command in commands {
            let _ = self.handle.commands.send(command).await;
        }
    }

    /// Sends a data message (onTextData, onCuePoint, …).
    pub async fn send_data(&mut self, timestamp: u32, data: DataMessage) -> Result<(), ClientError> {
        self.send(Command::Data { timestamp, data }).await
    }

    /// Sends one FLV tag: audio, video, or script data (`onMetaData` becomes metadata).
    pub async fn send_tag(&mut self, tag: &FlvTag) -> Result<(), ClientError> {
        match tag.tag_type {
            type_id::AUDIO => self.send_audio(tag.timestamp, tag.data.clone()).await,
            type_id::VIDEO => self.send_video(tag.timestamp, tag.data.clone()).await,
            type_id::DATA_AMF0 => {
                let data = DataMessage::decode(&tag.data, &Default::default())
                    .map_err(|e| ClientError::Protocol(e.into()))?
                    .without_set_data_frame();
                match data.metadata() {
                    Some(metadata) => self.send_metadata(&metadata.clone()).await,
                    None => self.send_data(tag.timestamp, data).await,
                }
            }
            _ => Ok(()),
        }
    }

    /// Publishes an FLV file at real-time pace (by tag timestamps); with `repeat`, loops forever
    /// with timestamps continuing across loops. Returns the number of tags sent.
    pub async fn publish_flv(&mut self, path: impl AsRef<Path>, repeat: bool) -> Result<u64, ClientError> {
        let started = Instant::now();
        let mut sent = 0u64;
        let mut offset = 0u32;
        loop {
            let mut reader = FlvReader::new(std::io::BufReader::new(std::fs::File::open(path.as_ref())?))?;
            let mut last = 0u32;
            while let Some(mut tag) = reader.next_tag()? {
                last = last.max(tag.timestamp);
                tag.timestamp = tag.timestamp.wrapping_add(offset);
                sleep_until(started + Duration::from_millis(u64::from(tag.timestamp))).await;
                self.send_tag(&tag).await?;
                sent += 1;
            }
            if !repeat {
                return Ok(sent);
            }
            // The next loop starts one frame (assume 40 ms) after this one's last tag.
            offset = offset.wrapping_add(last + 40);
        }
    }

    /// Unpublishes (FCUnpublish + deleteStream) and closes the connection.
    pub async fn close(self) -> Result<(), ClientError> {
        let _ = self.handle.commands.send(Command::Close).await;
        Ok(())
    }

    async fn send(&mut self, command: Command) -> Result<(), ClientError> {
        let Err(tokio::sync::mpsc::error::SendError(command)) = self.handle.commands.send(command).await
        else {
            return Ok(());
        };
        // The driver ended: report why, or reconnect if configured.
        let error = match self.handle.events.recv().await {
            Some(Err(e)) => e,
            _ => ClientError::Closed,
        };
        let Some(policy) = self.config.reconnect else { return Err(error) };
        let Some(handle) = driver::reopen(&self.url, &self.config, Intent::Publish, policy).await else {
            return Err(error);
        };
        self.handle = handle;
        let timestamp = match &command {
            Command::Audio { timestamp, .. } | Command::Video { timestamp, .. } => *timestamp,
            _ => 0,
        };
        self.resend_headers(timestamp).await;
        // The command that found the connection gone is sent on the new one.
        let _ = self.handle.commands.send(command).await;
        Ok(())
    }
}
