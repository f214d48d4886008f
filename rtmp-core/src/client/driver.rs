//! The task that owns a client connection: socket ⇄ session, commands in, events out.

use std::pin::pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_rustls::TlsConnector;

pub(crate) use super::auth::ClientAuth;
use super::{ClientConfig, ClientError, DEFAULT_FLASH_VER, FOURCC_LIST, PLAYER_FLASH_VER, RtmpUrl, Scheme};
use crate::proto::amf::AmfObject;
use crate::proto::message::{ConnectParams, DataMessage};
use crate::proto::session::{ClientEvent, ClientSession, ClientSessionConfig, TimeoutKind, Timers};

/// A byte stream the driver can own: TCP or TLS over TCP.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// What the application asks the driver to send.
#[derive(Debug)]
pub(crate) enum Command {
    Audio {
        timestamp: u32,
        payload: Bytes,
    },
    Video {
        timestamp: u32,
        payload: Bytes,
    },
    Metadata(AmfObject),
    Data {
        timestamp: u32,
        data: DataMessage,
    },
    Pause {
        paused: bool,
        position_ms: f64,
    },
    /// Unpublish or stop playing, flush, and end.
    Close,
}

/// Where a driver's commands come from: the application's channel, or (a server's forward) a
/// source read on the driver's own task, with no channel and no second task in between.
pub(crate) trait CommandSource: Send {
    /// The next command; `None` ends the connection. Asked only once publishing or playing
    /// started.
    fn next(&mut self) -> impl Future<Output = Option<Command>> + Send;

    /// A command that is ready now, if any: those queued together go out in one write.
    fn try_next(&mut self) -> Option<Command>;
}

impl CommandSource for mpsc::Receiver<Command> {
    fn next(&mut self) -> impl Future<Output = Option<Command>> + Send {
        self.recv()
    }

    fn try_next(&mut self) -> Option<Command> {
        self.try_recv().ok()
    }
}

/// Most commands applied before one write.
const COMMAND_BATCH: usize = 64;

/// What to do once connected.
#[derive(Debug, Clone)]
pub(crate) enum Intent {
    Publish,
    Play,
}

/// The application's ends of a running driver.
pub(crate) struct DriverHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) events: mpsc::Receiver<Result<ClientEvent, ClientError>>,
    pub(crate) stream_id: u32,
}

/// Opens TCP (and TLS for rtmps), starts the driver with connect + publish/play queued, and waits
/// until the server confirms publishing or playing.
pub(crate) async fn open(
    url: &RtmpUrl,
    config: &ClientConfig,
    intent: Intent,
) -> Result<DriverHandle, ClientError> {
    config.validate()?;
    let connect = async {
        // With credentials in the URL, a refusal for authentication connects again (`ClientAuth`).
        let mut auth = ClientAuth::new(url);
        loop {
            match open_once(url, config, intent.clone(), auth.query()).await {
                Err(e) => auth.retry(e)?,
                opened => return opened,
            }
        }
    };
    timeout(config.connect_timeout, connect).await.map_err(|_| ClientError::Timeout("connect"))?
}

/// One connection of [`open`], its connect carrying `auth` (the `authmod=adobe` query).
async fn open_once(
    url: &RtmpUrl,
    config: &ClientConfig,
    intent: Intent,
    auth: Option<&str>,
) -> Result<DriverHandle, ClientError> {
    let mut handle = spawn(transport(url, config).await?, url, config, intent, auth);
    loop {
        match handle.events.recv().await {
            Some(Ok(ClientEvent::PublishStarted { stream_id } | ClientEvent::PlayStarted { stream_id })) => {
                handle.stream_id = stream_id;
                return Ok(handle);
            }
            Some(Ok(ClientEvent::ConnectRejected { code, description })) => {
                return Err(ClientError::Rejected { code, description });
            }
            Some(Ok(ClientEvent::Status { level, code, description, .. })) if level == "error" => {
                return Err(ClientError::Rejected { code, description });
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e),
            None => return Err(ClientError::Closed),
        }
    }
}

/// Opens TCP (and TLS), publishes, and sends what `source` gives on this task until it ends
/// (`Ok`) or the connection fails. Connecting and the publish handshake must end within the
/// connect timeout. `started` is called once the server accepted the publish.
pub(crate) async fn publish_from<S: CommandSource>(
    url: &RtmpUrl,
    config: &ClientConfig,
    source: &mut S,
) -> Result<(), ClientError> {
    config.validate()?;
    let deadline = Instant::now() + config.connect_timeout;
    let mut auth = ClientAuth::new(url);
    loop {
        let transport = timeout(deadline.saturating_duration_since(Instant::now()), transport(url, config))
            .await
            .map_err(|_| ClientError::Timeout("connect"))??;
        let mut driver = Driver::new(transport, url, config, Intent::Publish, auth.query());
        driver.handshake_deadline = Some(deadline);
        // Nobody reads a forward's events: the channel is closed, and sends to it are dropped.
        let (events, _) = mpsc::channel(1);
        let result = driver.serve(source, &events).await;
        let _ = driver.transport.shutdown().await;
        match result {
            // Refused before it published: connect again if that was for authentication.
            Err(e) if driver.stream_id == 0 => auth.retry(e)?,
            result => return result,
        }
    }
}

/// Publishes over `tcp` (a plain RTMP connection) until the server accepts the publish, within
/// the connect timeout, then hands the connection back: its session and the publish's message
/// stream. A server's forward then writes the stream's shared chunks into the socket itself.
/// `auth` is the `authmod=adobe` query of this attempt ([`ClientAuth`]).
pub(crate) async fn start_publish(
    tcp: &mut TcpStream,
    url: &RtmpUrl,
    config: &ClientConfig,
    auth: Option<&str>,
) -> Result<(ClientSession, u32), ClientError> {
    config.validate()?;
    let mut driver = Driver::new(tcp, url, config, Intent::Publish, auth);
    driver.handshake_deadline = Some(Instant::now() + config.connect_timeout);
    let (events, _) = mpsc::channel(1);
    // Asked for a command only once the publish started: none ends the serving there.
    driver.serve(&mut NoCommands, &events).await?;
    Ok((driver.session, driver.stream_id))
}

/// A source with nothing to send.
struct NoCommands;

impl CommandSource for NoCommands {
    async fn next(&mut self) -> Option<Command> {
        None
    }

    fn try_next(&mut self) -> Option<Command> {
        None
    }
}

/// TCP, and TLS for rtmps.
async fn transport(url: &RtmpUrl, config: &ClientConfig) -> Result<Box<dyn Transport>, ClientError> {
    let tcp = TcpStream::connect(url.authority()).await?;
    tcp.set_nodelay(true)?;
    Ok(match url.scheme {
        Scheme::Rtmp => Box::new(tcp),
        Scheme::Rtmps => {
            let connector = TlsConnector::from(config.tls.client_config()?);
            let name = super::tls::server_name(&url.host)?;
            Box::new(connector.connect(name, tcp).await.map_err(|e| ClientError::Tls(e.to_string()))?)
        }
    })
}

/// Re-opens after a drop with `policy`'s exponential backoff; `None` once its attempts are spent.
pub(crate) async fn reopen(
    url: &RtmpUrl,
    config: &ClientConfig,
    intent: Intent,
    policy: super::ReconnectPolicy,
) -> Option<DriverHandle> {
    let mut delay = policy.initial_delay;
    for attempt in 1.. {
        if policy.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        tokio::time::sleep(delay).await;
        match open(url, config, intent.clone()).await {
            Ok(handle) => return Some(handle),
            Err(e) => tracing::debug!(error = %e, attempt, "reconnect failed"),
        }
        delay = (delay * 2).min(policy.max_delay);
    }
    None
}

fn spawn(
    transport: Box<dyn Transport>,
    url: &RtmpUrl,
    config: &ClientConfig,
    intent: Intent,
    auth: Option<&str>,
) -> DriverHandle {
    let (command_tx, command_rx) = mpsc::channel(64);
    let (event_tx, event_rx) = mpsc::channel(config.event_buffer.max(1));
    let driver = Driver::new(transport, url, config, intent, auth);
    tokio::spawn(driver.run(command_rx, event_tx));
    DriverHandle { commands: command_tx, events: event_rx, stream_id: 0 }
}

impl<T: Transport> Driver<T> {
    /// A driver with connect and publish/play queued in its session; `auth` (the
    /// `authmod=adobe` query) goes on the connect's app and tcUrl, as ffmpeg sends it.
    fn new(transport: T, url: &RtmpUrl, config: &ClientConfig, intent: Intent, auth: Option<&str>) -> Self {
        let mut random = [0u8; 1528];
        let _ = getrandom::fill(&mut random);
        let session_config = ClientSessionConfig { chunk_size: config.chunk_size, ..Default::default() };
        // The connect timeout is `open`'s: it covers TCP and TLS too.
        let timers = Timers {
            idle_timeout: Some(config.idle_timeout),
            ping_interval: config.ping.then(|| (config.idle_timeout / 3).max(Duration::from_millis(100))),
            ..Timers::default()
        };
        let mut session =
            ClientSession::new(session_config, 0, &random).with_timers(timers, Instant::now().into_std());
        let with_auth = |text: String| match auth {
            Some(query) => format!("{text}?{query}"),
            None => text,
        };
        // A player left at the default does not pose as an encoder (servers make encoders log in).
        let flash_ver = match intent {
            Intent::Play if config.flash_ver == DEFAULT_FLASH_VER => PLAYER_FLASH_VER.to_owned(),
            _ => config.flash_ver.clone(),
        };
        let params = ConnectParams {
            app: with_auth(url.app.clone()),
            tc_url: Some(with_auth(url.tc_url())),
            flash_ver: Some(flash_ver),
            fourcc_list: if config.enhanced_rtmp {
                FOURCC_LIST.iter().map(|s| s.to_string()).collect()
            } else {
                vec![]
            },
            ..Default::default()
        };
        // Neither call can fail on a new session.
        let _ = session.connect(params);
        let _ = match intent {
            Intent::Publish => session.publish(&url.stream, "live"),
            Intent::Play => session.play(&url.stream),
        };
        Self { transport, session, stream_id: 0, name: url.stream.clone(), intent, handshake_deadline: None }
    }
}

/// What woke the driver.
enum Step {
    Read(std::io::Result<usize>),
    Command(Option<Command>),
    Timer,
}

struct Driver<T = Box<dyn Transport>> {
    transport: T,
    session: ClientSession,
    /// The publish's or play's message stream, once the server accepted it (0 before).
    stream_id: u32,
    name: String,
    intent: Intent,
    /// When the publish must have been accepted (a driver run on its caller's task; `open`
    /// times the others).
    handshake_deadline: Option<Instant>,
}

impl<T: Transport> Driver<T> {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<Result<ClientEvent, ClientError>>,
    ) {
        if let Err(e) = self.serve(&mut commands, &events).await {
            let _ = events.send(Err(e)).await;
        }
        let _ = self.transport.shutdown().await;
    }

    async fn serve<S: CommandSource>(
        &mut self,
        commands: &mut S,
        events: &mpsc::Sender<Result<ClientEvent, ClientError>>,
    ) -> Result<(), ClientError> {
        let mut input = BytesMut::with_capacity(64 * 1024);
        self.flush().await?;
        // The session's deadlines (idle, ping): one timer, moved when they change.
        let mut timer_at = None;
        let mut timer = pin!(sleep_until(Instant::now()));
        loop {
            let deadline = self.session.poll_timeout().map(Instant::from_std);
            if deadline != timer_at
                && let Some(at) = deadline
            {
                timer.as_mut().reset(at);
            }
            timer_at = deadline;
            // Input and commands come before the timer: after the task was held up (a full event
            // channel, a slow write), what the server sent meanwhile is read before the idle
            // timer judges the connection.
            // Commands wait for the publish or play to be accepted (they need its stream).
            let started = self.stream_id != 0;
            let handshake_deadline = self.handshake_deadline.filter(|_| !started);
            let step = tokio::select! {
                biased;
                step = async {
                    tokio::select! {
                        read = self.transport.read_buf(&mut input) => Step::Read(read),
                        command = commands.next(), if started => Step::Command(command),
                    }
                } => step,
                () = &mut timer, if timer_at.is_some() => Step::Timer,
                () = sleep_until(handshake_deadline.unwrap_or_else(Instant::now)), if handshake_deadline.is_some() => {
                    return Err(ClientError::Timeout("connect"));
                }
            };
            match step {
                Step::Read(read) => {
                    if read? == 0 {
                        return Err(ClientError::Closed);
                    }
                    self.session.handle_input(&input)?;
                    input.clear();
                    self.flush().await?;
                    if !self.forward_events(events).await? {
                        return Ok(());
                    }
                }
                Step::Command(command) => {
                    let Some(mut command) = command else { return Ok(()) };
                    // What is queued already goes out with it, in one write.
                    for _ in 0..COMMAND_BATCH {
                        let closing = matches!(command, Command::Close);
                        self.apply(command);
                        if closing {
                            self.flush().await?;
                            return Ok(());
                        }
                        match commands.try_next() {
                            Some(next) => command = next,
                            None => break,
                        }
                    }
                    self.flush().await?;
                }
                Step::Timer => {
                    timer_at = None;
                    self.session.handle_timeout(Instant::now().into_std());
                    self.flush().await?;
                    if !self.forward_events(events).await? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Hands the session's events to the application; false once nobody listens. A timeout
    /// ends the connection with [`ClientError::Timeout`].
    async fn forward_events(
        &mut self,
        events: &mpsc::Sender<Result<ClientEvent, ClientError>>,
    ) -> Result<bool, ClientError> {
        while let Some(event) = self.session.poll_event() {
            match &event {
                // Refused before publishing or playing: the connection's end, whoever runs it.
                ClientEvent::ConnectRejected { code, description } if self.stream_id == 0 => {
                    return Err(ClientError::Rejected {
                        code: code.clone(),
                        description: description.clone(),
                    });
                }
                ClientEvent::Status { level, code, description, .. }
                    if level == "error" && self.stream_id == 0 =>
                {
                    return Err(ClientError::Rejected {
                        code: code.clone(),
                        description: description.clone(),
                    });
                }
                _ => {}
            }
            match event {
                ClientEvent::PublishStarted { stream_id } | ClientEvent::PlayStarted { stream_id } => {
                    self.stream_id = stream_id;
                }
                ClientEvent::Timeout(TimeoutKind::Connect) => return Err(ClientError::Timeout("connect")),
                ClientEvent::Timeout(_) => return Err(ClientError::Timeout("idle")),
                _ => {}
            }
            match self.intent {
                // A full channel pauses reading: the server sees TCP backpressure.
                Intent::Play => {
                    if events.send(Ok(event)).await.is_err() {
                        return Ok(false);
                    }
                }
                // A publisher's application reads events rarely; never block its media on them
                // (statuses it misses are also in the logs).
                Intent::Publish => {
                    if let Err(mpsc::error::TrySendError::Full(event)) = events.try_send(Ok(event)) {
                        tracing::debug!(?event, "publisher event dropped: nobody reads them");
                    }
                }
            }
        }
        Ok(true)
    }

    fn apply(&mut self, command: Command) {
        let id = self.stream_id;
        match command {
            Command::Audio { timestamp, payload } => self.session.send_audio(id, timestamp, &payload),
            Command::Video { timestamp, payload } => self.session.send_video(id, timestamp, &payload),
            Command::Metadata(metadata) => self.session.send_metadata(id, &metadata),
            Command::Data { timestamp, data } => self.session.send_data(id, timestamp, &data),
            Command::Pause { paused, position_ms } => self.session.pause(id, paused, position_ms),
            Command::Close => match self.intent {
                Intent::Publish => self.session.unpublish(id, &self.name),
                Intent::Play => self.session.delete_stream(id),
            },
        }
    }

    /// Writes what the session has to send, in as few (vectored) writes as the socket allows.
    async fn flush(&mut self) -> Result<(), ClientError> {
        let mut bufs: Vec<Bytes> = std::iter::from_fn(|| self.session.poll_transmit()).collect();
        let mut first = 0;
        while first < bufs.len() {
            let slices: Vec<std::io::IoSlice<'_>> =
                bufs[first..].iter().take(64).map(|b| std::io::IoSlice::new(b)).collect();
            let mut written = self.transport.write_vectored(&slices).await?;
            if written == 0 {
                return Err(ClientError::Io(std::io::ErrorKind::WriteZero.into()));
            }
            while written > 0 {
                let len = bufs[first].len();
                if written >= len {
                    written -= len;
                    first += 1;
                } else {
                    bytes::Buf::advance(&mut bufs[first], written);
                    written = 0;
                }
            }
        }
        self.transport.flush().await?;
        Ok(())
    }
}
