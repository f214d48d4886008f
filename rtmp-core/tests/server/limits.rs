//! Every limit of `ServerConfig`, set small, with our own client on loopback.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtmp_core::proto::amf::{Amf0Value, AmfObject};
use rtmp_core::proto::chunk::ChunkEncoder;
use rtmp_core::proto::media::VideoTag;
use rtmp_core::proto::message::{CapsEx, Command, Message, UserControl, status};
use rtmp_core::proto::session::{ClientEvent, ClientSession};
use rtmp_core::server::{DisconnectReason, PublisherPolicy, ServerConfig};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::support::client::{AVC_HEADER, video_frame};
use crate::support::{Hook, Synthetic, TestClient, TestServer, config};

/// Starts our client publishing `live/{name}` with `spec` in a task; returns the client at the end.
async fn publish(addr: SocketAddr, name: &str, spec: Synthetic) -> JoinHandle<TestClient> {
    let mut client = TestClient::connect(addr, "live").await;
    let stream_id = client.publish(name, Duration::from_secs(3)).await.expect("publish accepted");
    tokio::spawn(async move {
        client.publish_synthetic(stream_id, &spec).await;
        client
    })
}

/// A type-0 chunk carrying an Acknowledgement on chunk stream `csid`.
fn ack_chunk(csid: u8) -> Vec<u8> {
    let mut chunk = vec![csid, 0, 0, 0, 0, 0, 4, 3, 0, 0, 0, 0];
    chunk.extend_from_slice(&7u32.to_be_bytes());
    chunk
}

/// Whether the connection answers a ping (the tap sees the PingResponse).
async fn answers_ping(client: &mut TestClient, stamp: u32) -> bool {
    client.session().ping(stamp);
    client.flush().await;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if client.controls.iter().any(|(_, m)| *m == Message::UserControl(UserControl::PingResponse(stamp))) {
            return true;
        }
        if !client.read_until(deadline).await {
            return false;
        }
    }
}

fn disconnects(server: &TestServer) -> Vec<(u64, DisconnectReason)> {
    server
        .rec
        .hooks(|h| matches!(h, Hook::Disconnect { .. }))
        .into_iter()
        .map(|h| match h {
            Hook::Disconnect { session, reason, .. } => (session, reason),
            _ => unreachable!(),
        })
        .collect()
}

#[tokio::test]
async fn max_connections_refuses_extra_connections() {
    let server = TestServer::start(config().max_connections(2));
    let first = TestClient::connect(server.addr, "live").await;
    let _second = TestClient::connect(server.addr, "live").await;
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(2), extra.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the extra connection was not closed: {read:?}");
    let stats = server.handle.stats();
    assert_eq!((stats.connections, stats.total_connections, stats.refused_connections), (2, 2, 1));

    drop(first);
    crate::support::eventually(Duration::from_secs(2), "a slot to free up", || {
        (server.handle.stats().connections == 1).then_some(())
    })
    .await;
    let _third = TestClient::connect(server.addr, "live").await;
    assert_eq!(server.handle.stats().refused_connections, 1);
}

#[tokio::test]
async fn connection_timeout_closes_connections_that_never_connect() {
    let server = TestServer::start(config().connection_timeout(Duration::from_millis(800)));
    let started = Instant::now();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut handshake_only = TestClient::open(server.addr, None).await;
    let mut connected = TestClient::connect(server.addr, "live").await;

    let took =
        handshake_only.wait_closed(Duration::from_secs(3)).await.expect("handshake-only client not closed");
    assert!(took > Duration::from_millis(600) && took < Duration::from_millis(1500), "closed after {took:?}");
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(2), silent.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the silent connection was not closed: {read:?}");
    assert!(started.elapsed() < Duration::from_millis(1600));

    connected.pump(Duration::from_millis(600)).await;
    assert!(!connected.closed, "a connected client was closed by the connection timeout");
    let timeouts = disconnects(&server)
        .into_iter()
        .filter(|(_, r)| *r == DisconnectReason::Timeout("connection"))
        .count();
    assert_eq!(timeouts, 2, "{:?}", disconnects(&server));
}

#[tokio::test]
async fn idle_timeout_closes_a_peer_that_stops_answering() {
    let server = TestServer::start(config().idle_timeout(Duration::from_secs(1)));
    let quiet = TestClient::connect(server.addr, "live").await;
    let quiet_session = server.rec.session_of(quiet.local_addr).unwrap();
    let mut lively = TestClient::connect(server.addr, "live").await;
    let stopped = Instant::now();
    lively.pump(Duration::from_millis(2500)).await;
    assert!(!lively.closed, "a client that answers pings was closed");
    let pings = lively
        .controls
        .iter()
        .filter(|(_, m)| matches!(m, Message::UserControl(UserControl::PingRequest(_))))
        .count();
    assert!(pings >= 3, "{pings} pings in 2.5 s with a 1 s idle timeout");

    let quit = server
        .rec
        .wait_for(
            Duration::from_secs(1),
            "quiet client disconnect",
            |h| matches!(h, Hook::Disconnect { session, .. } if *session == quiet_session),
        )
        .await;
    let Hook::Disconnect { reason, .. } = quit.hook else { unreachable!() };
    assert_eq!(reason, DisconnectReason::Timeout("idle"));
    let after = quit.at.duration_since(stopped);
    assert!(
        after > Duration::from_millis(800) && after < Duration::from_millis(1600),
        "closed after {after:?}"
    );
}

#[tokio::test]
async fn max_message_size_closes_on_an_oversized_message_header() {
    let server = TestServer::start(config().max_message_size(64 * 1024));
    let mut client = TestClient::connect(server.addr, "live").await;
    // Just under the limit: accepted (our client announced chunk size 4096).
    let mut encoder = ChunkEncoder::new();
    encoder.set_chunk_size(4096);
    let mut out = BytesMut::new();
    encoder.write(20, 0, 9, 0, &vec![0x27; 60 * 1024], &mut out);
    client.write_raw(&out).await;
    assert!(answers_ping(&mut client, 1).await, "a 60 KiB message closed the connection");

    // Over the limit: the header alone ends the connection.
    let mut header = vec![0x15, 0, 0, 0];
    header.extend_from_slice(&(100_000u32.to_be_bytes()[1..]));
    header.extend_from_slice(&[9, 0, 0, 0, 0]);
    header.extend_from_slice(&[0x27; 100]);
    client.write_raw(&header).await;
    assert!(client.wait_closed(Duration::from_secs(2)).await.is_some(), "oversized message accepted");
    let session = server.rec.session_of(client.local_addr).unwrap();
    let reason = server.rec.wait_disconnect(session, Duration::from_secs(1)).await;
    assert!(
        matches!(&reason, DisconnectReason::Protocol(text) if text.contains("100000") && text.contains("65536")),
        "{reason:?}"
    );
}

#[tokio::test]
async fn max_chunk_streams_closes_on_one_chunk_stream_too_many() {
    let server = TestServer::start(config().max_chunk_streams(8));
    let mut client = TestClient::connect(server.addr, "live").await;
    // connect used chunk streams 2 and 3; six more make eight.
    for csid in 10..16 {
        client.write_raw(&ack_chunk(csid)).await;
    }
    assert!(answers_ping(&mut client, 2).await, "eight chunk streams closed the connection");
    client.write_raw(&ack_chunk(16)).await;
    assert!(client.wait_closed(Duration::from_secs(2)).await.is_some(), "a ninth chunk stream was accepted");
    let session = server.rec.session_of(client.local_addr).unwrap();
    let reason = server.rec.wait_disconnect(session, Duration::from_secs(1)).await;
    assert!(
        matches!(&reason, DisconnectReason::Protocol(text) if text.contains("8 chunk streams")),
        "{reason:?}"
    );
}

#[tokio::test]
async fn max_streams_per_connection_refuses_extra_create_stream() {
    let server = TestServer::start(config().max_streams_per_connection(2));
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("a").await;
    client.play_started("b").await;
    let from = client.events.len();
    client.play("c").await;
    client
        .wait_for(from, Duration::from_secs(2), |e| {
            matches!(e, ClientEvent::CallResult { success: false, .. })
        })
        .await
        .expect("a third createStream was not refused");
    assert!(!client.events[from..].iter().any(|(_, e)| matches!(e, ClientEvent::StreamCreated { .. })));
    assert!(answers_ping(&mut client, 3).await, "the refusal closed the connection");
}

#[tokio::test]
async fn max_players_per_stream_refuses_a_play_past_it_until_a_player_leaves() {
    let server = TestServer::start(config().max_players_per_stream(Some(2)));
    let mut first = TestClient::connect(server.addr, "live").await;
    first.play_started("cam").await;
    let mut second = TestClient::connect(server.addr, "live").await;
    second.play_started("cam").await;
    // Another stream has its own count.
    let mut elsewhere = TestClient::connect(server.addr, "live").await;
    elsewhere.play_started("other").await;
    let mut third = TestClient::connect(server.addr, "live").await;
    third.play("cam").await;
    third.pump(Duration::from_millis(300)).await;
    assert!(third.statuses().iter().any(|s| s == status::PLAY_FAILED), "{:?}", third.statuses());
    assert!(!third.statuses().iter().any(|s| s == status::PLAY_START));
    drop(first);
    let mut waited = Duration::ZERO;
    while server.stream("cam").is_some_and(|s| s.players.len() > 1) {
        assert!(waited < Duration::from_secs(5), "the first player did not leave");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    let mut fourth = TestClient::connect(server.addr, "live").await;
    fourth.play_started("cam").await;
}

/// Publishes `live/cam` on a server with `config` and lets `send` queue messages on that
/// publisher's session, beside a bystander connection. `Ok` when the publisher's connection
/// outlives them (it answers a ping after), otherwise why the server closed it; either way the
/// bystander still answers a ping. The server is returned for its hook record.
async fn amf_outcome(
    config: ServerConfig,
    send: impl FnOnce(&mut ClientSession, u32),
) -> (TestServer, Result<(), DisconnectReason>) {
    let server = TestServer::start(config);
    let mut bystander = TestClient::connect(server.addr, "live").await;
    let mut client = TestClient::connect(server.addr, "live").await;
    let stream_id = client.publish("cam", Duration::from_secs(3)).await.expect("publish accepted");
    send(client.session(), stream_id);
    client.flush().await;
    let outcome = if answers_ping(&mut client, 4).await {
        Ok(())
    } else {
        assert!(client.wait_closed(Duration::from_secs(2)).await.is_some(), "neither answered nor closed");
        let session = server.rec.session_of(client.local_addr).unwrap();
        Err(server.rec.wait_disconnect(session, Duration::from_secs(1)).await)
    };
    assert!(answers_ping(&mut bystander, 5).await, "the bystander's connection was closed too");
    (server, outcome)
}

#[tokio::test]
async fn max_amf_entries_closes_on_metadata_with_too_many_entries() {
    let metadata: AmfObject = (0..200).map(|i| (format!("field{i}"), f64::from(i))).collect();
    let send = |metadata: &AmfObject| {
        let metadata = metadata.clone();
        move |session: &mut ClientSession, stream_id: u32| session.send_metadata(stream_id, &metadata)
    };
    // The default (65 536) and a limit of exactly 200 take the 200-entry ECMA array.
    for config in [config(), config().max_amf_entries(200)] {
        let (server, outcome) = amf_outcome(config, send(&metadata)).await;
        assert_eq!(outcome, Ok(()));
        server
            .rec
            .wait_for(Duration::from_secs(2), "on_metadata", |h| matches!(h, Hook::Metadata { .. }))
            .await;
    }
    // One entry fewer allowed: that connection alone is closed, with the count in the reason.
    let (server, outcome) = amf_outcome(config().max_amf_entries(199), send(&metadata)).await;
    let reason = outcome.expect_err("200 entries accepted under max_amf_entries(199)");
    assert!(
        matches!(&reason, DisconnectReason::Protocol(text) if text.contains("collection of 200 entries")),
        "{reason:?}"
    );
    assert_eq!(server.rec.count(|h| matches!(h, Hook::Metadata { .. })), 0);
}

#[tokio::test]
async fn max_amf_decoded_bytes_closes_on_a_command_that_decodes_past_it() {
    let probe = |text_len: usize| {
        move |session: &mut ClientSession, _: u32| {
            session.send_command(
                0,
                Command::new("probe", 9.0, vec![Amf0Value::Null, "x".repeat(text_len).into()]),
            )
        }
    };
    // A 20 000-byte string: the default (64 MiB) decodes it and answers the unknown command
    // with _error, the connection stays; so does a 10 000-byte one under a 16 KiB limit.
    for (config, text_len) in [(config(), 20_000), (config().max_amf_decoded_bytes(16 * 1024), 10_000)] {
        let (_server, outcome) = amf_outcome(config, probe(text_len)).await;
        assert_eq!(outcome, Ok(()), "{text_len} bytes");
    }
    // Under the 16 KiB limit the 20 000-byte string closes that connection alone.
    let (_server, outcome) = amf_outcome(config().max_amf_decoded_bytes(16 * 1024), probe(20_000)).await;
    let reason = outcome.expect_err("20 000 decoded bytes accepted under max_amf_decoded_bytes(16 KiB)");
    assert!(
        matches!(&reason, DisconnectReason::Protocol(text) if text.contains("decoded values would exceed 16384 bytes")),
        "{reason:?}"
    );
}

#[tokio::test]
async fn player_queue_length_bounds_a_stalled_players_queue() {
    let server = TestServer::start(config().player_queue_length(16).socket_send_buffer(Some(8 * 1024)));
    let publisher = publish(server.addr, "cam", Synthetic { frame_bytes: 2000, ..Synthetic::new(3.0) }).await;
    let mut stalled = TestClient::open(server.addr, Some(4096)).await;
    let params = stalled.params("live");
    stalled.connect_with(params).await.unwrap();
    let session = server.rec.session_of(stalled.local_addr).unwrap();
    stalled.play_started("cam").await;
    // Stop reading; sample the queue while the publisher goes on.
    let mut deepest = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stream = server.stream("cam").unwrap();
        let me = stream.players.iter().find(|p| p.session_id == session).unwrap();
        deepest = deepest.max(me.queue_depth);
    }
    let stream = server.stream("cam").unwrap();
    let me = stream.players.iter().find(|p| p.session_id == session).unwrap().clone();
    assert!(deepest <= 16, "queue grew to {deepest}");
    assert!(me.dropped_video > 0 && me.dropped_audio > 0, "{me:?}");
    publisher.await.unwrap();
}

/// What a late joiner saw.
struct LateJoin {
    /// Its first video frame's timestamp, and whether it was a keyframe.
    first: (u32, bool),
    /// The latest published timestamp when it sent play.
    live_edge: u32,
    /// What came before that frame.
    before: Vec<&'static str>,
    /// Its `dropped_video` in the stats after 300 ms more of reading.
    dropped_video: u64,
}

/// A late joiner on a server with `config`.
async fn late_join(config: ServerConfig) -> LateJoin {
    let server = TestServer::start(config);
    let publisher = publish(server.addr, "cam", Synthetic { frame_bytes: 1000, ..Synthetic::new(3.0) }).await;
    crate::support::eventually(Duration::from_secs(3), "1.5 s of video", || {
        server.rec.last_video_timestamp().filter(|ts| *ts >= 1500)
    })
    .await;
    let mut client = TestClient::connect(server.addr, "live").await;
    let latest = server.rec.last_video_timestamp().unwrap();
    let from = client.events.len();
    client.play("cam").await;
    let is_frame = |e: &ClientEvent| matches!(e, ClientEvent::Video { payload, .. } if VideoTag::parse(payload).is_ok_and(|t| !t.is_sequence_header()));
    let i = client.wait_for(from, Duration::from_secs(2), is_frame).await.expect("no video");
    let ClientEvent::Video { timestamp, payload, .. } = &client.events[i].1 else { unreachable!() };
    let keyframe = VideoTag::parse(payload).unwrap().is_keyframe();
    let before = client.events[from..i]
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Metadata { .. } => Some("metadata"),
            ClientEvent::Audio { payload, .. } if payload[1] == 0 => Some("audio header"),
            ClientEvent::Audio { .. } => Some("audio"),
            ClientEvent::Video { .. } => Some("video header"),
            _ => None,
        })
        .collect();
    let first = (*timestamp, keyframe);
    client.pump(Duration::from_millis(300)).await;
    let session = server.rec.session_of(client.local_addr).unwrap();
    let stream = server.stream("cam").unwrap();
    let dropped_video = stream.players.iter().find(|p| p.session_id == session).unwrap().dropped_video;
    drop(client);
    publisher.abort();
    LateJoin { first, live_edge: latest, before, dropped_video }
}

#[tokio::test]
async fn gop_cache_caps_make_late_joiners_wait_for_the_next_keyframe() {
    let (uncapped, by_bytes, by_duration) = tokio::join!(
        late_join(config()),
        late_join(config().gop_cache_max_bytes(5000)),
        late_join(config().gop_cache_max_duration(Duration::from_millis(300))),
    );
    // Uncapped: the cached GOP from the 1 s keyframe, before the live edge.
    let LateJoin { first, live_edge, before, dropped_video } = uncapped;
    assert!(
        first == (1000, true) && live_edge > 1000,
        "uncapped: first frame {first:?}, live edge {live_edge}"
    );
    assert_eq!(before, ["metadata", "audio header", "video header"]);
    assert_eq!(dropped_video, 0);
    // Capped: no GOP, but still the headers first and a keyframe: the next live one at 2 s.
    for (what, join) in [("bytes", by_bytes), ("duration", by_duration)] {
        let LateJoin { first, live_edge, before, dropped_video } = join;
        assert!(
            first == (2000, true) && live_edge < 2000,
            "{what} cap: first frame {first:?}, live edge {live_edge}"
        );
        let headers: Vec<&str> = before.into_iter().filter(|k| *k != "audio").collect();
        assert_eq!(headers, ["metadata", "audio header", "video header"], "{what} cap");
        // Waiting for the first keyframe is not a loss: a player that keeps up drops nothing.
        assert_eq!(dropped_video, 0, "{what} cap: a reading joiner is reported as dropping video");
    }
}

#[tokio::test]
async fn play_wait_timeout_fails_with_stream_not_found_after_the_wait() {
    let server = TestServer::start(config().play_wait_timeout(Some(Duration::from_millis(800))));
    let mut client = TestClient::connect(server.addr, "live").await;
    let sent = Instant::now();
    let stream_id = client.play_started("nobody").await;
    let i = client
        .wait_for(
            0,
            Duration::from_secs(3),
            |e| matches!(e, ClientEvent::Status { code, .. } if code == status::PLAY_STREAM_NOT_FOUND),
        )
        .await
        .expect("no StreamNotFound");
    let took = client.events[i].0.duration_since(sent);
    assert!(took > Duration::from_millis(700) && took < Duration::from_millis(1500), "after {took:?}");
    assert!(matches!(client.events[i].1, ClientEvent::Status { stream_id: s, .. } if s == stream_id));
    let session = server.rec.session_of(client.local_addr).unwrap();
    server
        .rec
        .wait_for(
            Duration::from_secs(1),
            "on_play_stop",
            |h| matches!(h, Hook::PlayStop { session: s, .. } if *s == session),
        )
        .await;
    crate::support::eventually(Duration::from_secs(1), "the stream to leave the registry", || {
        server.stream("nobody").is_none().then_some(())
    })
    .await;
}

#[tokio::test]
async fn play_wait_timeout_zero_fails_at_once() {
    let server = TestServer::start(config().play_wait_timeout(Some(Duration::ZERO)));
    let mut client = TestClient::connect(server.addr, "live").await;
    let sent = Instant::now();
    client.play("nobody").await;
    let i = client
        .wait_for(
            0,
            Duration::from_secs(2),
            |e| matches!(e, ClientEvent::Status { code, .. } if code == status::PLAY_STREAM_NOT_FOUND),
        )
        .await
        .expect("no StreamNotFound");
    assert!(client.events[i].0.duration_since(sent) < Duration::from_millis(300));
    client.pump(Duration::from_millis(200)).await;
    assert!(!client.events.iter().any(|(_, e)| matches!(e, ClientEvent::PlayStarted { .. })));
    assert!(server.stream("nobody").is_none());
}

#[tokio::test]
async fn a_waiting_player_gets_a_publisher_that_arrives_in_time() {
    let server = TestServer::start(config().play_wait_timeout(Some(Duration::from_secs(1))));
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("late").await;
    client.pump(Duration::from_millis(500)).await;
    let from = client.events.len();
    let publisher = publish(server.addr, "late", Synthetic::new(2.0)).await;
    client.pump(Duration::from_millis(1500)).await;
    assert_eq!(client.status_index(0, status::PLAY_STREAM_NOT_FOUND), None, "{:?}", client.statuses());
    assert!(client.status_index(from, status::PLAY_PUBLISH_NOTIFY).is_some(), "{:?}", client.statuses());
    let frames: Vec<bool> = client
        .media(from)
        .iter()
        .filter(|m| m.video)
        .filter_map(|m| VideoTag::parse(&m.payload).ok())
        .filter(|t| !t.is_sequence_header())
        .map(|t| t.is_keyframe())
        .collect();
    assert!(
        frames.len() >= 30 && frames[0],
        "{} frames, first a keyframe: {:?}",
        frames.len(),
        frames.first()
    );
    publisher.await.unwrap();
}

#[tokio::test]
async fn chunk_size_is_announced_and_used() {
    let server = TestServer::start(config().chunk_size(1000));
    let publisher = publish(server.addr, "cam", Synthetic { frame_bytes: 3000, ..Synthetic::new(1.5) }).await;
    let mut client = TestClient::connect(server.addr, "live").await;
    let sizes: Vec<u32> = client
        .controls
        .iter()
        .filter_map(|(_, m)| match m {
            Message::SetChunkSize(size) => Some(*size),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [1000]);
    client.play_started("cam").await;
    client.pump(Duration::from_millis(600)).await;
    // Both decoders (the session's and the tap) split at the announced 1000 bytes: 3000-byte frames
    // come out whole only if the server really chunked at that size.
    let frames: Vec<_> = client.media(0).into_iter().filter(|m| m.video && m.payload.len() > 100).collect();
    assert!(frames.len() >= 10, "only {} frames", frames.len());
    for frame in &frames {
        let key = frame.payload[0] == 0x17;
        let index = u32::from(*frame.payload.last().unwrap());
        assert_eq!(frame.payload[..], video_frame(key, 3000, index)[..]);
    }
    assert!(client.media(0).iter().any(|m| m.payload[..] == AVC_HEADER[..]));
    publisher.await.unwrap();
}

#[tokio::test]
async fn window_ack_size_and_peer_bandwidth_are_announced() {
    let server = TestServer::start(config().window_ack_size(1_234_567).peer_bandwidth(7_654_321));
    let client = TestClient::connect(server.addr, "live").await;
    let window = client.controls.iter().find_map(|(_, m)| match m {
        Message::WindowAckSize(size) => Some(*size),
        _ => None,
    });
    let bandwidth = client.controls.iter().find_map(|(_, m)| match m {
        Message::SetPeerBandwidth { size, .. } => Some(*size),
        _ => None,
    });
    assert_eq!((window, bandwidth), (Some(1_234_567), Some(7_654_321)));
}

#[tokio::test]
async fn enhanced_rtmp_capabilities_in_the_connect_reply() {
    // (server enhanced_rtmp, client asks, reply carries the capabilities)
    for (enabled, asks, expected) in [(true, true, true), (true, false, false), (false, true, false)] {
        let server = TestServer::start(config().enhanced_rtmp(enabled));
        let mut client = TestClient::open(server.addr, None).await;
        let mut params = client.params("live");
        if asks {
            params.fourcc_list = vec!["hvc1".into(), "av01".into(), "Opus".into()];
            params.caps_ex = CapsEx(CapsEx::MULTITRACK);
        }
        let properties = client.connect_with(params).await.expect("connect");
        let list = properties.get("fourCcList");
        let caps = properties.get_number("capsEx");
        assert_eq!(
            (list.is_some(), caps.is_some()),
            (expected, expected),
            "enabled {enabled}, asks {asks}: {properties:?}"
        );
        if expected {
            let Some(Amf0Value::StrictArray(list)) = list else { panic!("{list:?}") };
            assert!(
                list.iter().any(|v| v.as_str() == Some("hvc1"))
                    && list.iter().any(|v| v.as_str() == Some("av01"))
            );
            assert_eq!(caps, Some(f64::from(rtmp_core::server::ServerConfig::default().caps_ex)));
        }
    }
}

/// Video timestamps a player sees from a publisher that starts at 50 s and jumps an hour ahead.
async fn played_timestamps(normalize: bool) -> Vec<u32> {
    let server = TestServer::start(config().normalize_timestamps(normalize));
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("cam").await;
    let spec = Synthetic { start_ts: 50_000, jump: Some((10, 3_600_000)), ..Synthetic::new(1.0) };
    let publisher = publish(server.addr, "cam", spec).await;
    client.pump(Duration::from_millis(1300)).await;
    publisher.await.unwrap();
    client.media(0).into_iter().filter(|m| m.video && m.payload[1] == 1).map(|m| m.timestamp).collect()
}

#[tokio::test]
async fn normalize_timestamps_gives_players_a_continuous_timeline() {
    let (normalized, raw) = tokio::join!(played_timestamps(true), played_timestamps(false));
    assert!(normalized.len() >= 24 && raw.len() >= 24, "{normalized:?} {raw:?}");
    assert_eq!(raw[0], 50_000);
    assert!(raw.windows(2).any(|w| w[1] - w[0] > 3_000_000), "{raw:?}");
    // The metadata came at 0 and the media at 50 s: a discontinuity, bridged with one 10 ms step.
    assert_eq!(normalized[0], 10, "{normalized:?}");
    assert!(normalized.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] <= 40), "{normalized:?}");
}

#[tokio::test]
async fn player_stall_timeout_disconnects_a_player_that_stops_reading() {
    let config = config().player_stall_timeout(Duration::from_millis(700)).socket_send_buffer(Some(8 * 1024));
    let server = TestServer::start(config);
    let publisher = publish(server.addr, "cam", Synthetic { frame_bytes: 4000, ..Synthetic::new(3.0) }).await;
    let mut stalled = TestClient::open(server.addr, Some(4096)).await;
    let params = stalled.params("live");
    stalled.connect_with(params).await.unwrap();
    let session = server.rec.session_of(stalled.local_addr).unwrap();
    stalled.play_started("cam").await;
    let stopped = Instant::now();
    let reason = server.rec.wait_disconnect(session, Duration::from_secs(3)).await;
    assert_eq!(reason, DisconnectReason::Timeout("write stall"));
    assert!(stopped.elapsed() < Duration::from_millis(2500), "disconnected after {:?}", stopped.elapsed());
    assert!(server.stream("cam").unwrap().players.is_empty());
    // The publisher went on undisturbed.
    let publisher = publisher.await.unwrap();
    assert!(!publisher.closed);
}

/// Plays a synthetic stream that starts at `start_ts` with 9000-byte frames (three chunks each):
/// (timestamps, payloads) of the video frames received.
async fn relayed(start_ts: u32) -> Vec<(u32, Vec<u8>)> {
    let server = TestServer::start(config());
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("cam").await;
    let spec = Synthetic { start_ts, frame_bytes: 9000, ..Synthetic::new(1.0) };
    let publisher = publish(server.addr, "cam", spec).await;
    client.pump(Duration::from_millis(1300)).await;
    publisher.await.unwrap();
    client
        .media(0)
        .into_iter()
        .filter(|m| m.video && m.payload[1] == 1)
        .map(|m| (m.timestamp, m.payload.to_vec()))
        .collect()
}

#[tokio::test]
async fn extended_and_wrapping_timestamps_survive_the_relay() {
    // Crossing 0xFFFFFF (24-bit field to extended timestamp), and wrapping at 2^32.
    let starts = [0x00FF_FE00u32, 0xFFFF_FE00];
    let (crossing, wrapping) = tokio::join!(relayed(starts[0]), relayed(starts[1]));
    for (start, frames) in starts.into_iter().zip([crossing, wrapping]) {
        assert!(frames.len() >= 24, "{start:#x}: {} frames", frames.len());
        for (i, (timestamp, payload)) in frames.iter().enumerate() {
            let i = i as u32;
            assert_eq!(*timestamp, start.wrapping_add(i * 40), "{start:#x}: frame {i}");
            assert!(
                *payload == video_frame(i.is_multiple_of(25), 9000, i),
                "{start:#x}: frame {i} corrupted"
            );
        }
    }
}

#[tokio::test]
async fn a_player_on_another_message_stream_gets_its_media_there() {
    let server = TestServer::start(config());
    let publisher = publish(server.addr, "cam", Synthetic { frame_bytes: 6000, ..Synthetic::new(2.0) }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Stream 1 plays something else, so `cam` is played on message stream 2: its media (the cached
    // GOP and the live frames) is chunked for that player alone.
    let mut client = TestClient::connect(server.addr, "live").await;
    assert_eq!(client.play_started("other").await, 1);
    assert_eq!(client.play_started("cam").await, 2);
    client.pump(Duration::from_millis(800)).await;
    let frames: Vec<(u32, u32, Vec<u8>)> = client
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Video { stream_id, timestamp, payload } if payload[1] == 1 => {
                Some((*stream_id, *timestamp, payload.to_vec()))
            }
            _ => None,
        })
        .collect();
    assert!(frames.len() >= 25, "{} frames", frames.len());
    assert_eq!(frames[0].1, 0, "the cached GOP starts at the first keyframe");
    for (stream_id, timestamp, payload) in &frames {
        let i = timestamp / 40;
        assert_eq!(*stream_id, 2);
        assert!(*payload == video_frame(i.is_multiple_of(25), 6000, i), "frame at {timestamp} corrupted");
    }
    publisher.await.unwrap();
}

/// Arrival bursts of a player's media: groups of messages closer than 20 ms to each other.
async fn media_bursts(config: ServerConfig) -> (usize, usize) {
    let server = TestServer::start(config);
    let publisher = publish(server.addr, "cam", Synthetic::new(2.5)).await;
    let mut client = TestClient::connect(server.addr, "live").await;
    client.play_started("cam").await;
    let from = client.media(0).len();
    client.pump(Duration::from_millis(1500)).await;
    let media = client.media(from);
    let bursts = 1 + media.windows(2).filter(|w| w[1].at - w[0].at > Duration::from_millis(20)).count();
    publisher.await.unwrap();
    (media.len(), bursts)
}

#[tokio::test]
async fn write_coalescing_batches_a_players_media() {
    let window = Some(Duration::from_millis(200));
    let ((plain_messages, plain_bursts), (merged_messages, merged_bursts)) =
        tokio::join!(media_bursts(config()), media_bursts(config().write_coalescing(window)));
    // 25 fps video + 50 audio/s: without coalescing every frame is its own write.
    assert!(plain_messages >= 90 && merged_messages >= 90, "{plain_messages} {merged_messages}");
    assert!(plain_bursts >= 25, "{plain_bursts} bursts without coalescing");
    // 1.5 s in 200 ms windows: about 8 writes.
    assert!(merged_bursts <= 10, "{merged_bursts} bursts with a 200 ms window");
}

#[tokio::test]
async fn read_coalescing_reads_a_publisher_in_bursts() {
    // The publisher sends every 40 ms (write_coalescing_batches_a_players_media: 25 or more
    // bursts in 1.5 s when each send is read as it comes). Read every 200 ms, the messages of
    // five sends reach the player together, all of them.
    let (messages, bursts) = media_bursts(config().read_coalescing(Some(Duration::from_millis(200)))).await;
    assert!(messages >= 90, "{messages} messages");
    assert!(bursts <= 10, "{bursts} bursts with reads 200 ms apart");
}

#[tokio::test]
async fn read_coalescing_delays_reads_only() {
    // A publisher whose next read waits for a tick of 10 s is still replaced at once: the
    // takeover's kick does not wait for the tick.
    let config = config().read_coalescing(Some(Duration::from_secs(10)));
    let server = TestServer::start(config.publisher_policy(PublisherPolicy::TakeOver));
    let mut first = TestClient::connect(server.addr, "live").await;
    let stream_id = first.publish("cam", Duration::from_secs(3)).await.expect("publish accepted");
    first.session().send_video(stream_id, 0, &AVC_HEADER);
    first.flush().await;
    // Read by now; the socket is empty, so the next read waits.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = TestClient::connect(server.addr, "live").await;
    second.publish("cam", Duration::from_secs(3)).await.expect("the takeover is accepted");
    let closed = first.wait_closed(Duration::from_secs(11)).await;
    assert!(closed.is_some_and(|after| after < Duration::from_secs(1)), "replaced after {closed:?}");
}

#[tokio::test]
async fn read_coalescing_does_not_slow_a_fast_publisher() {
    // Waits follow only reads that emptied the socket: a publisher sending faster than one read
    // takes is read on at once. 40 MB is far more than loopback's socket buffers hold, so the
    // server must read most of it within the time limit (with a 500 ms wait after every read, it
    // would read about 64 KiB a second).
    let server = TestServer::start(config().read_coalescing(Some(Duration::from_millis(500))));
    let mut client = TestClient::connect(server.addr, "live").await;
    let stream_id = client.publish("fast", Duration::from_secs(3)).await.expect("publish accepted");
    client.session().send_video(stream_id, 0, &AVC_HEADER);
    let frame = video_frame(true, 10_000, 0);
    for i in 0..4000 {
        client.session().send_video(stream_id, i * 40, &frame);
    }
    let before = server.handle.stats().bytes_in;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), client.flush()).await.expect("the server reads on");
    let read = loop {
        let read = server.handle.stats().bytes_in - before;
        if read >= 40_000_000 || started.elapsed() > Duration::from_secs(10) {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(read >= 40_000_000, "{read} bytes read in {:?}", started.elapsed());
}
