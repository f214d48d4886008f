//! A small async RTMP client on our own `ClientSession` over a tokio `TcpStream`: every event is
//! kept with its arrival time, and a second chunk decoder taps the raw bytes for the protocol
//! control messages the session handles silently (chunk size, window, peer bandwidth).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtmp_core::proto::amf::{AmfLimits, AmfObject};
use rtmp_core::proto::chunk::{ChunkDecoder, ChunkLimits};
use rtmp_core::proto::message::status::PUBLISH_START;
use rtmp_core::proto::message::{ConnectParams, Message};
use rtmp_core::proto::session::{ClientEvent, ClientSession, ClientSessionConfig};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// S0 + S1 + S2: what the server sends before the chunk stream.
const HANDSHAKE_REPLY: usize = 1 + 1536 + 1536;

/// The AVCDecoderConfigurationRecord x264 writes for 320x240 baseline, as an FLV video tag.
pub const AVC_HEADER: [u8; 42] = [
    0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0x00, 0x16, 0x67, 0x42, 0xc0, 0x0d,
    0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0c, 0x83, 0xc5, 0x0a,
    0xa8, 0x01, 0x00, 0x04, 0x68, 0xce, 0x0f, 0xc8,
];
/// An AAC-LC 44.1 kHz stereo AudioSpecificConfig, as an FLV audio tag.
pub const AAC_HEADER: [u8; 4] = [0xaf, 0x00, 0x12, 0x10];

/// Decodes the server's chunk stream a second time, keeping protocol control messages.
struct Tap {
    skip: usize,
    decoder: ChunkDecoder,
    error: Option<String>,
}

impl Tap {
    fn feed(&mut self, mut data: &[u8], at: Instant, controls: &mut Vec<(Instant, Message)>) {
        let skipped = self.skip.min(data.len());
        self.skip -= skipped;
        data = &data[skipped..];
        if data.is_empty() || self.error.is_some() {
            return;
        }
        self.decoder.push(data);
        loop {
            match self.decoder.next_message() {
                Ok(Some(raw)) if raw.type_id <= 6 => {
                    match Message::decode(raw.type_id, raw.payload, &AmfLimits::default()) {
                        Ok(message) => controls.push((at, message)),
                        Err(e) => self.error = Some(e.to_string()),
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    self.error = Some(e.to_string());
                    break;
                }
            }
        }
    }
}

/// A received audio or video message.
#[derive(Debug, Clone)]
pub struct Media {
    pub at: Instant,
    pub video: bool,
    pub timestamp: u32,
    pub payload: Bytes,
}

/// A synthetic H.264 + AAC stream our client can publish at real-time pace.
#[derive(Debug, Clone)]
pub struct Synthetic {
    pub seconds: f64,
    /// Keyframe interval in frames (25 fps).
    pub gop: u32,
    /// Bytes per video frame.
    pub frame_bytes: usize,
    /// First timestamp.
    pub start_ts: u32,
    /// At this video frame index, timestamps jump forward by this many ms.
    pub jump: Option<(u32, u32)>,
    /// The video sequence header sent first.
    pub video_header: Vec<u8>,
}

impl Synthetic {
    /// 25 fps with a 1 s GOP, 500-byte frames, two audio frames per video frame.
    pub fn new(seconds: f64) -> Self {
        Self {
            seconds,
            gop: 25,
            frame_bytes: 500,
            start_ts: 0,
            jump: None,
            video_header: AVC_HEADER.to_vec(),
        }
    }
}

/// One client connection.
pub struct TestClient {
    socket: TcpStream,
    session: ClientSession,
    tap: Tap,
    buf: Vec<u8>,
    /// Our side of the TCP connection (the server's `peer_addr`).
    pub local_addr: SocketAddr,
    server: SocketAddr,
    /// Session events with their arrival time.
    pub events: Vec<(Instant, ClientEvent)>,
    /// Protocol control messages (types 1–6) with their arrival time.
    pub controls: Vec<(Instant, Message)>,
    /// When the command that follows each `createStream` reply (play or publish) was sent.
    pub stream_command_sent: Vec<Instant>,
    /// The server closed the connection (or it failed).
    pub closed: bool,
}

impl TestClient {
    /// Opens a TCP connection (with a small `SO_RCVBUF` if asked) and starts the handshake.
    pub async fn open(server: SocketAddr, recv_buffer: Option<usize>) -> Self {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        socket.set_nonblocking(true).expect("non-blocking");
        let socket = TcpSocket::from_std_stream(socket.into());
        let socket = socket.connect(server).await.expect("tcp connect");
        socket.set_nodelay(true).expect("nodelay");
        let local_addr = socket.local_addr().expect("local addr");
        let random: [u8; 1528] = std::array::from_fn(|i| (i as u8).wrapping_mul(97).wrapping_add(13));
        let mut client = Self {
            socket,
            session: ClientSession::new(ClientSessionConfig::default(), 0, &random),
            tap: Tap {
                skip: HANDSHAKE_REPLY,
                decoder: ChunkDecoder::new(ChunkLimits::default()),
                error: None,
            },
            buf: vec![0; 64 * 1024],
            local_addr,
            server,
            events: Vec::new(),
            controls: Vec::new(),
            stream_command_sent: Vec::new(),
            closed: false,
        };
        client.flush().await;
        client
    }

    /// Opens a connection and connects to `app`; panics unless the server accepts.
    pub async fn connect(server: SocketAddr, app: &str) -> Self {
        let mut client = Self::open(server, None).await;
        let params = client.params(app);
        client.connect_with(params).await.expect("connect accepted");
        client
    }

    /// Connect parameters for `app` on this server, as ffmpeg would send them.
    pub fn params(&self, app: &str) -> ConnectParams {
        ConnectParams {
            app: app.into(),
            tc_url: Some(format!("rtmp://{}/{app}", self.server)),
            flash_ver: Some("FMLE/3.0 (compatible; rtmp-rs tests)".into()),
            ..Default::default()
        }
    }

    /// Sends `connect`; the server's properties on success, the status code on refusal.
    pub async fn connect_with(&mut self, params: ConnectParams) -> Result<AmfObject, String> {
        self.session.connect(params).expect("connect once");
        self.flush().await;
        let found = self
            .wait_for(0, Duration::from_secs(3), |e| {
                matches!(e, ClientEvent::Connected { .. } | ClientEvent::ConnectRejected { .. })
            })
            .await;
        match found.map(|i| &self.events[i].1) {
            Some(ClientEvent::Connected { properties, .. }) => Ok(properties.clone()),
            Some(ClientEvent::ConnectRejected { code, .. }) => Err(code.clone()),
            _ => Err(format!("no connect reply (closed: {})", self.closed)),
        }
    }

    /// The session, for calls this wrapper does not cover; call [`flush`](Self::flush) after.
    pub fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// Writes whatever the session has queued.
    pub async fn flush(&mut self) {
        while let Some(bytes) = self.session.poll_transmit() {
            if self.socket.write_all(&bytes).await.is_err() {
                self.closed = true;
                return;
            }
        }
    }

    /// Writes raw bytes (hand-made chunks).
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        if self.socket.write_all(bytes).await.is_err() {
            self.closed = true;
        }
    }

    /// Reads and handles one batch of input. False when `deadline` passed or the connection ended.
    pub async fn read_until(&mut self, deadline: Instant) -> bool {
        if self.closed {
            return false;
        }
        let read = tokio::time::timeout_at(deadline.into(), self.socket.read(&mut self.buf)).await;
        let n = match read {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => {
                self.closed = true;
                return false;
            }
            Ok(Ok(n)) => n,
        };
        let at = Instant::now();
        let data = self.buf[..n].to_vec();
        self.tap.feed(&data, at, &mut self.controls);
        if let Some(e) = &self.tap.error {
            panic!("the server's chunk stream does not decode: {e}");
        }
        if let Err(e) = self.session.handle_input(&data) {
            panic!("the server sent bytes our client session refuses: {e}");
        }
        let mut created = false;
        while let Some(event) = self.session.poll_event() {
            created |= matches!(event, ClientEvent::StreamCreated { .. });
            self.events.push((at, event));
        }
        if created {
            self.stream_command_sent.push(Instant::now());
        }
        self.flush().await;
        true
    }

    /// Reads for `duration` (or until the connection ends).
    pub async fn pump(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while self.read_until(deadline).await {}
    }

    /// Reads until an event at index ≥ `from` matches `pred`; its index, or None at the timeout.
    pub async fn wait_for(
        &mut self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&ClientEvent) -> bool,
    ) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.events.iter().skip(from).position(|(_, e)| pred(e)) {
                return Some(from + i);
            }
            if !self.read_until(deadline).await {
                return self.events.iter().skip(from).position(|(_, e)| pred(e)).map(|i| from + i);
            }
        }
    }

    /// Reads until the server closes the connection; how long that took, or None at the timeout.
    pub async fn wait_closed(&mut self, timeout: Duration) -> Option<Duration> {
        let started = Instant::now();
        let deadline = started + timeout;
        while self.read_until(deadline).await {}
        self.closed.then(|| started.elapsed())
    }

    /// Sends play for `name` (createStream first).
    pub async fn play(&mut self, name: &str) {
        self.session.play(name).expect("play");
        self.flush().await;
    }

    /// Plays `name` and waits for Play.Start; returns the message stream id.
    pub async fn play_started(&mut self, name: &str) -> u32 {
        let from = self.events.len();
        self.play(name).await;
        let i = self
            .wait_for(from, Duration::from_secs(3), |e| matches!(e, ClientEvent::PlayStarted { .. }))
            .await
            .unwrap_or_else(|| panic!("no Play.Start for {name}: {:?}", self.statuses()));
        match self.events[i].1 {
            ClientEvent::PlayStarted { stream_id } => stream_id,
            _ => unreachable!(),
        }
    }

    /// Publishes `name`: the message stream id on Publish.Start, or the error status code.
    pub async fn publish(&mut self, name: &str, timeout: Duration) -> Result<u32, String> {
        let from = self.events.len();
        self.session.publish(name, "live").expect("publish");
        self.flush().await;
        let found = self
            .wait_for(from, timeout, |e| {
                matches!(e, ClientEvent::Status { code, level, .. } if code == PUBLISH_START || level == "error")
            })
            .await;
        match found.map(|i| &self.events[i].1) {
            Some(ClientEvent::Status { stream_id, code, .. }) if code == PUBLISH_START => Ok(*stream_id),
            Some(ClientEvent::Status { code, .. }) => Err(code.clone()),
            _ => Err("no publish reply".into()),
        }
    }

    /// Pauses or resumes `stream_id`.
    pub async fn pause(&mut self, stream_id: u32, paused: bool) {
        self.session.pause(stream_id, paused, 0.0);
        self.flush().await;
    }

    /// Sends `@setDataFrame onMetaData`, the sequence headers, then frames at real-time pace for
    /// `spec.seconds`, reading the server's messages in between. Returns the video frames sent.
    pub async fn publish_synthetic(&mut self, stream_id: u32, spec: &Synthetic) -> u32 {
        let metadata: AmfObject =
            [("width", 320.0), ("height", 240.0), ("videocodecid", 7.0), ("audiocodecid", 10.0)]
                .into_iter()
                .collect();
        self.session.send_metadata(stream_id, &metadata);
        self.session.send_audio(stream_id, spec.start_ts, &AAC_HEADER);
        self.session.send_video(stream_id, spec.start_ts, &spec.video_header);
        let started = Instant::now();
        let frames = (spec.seconds * 25.0) as u32;
        let mut offset = spec.start_ts;
        for i in 0..frames {
            if spec.jump.is_some_and(|(at, _)| at == i) {
                offset = offset.wrapping_add(spec.jump.unwrap().1);
            }
            let ts = offset.wrapping_add(i * 40);
            self.session.send_video(stream_id, ts, &video_frame(i % spec.gop == 0, spec.frame_bytes, i));
            for a in [0, 20] {
                self.session.send_audio(
                    stream_id,
                    ts.wrapping_add(a),
                    &[0xaf, 0x01, 0x21, 0x10, i as u8, 0x00],
                );
            }
            self.flush().await;
            let next = started + Duration::from_millis(u64::from(i + 1) * 40);
            while self.read_until(next).await {}
            if self.closed {
                return i + 1;
            }
        }
        frames
    }

    /// The status codes received, in order.
    pub fn statuses(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                ClientEvent::Status { code, .. } => Some(code.clone()),
                _ => None,
            })
            .collect()
    }

    /// Index of the first status `code` at or after `from`.
    pub fn status_index(&self, from: usize, code: &str) -> Option<usize> {
        self.events
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, (_, e))| matches!(e, ClientEvent::Status { code: c, .. } if c == code))
            .map(|(i, _)| i)
    }

    /// The audio and video messages received at or after event index `from`.
    pub fn media(&self, from: usize) -> Vec<Media> {
        self.events
            .iter()
            .skip(from)
            .filter_map(|(at, e)| match e {
                ClientEvent::Audio { timestamp, payload, .. } => {
                    Some(Media { at: *at, video: false, timestamp: *timestamp, payload: payload.clone() })
                }
                ClientEvent::Video { timestamp, payload, .. } => {
                    Some(Media { at: *at, video: true, timestamp: *timestamp, payload: payload.clone() })
                }
                _ => None,
            })
            .collect()
    }
}

/// A synthetic AVC frame of `size` bytes: one NAL unit (IDR or non-IDR slice) of filler.
pub fn video_frame(key: bool, size: usize, index: u32) -> Vec<u8> {
    let size = size.max(10);
    let nal_len = (size - 9) as u32;
    let mut frame = vec![if key { 0x17 } else { 0x27 }, 0x01, 0, 0, 0];
    frame.extend_from_slice(&nal_len.to_be_bytes());
    frame.push(if key { 0x65 } else { 0x41 });
    frame.resize(size, index as u8);
    frame
}
