//! Streams in-process against the real ffmpeg: a `Subscription` reads what ffmpeg publishes, a
//! `LocalPublisher` is decoded by ffmpeg players (late joiners too), a stalled subscriber loses
//! video and keeps its sound while a network player misses nothing, and takeovers go both ways.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rtmp_core::server::{
    FrameKind, MediaFrame, PeerKind, PublishError, PublisherPolicy, Start, StreamEvent, StreamKey,
    SubscribeError, SubscribeOptions, Subscription, SubscriptionItem,
};

use crate::support::ffmpeg::{finish, played, spawn_player};
use crate::support::{Audio, Publish, TestServer, Video, config, eventually, ffmpeg9, within};

fn key(name: &str) -> StreamKey {
    StreamKey::new("live", name)
}

/// Reads `subscription` until the publisher stops (or `limit` passes): every item, in order.
async fn read_until_unpublished(subscription: &mut Subscription, limit: Duration) -> Vec<SubscriptionItem> {
    let mut items = Vec::new();
    let deadline = Instant::now() + limit;
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline.into(), subscription.next()).await {
        let end = item == SubscriptionItem::Event(StreamEvent::Unpublished);
        items.push(item);
        if end {
            break;
        }
    }
    items
}

fn frames(items: &[SubscriptionItem]) -> Vec<&MediaFrame> {
    items
        .iter()
        .filter_map(|item| match item {
            SubscriptionItem::Frame(frame) => Some(frame),
            SubscriptionItem::Event(_) => None,
        })
        .collect()
}

/// Coded video frames and audio frames (no headers).
fn media_counts(items: &[SubscriptionItem]) -> (usize, usize) {
    let frames = frames(items);
    let video = frames.iter().filter(|f| f.kind == FrameKind::Video && !f.header).count();
    let audio = frames.iter().filter(|f| f.kind == FrameKind::Audio && !f.header).count();
    (video, audio)
}

#[tokio::test]
async fn a_subscription_waits_for_the_publish_and_gets_every_frame_ffmpeg_sent() {
    let server = TestServer::start(config());
    let handle = server.handle.clone();
    let options = SubscribeOptions::default().start(Start::Keyframe).wait(Some(Duration::from_secs(20)));
    let subscribing = tokio::spawn(async move { handle.subscribe(&key("cam"), options).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // 5 s at 25 fps: 125 pictures; AAC at 48 kHz: 1024 samples a frame, about 234.
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 5.0).spawn(&server.url("live/cam"));
    let mut subscription =
        within(Duration::from_secs(25), "the subscribe", subscribing).await.unwrap().unwrap();
    let items = read_until_unpublished(&mut subscription, Duration::from_secs(30)).await;
    let published = finish(ffmpeg, Duration::from_secs(30)).await;
    assert!(published.success(), "ffmpeg: {}", published.stderr);

    let (video, audio) = media_counts(&items);
    assert!((123..=125).contains(&video), "video frames {video} of 125");
    assert!((229..=240).contains(&audio), "audio frames {audio} of about 234");
    assert_eq!(items.last(), Some(&SubscriptionItem::Event(StreamEvent::Unpublished)));
    assert!(!items.iter().any(|i| matches!(i, SubscriptionItem::Event(StreamEvent::Dropped { .. }))));
    // The first item is the metadata; the first video a sequence header, then a keyframe.
    let frames = frames(&items);
    assert_eq!(frames[0].kind, FrameKind::Metadata, "{:?}", frames[0]);
    let mut video = frames.iter().filter(|f| f.kind == FrameKind::Video);
    let first = video.next().unwrap();
    assert!(first.header && first.video_tag().unwrap().is_sequence_header(), "{first:?}");
    let second = video.next().unwrap();
    assert!(second.keyframe && !second.header, "{second:?}");
    // Timestamps as a player sees them: in order, composition times from the tag.
    assert!(video.clone().all(|f| f.composition_time() >= 0));
    assert_eq!(second.track(), 0);
}

#[tokio::test]
async fn start_options_gop_replays_the_cache_and_live_starts_anywhere() {
    let server = TestServer::start(config());
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 8.0).gop(75).spawn(&server.url("live/cam"));
    server.wait_live("cam", Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A late joiner at once gets metadata, headers and the GOP so far (from its keyframe).
    let mut gop = server.handle.subscribe(&key("cam"), SubscribeOptions::default()).await.unwrap();
    let mut cached = Vec::new();
    while let Some(item) = gop.try_next() {
        cached.push(item);
    }
    let cached_frames = frames(&cached);
    assert_eq!(cached_frames[0].kind, FrameKind::Metadata);
    let first_coded = cached_frames.iter().find(|f| f.kind == FrameKind::Video && !f.header).unwrap();
    assert!(first_coded.keyframe, "the GOP starts at its keyframe");
    assert!(media_counts(&cached).0 >= 10, "the cached GOP: {} pictures", media_counts(&cached).0);

    // Live: headers now, then whatever comes next (an inter frame, mid-GOP).
    let mut live =
        server.handle.subscribe(&key("cam"), SubscribeOptions::default().start(Start::Live)).await.unwrap();
    let mut first_video = None;
    let mut headers = 0;
    while first_video.is_none() {
        match within(Duration::from_secs(5), "live media", live.next()).await.unwrap() {
            SubscriptionItem::Frame(f) if f.kind == FrameKind::Video && f.header => headers += 1,
            SubscriptionItem::Frame(f) if f.kind == FrameKind::Video => first_video = Some(f),
            _ => {}
        }
    }
    assert_eq!(headers, 1, "the sequence header first");
    assert!(!first_video.unwrap().keyframe, "mid-GOP, live starts at an inter frame");
    drop(live);
    drop(gop);
    let stats = server.stream("cam").unwrap();
    assert!(stats.players.is_empty(), "closed subscriptions leave the stream: {stats:?}");
    drop(ffmpeg);
}

#[tokio::test]
async fn a_local_publisher_is_played_by_ffmpeg_including_a_late_joiner() {
    let server = TestServer::start(config());
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 12.0).spawn(&server.url("live/cam"));
    server.wait_live("cam", Duration::from_secs(20)).await;
    let mut subscription = server.handle.subscribe(&key("cam"), SubscribeOptions::default()).await.unwrap();
    let mut publisher = server.handle.publish(&key("out")).unwrap();
    let relay = tokio::spawn(async move {
        let mut sent = 0;
        while let Some(item) = subscription.next().await {
            match item {
                SubscriptionItem::Frame(frame) => {
                    publisher.send_frame(&frame).expect("a valid frame");
                    sent += usize::from(frame.kind == FrameKind::Video && !frame.header);
                }
                SubscriptionItem::Event(StreamEvent::Unpublished) => break,
                SubscriptionItem::Event(_) => {}
            }
        }
        sent
    });
    let streams = server.handle.streams();
    let out = streams.iter().find(|s| s.key == key("out")).expect("live/out listed");
    assert_eq!(out.publisher, PeerKind::Local);
    let cam = streams.iter().find(|s| s.key == key("cam")).unwrap();
    assert_eq!((cam.publisher, cam.subscribers, cam.players), (PeerKind::Rtmp, 1, 0));

    // One from the start, one that joins 3 s later (the GOP cache gives it a picture at once).
    let early = spawn_player(&ffmpeg9(), &server.url("live/out"), 4.0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = spawn_player(&ffmpeg9(), &server.url("live/out"), 4.0);
    let (early, late) =
        (played(early, Duration::from_secs(30)).await, played(late, Duration::from_secs(30)).await);
    // 4 s at 25 fps: 100 pictures; 90 % of them.
    for (who, run) in [("early", &early), ("late", &late)] {
        assert!(
            run.video_frames >= 90,
            "{who} player decoded {} pictures: {}",
            run.video_frames,
            run.run.stderr
        );
        assert!(run.audio_frames >= 150, "{who} player decoded {} audio frames", run.audio_frames);
        assert_eq!(run.dimensions.as_deref(), Some("320x240"));
    }
    drop(ffmpeg);
    let sent = within(Duration::from_secs(20), "the relay's end", relay).await.unwrap();
    assert!(sent >= 150, "relayed {sent} pictures");
    assert!(
        server.handle.streams().iter().all(|s| s.key != key("out")),
        "dropping the publisher unpublished"
    );
}

#[tokio::test]
async fn a_stalled_subscriber_loses_video_not_audio_and_a_network_player_misses_nothing() {
    let server = TestServer::start(config());
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 11.0).spawn(&server.url("live/cam"));
    server.wait_live("cam", Duration::from_secs(20)).await;
    let mut stalled = server.handle.subscribe(&key("cam"), SubscribeOptions::default()).await.unwrap();
    let player = spawn_player(&ffmpeg9(), &server.url("live/cam"), 7.0);
    // Reads nothing for 5 s.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stats = server.stream("cam").unwrap();
    let local = stats.players.iter().find(|p| p.kind == PeerKind::Local).expect("the subscriber's stats");
    assert!(local.dropped_video > 0, "{local:?}");
    assert_eq!(local.dropped_audio, 0, "{local:?}");
    let items = read_until_unpublished(&mut stalled, Duration::from_secs(20)).await;
    let dropped = items.iter().find_map(|i| match i {
        SubscriptionItem::Event(StreamEvent::Dropped { video, audio }) => Some((*video, *audio)),
        _ => None,
    });
    let (video_dropped, audio_dropped) = dropped.expect("a Dropped event");
    assert!(video_dropped > 0 && audio_dropped == 0, "{dropped:?}");
    // Its sound is whole: the audio of the stall was kept for it (about 43 frames a second).
    let (video, audio) = media_counts(&items);
    assert!(audio >= 400, "audio frames {audio}");
    assert!(video < 250, "video frames {video}: some were dropped");
    // The stall's video went (what was queued too), and video resumes at a keyframe; its audio
    // is there without a gap.
    let frames = frames(&items);
    let coded: Vec<_> = frames.iter().filter(|f| f.kind == FrameKind::Video && !f.header).collect();
    let sound: Vec<_> = frames.iter().filter(|f| f.kind == FrameKind::Audio && !f.header).collect();
    assert!(coded[0].keyframe, "video resumes at a keyframe: {:?}", coded[0]);
    assert!(
        coded[0].timestamp > sound[0].timestamp + 3000,
        "video {} audio {}",
        coded[0].timestamp,
        sound[0].timestamp
    );
    assert!(sound.windows(2).all(|w| w[1].timestamp - w[0].timestamp < 100), "the sound has no gap");

    let played = played(player, Duration::from_secs(30)).await;
    // 7 s at 25 fps: 175 pictures, within 5 %.
    assert!(played.video_frames >= 166, "the network player decoded {} pictures", played.video_frames);
    let _ = finish(ffmpeg, Duration::from_secs(20)).await;
}

#[tokio::test]
async fn takeover_goes_both_ways_between_rtmp_and_local_publishers() {
    let server = TestServer::start(config().publisher_policy(PublisherPolicy::TakeOver));
    // A local publisher takes over from ffmpeg.
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 30.0).spawn(&server.url("live/a"));
    server.wait_live("a", Duration::from_secs(20)).await;
    let local = server.handle.publish(&key("a")).expect("takes over");
    let kicked = finish(ffmpeg, Duration::from_secs(20)).await;
    assert!(kicked.status.is_some(), "ffmpeg's connection was ended");
    let a = server.stream("a").unwrap();
    assert_eq!(a.publisher_kind, Some(PeerKind::Local));
    drop(local);

    // ffmpeg takes over from a local publisher, whose next send says so.
    let mut local = server.handle.publish(&key("b")).unwrap();
    local.send_video(0, Bytes::from_static(&[0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1e, 0xff, 0xe0, 0])).unwrap();
    let ffmpeg = Publish::new(ffmpeg9(), Video::H264, Audio::Aac, 30.0).spawn(&server.url("live/b"));
    eventually(Duration::from_secs(20), "ffmpeg publishing live/b", || {
        server.stream("b").filter(|s| s.publisher_kind == Some(PeerKind::Rtmp))
    })
    .await;
    assert_eq!(local.send_video(40, Bytes::from_static(&[0x27, 1, 0, 0, 0])), Err(PublishError::TakenOver));
    assert!(!local.is_publishing());
    drop(local);
    assert_eq!(
        server.stream("b").unwrap().publisher_kind,
        Some(PeerKind::Rtmp),
        "closing it did not unpublish ffmpeg"
    );
    drop(ffmpeg);

    // Under reject_new, a local publish of a live stream is refused.
    let strict = TestServer::start(config());
    let _first = strict.handle.publish(&key("c")).unwrap();
    assert_eq!(strict.handle.publish(&key("c")).unwrap_err(), PublishError::AlreadyPublishing(key("c")));
}

#[tokio::test]
async fn misuse_is_a_clear_error_for_the_call_alone() {
    let server = TestServer::start(config());
    let missing = server.handle.subscribe(&key("nobody"), SubscribeOptions::default()).await.unwrap_err();
    assert_eq!(missing, SubscribeError::NotFound(key("nobody")));
    let started = Instant::now();
    let options = SubscribeOptions::default().wait(Some(Duration::from_millis(300)));
    let waited = server.handle.subscribe(&key("nobody"), options).await.unwrap_err();
    assert_eq!(waited, SubscribeError::NotFound(key("nobody")));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(server.handle.stats().streams.is_empty(), "a failed subscribe leaves nothing behind");

    let mut publisher = server.handle.publish(&key("cam")).unwrap();
    let mut subscription = server.handle.subscribe(&key("cam"), SubscribeOptions::default()).await.unwrap();
    assert!(matches!(
        publisher.send_video(0, Bytes::from_static(&[0x07])),
        Err(PublishError::InvalidVideo(_))
    ));
    assert!(matches!(publisher.send_audio(0, Bytes::new()), Err(PublishError::InvalidAudio(_))));
    assert!(matches!(
        publisher.send_data(0, Bytes::from_static(&[0xff, 1])),
        Err(PublishError::InvalidData(_))
    ));
    publisher.send_video(5000, Bytes::from_static(&[0x17, 1, 0, 0, 0, 0x65])).unwrap();
    publisher.send_audio(4500, Bytes::from_static(&[0xaf, 1, 0x21])).unwrap();
    assert_eq!(
        publisher.send_audio(3000, Bytes::from_static(&[0xaf, 1, 0x21])),
        Err(PublishError::TimestampRegression { last: 5000, timestamp: 3000 })
    );
    let got: Vec<_> = std::iter::from_fn(|| subscription.try_next()).collect();
    assert_eq!(got.len(), 2, "the bad input never reached the stream: {got:?}");
    let mut metadata = rtmp_core::proto::amf::AmfObject::default();
    metadata.insert("width", rtmp_core::proto::amf::Amf0Value::Number(320.0));
    publisher.send_metadata(5000, metadata).unwrap();
    let Some(SubscriptionItem::Frame(frame)) = subscription.try_next() else { panic!("the metadata") };
    assert_eq!(frame.kind, FrameKind::Metadata);

    publisher.close();
    assert_eq!(
        publisher.send_video(5040, Bytes::from_static(&[0x27, 1, 0, 0, 0])),
        Err(PublishError::Closed)
    );
    assert_eq!(subscription.try_next(), Some(SubscriptionItem::Event(StreamEvent::Unpublished)));
    subscription.close();
    assert_eq!(subscription.next().await, None, "a closed subscription ends");
    subscription.close();
    assert!(server.handle.stats().streams.is_empty(), "nothing left: {:?}", server.handle.stats());
}
