//! Whole sessions in memory: the OBS, ffmpeg, GStreamer and librtmp command flows.

mod util;

use bytes::Bytes;

use self::util::{Pair, Policy, ScriptedClient, connect_params};
use crate::proto::ProtocolError;
use crate::proto::amf::{Amf0Value, AmfObject};
use crate::proto::chunk::encode_shared;
use crate::proto::message::status::{self, read_info};
use crate::proto::message::{Command, DataMessage, Message, UserControl, type_id};
use crate::proto::session::{
    ClientEvent, ServerEvent, ServerSession, ServerSessionConfig, SessionError, csid,
};

fn statuses(events: &[ClientEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Status { code, .. } => Some(code.as_str()),
            _ => None,
        })
        .collect()
}

fn publishing(app: &str, name: &str) -> (Pair, u32) {
    let mut pair = Pair::connected(app);
    pair.client.publish(name, "live").unwrap();
    pair.drive();
    let stream_id = pair
        .client_events
        .iter()
        .find_map(|e| match e {
            ClientEvent::PublishStarted { stream_id } => Some(*stream_id),
            _ => None,
        })
        .expect("publish started");
    (pair, stream_id)
}

#[test]
fn connect_is_accepted_with_control_burst() {
    let pair = Pair::connected("live");
    let ServerEvent::ConnectRequested { params, .. } = &pair.server_events[1] else {
        panic!("{:?}", pair.server_events)
    };
    assert_eq!(params.app, "live");
    assert!(matches!(pair.server_events[0], ServerEvent::HandshakeComplete { .. }));
    let Some(ClientEvent::Connected { properties, info }) =
        pair.client_events.iter().find(|e| matches!(e, ClientEvent::Connected { .. }))
    else {
        panic!()
    };
    assert_eq!(info.get_str("code"), Some(status::CONNECT_SUCCESS));
    assert_eq!(properties.get_str("fmsVer"), Some("FMS/3,0,1,123"));
    assert_eq!(pair.server.app(), "live");
    assert_eq!(pair.server.chunk_size(), 4096);
}

#[test]
fn connect_reject_reaches_the_client_and_closes() {
    let mut pair = Pair::new();
    pair.policy = Policy::Manual;
    pair.client.connect(connect_params("live")).unwrap();
    pair.drive();
    let request = pair.last_request();
    pair.server.reject(request, "bad token").unwrap();
    assert!(pair.server.is_closing());
    pair.drive();
    assert!(pair.client_events.contains(&ClientEvent::ConnectRejected {
        code: status::CONNECT_REJECTED.into(),
        description: "bad token".into()
    }));
    assert_eq!(pair.server.accept(request), Err(SessionError::UnknownRequest(request)));
}

#[test]
fn obs_publish_flow_with_query_token() {
    let (pair, stream_id) = publishing("live", "cam?token=SECRET");
    let names: Vec<&str> = pair
        .server_events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::ReleaseStream { .. } => Some("releaseStream"),
            ServerEvent::FcPublish { .. } => Some("FCPublish"),
            ServerEvent::StreamCreated { .. } => Some("createStream"),
            ServerEvent::PublishRequested { .. } => Some("publish"),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["releaseStream", "FCPublish", "createStream", "publish"]);
    let Some(ServerEvent::PublishRequested { app, name, publish_type, stream_id: sid, .. }) =
        pair.server_events.iter().find(|e| matches!(e, ServerEvent::PublishRequested { .. }))
    else {
        panic!()
    };
    assert_eq!((app.as_str(), name.name.as_str(), name.param("token")), ("live", "cam", Some("SECRET")));
    assert_eq!((publish_type.as_str(), *sid), ("live", stream_id));
    assert_eq!(stream_id, 1);
    assert!(statuses(&pair.client_events).contains(&status::PUBLISH_START));
}

#[test]
fn published_media_and_metadata_reach_the_server() {
    let (mut pair, stream_id) = publishing("live", "cam");
    let metadata: AmfObject = [("width", 1280.0), ("height", 720.0)].into_iter().collect();
    pair.client.send_metadata(stream_id, &metadata);
    pair.client.send_audio(stream_id, 0, &[0xaf, 0x00, 0x12, 0x10]);
    pair.client.send_video(stream_id, 0, &[0x17, 0x00, 0, 0, 0, 1, 2, 3]);
    let big = vec![0x27u8; 10_000];
    pair.client.send_video(stream_id, 40, &big);
    pair.client.send_audio(stream_id, 23, &[0xaf, 0x01, 9]);
    pair.drive();
    let media: Vec<_> = pair
        .server_events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Audio { timestamp, payload, .. } => Some(("audio", *timestamp, payload.len())),
            ServerEvent::Video { timestamp, payload, .. } => Some(("video", *timestamp, payload.len())),
            ServerEvent::Metadata { metadata, payload, .. } => {
                assert_eq!(metadata.get_number("width"), Some(1280.0));
                let data = DataMessage::decode(payload, &Default::default()).unwrap();
                assert_eq!(data.name, "onMetaData");
                Some(("meta", 0, 0))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        media,
        [("meta", 0, 0), ("audio", 0, 4), ("video", 0, 8), ("video", 40, 10_000), ("audio", 23, 3)]
    );
}

#[test]
fn rejected_publish_gets_denied_and_media_is_dropped() {
    let mut pair = Pair::connected("live");
    pair.policy = Policy::Manual;
    pair.client.publish("cam", "live").unwrap();
    pair.drive();
    pair.server.reject(pair.last_request(), "no key").unwrap();
    pair.drive();
    let Some(ClientEvent::Status { level, code, description, .. }) =
        pair.client_events.iter().rev().find(|e| matches!(e, ClientEvent::Status { .. }))
    else {
        panic!()
    };
    assert_eq!(
        (level.as_str(), code.as_str(), description.as_str()),
        ("error", status::PUBLISH_DENIED, "no key")
    );
    pair.client.send_video(1, 0, &[0x17, 1]);
    pair.drive();
    assert!(!pair.server_events.iter().any(|e| matches!(e, ServerEvent::Video { .. })));
}

#[test]
fn duplicate_publisher_can_be_told_bad_name() {
    let mut pair = Pair::connected("live");
    pair.policy = Policy::Manual;
    pair.client.publish("cam", "live").unwrap();
    pair.drive();
    pair.server
        .reject_with_code(pair.last_request(), status::PUBLISH_BAD_NAME, "Already publishing")
        .unwrap();
    pair.drive();
    assert!(statuses(&pair.client_events).contains(&status::PUBLISH_BAD_NAME));
}

#[test]
fn play_flow_and_shared_media_delivery() {
    let mut pair = Pair::connected("live");
    pair.client.play("cam").unwrap();
    pair.drive();
    let Some(ServerEvent::PlayRequested { stream_id, name, start, reset, .. }) =
        pair.server_events.iter().find(|e| matches!(e, ServerEvent::PlayRequested { .. })).cloned()
    else {
        panic!()
    };
    assert_eq!((name.name.as_str(), start, reset), ("cam", -2.0, true));
    assert!(pair.client_events.contains(&ClientEvent::StreamBegin { stream_id }));
    assert!(pair.client_events.contains(&ClientEvent::PlayStarted { stream_id }));
    assert_eq!(
        statuses(&pair.client_events),
        [status::CONNECT_SUCCESS, status::PLAY_RESET, status::PLAY_START, status::DATA_START]
            .into_iter()
            .filter(|c| *c != status::CONNECT_SUCCESS)
            .collect::<Vec<_>>()
    );
    // The server layer chunks media once and writes the same bytes to every player.
    let chunk_size = pair.server.chunk_size();
    let frame = vec![0x17u8; 9000];
    let shared = encode_shared(csid::VIDEO, 1234, type_id::VIDEO, stream_id, &frame, chunk_size);
    pair.deliver_shared(&shared);
    pair.deliver_shared(&encode_shared(
        csid::AUDIO,
        1240,
        type_id::AUDIO,
        stream_id,
        &[0xaf, 1, 2],
        chunk_size,
    ));
    pair.deliver_shared(&shared);
    let media: Vec<_> = pair
        .client_events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Video { timestamp, payload, .. } => Some((9, *timestamp, payload.len())),
            ClientEvent::Audio { timestamp, payload, .. } => Some((8, *timestamp, payload.len())),
            _ => None,
        })
        .collect();
    assert_eq!(media, [(9, 1234, 9000), (8, 1240, 3), (9, 1234, 9000)]);
}

#[test]
fn rejected_play_reports_the_code() {
    let mut pair = Pair::connected("live");
    pair.policy = Policy::Manual;
    pair.client.play("nothing").unwrap();
    pair.drive();
    pair.server
        .reject_with_code(pair.last_request(), status::PLAY_STREAM_NOT_FOUND, "No such stream")
        .unwrap();
    pair.drive();
    assert!(statuses(&pair.client_events).contains(&status::PLAY_STREAM_NOT_FOUND));
    assert!(!pair.client_events.iter().any(|e| matches!(e, ClientEvent::PlayStarted { .. })));
}

#[test]
fn slow_decisions_keep_requests_pending_in_any_order() {
    let mut pair = Pair::connected("live");
    pair.policy = Policy::Manual;
    pair.client.play("a").unwrap();
    pair.client.play("b").unwrap();
    pair.drive();
    let requests: Vec<_> = pair.server_events.iter().filter_map(util::request_of).collect();
    assert_eq!(requests.len(), 3); // connect + two plays
    pair.server.accept(requests[2]).unwrap();
    pair.server.reject(requests[1], "later").unwrap();
    pair.drive();
    let started: Vec<u32> = pair
        .client_events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::PlayStarted { stream_id } => Some(*stream_id),
            _ => None,
        })
        .collect();
    assert_eq!(started, [2]);
}

#[test]
fn unpublish_by_fc_unpublish_and_delete_stream() {
    let (mut pair, stream_id) = publishing("live", "cam");
    pair.client.unpublish(stream_id, "cam");
    pair.drive();
    let finished =
        pair.server_events.iter().filter(|e| matches!(e, ServerEvent::PublishFinished { .. })).count();
    assert_eq!(finished, 1);
    assert!(pair.server_events.iter().any(|e| matches!(e, ServerEvent::FcUnpublish { .. })));
}

#[test]
fn delete_stream_ends_playback() {
    let mut pair = Pair::connected("live");
    pair.client.play("cam").unwrap();
    pair.drive();
    pair.client.delete_stream(1);
    pair.drive();
    assert!(pair.server_events.iter().any(|e| matches!(e, ServerEvent::PlayFinished { stream_id: 1, .. })));
}

#[test]
fn ping_is_answered_both_ways() {
    let mut pair = Pair::connected("live");
    pair.server.send_user_control(UserControl::PingRequest(0x502e));
    pair.drive();
    assert!(pair.server_events.contains(&ServerEvent::PingResponse { timestamp: 0x502e }));
    pair.client.ping(77);
    pair.drive(); // the server answers; nothing to assert beyond no error
}

#[test]
fn create_stream_limit_is_enforced() {
    let mut pair =
        Pair::with_configs(Default::default(), ServerSessionConfig { max_streams: 1, ..Default::default() });
    pair.client.connect(connect_params("live")).unwrap();
    pair.client.play("a").unwrap();
    pair.client.play("b").unwrap();
    pair.drive();
    let created =
        pair.client_events.iter().filter(|e| matches!(e, ClientEvent::StreamCreated { .. })).count();
    assert_eq!(created, 1);
    assert!(pair.client_events.iter().any(|e| matches!(e, ClientEvent::CallResult { success: false, .. })));
}

#[test]
fn byte_at_a_time_delivery_gives_the_same_session() {
    let mut whole = Pair::connected("live");
    whole.client.publish("cam", "live").unwrap();
    whole.drive();
    let mut slow = Pair::new();
    slow.fragment = 1;
    slow.client.connect(connect_params("live")).unwrap();
    slow.client.publish("cam", "live").unwrap();
    slow.drive();
    assert_eq!(slow.client_events, whole.client_events);
    assert_eq!(slow.server_events.len(), whole.server_events.len());
}

#[test]
fn timestamp_normalisation_when_enabled() {
    let mut pair = Pair::with_configs(
        Default::default(),
        ServerSessionConfig { normalize_timestamps: true, ..Default::default() },
    );
    pair.client.connect(connect_params("live")).unwrap();
    pair.client.publish("cam", "live").unwrap();
    pair.drive();
    for ts in [5000u32, 5040, 0, 40] {
        pair.client.send_video(1, ts, &[0x27, 1]);
    }
    pair.drive();
    let times: Vec<u32> = pair
        .server_events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Video { timestamp, .. } => Some(*timestamp),
            _ => None,
        })
        .collect();
    assert_eq!(times, [0, 40, 50, 90]);
}

#[test]
fn pause_and_media_selection() {
    let mut pair = Pair::connected("live");
    pair.client.play("cam").unwrap();
    pair.drive();
    let mut script = Vec::new();
    for (name, args) in [
        ("pause", vec![Amf0Value::Boolean(true), 1500.0.into()]),
        ("pause", vec![Amf0Value::Boolean(false), 1500.0.into()]),
        ("receiveVideo", vec![Amf0Value::Boolean(false)]),
    ] {
        script.push(Command::new(name, 0.0, args));
    }
    for command in script {
        let bytes = {
            let (t, body) = Message::Command(command).encode();
            let mut out = bytes::BytesMut::new();
            crate::proto::chunk::ChunkEncoder::new().write(8, 0, t, 1, &body, &mut out);
            out
        };
        pair.server.handle_input(&bytes).unwrap();
    }
    pair.drive();
    assert!(pair.server_events.contains(&ServerEvent::Paused {
        stream_id: 1,
        paused: true,
        position_ms: 1500.0
    }));
    assert!(pair.server_events.contains(&ServerEvent::Paused {
        stream_id: 1,
        paused: false,
        position_ms: 1500.0
    }));
    assert!(pair.server_events.contains(&ServerEvent::MediaSelection {
        stream_id: 1,
        audio: None,
        video: Some(false)
    }));
    let codes = statuses(&pair.client_events);
    assert!(codes.contains(&status::PAUSE_NOTIFY) && codes.contains(&status::UNPAUSE_NOTIFY));
}

#[test]
fn shutdown_notifies_publishers() {
    let (mut pair, _) = publishing("live", "cam");
    pair.server.send_shutdown();
    pair.drive();
    let codes = statuses(&pair.client_events);
    assert!(codes.contains(&status::UNPUBLISH_SUCCESS) && codes.contains(&status::CONNECT_APP_SHUTDOWN));
    assert!(pair.server.is_closing());
}

#[test]
fn reconnect_request_reaches_the_client() {
    let mut pair = Pair::connected("live");
    pair.server.send_status(0, status::CONNECT_RECONNECT_REQUEST, "please reconnect");
    pair.drive();
    assert!(pair.client_events.contains(&ClientEvent::ReconnectRequested { tc_url: None }));
    pair.server.request_reconnect(Some("rtmp://other:1935/live"));
    pair.drive();
    assert!(
        pair.client_events
            .contains(&ClientEvent::ReconnectRequested { tc_url: Some("rtmp://other:1935/live".into()) })
    );
}

#[test]
fn enhanced_client_gets_capabilities_in_the_connect_reply() {
    let mut pair = Pair::new();
    let mut params = connect_params("live");
    params.fourcc_list = vec!["hvc1".into(), "av01".into()];
    params.caps_ex = crate::proto::message::CapsEx(crate::proto::message::CapsEx::MULTITRACK);
    pair.client.connect(params).unwrap();
    pair.drive();
    let Some(ServerEvent::ConnectRequested { params, .. }) = pair.server_events.get(1) else { panic!() };
    assert!(params.is_enhanced());
    let Some(ClientEvent::Connected { properties, .. }) =
        pair.client_events.iter().find(|e| matches!(e, ClientEvent::Connected { .. }))
    else {
        panic!()
    };
    let Some(Amf0Value::StrictArray(list)) = properties.get("fourCcList") else { panic!("{properties:?}") };
    assert!(list.contains(&Amf0Value::from("hvc1")));
    assert!(properties.get_number("capsEx").is_some());
}

#[test]
fn legacy_client_gets_no_capabilities() {
    let pair = Pair::connected("live");
    let Some(ClientEvent::Connected { properties, .. }) =
        pair.client_events.iter().find(|e| matches!(e, ClientEvent::Connected { .. }))
    else {
        panic!()
    };
    assert!(properties.get("fourCcList").is_none());
}

fn scripted_server() -> (ServerSession, ScriptedClient) {
    let mut server = ServerSession::new(ServerSessionConfig::default(), 0, &util::random(3));
    let client = ScriptedClient::handshake(&mut server);
    assert!(matches!(server.poll_event(), Some(ServerEvent::HandshakeComplete { .. })));
    (server, client)
}

fn connect_command(app: &str) -> Command {
    connect_params(app).to_command(1.0)
}

#[test]
fn publish_before_connect_is_refused() {
    let (mut server, mut client) = scripted_server();
    let bytes = client.command(1, Command::new("publish", 5.0, vec!["cam".into()]));
    let err = server.handle_input(&bytes).unwrap_err();
    assert!(
        matches!(err, ProtocolError::Session(SessionError::CommandBeforeConnect(ref n)) if n == "publish"),
        "{err}"
    );
}

#[test]
fn play_before_create_stream_is_refused() {
    let (mut server, mut client) = scripted_server();
    let connect = client.command(0, connect_command("live"));
    server.handle_input(&connect).unwrap();
    let Some(ServerEvent::ConnectRequested { request, .. }) = server.poll_event() else { panic!() };
    server.accept(request).unwrap();
    let play = client.command(1, Command::new("play", 0.0, vec!["cam".into()]));
    let err = server.handle_input(&play).unwrap_err();
    assert!(matches!(err, ProtocolError::Session(SessionError::UnknownStream { stream_id: 1, .. })), "{err}");
}

#[test]
fn second_connect_is_refused() {
    let (mut server, mut client) = scripted_server();
    let connect = client.command(0, connect_command("live"));
    server.handle_input(&connect).unwrap();
    let again = client.command(0, connect_command("live"));
    assert!(matches!(
        server.handle_input(&again),
        Err(ProtocolError::Session(SessionError::DuplicateConnect))
    ));
}

#[test]
fn unknown_command_gets_error_and_connection_stays() {
    let (mut server, mut client) = scripted_server();
    server.handle_input(&client.command(0, connect_command("live"))).unwrap();
    let Some(ServerEvent::ConnectRequested { request, .. }) = server.poll_event() else { panic!() };
    server.accept(request).unwrap();
    client.read(&mut server);
    server.handle_input(&client.command(0, Command::new("getFancyThing", 7.0, vec![]))).unwrap();
    assert_eq!(server.poll_event(), Some(ServerEvent::UnknownCommand { name: "getFancyThing".into() }));
    let replies = client.read(&mut server);
    let Message::Command(reply) = &replies.last().unwrap().1 else { panic!() };
    assert_eq!((reply.name.as_str(), reply.transaction_id), ("_error", 7.0));
    assert_eq!(read_info(reply).unwrap().1, status::CALL_FAILED);
    // createStream still works.
    server.handle_input(&client.command(0, Command::new("createStream", 8.0, vec![]))).unwrap();
    assert_eq!(server.poll_event(), Some(ServerEvent::StreamCreated { stream_id: 1 }));
}

#[test]
fn connect_reply_burst_order() {
    let (mut server, mut client) = scripted_server();
    server.handle_input(&client.command(0, connect_command("live"))).unwrap();
    let Some(ServerEvent::ConnectRequested { request, .. }) = server.poll_event() else { panic!() };
    server.accept(request).unwrap();
    let replies: Vec<Message> = client.read(&mut server).into_iter().map(|(_, m)| m).collect();
    assert_eq!(replies[0], Message::WindowAckSize(2_500_000));
    assert!(matches!(replies[1], Message::SetPeerBandwidth { size: 2_500_000, .. }));
    assert_eq!(replies[2], Message::SetChunkSize(4096));
    let Message::Command(result) = &replies[3] else { panic!() };
    assert_eq!((result.name.as_str(), result.transaction_id), ("_result", 1.0));
    // One burst: a single transmit holds everything.
    assert!(server.poll_transmit().is_none());
}

#[test]
fn obs_empty_app_takes_app_from_the_key() {
    let (mut server, mut client) = scripted_server();
    server.handle_input(&client.command(0, connect_command(""))).unwrap();
    let Some(ServerEvent::ConnectRequested { request, .. }) = server.poll_event() else { panic!() };
    server.accept(request).unwrap();
    server.handle_input(&client.command(0, Command::new("createStream", 2.0, vec![]))).unwrap();
    server.poll_event();
    server
        .handle_input(
            &client.command(1, Command::new("publish", 3.0, vec!["live/cam?k=1".into(), "live".into()])),
        )
        .unwrap();
    let Some(ServerEvent::PublishRequested { app, name, .. }) = server.poll_event() else { panic!() };
    assert_eq!((app.as_str(), name.name.as_str(), name.param("k")), ("live", "cam", Some("1")));
}

#[test]
fn ffmpeg_play_connect_and_gstreamer_delete_stream_by_name() {
    // ffmpeg's play connect object (vector 15), then GStreamer's deleteStream with a name.
    let (mut server, mut client) = scripted_server();
    let object: AmfObject = [
        ("app", Amf0Value::from("vod")),
        ("flashVer", "LNX 9,0,124,2".into()),
        ("tcUrl", "rtmp://184.72.239.149:1935/vod".into()),
        ("fpad", false.into()),
        ("capabilities", 15.0.into()),
        ("audioCodecs", 4071.0.into()),
        ("videoCodecs", 252.0.into()),
        ("videoFunction", 1.0.into()),
    ]
    .into_iter()
    .collect();
    let connect = Command {
        name: "connect".into(),
        transaction_id: 1.0,
        command_object: object.into(),
        arguments: vec![],
    };
    server.handle_input(&client.command(0, connect)).unwrap();
    let Some(ServerEvent::ConnectRequested { request, params }) = server.poll_event() else { panic!() };
    assert_eq!((params.app.as_str(), params.flash_ver.as_deref()), ("vod", Some("LNX 9,0,124,2")));
    server.accept(request).unwrap();
    server.handle_input(&client.command(0, Command::new("createStream", 2.0, vec![]))).unwrap();
    server
        .handle_input(&client.command(1, Command::new("play", 3.0, vec!["cam".into(), (-2000.0).into()])))
        .unwrap();
    server.poll_event();
    let Some(ServerEvent::PlayRequested { request, start, .. }) = server.poll_event() else { panic!() };
    assert_eq!(start, -2000.0);
    server.accept(request).unwrap();
    server.handle_input(&client.command(0, Command::new("deleteStream", 4.0, vec!["cam".into()]))).unwrap();
    // A name instead of an id: the stream the command arrived on (0) is not playing, so nothing ends;
    // the connection survives either way.
    assert!(server.handle_input(&client.command(0, Command::new("createStream", 5.0, vec![]))).is_ok());
}

#[test]
fn aggregate_messages_are_split_into_media() {
    let (mut pair, stream_id) = publishing("live", "cam");
    let mut body = Vec::new();
    for (t, ts, payload) in [(9u8, 100u32, vec![0x17u8, 1, 0, 0, 0]), (8, 110, vec![0xaf, 1, 5])] {
        body.push(t);
        body.extend(&(payload.len() as u32).to_be_bytes()[1..]);
        body.extend(&ts.to_be_bytes()[1..]);
        body.push(0);
        body.extend([0, 0, 0]);
        body.extend(&payload);
        body.extend((11 + payload.len() as u32).to_be_bytes());
    }
    let mut out = bytes::BytesMut::new();
    crate::proto::chunk::ChunkEncoder::new().write(9, 100, type_id::AGGREGATE, stream_id, &body, &mut out);
    pair.server.handle_input(&out).unwrap();
    pair.drive();
    let media: Vec<_> = pair
        .server_events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Video { timestamp, .. } => Some((9, *timestamp)),
            ServerEvent::Audio { timestamp, .. } => Some((8, *timestamp)),
            _ => None,
        })
        .collect();
    assert_eq!(media, [(9, 100), (8, 110)]);
}

#[test]
fn text_data_is_forwarded_not_cached_as_metadata() {
    let (mut pair, stream_id) = publishing("live", "cam");
    let text = DataMessage {
        name: "onTextData".into(),
        values: vec![Amf0Value::Object([("text", "hi")].into_iter().collect())],
    };
    pair.client.send_data(stream_id, 500, &text);
    pair.drive();
    let Some(ServerEvent::Data { data, payload, timestamp, .. }) =
        pair.server_events.iter().find(|e| matches!(e, ServerEvent::Data { .. }))
    else {
        panic!()
    };
    assert_eq!((data, *timestamp), (&text, 500));
    assert_eq!(payload, &text.encode());
}

#[test]
fn client_acknowledges_the_server_window() {
    let mut pair = Pair::with_configs(
        Default::default(),
        ServerSessionConfig { window_ack_size: 5000, ..Default::default() },
    );
    pair.client.connect(connect_params("live")).unwrap();
    pair.client.play("cam").unwrap();
    pair.drive();
    let shared = encode_shared(csid::VIDEO, 0, type_id::VIDEO, 1, &[0x27; 6000], pair.server.chunk_size());
    pair.client.handle_input(&shared).unwrap();
    let sent = pair.client.poll_transmit().expect("an acknowledgement");
    let mut decoder = crate::proto::chunk::ChunkDecoder::new(Default::default());
    decoder.push(&sent);
    let raw = decoder.next_message().unwrap().unwrap();
    let Message::Acknowledgement { sequence } =
        Message::decode(raw.type_id, raw.payload, &Default::default()).unwrap()
    else {
        panic!()
    };
    assert!(sequence >= 5000);
}

#[test]
fn payloads_are_shared_not_copied() {
    let (mut pair, stream_id) = publishing("live", "cam");
    pair.client.send_video(stream_id, 0, &[0x17, 1, 0, 0, 0, 9, 9]);
    let bytes = pair.client.poll_transmit().unwrap();
    pair.server.handle_input(&bytes).unwrap();
    let event =
        std::iter::from_fn(|| pair.server.poll_event()).find(|e| matches!(e, ServerEvent::Video { .. }));
    let Some(ServerEvent::Video { payload, .. }) = event else { panic!() };
    assert_eq!(payload, Bytes::from_static(&[0x17, 1, 0, 0, 0, 9, 9]));
}

#[test]
fn metadata_with_amf_references_is_relayed_as_received_not_expanded() {
    // Found by the `command` fuzz target: a few kB of @setDataFrame whose AMF3 (avmplus) value
    // references one long string hundreds of times decodes, within the AMF budget, to megabytes;
    // re-encoding that for the players would have cached and sent every copy.
    fn u29(value: u32, out: &mut Vec<u8>) {
        match value {
            0..0x80 => out.push(value as u8),
            0x80..0x4000 => out.extend([0x80 | (value >> 7) as u8, (value & 0x7f) as u8]),
            _ => out.extend([
                0x80 | (value >> 14) as u8,
                0x80 | ((value >> 7) & 0x7f) as u8,
                (value & 0x7f) as u8,
            ]),
        }
    }
    let (mut pair, stream_id) = publishing("live", "cam");
    let mut payload = Vec::new();
    for text in ["@setDataFrame", "onMetaData"] {
        payload.push(0x02);
        payload.extend((text.len() as u16).to_be_bytes());
        payload.extend(text.as_bytes());
    }
    payload.extend([0x08, 0, 0, 0, 1, 0, 3]); // ECMA array of one entry, "big":
    payload.extend(b"big");
    payload.extend([0x11, 0x09]); // avmplus: an AMF3 array
    u29(500 << 1 | 1, &mut payload); // of 500 dense values
    payload.push(0x01); // (no associative part)
    payload.push(0x06); // the first a 20,000-byte string
    u29(20_000 << 1 | 1, &mut payload);
    payload.extend(std::iter::repeat_n(b'x', 20_000));
    for _ in 1..500 {
        payload.extend([0x06, 0x00]); // the others references to it
    }
    payload.extend([0, 0, 0x09]);
    let input_len = payload.len();
    let chunked = encode_shared(csid::DATA, 0, type_id::DATA_AMF0, stream_id, &payload, 4096);
    pair.server.handle_input(&chunked).unwrap();
    pair.drive();
    let Some(ServerEvent::Metadata { metadata, payload, .. }) =
        pair.server_events.iter().find(|e| matches!(e, ServerEvent::Metadata { .. }))
    else {
        panic!("no metadata event")
    };
    assert!(metadata.get("big").is_some(), "decoded for the handler");
    assert!(payload.len() < input_len, "relayed {} bytes for {input_len} received", payload.len());
    let relayed = DataMessage::decode(payload, &Default::default()).unwrap();
    assert_eq!(relayed.name, "onMetaData");
}
