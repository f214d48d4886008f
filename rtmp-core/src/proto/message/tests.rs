use bytes::{Bytes, BytesMut};

use super::*;
use crate::proto::amf::{Amf0Value, AmfObject};
use crate::proto::chunk::{ChunkDecoder, ChunkEncoder, ChunkLimits};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The chunked bytes of `message` as the first message on `csid`.
fn chunked(csid: u32, stream_id: u32, message: &Message) -> Vec<u8> {
    let (type_id, body) = message.encode();
    let mut out = BytesMut::new();
    ChunkEncoder::new().write(csid, 0, type_id, stream_id, &body, &mut out);
    out.to_vec()
}

/// Decodes one chunked message.
fn parse(bytes: &[u8]) -> Message {
    let mut d = ChunkDecoder::new(ChunkLimits::default());
    d.push(bytes);
    let raw = d.next_message().unwrap().unwrap();
    Message::decode(raw.type_id, raw.payload, &Default::default()).unwrap()
}

fn roundtrip_vector(message: Message, vector: &str) {
    let bytes = hex(vector);
    assert_eq!(chunked(2, 0, &message), bytes, "{message:?}");
    assert_eq!(parse(&bytes), message);
}

#[test]
fn protocol_control_vectors() {
    roundtrip_vector(Message::SetChunkSize(4096), "02 00 00 00 00 00 04 01 00 00 00 00 00 00 10 00");
    roundtrip_vector(Message::WindowAckSize(2_500_000), "02 00 00 00 00 00 04 05 00 00 00 00 00 26 25 a0");
    roundtrip_vector(
        Message::SetPeerBandwidth { size: 2_500_000, limit: BandwidthLimit::Dynamic },
        "02 00 00 00 00 00 05 06 00 00 00 00 00 26 25 a0 02",
    );
    roundtrip_vector(Message::Abort { csid: 4 }, "02 00 00 00 00 00 04 02 00 00 00 00 00 00 00 04");
    roundtrip_vector(
        Message::Acknowledgement { sequence: 1_000_000 },
        "02 00 00 00 00 00 04 03 00 00 00 00 00 0f 42 40",
    );
}

#[test]
fn user_control_vectors() {
    roundtrip_vector(
        Message::UserControl(UserControl::PingRequest(0x502e)),
        "02 00 00 00 00 00 06 04 00 00 00 00 00 06 00 00 50 2e",
    );
    roundtrip_vector(
        Message::UserControl(UserControl::PingResponse(0x502e)),
        "02 00 00 00 00 00 06 04 00 00 00 00 00 07 00 00 50 2e",
    );
    roundtrip_vector(
        Message::UserControl(UserControl::StreamBegin(1)),
        "02 00 00 00 00 00 06 04 00 00 00 00 00 00 00 00 00 01",
    );
    roundtrip_vector(
        Message::UserControl(UserControl::SetBufferLength { stream_id: 1, buffer_ms: 3000 }),
        "02 00 00 00 00 00 0a 04 00 00 00 00 00 03 00 00 00 01 00 00 0b b8",
    );
}

#[test]
fn every_user_control_event_round_trips() {
    let events = [
        UserControl::StreamBegin(7),
        UserControl::StreamEof(7),
        UserControl::StreamDry(7),
        UserControl::SetBufferLength { stream_id: 7, buffer_ms: 100 },
        UserControl::StreamIsRecorded(7),
        UserControl::PingRequest(9),
        UserControl::PingResponse(9),
        UserControl::SwfVerifyRequest,
        UserControl::SwfVerifyResponse(Bytes::from_static(&[1, 1, 0, 0])),
        UserControl::BufferEmpty(7),
        UserControl::BufferReady(7),
        UserControl::Unknown { event: 99, data: Bytes::from_static(&[5]) },
    ];
    for event in events {
        assert_eq!(UserControl::decode(&event.encode()).unwrap(), event);
    }
    assert!(UserControl::decode(&Bytes::from_static(&[0, 0, 0])).is_err());
    assert!(UserControl::decode(&Bytes::from_static(&[0])).is_err());
}

#[test]
fn truncated_control_bodies_are_errors() {
    for type_id in [1u8, 2, 3, 5, 6] {
        assert_eq!(
            Message::decode(type_id, Bytes::from_static(&[0, 0]), &Default::default()),
            Err(MessageError::Truncated { type_id })
        );
    }
    // Set Peer Bandwidth without its limit byte reads as dynamic.
    assert_eq!(
        Message::decode(6, Bytes::from_static(&[0, 0, 0, 1]), &Default::default()),
        Ok(Message::SetPeerBandwidth { size: 1, limit: BandwidthLimit::Dynamic })
    );
}

#[test]
fn create_stream_and_its_result() {
    let create = hex("02 00 0c 63 72 65 61 74 65 53 74 72 65 61 6d 00 40 00 00 00 00 00 00 00 05");
    let cmd = Command::decode(&create, &Default::default()).unwrap();
    assert_eq!((cmd.name.as_str(), cmd.transaction_id), ("createStream", 2.0));
    assert_eq!(cmd.command_object, Amf0Value::Null);
    assert_eq!(cmd.encode().as_ref(), create);
    let result = Command::new("_result", 2.0, vec![1.0.into()]);
    assert_eq!(
        result.encode().as_ref(),
        hex("02 00 07 5f 72 65 73 75 6c 74 00 40 00 00 00 00 00 00 00 05 00 3f f0 00 00 00 00 00 00")
    );
}

#[test]
fn publish_command() {
    let mut bytes = hex("02 00 07");
    bytes.extend(b"publish");
    bytes.extend(hex("00 40 14 00 00 00 00 00 00 05 02 00 03"));
    bytes.extend(b"cam");
    bytes.extend(hex("02 00 04 6c 69 76 65"));
    let cmd = Command::decode(&bytes, &Default::default()).unwrap();
    assert_eq!(cmd.name, "publish");
    assert_eq!(cmd.transaction_id, 5.0);
    assert_eq!((cmd.arg_str(0), cmd.arg_str(1)), (Some("cam"), Some("live")));
    assert_eq!(cmd.encode().as_ref(), bytes);
}

#[test]
fn on_status_publish_start_nginx_shape() {
    let expected = "05 00 00 00 00 00 69 14 01 00 00 00 02 00 08 6f 6e 53 74 61 74 75 73 00 00 00 00 00 00 00 00 00 \
        05 03 00 05 6c 65 76 65 6c 02 00 06 73 74 61 74 75 73 00 04 63 6f 64 65 02 00 17 4e 65 74 53 74 72 65 61 6d \
        2e 50 75 62 6c 69 73 68 2e 53 74 61 72 74 00 0b 64 65 73 63 72 69 70 74 69 6f 6e 02 00 10 53 74 61 72 74 20 \
        70 75 62 6c 69 73 68 69 6e 67 00 00 09";
    let message = Message::Command(status::on_status(status::PUBLISH_START, "Start publishing"));
    assert_eq!(chunked(5, 1, &message), hex(expected));
    let Message::Command(cmd) = parse(&hex(expected)) else { panic!() };
    assert_eq!(status::read_info(&cmd), Some(("status", status::PUBLISH_START, "Start publishing")));
}

#[test]
fn status_levels() {
    assert_eq!(status::StatusLevel::for_code(status::PUBLISH_BAD_NAME), status::StatusLevel::Error);
    assert_eq!(status::StatusLevel::for_code(status::PLAY_START), status::StatusLevel::Status);
    let cmd = status::on_status(status::PLAY_STREAM_NOT_FOUND, "no");
    assert_eq!(status::read_info(&cmd).unwrap().0, "error");
}

#[test]
fn set_data_frame_metadata() {
    let bytes = hex(
        "02 00 0d 40 73 65 74 44 61 74 61 46 72 61 6d 65 02 00 0a 6f 6e 4d 65 74 61 44 61 74 61 08 00 00 00 02 \
         00 05 77 69 64 74 68 00 40 94 00 00 00 00 00 00 00 06 68 65 69 67 68 74 00 40 86 80 00 00 00 00 00 00 00 09",
    );
    let data = DataMessage::decode(&bytes, &Default::default()).unwrap();
    assert_eq!(data.name, "@setDataFrame");
    assert_eq!(data.encode().as_ref(), bytes);
    let meta = data.without_set_data_frame();
    assert_eq!(meta.name, "onMetaData");
    let object = meta.metadata().unwrap();
    assert_eq!((object.get_number("width"), object.get_number("height")), (Some(1280.0), Some(720.0)));
}

#[test]
fn data_without_wrapper_is_unchanged() {
    let data = DataMessage { name: "onTextData".into(), values: vec![Amf0Value::from("hi")] };
    assert_eq!(data.clone().without_set_data_frame(), data);
    assert!(data.metadata().is_none());
    assert_eq!(DataMessage::decode(&[], &Default::default()), Err(MessageError::MissingName));
}

#[test]
fn amf3_command_skips_the_format_byte() {
    let body = Command::new("play", 4.0, vec!["cam".into()]).encode();
    let mut amf3 = vec![0u8];
    amf3.extend_from_slice(&body);
    let Message::Command(cmd) = Message::decode(17, Bytes::from(amf3), &Default::default()).unwrap() else {
        panic!()
    };
    assert_eq!((cmd.name.as_str(), cmd.arg_str(0)), ("play", Some("cam")));
    let Message::Data(data) = Message::decode(
        15,
        {
            let mut b = vec![0u8];
            b.extend_from_slice(&DataMessage { name: "onCuePoint".into(), values: vec![] }.encode());
            Bytes::from(b)
        },
        &Default::default(),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(data.name, "onCuePoint");
}

#[test]
fn command_without_name_is_an_error() {
    assert_eq!(
        Command::decode(&hex("00 3f f0 00 00 00 00 00 00"), &Default::default()),
        Err(MessageError::MissingName)
    );
    assert_eq!(Command::decode(&[], &Default::default()), Err(MessageError::MissingName));
    assert!(matches!(Command::decode(&hex("02 00 05 61"), &Default::default()), Err(MessageError::Amf(_))));
}

#[test]
fn command_with_only_a_name_reads_leniently() {
    let cmd = Command::decode(&hex("02 00 03 66 6f 6f"), &Default::default()).unwrap();
    assert_eq!(
        (cmd.name.as_str(), cmd.transaction_id, cmd.command_object.clone()),
        ("foo", 0.0, Amf0Value::Null)
    );
}

fn obs_connect() -> Command {
    let url = "rtmp://127.0.0.1:1935/live";
    let object: AmfObject = [
        ("app", Amf0Value::from("live")),
        ("type", "nonprivate".into()),
        ("flashVer", "FMLE/3.0 (compatible; FMSc/1.0)".into()),
        ("swfUrl", url.into()),
        ("tcUrl", url.into()),
    ]
    .into_iter()
    .collect();
    Command {
        name: "connect".into(),
        transaction_id: 1.0,
        command_object: Amf0Value::Object(object),
        arguments: vec![],
    }
}

#[test]
fn obs_connect_is_171_bytes_in_two_chunks() {
    let body = obs_connect().encode();
    assert_eq!(body.len(), 171);
    let bytes = chunked(3, 0, &Message::Command(obs_connect()));
    let mut expected = hex("03 00 00 00 00 00 ab 14 00 00 00 00");
    expected.extend(&body[..128]);
    expected.push(0xc3);
    expected.extend(&body[128..]);
    assert_eq!(bytes, expected);
    let Message::Command(cmd) = parse(&bytes) else { panic!() };
    let params = ConnectParams::from_command(&cmd);
    assert_eq!(params.app, "live");
    assert_eq!(params.flash_ver.as_deref(), Some("FMLE/3.0 (compatible; FMSc/1.0)"));
    assert!(!params.is_enhanced());
}

#[test]
fn connect_params_query_and_app_normalisation() {
    let with = |app: &str, tc_url: &str| {
        let mut cmd = obs_connect();
        if let Amf0Value::Object(o) = &mut cmd.command_object {
            o.insert("app", app);
            o.insert("tcUrl", tc_url);
        }
        ConnectParams::from_command(&cmd)
    };
    let params = with("live/?token=a%20b&x", "rtmp://h/live/?token=a%20b&x");
    assert_eq!(params.app, "live");
    assert_eq!(params.param("token"), Some("a b"));
    assert_eq!(params.param("x"), Some(""));
    let params = with("live", "rtmp://h/live?key=1");
    assert_eq!(params.param("key"), Some("1"));
}

#[test]
fn connect_params_enhanced_properties_round_trip() {
    let params = ConnectParams {
        app: "live".into(),
        tc_url: Some("rtmp://h/live".into()),
        fourcc_list: vec!["hvc1".into(), "av01".into(), "Opus".into()],
        video_fourcc_info_map: vec![(
            "hvc1".into(),
            FourCcInfo(FourCcInfo::CAN_DECODE | FourCcInfo::CAN_FORWARD),
        )],
        audio_fourcc_info_map: vec![("*".into(), FourCcInfo(FourCcInfo::CAN_FORWARD))],
        caps_ex: CapsEx(CapsEx::MULTITRACK | CapsEx::MODEX),
        ..Default::default()
    };
    let cmd = params.to_command(1.0);
    let body = cmd.encode();
    let decoded = ConnectParams::from_command(&Command::decode(&body, &Default::default()).unwrap());
    assert_eq!(decoded.fourcc_list, params.fourcc_list);
    assert_eq!(decoded.video_fourcc_info_map, params.video_fourcc_info_map);
    assert_eq!(decoded.audio_fourcc_info_map, params.audio_fourcc_info_map);
    assert!(decoded.caps_ex.has(CapsEx::MULTITRACK) && !decoded.caps_ex.has(CapsEx::RECONNECT));
    assert!(decoded.is_enhanced());
    assert_eq!(decoded.tc_url.as_deref(), Some("rtmp://h/live"));
}

#[test]
fn wowza_result_with_wrong_ecma_count() {
    // `_result` with an ECMA `data` whose count says 0 but holds one entry.
    let mut out = BytesMut::new();
    let info: AmfObject = [
        ("level", Amf0Value::from("status")),
        ("code", status::CONNECT_SUCCESS.into()),
        ("description", "Connection succeeded.".into()),
        ("data", Amf0Value::EcmaArray([("version", "3,5,7,7009")].into_iter().collect())),
        ("clientid", 1_661_534_776.0.into()),
        ("objectEncoding", 0.0.into()),
    ]
    .into_iter()
    .collect();
    let props: AmfObject =
        [("fmsVer", Amf0Value::from("FMS/3,5,7,7009")), ("capabilities", 31.0.into()), ("mode", 1.0.into())]
            .into_iter()
            .collect();
    let cmd = Command {
        name: "_result".into(),
        transaction_id: 1.0,
        command_object: Amf0Value::Object(props),
        arguments: vec![Amf0Value::Object(info)],
    };
    out.extend_from_slice(&cmd.encode());
    // Patch the ECMA count (the u32 after marker 0x08) to 0.
    let at = out.windows(5).position(|w| w == [0x08, 0, 0, 0, 1]).unwrap();
    out[at + 4] = 0;
    let decoded = Command::decode(&out, &Default::default()).unwrap();
    assert_eq!(decoded, cmd);
    assert_eq!(status::read_info(&decoded).unwrap().1, status::CONNECT_SUCCESS);
}

#[test]
fn aggregate_splits_and_shifts_timestamps() {
    let mut body = Vec::new();
    for (type_id, ts, payload) in [(9u8, 1000u32, &[1u8, 2, 3][..]), (8, 1020, &[4u8][..])] {
        body.push(type_id);
        body.extend(&(payload.len() as u32).to_be_bytes()[1..]);
        body.extend(&ts.to_be_bytes()[1..]);
        body.push((ts >> 24) as u8);
        body.extend([0, 0, 0]);
        body.extend(payload);
        body.extend((11 + payload.len() as u32).to_be_bytes());
    }
    let parts = split_aggregate(5000, &Bytes::from(body)).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!((parts[0].type_id, parts[0].timestamp, &parts[0].payload[..]), (9, 5000, &[1u8, 2, 3][..]));
    assert_eq!((parts[1].type_id, parts[1].timestamp, &parts[1].payload[..]), (8, 5020, &[4u8][..]));
}

#[test]
fn aggregate_with_broken_framing_is_an_error() {
    assert!(split_aggregate(0, &Bytes::from_static(&[9, 0, 0])).is_err());
    assert!(split_aggregate(0, &Bytes::from_static(&[9, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1])).is_err());
    assert_eq!(split_aggregate(0, &Bytes::new()).unwrap(), vec![]);
}

#[test]
fn query_parsing() {
    let name = StreamName::parse("cam?token=SECRET&a=1+2&b=%zz&c");
    assert_eq!(name.name, "cam");
    assert_eq!(name.param("token"), Some("SECRET"));
    assert_eq!(name.param("a"), Some("1 2"));
    assert_eq!(name.param("b"), Some("%zz"));
    assert_eq!(name.param("c"), Some(""));
    assert_eq!(name.raw, "cam?token=SECRET&a=1+2&b=%zz&c");
    assert_eq!(StreamName::parse("plain").query, vec![]);
    assert_eq!(parse_query("x=%41%4"), vec![("x".to_owned(), "A%4".to_owned())]);
    assert_eq!(split_query("a?b?c"), ("a", Some("b?c")));
}

#[test]
fn media_and_unknown_bodies_pass_through() {
    let payload = Bytes::from_static(&[0x17, 0x01]);
    for (type_id, expected) in [
        (8, Message::Audio(payload.clone())),
        (9, Message::Video(payload.clone())),
        (22, Message::Aggregate(payload.clone())),
        (19, Message::SharedObject { amf3: false, payload: payload.clone() }),
        (16, Message::SharedObject { amf3: true, payload: payload.clone() }),
        (42, Message::Unknown { type_id: 42, payload: payload.clone() }),
    ] {
        let decoded = Message::decode(type_id, payload.clone(), &Default::default()).unwrap();
        assert_eq!(decoded, expected);
        assert_eq!(decoded.encode(), (type_id, payload.clone()));
    }
}
