//! The exported C functions, called from Rust: NULL handling, fixed numbers, ownership, and a
//! server whose decision callback defers to another thread.

use std::ffi::{CStr, CString, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use rtmp_rs::*;

fn last_error() -> String {
    unsafe { CStr::from_ptr(rtmp_last_error()) }.to_string_lossy().into_owned()
}

#[test]
fn header_version_matches_cargo() {
    let version = unsafe { CStr::from_ptr(rtmp_version()) }.to_str().unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../include/rtmp_rs.h")).unwrap();
    assert!(header.contains(&format!("#define RTMP_RS_VERSION \"{version}\"")));
    for (name, value) in [
        ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(header.contains(&format!("#define RTMP_RS_VERSION_{name} {value}\n")), "{name}");
    }
}

#[test]
fn result_numbers_are_fixed() {
    let fixed = [
        (rtmp_result::Ok, 0),
        (rtmp_result::NullParameter, 1),
        (rtmp_result::Panic, 2),
        (rtmp_result::InvalidArgument, 3),
        (rtmp_result::InvalidState, 4),
        (rtmp_result::InCallback, 5),
        (rtmp_result::Timeout, 6),
        (rtmp_result::Closed, 7),
        (rtmp_result::Io, 8),
        (rtmp_result::Rejected, 9),
        (rtmp_result::Protocol, 10),
        (rtmp_result::Tls, 11),
        (rtmp_result::RequestExpired, 12),
        (rtmp_result::AlreadyAnswered, 13),
        (rtmp_result::NotFound, 14),
        (rtmp_result::AlreadyExists, 15),
    ];
    for (result, number) in fixed {
        assert_eq!(result as u32, number);
        let text = unsafe { CStr::from_ptr(rtmp_result_message(number)) }.to_str().unwrap();
        assert!(!text.is_empty() && text != "unknown result", "{number}");
    }
    assert_eq!(unsafe { CStr::from_ptr(rtmp_result_message(16)) }.to_str().unwrap(), "unknown result");
    assert_eq!(RTMP_DECISION_ACCEPT, 0);
    assert_eq!(RTMP_DECISION_REJECT, 1);
    assert_eq!(RTMP_DECISION_DEFER, 2);
}

#[test]
fn null_parameters_are_reported() {
    assert_eq!(rtmp_server_config_new(ptr::null_mut()), rtmp_result::NullParameter);
    assert_eq!(last_error(), "NULL parameter: config_out");
    assert_eq!(
        rtmp_server_config_set_bind(ptr::null_mut(), c"127.0.0.1:0".as_ptr()),
        rtmp_result::NullParameter
    );
    assert_eq!(rtmp_server_start(ptr::null_mut()), rtmp_result::NullParameter);
    assert_eq!(rtmp_request_accept(ptr::null_mut()), rtmp_result::NullParameter);
    assert_eq!(rtmp_player_next(ptr::null_mut(), 0, ptr::null_mut()), rtmp_result::NullParameter);
    assert_eq!(rtmp_frame_timestamp(ptr::null()), 0);
    assert_eq!(rtmp_frame_payload(ptr::null()).len, 0);
    assert!(!rtmp_frame_payload(ptr::null()).data.is_null());
    assert_eq!(unsafe { rtmp_session_app(ptr::null()).as_str() }, "");
    rtmp_server_free(ptr::null_mut());
    rtmp_frame_release(ptr::null());
}

#[test]
fn config_validation() {
    let mut config = ptr::null_mut();
    assert_eq!(rtmp_server_config_new(&mut config), rtmp_result::Ok);
    assert_eq!(rtmp_server_config_set_bind(config, c"nope".as_ptr()), rtmp_result::InvalidArgument);
    assert!(last_error().contains("nope"));
    let bad_utf8 = CString::new(vec![0xff, 0xfe]).unwrap();
    assert_eq!(rtmp_server_config_set_bind(config, bad_utf8.as_ptr()), rtmp_result::InvalidArgument);
    assert_eq!(rtmp_server_config_set_chunk_size(config, 64), rtmp_result::InvalidArgument);
    assert_eq!(rtmp_server_config_set_publisher_policy(config, 2), rtmp_result::InvalidArgument);
    assert_eq!(
        rtmp_server_config_set_publisher_policy(config, RTMP_PUBLISHER_POLICY_TAKE_OVER),
        rtmp_result::Ok
    );
    let fourccs = [c"avc1".as_ptr(), c"hvc1".as_ptr()];
    assert_eq!(rtmp_server_config_set_fourcc_list(config, fourccs.as_ptr(), 2), rtmp_result::Ok);
    assert_eq!(rtmp_server_config_set_worker_threads(config, 0), rtmp_result::InvalidArgument);
    assert_eq!(rtmp_server_config_set_max_amf_entries(config, 1024), rtmp_result::Ok);
    assert_eq!(rtmp_server_config_set_max_amf_decoded_bytes(config, 1 << 20), rtmp_result::Ok);
    assert_eq!(rtmp_server_config_set_max_amf_entries(ptr::null_mut(), 1), rtmp_result::NullParameter);
    assert_eq!(rtmp_server_config_set_max_amf_decoded_bytes(ptr::null_mut(), 1), rtmp_result::NullParameter);
    rtmp_server_config_free(config);
}

#[test]
fn frames_are_shared_not_copied() {
    let payload = [0x17u8, 1, 0, 0, 0, 0, 0, 0, 1, 0x65];
    let mut frame = ptr::null();
    assert_eq!(rtmp_frame_new(2, 7, payload.as_ptr(), payload.len(), &mut frame), rtmp_result::Ok);
    let again = rtmp_frame_retain(frame);
    assert_eq!(again, frame);
    let view = rtmp_frame_payload(frame);
    rtmp_frame_release(frame);
    // Still held by `again`: the view stays valid and points to the same bytes.
    assert_eq!(unsafe { view.as_slice() }, &payload);
    assert_eq!(rtmp_frame_payload(again).data, view.data);
    assert_eq!(rtmp_frame_get_kind(again), rtmp_frame_kind::Video as u32);
    assert!(rtmp_frame_is_keyframe(again));
    rtmp_frame_release(again);
    assert_eq!(
        rtmp_frame_new(0, 0, payload.as_ptr(), payload.len(), &mut frame),
        rtmp_result::InvalidArgument
    );
}

struct Shared {
    deferred: AtomicPtr<rtmp_request>,
    disconnects: AtomicUsize,
    dropped: AtomicUsize,
}

unsafe extern "C" fn on_publish(
    userdata: *mut c_void,
    session: *const rtmp_session,
    request: *mut rtmp_request,
) -> rtmp_decision {
    let shared = unsafe { &*(userdata as *const Shared) };
    assert!(rtmp_session_id(session) > 0);
    assert_eq!(rtmp_request_session(request), session);
    let mut token = rtmp_str::empty();
    if rtmp_request_query_param(request, c"token".as_ptr(), &mut token) != rtmp_result::Ok {
        return RTMP_DECISION_REJECT;
    }
    shared.deferred.store(request, Ordering::SeqCst);
    RTMP_DECISION_DEFER
}

unsafe extern "C" fn on_disconnect(
    userdata: *mut c_void,
    _session: *const rtmp_session,
    _reason: rtmp_disconnect_reason,
    _text: rtmp_str<'static>,
) {
    let shared = unsafe { &*(userdata as *const Shared) };
    shared.disconnects.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn drop_shared(userdata: *mut c_void) {
    let shared = unsafe { &*(userdata as *const Shared) };
    shared.dropped.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn server_defers_to_another_thread() {
    let shared: &'static Shared = Box::leak(Box::new(Shared {
        deferred: AtomicPtr::new(ptr::null_mut()),
        disconnects: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
    }));
    let callbacks = rtmp_callbacks {
        on_publish: Some(on_publish),
        on_disconnect: Some(on_disconnect),
        ..Default::default()
    };
    let mut config = ptr::null_mut();
    assert_eq!(rtmp_server_config_new(&mut config), rtmp_result::Ok);
    assert_eq!(rtmp_server_config_set_bind(config, c"127.0.0.1:0".as_ptr()), rtmp_result::Ok);
    let userdata = shared as *const Shared as *mut c_void;
    assert_eq!(
        rtmp_server_config_set_callbacks(config, &callbacks, userdata, Some(drop_shared)),
        rtmp_result::Ok
    );
    let mut server = ptr::null_mut();
    assert_eq!(rtmp_server_new(config, &mut server), rtmp_result::Ok);
    rtmp_server_config_free(config);
    assert_eq!(rtmp_server_start(server), rtmp_result::Ok);
    let addr = unsafe { rtmp_server_local_addr(server).as_str() }.to_owned();

    // Refused: no token.
    let url = CString::new(format!("rtmp://{addr}/live/cam")).unwrap();
    let mut publisher = ptr::null_mut();
    assert_eq!(rtmp_publisher_new(ptr::null(), url.as_ptr(), &mut publisher), rtmp_result::Rejected);

    // Deferred, then accepted by another thread.
    let answering = std::thread::spawn(move || {
        loop {
            let request = shared.deferred.swap(ptr::null_mut(), Ordering::SeqCst);
            if !request.is_null() {
                assert_eq!(unsafe { rtmp_request_stream_name(request).as_str() }, "cam");
                return rtmp_request_accept(request);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
    let url = CString::new(format!("rtmp://{addr}/live/cam?token=t")).unwrap();
    assert_eq!(rtmp_publisher_new(ptr::null(), url.as_ptr(), &mut publisher), rtmp_result::Ok);
    assert_eq!(answering.join().unwrap(), rtmp_result::Ok);

    let mut stats = ptr::null_mut();
    assert_eq!(rtmp_server_stats(server, &mut stats), rtmp_result::Ok);
    let mut totals = rtmp_server_totals::default();
    assert_eq!(rtmp_stats_totals(stats, &mut totals), rtmp_result::Ok);
    assert_eq!(totals.streams, 1);
    rtmp_stats_free(stats);

    rtmp_publisher_free(publisher);
    assert_eq!(rtmp_server_stop(server), rtmp_result::Ok);
    assert_eq!(shared.disconnects.load(Ordering::SeqCst), 2);
    assert_eq!(shared.dropped.load(Ordering::SeqCst), 1);
    rtmp_server_free(server);
    assert_eq!(shared.dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn stream_numbers_are_fixed() {
    assert_eq!(RTMP_SUBSCRIBE_START_GOP, 0);
    assert_eq!(RTMP_SUBSCRIBE_START_KEYFRAME, 1);
    assert_eq!(RTMP_SUBSCRIBE_START_LIVE, 2);
    assert_eq!(rtmp_peer_kind::None as u32, 0);
    assert_eq!(rtmp_peer_kind::Rtmp as u32, 1);
    assert_eq!(rtmp_peer_kind::Local as u32, 2);
    // Kinds that mean what a player event kind means share its number.
    let shared = [
        (rtmp_subscription_item_kind::Audio, rtmp_player_event_kind::Audio),
        (rtmp_subscription_item_kind::Video, rtmp_player_event_kind::Video),
        (rtmp_subscription_item_kind::Data, rtmp_player_event_kind::Data),
        (rtmp_subscription_item_kind::Metadata, rtmp_player_event_kind::Metadata),
        (rtmp_subscription_item_kind::Published, rtmp_player_event_kind::StreamBegin),
        (rtmp_subscription_item_kind::Unpublished, rtmp_player_event_kind::StreamEnd),
    ];
    for (item, event) in shared {
        assert_eq!(item as u32, event as u32, "{item:?}");
    }
    assert_eq!(rtmp_subscription_item_kind::Dropped as u32, 9);
}

#[test]
fn streams_in_process_from_rust() {
    let mut config = ptr::null_mut();
    assert_eq!(rtmp_server_config_new(&mut config), rtmp_result::Ok);
    let bind = CString::new("127.0.0.1:0").unwrap();
    assert_eq!(rtmp_server_config_set_bind(config, bind.as_ptr()), rtmp_result::Ok);
    let mut server = ptr::null_mut();
    assert_eq!(rtmp_server_new(config, &mut server), rtmp_result::Ok);
    rtmp_server_config_free(config);
    assert_eq!(rtmp_server_start(server), rtmp_result::Ok);

    let key = CString::new("live/cam").unwrap();
    let mut sub = ptr::null_mut();
    assert_eq!(rtmp_server_subscribe(server, key.as_ptr(), ptr::null(), &mut sub), rtmp_result::NotFound);
    assert!(sub.is_null());
    let mut publisher = ptr::null_mut();
    assert_eq!(rtmp_server_publish(server, key.as_ptr(), &mut publisher), rtmp_result::Ok);
    assert_eq!(rtmp_server_subscribe(server, key.as_ptr(), ptr::null(), &mut sub), rtmp_result::Ok);
    // An AVC sequence header goes through without a copy.
    let seq: &[u8] = &[
        0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1f,
        0x01, 0x00, 0x04, 0x68, 0xee, 0x3c, 0x80,
    ];
    assert_eq!(rtmp_local_publisher_send_video(publisher, 0, seq.as_ptr(), seq.len()), rtmp_result::Ok);
    let mut item = rtmp_subscription_item {
        kind: rtmp_subscription_item_kind::Dropped,
        frame: ptr::null(),
        dropped_video: 0,
        dropped_audio: 0,
    };
    assert_eq!(rtmp_subscription_next(sub, 5000, &mut item), rtmp_result::Ok);
    assert_eq!(item.kind, rtmp_subscription_item_kind::Video);
    assert!(rtmp_frame_is_sequence_header(item.frame));
    assert_eq!(unsafe { rtmp_frame_payload(item.frame).as_slice() }, seq);
    rtmp_frame_release(item.frame);
    // A bad payload is refused with a message; closing is idempotent; a closed publisher says so.
    assert_eq!(
        rtmp_local_publisher_send_video(publisher, 0, [0xffu8].as_ptr(), 1),
        rtmp_result::InvalidArgument
    );
    assert!(last_error().starts_with("not a valid FLV video tag body"), "{}", last_error());
    assert_eq!(rtmp_local_publisher_close(publisher), rtmp_result::Ok);
    assert_eq!(rtmp_local_publisher_close(publisher), rtmp_result::Ok);
    assert_eq!(rtmp_local_publisher_send_video(publisher, 0, seq.as_ptr(), seq.len()), rtmp_result::Closed);
    assert_eq!(rtmp_subscription_next(sub, 5000, &mut item), rtmp_result::Ok);
    assert_eq!(item.kind, rtmp_subscription_item_kind::Unpublished);
    assert!(item.frame.is_null());
    assert_eq!(rtmp_subscription_close(sub), rtmp_result::Ok);
    assert_eq!(rtmp_subscription_next(sub, -1, &mut item), rtmp_result::Closed);
    rtmp_subscription_free(sub);
    rtmp_local_publisher_free(publisher);
    rtmp_server_free(server);
}
