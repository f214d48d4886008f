//! The embedding layer as the Python and Node skins will use it: a Rust sink, decisions
//! answered later from other threads, timeouts, the callback guard, clients.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rtmp_core::server::ServerConfig;
use rtmp_embed::{
    CallbackKind, ClientOptions, Dispatch, EmbedError, EmbeddedPlayer, EmbeddedPublisher, EmbeddedServer,
    Event, EventSink, FrameKind, Hook, Interest, PlayerItem, Received, Request, RequestKind, ServerOptions,
    callback_scope,
};

const AVC_SEQ: &[u8] = &[
    0x17, 0, 0, 0, 0, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1f, 0x01, 0x00,
    0x04, 0x68, 0xee, 0x3c, 0x80,
];
const AVC_KEY: &[u8] = &[0x17, 1, 0, 0, 0, 0, 0, 0, 5, 0x65, 0x88, 0x84, 0x00, 0x10];
const AAC_RAW: &[u8] = &[0xaf, 0x01, 0x21, 0x00];

/// Queues every event; decisions are answered by the test thread.
struct ChannelSink {
    tx: Mutex<mpsc::Sender<Event>>,
    interest: Interest,
}

impl EventSink for ChannelSink {
    fn interest(&self) -> Interest {
        self.interest
    }

    fn on_event(&self, event: Event) {
        let _ = self.tx.lock().unwrap().send(event);
    }
}

fn server(
    interest: Interest,
    dispatch: Dispatch,
    timeout: Duration,
) -> (EmbeddedServer, mpsc::Receiver<Event>) {
    let (tx, rx) = mpsc::channel();
    let options = ServerOptions {
        config: ServerConfig::default().bind("127.0.0.1:0".parse().unwrap()).stats_interval(None),
        decision_timeout: timeout,
        dispatch,
        ..ServerOptions::default()
    };
    let sink = Arc::new(ChannelSink { tx: Mutex::new(tx), interest });
    let server = EmbeddedServer::new(options, sink).unwrap();
    server.start().unwrap();
    (server, rx)
}

fn next_request(rx: &mpsc::Receiver<Event>, kind: RequestKind) -> Request {
    loop {
        match rx.recv_timeout(Duration::from_secs(10)).expect("an event") {
            Event::Connect { request } | Event::Publish { request } | Event::Play { request }
                if request.kind() == kind =>
            {
                return request;
            }
            _ => continue,
        }
    }
}

#[test]
fn deferred_decisions_answered_from_other_threads() {
    let interest = Interest::of(Hook::Connect) | Interest::of(Hook::Publish) | Interest::of(Hook::Keyframe);
    let (server, rx) = server(interest, Dispatch::Inline, Duration::from_secs(10));
    let url = format!("rtmp://{}/live/cam?token=abc", server.local_addr());
    let publisher = std::thread::spawn(move || EmbeddedPublisher::connect(&url, ClientOptions::default()));

    let connect = next_request(&rx, RequestKind::Connect);
    assert_eq!(connect.session().app(), "live");
    assert!(connect.is_pending());
    std::thread::spawn(move || connect.accept().unwrap()).join().unwrap();

    let publish = next_request(&rx, RequestKind::Publish);
    assert_eq!(publish.app(), "live");
    assert_eq!(publish.stream_name().unwrap().name, "cam");
    assert_eq!(publish.query_param("token"), Some("abc"));
    let clone = publish.clone();
    std::thread::spawn(move || clone.accept().unwrap()).join().unwrap();
    assert_eq!(publish.accept(), Err(rtmp_embed::AnswerError::AlreadyAnswered));

    let publisher = publisher.join().unwrap().unwrap();
    publisher.send_video(0, Bytes::from_static(AVC_SEQ)).unwrap();
    publisher.send_video(0, Bytes::from_static(AVC_KEY)).unwrap();
    loop {
        if let Event::Keyframe { session, frame } = rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            assert_eq!((frame.app(), frame.name()), ("live", "cam"));
            assert!(frame.is_keyframe());
            assert_eq!(frame.kind(), FrameKind::Video);
            assert!(session.id() > 0);
            break;
        }
    }
    publisher.close().unwrap();
    server.stop().unwrap();
}

#[test]
fn a_forward_destination_that_is_not_rtmp_answers_nothing() {
    let (server, rx) = server(Interest::of(Hook::Publish), Dispatch::Inline, Duration::from_secs(10));
    let url = format!("rtmp://{}/live/cam", server.local_addr());
    let publisher = std::thread::spawn(move || EmbeddedPublisher::connect(&url, ClientOptions::default()));
    let publish = next_request(&rx, RequestKind::Publish);
    let bad = vec!["rtmp://127.0.0.1:1/live/ok".to_owned(), "http://127.0.0.1/live/copy".to_owned()];
    let Err(rtmp_embed::AnswerError::BadUrl(why)) = publish.accept_with_forward(bad.clone()) else {
        panic!("a bad destination taken")
    };
    assert!(why.contains("http://127.0.0.1/live/copy"), "{why}");
    let Err(rtmp_embed::AnswerError::BadUrl(_)) = publish.locate(bad) else { panic!("a bad upstream taken") };
    // Nothing was answered: the request still waits, and takes a good answer.
    assert!(publish.is_pending());
    publish.accept().unwrap();
    publisher.join().unwrap().unwrap().close().unwrap();
    server.stop().unwrap();
}

#[test]
fn unanswered_and_dropped_requests_are_rejected() {
    let (server, rx) = server(Interest::of(Hook::Publish), Dispatch::Blocking, Duration::from_millis(200));
    let url = format!("rtmp://{}/live/slow", server.local_addr());
    let result = EmbeddedPublisher::connect(&url, ClientOptions::default());
    let Err(EmbedError::Client(error)) = result else { panic!("expected a refusal") };
    assert!(error.to_string().contains("Decision timeout."), "{error}");
    let request = next_request(&rx, RequestKind::Publish);
    assert_eq!(request.accept(), Err(rtmp_embed::AnswerError::Expired));

    // Dropping the request without an answer rejects at once.
    let url = format!("rtmp://{}/live/dropped", server.local_addr());
    let handle = std::thread::spawn(move || EmbeddedPublisher::connect(&url, ClientOptions::default()));
    drop(next_request(&rx, RequestKind::Publish));
    assert!(handle.join().unwrap().is_err());
    server.stop().unwrap();
}

#[test]
fn stop_is_refused_inside_callbacks_and_idempotent() {
    let (server, _rx) = server(Interest::NONE, Dispatch::Inline, Duration::from_secs(1));
    for kind in [CallbackKind::Blocking, CallbackKind::NonBlocking] {
        let result = callback_scope(kind, || server.stop());
        assert!(matches!(result, Err(EmbedError::InCallback(_))), "{kind:?}");
    }
    assert!(server.is_running());
    assert!(matches!(server.start(), Err(EmbedError::InvalidState(_))));
    server.stop().unwrap();
    server.stop().unwrap();
    assert!(!server.is_running());
}

#[test]
fn player_receives_frames_and_metadata() {
    let (server, _rx) = server(Interest::NONE, Dispatch::Inline, Duration::from_secs(1));
    let url = format!("rtmp://{}/live/cam", server.local_addr());
    let publisher = EmbeddedPublisher::connect(&url, ClientOptions::default()).unwrap();
    let meta = rtmp_embed::Frame::from_metadata(
        None,
        0,
        &[("width", rtmp_core::proto::amf::Amf0Value::Number(320.0))].into_iter().collect(),
    );
    publisher.send_frame(&meta).unwrap();
    publisher.send_video(0, Bytes::from_static(AVC_SEQ)).unwrap();
    publisher.send_video(0, Bytes::from_static(AVC_KEY)).unwrap();
    publisher.send_audio(0, Bytes::from_static(AAC_RAW)).unwrap();
    let player = EmbeddedPlayer::connect(&url, ClientOptions::default()).unwrap();
    let (mut video, mut audio, mut width) = (0, 0, None);
    while video < 2 || audio < 1 || width.is_none() {
        match player.next(Some(Duration::from_secs(5))).unwrap() {
            Received::Item(PlayerItem::Frame(frame)) => match frame.kind() {
                FrameKind::Video => video += 1,
                FrameKind::Audio => audio += 1,
                FrameKind::Metadata => width = frame.metadata().and_then(|m| m.get_number("width")),
                FrameKind::Data => {}
            },
            Received::Item(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(width, Some(320.0));
    assert!(matches!(player.next(Some(Duration::from_millis(50))).unwrap(), Received::Timeout));
    player.pause(true, 0.0).unwrap();
    player.close().unwrap();
    // Events already queued can still be read (the server's Pause.Notify may have arrived), then
    // the player reports it is closed.
    loop {
        match player.next(Some(Duration::from_secs(2))).unwrap() {
            Received::Closed => break,
            Received::Item(PlayerItem::Status { .. }) => {}
            other => panic!("after close: {other:?}"),
        }
    }
    publisher.close().unwrap();
    server.stop().unwrap();
}

#[test]
fn log_sink_receives_the_library_events() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink_lines = Arc::clone(&lines);
    rtmp_embed::set_log_sink(
        Some(Arc::new(move |record: &rtmp_embed::LogRecord<'_>| {
            sink_lines.lock().unwrap().push(format!("{} {}", record.target, record.message));
        })),
        tracing::level_filters::LevelFilter::INFO,
    )
    .unwrap();
    let (server, _rx) = server(Interest::NONE, Dispatch::Inline, Duration::from_secs(1));
    server.stop().unwrap();
    rtmp_embed::set_log_sink(None, tracing::level_filters::LevelFilter::OFF).unwrap();
    let lines = lines.lock().unwrap();
    assert!(lines.iter().any(|l| l.contains("rtmp server listening addr=127.0.0.1:")), "{lines:?}");
}

#[test]
fn drop_inside_a_callback_finishes_in_the_background() {
    let (server, _rx) = server(Interest::NONE, Dispatch::Inline, Duration::from_secs(1));
    let addr = server.local_addr();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    // Waiting here would wait for the callback itself: the stop goes on on a helper thread.
    callback_scope(CallbackKind::Blocking, move || drop(server));
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the listener of a server dropped inside a callback stayed open");
}

#[test]
fn credentials_answered_from_another_thread_log_the_publisher_in() {
    let (tx, rx) = mpsc::channel();
    let options = ServerOptions {
        config: ServerConfig::default()
            .bind("127.0.0.1:0".parse().unwrap())
            .stats_interval(None)
            .publish_auth(rtmp_core::server::PublishAuth::Adobe),
        dispatch: Dispatch::Inline,
        ..ServerOptions::default()
    };
    let interest = Interest::of(Hook::Credentials) | Interest::of(Hook::Publish);
    let server =
        EmbeddedServer::new(options, Arc::new(ChannelSink { tx: Mutex::new(tx), interest })).unwrap();
    server.start().unwrap();
    // Answers every credentials request (alice: s3cret; nobody else) and the publish decisions.
    let answering = std::thread::spawn(move || {
        let (mut asked, mut publishers) = (Vec::new(), Vec::new());
        while let Ok(event) = rx.recv_timeout(Duration::from_secs(5)) {
            match event {
                Event::Credentials { request } => {
                    assert_eq!(request.kind(), RequestKind::Credentials);
                    assert!(request.session().id() > 0);
                    asked.push((request.app().to_owned(), request.user().unwrap().to_owned()));
                    let password = (request.user() == Some("alice")).then(|| "s3cret".to_owned());
                    request.credentials(password).unwrap();
                }
                Event::Publish { request } => {
                    publishers.push(request.session().user().map(str::to_owned));
                    request.accept().unwrap();
                }
                _ => {}
            }
        }
        (asked, publishers)
    });
    let url = |credentials: &str| format!("rtmp://{credentials}{}/live/cam", server.local_addr());
    let publisher = EmbeddedPublisher::connect(&url("alice:s3cret@"), ClientOptions::default()).unwrap();
    publisher.close().unwrap();
    for (credentials, reason) in [("alice:wrong@", "authfailed"), ("bob:s3cret@", "nosuchuser")] {
        let Err(EmbedError::Client(error)) =
            EmbeddedPublisher::connect(&url(credentials), ClientOptions::default())
        else {
            panic!("{credentials}: not refused")
        };
        assert!(error.to_string().contains(reason), "{credentials}: {error}");
    }
    let (asked, publishers) = answering.join().unwrap();
    assert_eq!(publishers, [Some("alice".to_owned())]);
    let alice = ("live".to_owned(), "alice".to_owned());
    let bob = ("live".to_owned(), "bob".to_owned());
    // alice: the challenge and the answer; wrong password: the same; bob: the challenge only.
    assert_eq!(asked, [alice.clone(), alice.clone(), alice.clone(), alice, bob]);
    server.stop().unwrap();
}
