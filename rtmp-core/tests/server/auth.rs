//! User name and password publishing (`authmod=adobe`): ffmpeg 9's `rtmp://user:pass@host/…`
//! and our own client against a server with `publish_auth = adobe`, passwords from
//! `on_credentials`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rtmp_core::client::{ClientConfig, ClientError, PlayerEvent, RtmpPlayer, RtmpPublisher};
use rtmp_core::proto::adobe::{self, Rejection};
use rtmp_core::proto::message::{ConnectParams, status};
use rtmp_core::proto::session::ClientEvent;
use rtmp_core::server::{
    Decision, PublishAuth, PublishParams, RtmpHandler, RtmpServer, ServerHandle, SessionContext,
};

use crate::support::client::{AAC_HEADER, AVC_HEADER, video_frame};
use crate::support::ffmpeg::{finish, spawn_player};
use crate::support::{Audio, Publish, TestClient, Video, config, eventually, ffmpeg9, within};

/// A connect as the handler saw it: the session's user, the query and the tcUrl.
type SeenConnect = (Option<String>, Vec<(String, String)>, Option<String>);

/// What the handler saw.
#[derive(Default)]
struct Seen {
    /// (app, user) of each credentials lookup.
    lookups: Vec<(String, String)>,
    /// The user of each connect, with the query and tcUrl the handler was shown.
    connects: Vec<SeenConnect>,
    /// The user of each publish decision.
    publishers: Vec<Option<String>>,
}

struct Users {
    passwords: HashMap<String, String>,
    seen: Arc<Mutex<Seen>>,
}

impl RtmpHandler for Users {
    async fn on_credentials(&self, _ctx: &SessionContext, app: &str, user: &str) -> Option<String> {
        self.seen.lock().unwrap().lookups.push((app.to_owned(), user.to_owned()));
        self.passwords.get(user).cloned()
    }

    async fn on_connect(&self, ctx: &SessionContext, params: &ConnectParams) -> Decision {
        let seen = (ctx.user.clone(), params.query.clone(), params.tc_url.clone());
        self.seen.lock().unwrap().connects.push(seen);
        Decision::Accept
    }

    async fn on_publish(&self, ctx: &SessionContext, _params: &PublishParams) -> Decision {
        self.seen.lock().unwrap().publishers.push(ctx.user.clone());
        Decision::Accept
    }
}

/// A server where publishing takes `alice`'s password `s3cret`.
struct AuthServer {
    port: u16,
    handle: ServerHandle,
    seen: Arc<Mutex<Seen>>,
}

impl AuthServer {
    fn start() -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let passwords = HashMap::from([("alice".to_owned(), "s3cret".to_owned())]);
        let handler = Users { passwords, seen: Arc::clone(&seen) };
        let config = config().publish_auth(PublishAuth::Adobe);
        let server = RtmpServer::new(config, handler).expect("bind");
        let port = server.local_addr().expect("local addr").port();
        let handle = server.handle();
        tokio::spawn(server.run_until(std::future::pending::<()>()));
        Self { port, handle, seen }
    }

    fn url(&self, credentials: &str, path: &str) -> String {
        format!("rtmp://{credentials}127.0.0.1:{}/{path}", self.port)
    }

    fn live(&self) -> bool {
        self.handle.stats().streams.iter().any(|s| s.key.name == "cam" && s.publisher.is_some())
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

fn h264(seconds: f64) -> Publish {
    Publish::new(ffmpeg9(), Video::H264, Audio::Aac, seconds)
}

#[tokio::test]
async fn ffmpeg_publishes_with_a_password_and_a_player_without_one_decodes_it() {
    let server = AuthServer::start();
    let publishing = h264(6.0).spawn(&server.url("alice:s3cret@", "live/cam"));
    eventually(Duration::from_secs(8), "ffmpeg's authenticated publish", || server.live().then_some(()))
        .await;
    // ffmpeg's player sends no credentials (and a player's flashVer): it is not challenged.
    let played = crate::support::ffmpeg::played(
        spawn_player(&ffmpeg9(), &server.url("", "live/cam"), 1.5),
        Duration::from_secs(10),
    )
    .await;
    assert!(played.video_frames >= 20 && played.audio_frames > 0, "player decoded: {played:?}");
    let published = finish(publishing, Duration::from_secs(12)).await;
    assert!(published.success(), "ffmpeg's authenticated publish failed: {published:?}");

    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.publishers, [Some("alice".to_owned())], "on_publish saw the user");
    // Asked at the challenge and at the answer.
    assert_eq!(seen.lookups, vec![("live".to_owned(), "alice".to_owned()); 2]);
    // The connects that reached the handler: ffmpeg's third (authenticated), the player's.
    let (user, query, tc_url) = &seen.connects[0];
    assert_eq!(user.as_deref(), Some("alice"));
    assert!(query.is_empty(), "the auth keys are stripped from the query: {query:?}");
    assert_eq!(tc_url.as_deref(), Some(format!("rtmp://127.0.0.1:{}/live", server.port).as_str()));
    assert_eq!(seen.connects.len(), 2, "{:?}", seen.connects);
    assert_eq!(seen.connects[1].0, None, "the player is anonymous");
}

#[tokio::test]
async fn ffmpeg_with_a_wrong_password_an_unknown_user_or_none_is_refused() {
    let server = AuthServer::start();
    // ffmpeg's messages for `?reason=authfailed`, `?reason=nosuchuser` and a need-auth refusal
    // without credentials (libavformat/rtmpproto.c, handle_connect_error).
    for (credentials, message) in [
        ("alice:wrong@", "Incorrect username/password"),
        ("bob:s3cret@", "Incorrect username"),
        ("", "No credentials set"),
    ] {
        let run =
            finish(h264(2.0).spawn(&server.url(credentials, "live/cam")), Duration::from_secs(10)).await;
        assert!(run.failed(), "{credentials:?}: ffmpeg was not refused: {run:?}");
        assert!(run.stderr.contains(message), "{credentials:?}: ffmpeg said {:?}", run.stderr);
        assert!(run.took < Duration::from_secs(5), "{credentials:?}: refusal took {:?}", run.took);
    }
    let seen = server.seen.lock().unwrap();
    assert!(seen.publishers.is_empty() && seen.connects.is_empty(), "nothing reached the handler");
    assert!(!server.live());
}

/// Publishes 2 s of synthetic H.264 + AAC at real-time pace.
async fn publish_for_2s(publisher: &mut RtmpPublisher) {
    publisher.send_audio(0, Bytes::from_static(&AAC_HEADER)).await.unwrap();
    publisher.send_video(0, Bytes::from_static(&AVC_HEADER)).await.unwrap();
    for i in 0..50u32 {
        publisher.send_video(i * 40, Bytes::from(video_frame(i % 25 == 0, 500, i))).await.unwrap();
        publisher.send_audio(i * 40, Bytes::from_static(&[0xaf, 0x01, 0x21, 0x10, 0x00])).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// Counts the video frames a player receives within `window`.
async fn video_frames(player: &mut RtmpPlayer, window: Duration) -> usize {
    let mut frames = 0;
    let _ = tokio::time::timeout(window, async {
        while let Ok(Some(event)) = player.next_event().await {
            if matches!(event, PlayerEvent::Video { .. }) {
                frames += 1;
            }
        }
    })
    .await;
    frames
}

#[tokio::test]
async fn our_client_publishes_and_plays_with_credentials_in_the_url() {
    let server = AuthServer::start();
    let connect = |url: String| async move { RtmpPublisher::connect(&url, ClientConfig::default()).await };
    let mut publisher = within(Duration::from_secs(10), "authenticated publish", async {
        connect(server.url("alice:s3cret@", "live/cam")).await.expect("our publisher logs in")
    })
    .await;
    let publishing = tokio::spawn(async move {
        publish_for_2s(&mut publisher).await;
        publisher.close().await
    });
    eventually(Duration::from_secs(5), "our authenticated publish", || server.live().then_some(())).await;
    let mut with = RtmpPlayer::connect(&server.url("alice:s3cret@", "live/cam"), ClientConfig::default())
        .await
        .expect("our player with credentials");
    let mut without = RtmpPlayer::connect(&server.url("", "live/cam"), ClientConfig::default())
        .await
        .expect("our player without credentials is not challenged");
    let (a, b) = tokio::join!(
        video_frames(&mut with, Duration::from_millis(800)),
        video_frames(&mut without, Duration::from_millis(800))
    );
    assert!(a >= 5 && b >= 5, "players received {a} and {b} video frames");
    publishing.await.unwrap().expect("publisher closes");
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.publishers, [Some("alice".to_owned())]);
    // Our client names the user in its first connect: the player with credentials logged in.
    let users: Vec<Option<&str>> = seen.connects.iter().map(|c| c.0.as_deref()).collect();
    assert_eq!(users, [Some("alice"), Some("alice"), None]);
}

#[tokio::test]
async fn our_client_is_refused_clearly() {
    let server = AuthServer::start();
    let refusal = |credentials: &'static str| {
        let url = server.url(credentials, "live/cam");
        async move {
            match RtmpPublisher::connect(&url, ClientConfig::default()).await {
                Err(ClientError::Rejected { code, description }) => (code, description),
                other => panic!("{credentials:?}: not refused: {:?}", other.map(|_| ())),
            }
        }
    };
    for (credentials, reason) in
        [("alice:wrong@", "authfailed"), ("bob:x@", "nosuchuser"), ("", "authentication required")]
    {
        let (code, description) = within(Duration::from_secs(10), "a refusal", refusal(credentials)).await;
        assert_eq!(code, status::CONNECT_REJECTED, "{credentials:?}");
        assert!(description.starts_with(reason), "{credentials:?}: {description}");
    }
    // A wrong password refuses a player with credentials too (it asked to log in).
    let played = RtmpPlayer::connect(&server.url("alice:wrong@", "live/cam"), ClientConfig::default()).await;
    assert!(
        matches!(&played, Err(ClientError::Rejected { description, .. }) if description.starts_with("authfailed")),
        "{:?}",
        played.as_ref().map(|_| ())
    );

    // A client that is not challenged at connect (a player's flashVer) cannot publish.
    let config = ClientConfig { flash_ver: "LNX 9,0,124,2".into(), ..ClientConfig::default() };
    match RtmpPublisher::connect(&server.url("", "live/cam"), config).await {
        Err(ClientError::Rejected { code, .. }) => assert_eq!(code, status::PUBLISH_DENIED),
        other => panic!("an unauthenticated publish was not refused: {:?}", other.map(|_| ())),
    }
    assert!(server.seen.lock().unwrap().publishers.is_empty());
}

/// The description of the connect refusal `client` received.
fn refusal(client: &TestClient) -> String {
    client
        .events
        .iter()
        .find_map(|(_, e)| match e {
            ClientEvent::ConnectRejected { description, .. } => Some(description.clone()),
            _ => None,
        })
        .expect("a connect refusal")
}

/// OBS's flow, as its librtmp (obs-studio plugins/obs-outputs/librtmp/rtmp.c, `PublisherAuth`)
/// sends it: flashVer `FMLE/3.0 (compatible; FMSc/1.0)`; after `code=403 need auth` the app and
/// tcUrl get `?authmod=adobe&user=U`; after the challenge `&challenge=C2&response=R&opaque=O` is
/// appended to those, C2 being base64 of a random int (so `+`, `/` and `=` reach the server
/// unescaped). Debian's rtmpdump is the stock librtmp, which has no publisher auth: these bytes
/// are reproduced with our test client.
#[tokio::test]
async fn obs_librtmp_flow_with_a_base64_client_challenge() {
    let server = AuthServer::start();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.port));
    let obs = |client: &TestClient, app: &str| ConnectParams {
        app: app.to_owned(),
        tc_url: Some(format!("rtmp://127.0.0.1:{}/{app}", server.port)),
        flash_ver: Some("FMLE/3.0 (compatible; FMSc/1.0)".into()),
        ..client.params("live")
    };
    let mut first = TestClient::open(addr, None).await;
    let params = obs(&first, "live");
    assert_eq!(first.connect_with(params).await, Err(status::CONNECT_REJECTED.into()));
    assert_eq!(refusal(&first), "[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : ");

    let mut second = TestClient::open(addr, None).await;
    let params = obs(&second, "live?authmod=adobe&user=alice");
    assert_eq!(second.connect_with(params).await, Err(status::CONNECT_REJECTED.into()));
    let Some(Rejection::Challenge { salt, opaque: Some(opaque), .. }) = Rejection::parse(&refusal(&second))
    else {
        panic!("no challenge: {}", refusal(&second))
    };

    let client_challenge = "+/8ABA=="; // base64 of 4 bytes, as librtmp's b64enc writes it
    let response = adobe::response("alice", &salt, "s3cret", &opaque, client_challenge);
    let mut third = TestClient::open(addr, None).await;
    let app = format!(
        "live?authmod=adobe&user=alice&challenge={client_challenge}&response={response}&opaque={opaque}"
    );
    let params = obs(&third, &app);
    third.connect_with(params).await.expect("OBS's answer accepted");
    third.publish("cam", Duration::from_secs(3)).await.expect("OBS publishes");
    assert_eq!(server.seen.lock().unwrap().publishers, [Some("alice".to_owned())]);

    // The same answer again (a replay) finds no challenge: each is answered once.
    let mut replay = TestClient::open(addr, None).await;
    let params = obs(&replay, &app);
    assert_eq!(replay.connect_with(params).await, Err(status::CONNECT_REJECTED.into()));
    assert!(refusal(&replay).ends_with("?reason=authfailed"), "{}", refusal(&replay));
}
