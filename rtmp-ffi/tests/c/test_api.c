/*
 * The C API, function by function: NULL arguments, misuse, and a live server with every
 * callback, a publisher and a player on loopback. Built with -fsanitize=address,undefined and
 * run again under valgrind by scripts/test-c.sh. Ends with "N passed, M failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtmp_rs.h"

static int checks_failed;
static int tests_passed, tests_failed;

#define CHECK(cond)                                                                                   \
    do {                                                                                              \
        if (!(cond)) {                                                                                \
            checks_failed++;                                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
                    rtmp_last_error());                                                               \
        }                                                                                             \
    } while (0)
#define EXPECT(call, result) CHECK((call) == (result))
#define OK(call) EXPECT(call, RTMP_RESULT_OK)

static int str_eq(rtmp_str s, const char *text) {
    return s.data != NULL && s.len == strlen(text) && memcmp(s.data, text, s.len) == 0;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void run(const char *name, void (*test)(void)) {
    int before = checks_failed;
    test();
    if (checks_failed == before) {
        tests_passed++;
        printf("ok   %s\n", name);
    } else {
        tests_failed++;
        printf("FAIL %s\n", name);
    }
    fflush(stdout);
}

/* ---- media samples ---- */

/* AVC sequence header (AVCDecoderConfigurationRecord with one SPS and one PPS). */
static const uint8_t AVC_SEQ[] = {0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04,
                                  0x67, 0x64, 0x00, 0x1f, 0x01, 0x00, 0x04, 0x68, 0xee, 0x3c, 0x80};
/* AVC keyframe NALU packet, CTS 40, one IDR NAL unit. */
static const uint8_t AVC_KEY[] = {0x17, 0x01, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x05, 0x65, 0x88, 0x84, 0x00, 0x10};
/* AVC inter frame. */
static const uint8_t AVC_INTER[] = {0x27, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x41, 0x9a, 0x00};
/* AAC sequence header (AAC-LC, 44.1 kHz, stereo) and a raw frame. */
static const uint8_t AAC_SEQ[] = {0xaf, 0x00, 0x12, 0x10};
static const uint8_t AAC_RAW[] = {0xaf, 0x01, 0x21, 0x00, 0x49, 0x90};
/* onMetaData with an ECMA array {width: 640, encoder: "c-test"}. */
static const uint8_t METADATA[] = {
    0x02, 0x00, 0x0a, 'o',  'n',  'M',  'e',  't',  'a',  'D',  'a',  't',  'a',  0x08, 0x00, 0x00,
    0x00, 0x02, 0x00, 0x05, 'w',  'i',  'd',  't',  'h',  0x00, 0x40, 0x84, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x07, 'e',  'n',  'c',  'o',  'd',  'e',  'r',  0x02, 0x00, 0x06, 'c',  '-',
    't',  'e',  's',  't',  0x00, 0x00, 0x09};
/* onTextData with an ECMA array {type: "Text", text: "hello"} (as ffmpeg's flv muxer writes it),
 * then the number 1.5 and the string "hi". */
static const uint8_t TEXT_DATA[] = {
    0x02, 0x00, 0x0a, 'o', 'n', 'T', 'e', 'x', 't', 'D', 'a', 't', 'a', 0x08, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x04, 't', 'y', 'p', 'e', 0x02, 0x00, 0x04, 'T', 'e', 'x', 't',
    0x00, 0x04, 't', 'e', 'x', 't', 0x02, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0x00, 0x00, 0x09,
    0x00, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x02, 'h', 'i'};

/* ---- tests without a network ---- */

static void test_version_and_errors(void) {
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", RTMP_RS_VERSION_MAJOR, RTMP_RS_VERSION_MINOR,
             RTMP_RS_VERSION_PATCH);
    CHECK(strcmp(rtmp_version(), expected) == 0);
    CHECK(strcmp(rtmp_version(), RTMP_RS_VERSION) == 0);
    CHECK(strcmp(rtmp_result_message(RTMP_RESULT_OK), "ok") == 0);
    CHECK(strlen(rtmp_result_message(RTMP_RESULT_IN_CALLBACK)) > 0);
    CHECK(strcmp(rtmp_result_message(9999), "unknown result") == 0);
    /* Fixed numbers. */
    CHECK(RTMP_RESULT_OK == 0 && RTMP_RESULT_NULL_PARAMETER == 1 && RTMP_RESULT_PANIC == 2 &&
          RTMP_RESULT_NOT_FOUND == 14 && RTMP_RESULT_ALREADY_EXISTS == 15);
    CHECK(strcmp(rtmp_result_message(RTMP_RESULT_ALREADY_EXISTS), "already exists") == 0);
    EXPECT(rtmp_server_config_new(NULL), RTMP_RESULT_NULL_PARAMETER);
    CHECK(strstr(rtmp_last_error(), "NULL") != NULL);
}

static void test_server_config(void) {
    rtmp_server_config *config = NULL;
    const char *fourccs[] = {"avc1", "hvc1", "mp4a"};
    OK(rtmp_server_config_new(&config));
    CHECK(config != NULL);
    OK(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    EXPECT(rtmp_server_config_set_bind(config, "not an address"), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_server_config_set_bind(config, "\xff\xfe"), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_server_config_set_bind(config, NULL), RTMP_RESULT_NULL_PARAMETER);
    OK(rtmp_server_config_set_max_connections(config, 100));
    OK(rtmp_server_config_set_chunk_size(config, 4096));
    EXPECT(rtmp_server_config_set_chunk_size(config, 1), RTMP_RESULT_INVALID_ARGUMENT);
    OK(rtmp_server_config_set_connection_timeout_ms(config, 5000));
    OK(rtmp_server_config_set_idle_timeout_ms(config, 30000));
    OK(rtmp_server_config_set_window_ack_size(config, 2500000));
    OK(rtmp_server_config_set_peer_bandwidth(config, 2500000));
    OK(rtmp_server_config_set_max_message_size(config, 1 << 22));
    OK(rtmp_server_config_set_max_chunk_streams(config, 32));
    OK(rtmp_server_config_set_max_streams_per_connection(config, 4));
    OK(rtmp_server_config_set_max_amf_depth(config, 32));
    OK(rtmp_server_config_set_max_amf_entries(config, 1024));
    OK(rtmp_server_config_set_max_amf_decoded_bytes(config, 1 << 20));
    OK(rtmp_server_config_set_player_queue_length(config, 256));
    OK(rtmp_server_config_set_player_stall_timeout_ms(config, 5000));
    OK(rtmp_server_config_set_player_latency_budget_ms(config, 2000));
    OK(rtmp_server_config_set_player_latency_budget_ms(config, 0));
    OK(rtmp_server_config_set_socket_send_buffer(config, 0));
    OK(rtmp_server_config_set_socket_send_buffer(config, 65536));
    OK(rtmp_server_config_set_gop_cache_max_bytes(config, 1 << 20));
    OK(rtmp_server_config_set_gop_cache_max_duration_ms(config, 5000));
    OK(rtmp_server_config_set_publisher_policy(config, RTMP_PUBLISHER_POLICY_TAKE_OVER));
    OK(rtmp_server_config_set_publisher_policy(config, RTMP_PUBLISHER_POLICY_REJECT_NEW));
    EXPECT(rtmp_server_config_set_publisher_policy(config, 7), RTMP_RESULT_INVALID_ARGUMENT);
    OK(rtmp_server_config_set_play_wait_timeout_ms(config, -1));
    OK(rtmp_server_config_set_play_wait_timeout_ms(config, 0));
    OK(rtmp_server_config_set_play_wait_timeout_ms(config, 10000));
    OK(rtmp_server_config_set_publisher_reconnect_grace_ms(config, 0));
    OK(rtmp_server_config_set_publisher_reconnect_grace_ms(config, 10000));
    OK(rtmp_server_config_set_normalize_timestamps(config, true));
    OK(rtmp_server_config_set_enhanced_rtmp(config, true));
    OK(rtmp_server_config_set_fourcc_list(config, fourccs, 3));
    OK(rtmp_server_config_set_fourcc_list(config, NULL, 0));
    EXPECT(rtmp_server_config_set_fourcc_list(config, NULL, 2), RTMP_RESULT_NULL_PARAMETER);
    OK(rtmp_server_config_set_caps_ex(config, 14));
    OK(rtmp_server_config_set_stats_interval_ms(config, 0));
    OK(rtmp_server_config_set_write_coalescing_ms(config, 0));
    OK(rtmp_server_config_set_read_coalescing_ms(config, 0));
    OK(rtmp_server_config_set_tls(config, NULL, NULL, NULL));
    EXPECT(rtmp_server_config_set_tls(config, "127.0.0.1:0", "/nonexistent/cert.pem", "/nonexistent/key.pem"),
           RTMP_RESULT_TLS);
    EXPECT(rtmp_server_config_set_tls(config, "bad", "a", "b"), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_server_config_set_tls(config, "127.0.0.1:0", NULL, "b"), RTMP_RESULT_NULL_PARAMETER);
    OK(rtmp_server_config_set_worker_threads(config, 1));
    EXPECT(rtmp_server_config_set_worker_threads(config, 0), RTMP_RESULT_INVALID_ARGUMENT);
    OK(rtmp_server_config_set_decision_timeout_ms(config, 1000));
    OK(rtmp_server_config_set_callbacks(config, NULL, NULL, NULL));
    OK(rtmp_server_config_set_reconnect_callbacks(config, NULL, NULL));
    OK(rtmp_server_config_set_auth_callbacks(config, NULL));
    OK(rtmp_server_config_set_data_callbacks(config, NULL));
    OK(rtmp_server_config_set(config, "publish_auth", "adobe"));
    OK(rtmp_server_config_set(config, "publish_auth", "none"));
    EXPECT(rtmp_server_config_set(config, "publish_auth", "basic"), RTMP_RESULT_INVALID_ARGUMENT);

    /* Any option by its schema name; refused alike, with the option's name and range. */
    OK(rtmp_server_config_set(config, "player_queue_length", "256"));
    OK(rtmp_server_config_set(config, "idle_timeout", "20s"));
    OK(rtmp_server_config_set(config, "connection_timeout", "5000"));
    OK(rtmp_server_config_set(config, "publisher_policy", "take_over"));
    OK(rtmp_server_config_set(config, "play_wait_timeout", "none"));
    OK(rtmp_server_config_set(config, "fourcc_list", "avc1,hvc1"));
    OK(rtmp_server_config_set(config, "max_pending_frames", "100"));
    EXPECT(rtmp_server_config_set_chunk_size(config, 64), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strcmp(rtmp_last_error(), "chunk_size must be an integer from 128 to 16777215, not 64") == 0);
    EXPECT(rtmp_server_config_set(config, "chunk_size", "64"), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strcmp(rtmp_last_error(), "chunk_size must be an integer from 128 to 16777215, not 64") == 0);
    EXPECT(rtmp_server_config_set(config, "chunk_size", "big"), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_server_config_set(config, "colour", "1"), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strcmp(rtmp_last_error(), "colour is not an option") == 0);
    EXPECT(rtmp_server_config_set(config, NULL, "1"), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set(config, "chunk_size", NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set(NULL, "chunk_size", "4096"), RTMP_RESULT_NULL_PARAMETER);

    /* NULL config everywhere. */
    EXPECT(rtmp_server_config_set_callbacks(NULL, NULL, NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_reconnect_callbacks(NULL, NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_auth_callbacks(NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_data_callbacks(NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_bind(NULL, "127.0.0.1:0"), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_max_connections(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_chunk_size(NULL, 4096), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_connection_timeout_ms(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_idle_timeout_ms(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_window_ack_size(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_peer_bandwidth(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_max_message_size(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_max_chunk_streams(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_max_streams_per_connection(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_max_amf_depth(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_max_amf_entries(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_max_amf_decoded_bytes(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_player_queue_length(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_player_stall_timeout_ms(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_socket_send_buffer(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_gop_cache_max_bytes(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_gop_cache_max_duration_ms(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_publisher_policy(NULL, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_play_wait_timeout_ms(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_normalize_timestamps(NULL, true), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_enhanced_rtmp(NULL, true), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_fourcc_list(NULL, NULL, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_caps_ex(NULL, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_stats_interval_ms(NULL, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_write_coalescing_ms(NULL, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_read_coalescing_ms(NULL, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_tls(NULL, NULL, NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_worker_threads(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_config_set_decision_timeout_ms(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    rtmp_server_config_free(NULL);
    rtmp_server_config_free(config);
}

static void test_client_config(void) {
    rtmp_client_config *config = NULL;
    OK(rtmp_client_config_new(&config));
    OK(rtmp_client_config_set_connect_timeout_ms(config, 2000));
    OK(rtmp_client_config_set_tls_insecure_skip_verify(config, true));
    EXPECT(rtmp_client_config_add_tls_roots_pem(config, "/nonexistent.pem"), RTMP_RESULT_TLS);
    OK(rtmp_client_config_set_enhanced_rtmp(config, false));
    OK(rtmp_client_config_set_flash_ver(config, "FMLE/3.0 (compatible; c-test)"));
    OK(rtmp_client_config_set_reconnect(config, true, 100, 1000, 3));
    OK(rtmp_client_config_set_reconnect(config, false, 0, 0, 0));
    OK(rtmp_client_config_set_event_buffer(config, 64));
    EXPECT(rtmp_client_config_set_event_buffer(config, 0), RTMP_RESULT_INVALID_ARGUMENT);
    OK(rtmp_client_config_set_chunk_size(config, 60000));
    EXPECT(rtmp_client_config_set_chunk_size(config, 0), RTMP_RESULT_INVALID_ARGUMENT);
    OK(rtmp_client_config_set_worker_threads(config, 1));
    EXPECT(rtmp_client_config_set_worker_threads(config, 0), RTMP_RESULT_INVALID_ARGUMENT);

    EXPECT(rtmp_client_config_new(NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_set_connect_timeout_ms(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_set_tls_insecure_skip_verify(NULL, true), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_add_tls_roots_pem(NULL, "x"), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_add_tls_roots_pem(config, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_set_enhanced_rtmp(NULL, true), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_set_flash_ver(NULL, "x"), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_set_flash_ver(config, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_set_reconnect(NULL, true, 1, 1, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_set_event_buffer(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_set_chunk_size(NULL, 4096), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_client_config_set_worker_threads(NULL, 1), RTMP_RESULT_NULL_PARAMETER);
    rtmp_client_config_free(NULL);
    rtmp_client_config_free(config);
}

static void test_frames(void) {
    const rtmp_frame *frame = NULL, *again;
    rtmp_bytes bytes;
    rtmp_str text;
    double number = 0;

    OK(rtmp_frame_new(RTMP_FRAME_KIND_VIDEO, 1000, AVC_KEY, sizeof AVC_KEY, &frame));
    CHECK(rtmp_frame_get_kind(frame) == RTMP_FRAME_KIND_VIDEO);
    CHECK(rtmp_frame_timestamp(frame) == 1000);
    CHECK(rtmp_frame_is_keyframe(frame));
    CHECK(!rtmp_frame_is_sequence_header(frame));
    CHECK(rtmp_frame_composition_time(frame) == 40);
    CHECK(str_eq(rtmp_frame_codec(frame), "avc1"));
    bytes = rtmp_frame_payload(frame);
    CHECK(bytes.len == sizeof AVC_KEY && memcmp(bytes.data, AVC_KEY, bytes.len) == 0);
    bytes = rtmp_frame_body(frame);
    CHECK(bytes.len == sizeof AVC_KEY - 5);
    CHECK(str_eq(rtmp_frame_stream_app(frame), "") && str_eq(rtmp_frame_stream_name(frame), ""));
    CHECK(str_eq(rtmp_frame_data_name(frame), ""));
    EXPECT(rtmp_frame_metadata_number(frame, "width", &number), RTMP_RESULT_INVALID_STATE);
    CHECK(rtmp_frame_data_value_count(frame) == 0);
    EXPECT(rtmp_frame_data_number(frame, 0, NULL, &number), RTMP_RESULT_INVALID_STATE);
    EXPECT(rtmp_frame_data_string(frame, 0, "text", &text), RTMP_RESULT_INVALID_STATE);
    again = rtmp_frame_retain(frame);
    CHECK(again == frame);
    rtmp_frame_release(again);
    rtmp_frame_release(frame);

    OK(rtmp_frame_new(RTMP_FRAME_KIND_VIDEO, 0, AVC_SEQ, sizeof AVC_SEQ, &frame));
    CHECK(rtmp_frame_is_sequence_header(frame) && !rtmp_frame_is_keyframe(frame));
    rtmp_frame_release(frame);

    OK(rtmp_frame_new(RTMP_FRAME_KIND_AUDIO, 5, AAC_SEQ, sizeof AAC_SEQ, &frame));
    CHECK(str_eq(rtmp_frame_codec(frame), "mp4a") && rtmp_frame_is_sequence_header(frame));
    CHECK(rtmp_frame_composition_time(frame) == 0);
    rtmp_frame_release(frame);

    OK(rtmp_frame_new(RTMP_FRAME_KIND_METADATA, 0, METADATA, sizeof METADATA, &frame));
    CHECK(str_eq(rtmp_frame_data_name(frame), "onMetaData"));
    OK(rtmp_frame_metadata_number(frame, "width", &number));
    CHECK(number == 640.0);
    OK(rtmp_frame_metadata_string(frame, "encoder", &text));
    CHECK(str_eq(text, "c-test"));
    EXPECT(rtmp_frame_metadata_number(frame, "encoder", &number), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_frame_metadata_string(frame, "width", &text), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_frame_metadata_number(frame, "height", &number), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_frame_metadata_number(frame, NULL, &number), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_frame_metadata_number(frame, "width", NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_frame_metadata_string(frame, "encoder", NULL), RTMP_RESULT_NULL_PARAMETER);
    /* The data accessors read metadata too: one value, the ECMA array. */
    CHECK(rtmp_frame_data_value_count(frame) == 1);
    OK(rtmp_frame_data_number(frame, 0, "width", &number));
    CHECK(number == 640.0);
    rtmp_frame_release(frame);

    /* A data message: onTextData's ECMA array (as ffmpeg sends it), a number, a string. */
    OK(rtmp_frame_new(RTMP_FRAME_KIND_DATA, 2000, TEXT_DATA, sizeof TEXT_DATA, &frame));
    CHECK(rtmp_frame_get_kind(frame) == RTMP_FRAME_KIND_DATA);
    CHECK(str_eq(rtmp_frame_data_name(frame), "onTextData"));
    CHECK(rtmp_frame_data_value_count(frame) == 3);
    OK(rtmp_frame_data_string(frame, 0, "text", &text));
    CHECK(str_eq(text, "hello"));
    OK(rtmp_frame_data_string(frame, 0, "type", &text));
    CHECK(str_eq(text, "Text"));
    OK(rtmp_frame_data_number(frame, 1, NULL, &number));
    CHECK(number == 1.5);
    OK(rtmp_frame_data_string(frame, 2, NULL, &text));
    CHECK(str_eq(text, "hi"));
    EXPECT(rtmp_frame_data_number(frame, 0, "text", &number), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_frame_data_string(frame, 0, "nothing", &text), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_frame_data_string(frame, 0, NULL, &text), RTMP_RESULT_NOT_FOUND); /* an object */
    EXPECT(rtmp_frame_data_number(frame, 1, "x", &number), RTMP_RESULT_NOT_FOUND); /* not an object */
    EXPECT(rtmp_frame_data_string(frame, 1, NULL, &text), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_frame_data_number(frame, 3, NULL, &number), RTMP_RESULT_NOT_FOUND);
    CHECK(strstr(rtmp_last_error(), "no value 3") != NULL);
    EXPECT(rtmp_frame_data_number(frame, 1, NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_frame_data_string(frame, 0, "text", NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_frame_metadata_string(frame, "text", &text), RTMP_RESULT_INVALID_STATE);
    rtmp_frame_release(frame);

    /* Garbage still makes a frame, without a parsed view. */
    OK(rtmp_frame_new(RTMP_FRAME_KIND_VIDEO, 0, (const uint8_t *)"\x01", 1, &frame));
    CHECK(str_eq(rtmp_frame_codec(frame), ""));
    rtmp_frame_release(frame);
    OK(rtmp_frame_new(RTMP_FRAME_KIND_DATA, 0, NULL, 0, &frame));
    CHECK(rtmp_frame_payload(frame).len == 0 && rtmp_frame_payload(frame).data != NULL);
    rtmp_frame_release(frame);

    /* Misuse and NULL. */
    EXPECT(rtmp_frame_new(99, 0, AVC_KEY, sizeof AVC_KEY, &frame), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_frame_new(RTMP_FRAME_KIND_VIDEO, 0, NULL, 3, &frame), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_frame_new(RTMP_FRAME_KIND_VIDEO, 0, AVC_KEY, sizeof AVC_KEY, NULL), RTMP_RESULT_NULL_PARAMETER);
    CHECK(rtmp_frame_retain(NULL) == NULL);
    rtmp_frame_release(NULL);
    CHECK(rtmp_frame_get_kind(NULL) == 0);
    CHECK(rtmp_frame_timestamp(NULL) == 0);
    CHECK(rtmp_frame_payload(NULL).len == 0 && rtmp_frame_payload(NULL).data != NULL);
    CHECK(rtmp_frame_body(NULL).len == 0);
    CHECK(str_eq(rtmp_frame_codec(NULL), ""));
    CHECK(!rtmp_frame_is_keyframe(NULL) && !rtmp_frame_is_sequence_header(NULL));
    CHECK(rtmp_frame_composition_time(NULL) == 0);
    CHECK(str_eq(rtmp_frame_stream_app(NULL), "") && str_eq(rtmp_frame_stream_name(NULL), ""));
    CHECK(str_eq(rtmp_frame_data_name(NULL), ""));
    EXPECT(rtmp_frame_metadata_number(NULL, "width", &number), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_frame_metadata_string(NULL, "width", &text), RTMP_RESULT_NULL_PARAMETER);
    CHECK(rtmp_frame_data_value_count(NULL) == 0);
    EXPECT(rtmp_frame_data_number(NULL, 0, NULL, &number), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_frame_data_string(NULL, 0, "text", &text), RTMP_RESULT_NULL_PARAMETER);
}

static void test_null_objects(void) {
    rtmp_player_event event;
    rtmp_server_totals totals;
    rtmp_stream_stats stream;
    rtmp_player_stats player;
    rtmp_str text;
    double d;
    bool b;
    uint64_t n;
    rtmp_server *server = NULL;
    rtmp_player *p = NULL;
    rtmp_publisher *pub = NULL;
    rtmp_stats *stats = NULL;
    rtmp_server_config *config = NULL;

    /* Server. */
    EXPECT(rtmp_server_new(NULL, &server), RTMP_RESULT_NULL_PARAMETER);
    OK(rtmp_server_config_new(&config));
    EXPECT(rtmp_server_new(config, NULL), RTMP_RESULT_NULL_PARAMETER);
    rtmp_server_config_free(config);
    CHECK(str_eq(rtmp_server_local_addr(NULL), ""));
    CHECK(str_eq(rtmp_server_tls_local_addr(NULL), ""));
    CHECK(rtmp_server_port(NULL) == 0);
    EXPECT(rtmp_server_start(NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_stop(NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_stats(NULL, &stats), RTMP_RESULT_NULL_PARAMETER);
    rtmp_server_free(NULL);
    /* Stats. */
    EXPECT(rtmp_stats_totals(NULL, &totals), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_stats_stream(NULL, 0, &stream), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_stats_player(NULL, 0, 0, &player), RTMP_RESULT_NULL_PARAMETER);
    rtmp_stats_free(NULL);
    /* Requests and sessions. */
    EXPECT(rtmp_request_accept(NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_request_accept_with_latency_budget(NULL, 1000), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_request_reject(NULL, "no"), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_request_credentials(NULL, "secret"), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_request_credentials(NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    CHECK(str_eq(rtmp_request_user(NULL), ""));
    CHECK(rtmp_request_get_kind(NULL) == 0);
    CHECK(rtmp_request_id(NULL) == 0);
    CHECK(rtmp_request_session(NULL) == NULL);
    CHECK(str_eq(rtmp_request_app(NULL), ""));
    CHECK(str_eq(rtmp_request_stream_name(NULL), ""));
    CHECK(str_eq(rtmp_request_stream_raw(NULL), ""));
    EXPECT(rtmp_request_query_param(NULL, "k", &text), RTMP_RESULT_NULL_PARAMETER);
    CHECK(str_eq(rtmp_request_publish_type(NULL), ""));
    CHECK(rtmp_request_stream_id(NULL) == 0);
    EXPECT(rtmp_request_play_args(NULL, &d, &d, &b), RTMP_RESULT_NULL_PARAMETER);
    CHECK(rtmp_session_id(NULL) == 0);
    CHECK(str_eq(rtmp_session_peer_addr(NULL), ""));
    CHECK(str_eq(rtmp_session_app(NULL), ""));
    CHECK(str_eq(rtmp_session_tc_url(NULL), ""));
    CHECK(str_eq(rtmp_session_flash_ver(NULL), ""));
    CHECK(str_eq(rtmp_session_user(NULL), ""));
    EXPECT(rtmp_session_query_param(NULL, "k", &text), RTMP_RESULT_NULL_PARAMETER);
    /* Clients. */
    EXPECT(rtmp_player_new(NULL, NULL, &p), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_player_new(NULL, "rtmp://127.0.0.1:1/live/x", NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_player_new(NULL, "http://example.invalid/", &p), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_player_next(NULL, 0, &event), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_player_pause(NULL, true, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_player_close(NULL), RTMP_RESULT_NULL_PARAMETER);
    rtmp_player_free(NULL);
    EXPECT(rtmp_publisher_new(NULL, NULL, &pub), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_publisher_new(NULL, "nonsense", &pub), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_publisher_send_video(NULL, 0, AVC_KEY, sizeof AVC_KEY), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_publisher_send_audio(NULL, 0, AAC_RAW, sizeof AAC_RAW), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_publisher_send_data(NULL, 0, METADATA, sizeof METADATA), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_publisher_send_frame(NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_publisher_publish_flv(NULL, "x.flv", false, &n), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_publisher_close(NULL), RTMP_RESULT_NULL_PARAMETER);
    rtmp_publisher_free(NULL);
    /* Nothing listens on port 1: connection refused. */
    EXPECT(rtmp_publisher_new(NULL, "rtmp://127.0.0.1:1/live/x", &pub), RTMP_RESULT_IO);
    CHECK(strlen(rtmp_last_error()) > 0);
    /* Logs. */
    EXPECT(rtmp_log_set_callback(NULL, NULL, NULL, 42), RTMP_RESULT_INVALID_ARGUMENT);
}

/* ---- a live server ---- */

struct state {
    rtmp_server *server;
    rtmp_publisher *publisher;
    atomic_int hooks[17];
    atomic_int dropped;
    atomic_int stop_in_blocking;   /* result of rtmp_server_stop inside a connection callback */
    atomic_int stop_in_worker;     /* result of rtmp_server_stop inside a media callback */
    atomic_int send_in_worker;     /* result of a publisher send inside a media callback */
    atomic_int metadata_width;
    atomic_int play_args_ok;
    atomic_int session_ok;
    _Atomic(rtmp_request *) deferred; /* a publish answered later by another thread */
    _Atomic(rtmp_request *) abandoned; /* a publish left unanswered until the timeout */
    _Atomic(const rtmp_frame *) kept; /* a keyframe retained beyond its callback */
    atomic_int logs;
};

enum { H_CONNECTION, H_HANDSHAKE, H_CONNECT, H_FC_PUBLISH, H_PUBLISH, H_UNPUBLISH, H_PLAY, H_PLAY_STOP, H_PAUSE,
       H_UNPAUSE, H_METADATA, H_MEDIA_TAG, H_VIDEO, H_AUDIO, H_KEYFRAME, H_DISCONNECT, H_STATS };
static const char *const HOOK_NAMES[17] = {
    "on_connection", "on_handshake_complete", "on_connect", "on_fc_publish", "on_publish", "on_unpublish",
    "on_play", "on_play_stop", "on_pause", "on_unpause", "on_metadata", "on_media_tag", "on_video_frame",
    "on_audio_frame", "on_keyframe", "on_disconnect", "on_stats"};

static rtmp_decision cb_connection(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct state *s = ud;
    atomic_fetch_add(&s->hooks[H_CONNECTION], 1);
    if (rtmp_request_get_kind(request) != RTMP_REQUEST_KIND_CONNECTION || rtmp_session_id(session) != 0 ||
        rtmp_session_peer_addr(session).len == 0 || rtmp_request_session(request) != session) {
        atomic_store(&s->session_ok, -1);
    }
    return RTMP_DECISION_ACCEPT;
}

static void cb_handshake(void *ud, const rtmp_session *session) {
    struct state *s = ud;
    atomic_fetch_add(&s->hooks[H_HANDSHAKE], 1);
    if (rtmp_session_id(session) == 0) {
        atomic_store(&s->session_ok, -2);
    }
}

static rtmp_decision cb_connect(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct state *s = ud;
    rtmp_str value;
    atomic_fetch_add(&s->hooks[H_CONNECT], 1);
    if (!str_eq(rtmp_session_app(session), "live") || rtmp_session_tc_url(session).len == 0 ||
        rtmp_session_flash_ver(session).len == 0 || !str_eq(rtmp_request_app(request), "live") ||
        rtmp_request_get_kind(request) != RTMP_REQUEST_KIND_CONNECT || rtmp_request_id(request) == 0 ||
        rtmp_session_query_param(session, "nothing", &value) != RTMP_RESULT_NOT_FOUND ||
        rtmp_session_query_param(session, NULL, &value) != RTMP_RESULT_NULL_PARAMETER) {
        atomic_store(&s->session_ok, -3);
    }
    return RTMP_DECISION_ACCEPT;
}

static void cb_stream(struct state *s, int hook, rtmp_str app, rtmp_str name) {
    atomic_fetch_add(&s->hooks[hook], 1);
    if (!str_eq(app, "live") || name.len == 0) {
        atomic_store(&s->session_ok, -4 - hook);
    }
}
static void cb_fc_publish(void *ud, const rtmp_session *se, rtmp_str app, rtmp_str name) {
    (void)se;
    cb_stream(ud, H_FC_PUBLISH, app, name);
}
static void cb_unpublish(void *ud, const rtmp_session *se, rtmp_str app, rtmp_str name) {
    (void)se;
    cb_stream(ud, H_UNPUBLISH, app, name);
}
static void cb_play_stop(void *ud, const rtmp_session *se, rtmp_str app, rtmp_str name) {
    (void)se;
    cb_stream(ud, H_PLAY_STOP, app, name);
}
static void cb_pause(void *ud, const rtmp_session *se, rtmp_str app, rtmp_str name) {
    (void)se;
    cb_stream(ud, H_PAUSE, app, name);
}
static void cb_unpause(void *ud, const rtmp_session *se, rtmp_str app, rtmp_str name) {
    (void)se;
    cb_stream(ud, H_UNPAUSE, app, name);
}

static rtmp_decision cb_publish(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct state *s = ud;
    rtmp_str token;
    (void)session;
    atomic_fetch_add(&s->hooks[H_PUBLISH], 1);
    if (rtmp_request_get_kind(request) != RTMP_REQUEST_KIND_PUBLISH || !str_eq(rtmp_request_publish_type(request), "live") ||
        rtmp_request_stream_id(request) == 0) {
        atomic_store(&s->session_ok, -30);
    }
    if (rtmp_request_query_param(request, "token", &token) != RTMP_RESULT_OK || !str_eq(token, "secret")) {
        /* Answer inside the callback: the first answer wins, the return value is ignored. */
        if (rtmp_request_reject(request, "Bad token.") != RTMP_RESULT_OK ||
            rtmp_request_accept(request) != RTMP_RESULT_ALREADY_ANSWERED) {
            atomic_store(&s->session_ok, -31);
        }
        return RTMP_DECISION_ACCEPT;
    }
    if (str_eq(rtmp_request_stream_name(request), "abandoned")) {
        atomic_store(&s->abandoned, request);
        return RTMP_DECISION_DEFER;
    }
    /* Defer: the main thread's helper accepts it from another thread. */
    atomic_store(&s->deferred, request);
    return RTMP_DECISION_DEFER;
}

static rtmp_decision cb_play(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct state *s = ud;
    double start = 0, duration = 0;
    bool reset = false;
    (void)session;
    atomic_fetch_add(&s->hooks[H_PLAY], 1);
    if (rtmp_request_play_args(request, &start, &duration, &reset) == RTMP_RESULT_OK &&
        rtmp_request_play_args(request, NULL, NULL, NULL) == RTMP_RESULT_OK &&
        str_eq(rtmp_request_stream_name(request), "cam") && str_eq(rtmp_request_stream_raw(request), "cam")) {
        atomic_store(&s->play_args_ok, 1);
    }
    /* This player's own latency budget; the answer given here wins over the return value. */
    if (rtmp_request_accept_with_latency_budget(request, 5000) != RTMP_RESULT_OK) {
        atomic_store(&s->session_ok, -40);
    }
    return RTMP_DECISION_ACCEPT;
}

static void cb_metadata(void *ud, const rtmp_session *session, const rtmp_frame *frame) {
    struct state *s = ud;
    double width = 0;
    (void)session;
    atomic_fetch_add(&s->hooks[H_METADATA], 1);
    if (rtmp_frame_metadata_number(frame, "width", &width) == RTMP_RESULT_OK) {
        atomic_store(&s->metadata_width, (int)width);
    }
}

static bool cb_media_tag(void *ud, const rtmp_session *session, const rtmp_frame *frame) {
    struct state *s = ud;
    (void)session;
    atomic_fetch_add(&s->hooks[H_MEDIA_TAG], 1);
    /* Drop data messages that are not metadata, let everything else through. */
    if (rtmp_frame_get_kind(frame) == RTMP_FRAME_KIND_DATA) {
        atomic_fetch_add(&s->dropped, 1);
        return false;
    }
    return true;
}

static void cb_video(void *ud, const rtmp_session *session, const rtmp_frame *frame) {
    struct state *s = ud;
    (void)session;
    (void)frame;
    if (atomic_fetch_add(&s->hooks[H_VIDEO], 1) == 0) {
        /* Blocking calls are refused on worker threads. */
        atomic_store(&s->stop_in_worker, (int)rtmp_server_stop(s->server));
        atomic_store(&s->send_in_worker, (int)rtmp_publisher_send_video(s->publisher, 0, AVC_INTER, sizeof AVC_INTER));
    }
}

static void cb_audio(void *ud, const rtmp_session *session, const rtmp_frame *frame) {
    struct state *s = ud;
    (void)session;
    (void)frame;
    atomic_fetch_add(&s->hooks[H_AUDIO], 1);
}

static void cb_keyframe(void *ud, const rtmp_session *session, const rtmp_frame *frame) {
    struct state *s = ud;
    const rtmp_frame *none = NULL;
    (void)session;
    atomic_fetch_add(&s->hooks[H_KEYFRAME], 1);
    if (rtmp_frame_is_keyframe(frame) && str_eq(rtmp_frame_stream_name(frame), "cam")) {
        const rtmp_frame *kept = rtmp_frame_retain(frame);
        if (!atomic_compare_exchange_strong(&s->kept, &none, kept)) {
            rtmp_frame_release(kept);
        }
    }
}

static void cb_disconnect(void *ud, const rtmp_session *session, rtmp_disconnect_reason reason, rtmp_str text) {
    struct state *s = ud;
    (void)session;
    (void)reason;
    (void)text;
    atomic_fetch_add(&s->hooks[H_DISCONNECT], 1);
    atomic_store(&s->stop_in_blocking, (int)rtmp_server_stop(s->server));
}

static void cb_stats(void *ud, const rtmp_stats *stats) {
    struct state *s = ud;
    rtmp_server_totals totals;
    if (rtmp_stats_totals(stats, &totals) == RTMP_RESULT_OK) {
        atomic_fetch_add(&s->hooks[H_STATS], 1);
    }
}

static void drop_state(void *ud) {
    struct state *s = ud;
    atomic_fetch_add(&s->dropped, 1000);
}

static void log_cb(void *ud, rtmp_log_level level, rtmp_str target, rtmp_str message) {
    atomic_int *count = ud;
    (void)level;
    if (target.len > 0 && message.len > 0) {
        atomic_fetch_add(count, 1);
    }
}

static atomic_int log_dropped;
static void log_drop(void *ud) {
    (void)ud;
    atomic_fetch_add(&log_dropped, 1);
}

static void *answer_later(void *arg) {
    struct state *s = arg;
    rtmp_request *request;
    int i;
    for (i = 0; i < 500 && (request = atomic_load(&s->deferred)) == NULL; i++) {
        sleep_ms(10);
    }
    if (request != NULL) {
        sleep_ms(50);
        if (rtmp_request_accept(request) != RTMP_RESULT_OK) {
            atomic_store(&s->session_ok, -40);
        }
    }
    return NULL;
}

static void test_live(void) {
    static struct state s; /* zeroed */
    rtmp_server_config *config = NULL;
    rtmp_client_config *client = NULL;
    rtmp_publisher *bad = NULL, *abandoned = NULL;
    rtmp_player *player = NULL;
    rtmp_stats *stats = NULL;
    rtmp_server_totals totals;
    rtmp_stream_stats stream;
    rtmp_player_stats pstats;
    rtmp_callbacks cb;
    pthread_t helper;
    char url[128], bad_url[128], abandoned_url[128], play_url[128];
    int video = 0, audio = 0, metadata = 0, keyframes = 0, i;
    rtmp_str addr;
    rtmp_request *left;
    const rtmp_frame *kept;

    OK(rtmp_log_set_callback(log_cb, &s.logs, log_drop, RTMP_LOG_LEVEL_INFO));

    memset(&cb, 0, sizeof cb);
    cb.on_connection = cb_connection;
    cb.on_handshake_complete = cb_handshake;
    cb.on_connect = cb_connect;
    cb.on_fc_publish = cb_fc_publish;
    cb.on_publish = cb_publish;
    cb.on_unpublish = cb_unpublish;
    cb.on_play = cb_play;
    cb.on_play_stop = cb_play_stop;
    cb.on_pause = cb_pause;
    cb.on_unpause = cb_unpause;
    cb.on_metadata = cb_metadata;
    cb.on_media_tag = cb_media_tag;
    cb.on_video_frame = cb_video;
    cb.on_audio_frame = cb_audio;
    cb.on_keyframe = cb_keyframe;
    cb.on_disconnect = cb_disconnect;
    cb.on_stats = cb_stats;

    OK(rtmp_server_config_new(&config));
    OK(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    OK(rtmp_server_config_set_stats_interval_ms(config, 100));
    OK(rtmp_server_config_set_decision_timeout_ms(config, 300));
    OK(rtmp_server_config_set_callbacks(config, &cb, &s, drop_state));
    OK(rtmp_server_new(config, &s.server));
    rtmp_server_config_free(config); /* the server keeps its copy and the userdata */
    CHECK(atomic_load(&s.dropped) == 0);
    addr = rtmp_server_local_addr(s.server);
    CHECK(rtmp_server_port(s.server) != 0);
    CHECK(str_eq(rtmp_server_tls_local_addr(s.server), ""));
    OK(rtmp_server_start(s.server));
    EXPECT(rtmp_server_start(s.server), RTMP_RESULT_INVALID_STATE);

    snprintf(url, sizeof url, "rtmp://%.*s/live/cam?token=secret", (int)addr.len, addr.data);
    snprintf(bad_url, sizeof bad_url, "rtmp://%.*s/live/cam?token=wrong", (int)addr.len, addr.data);
    snprintf(abandoned_url, sizeof abandoned_url, "rtmp://%.*s/live/abandoned?token=secret", (int)addr.len,
             addr.data);
    snprintf(play_url, sizeof play_url, "rtmp://%.*s/live/cam", (int)addr.len, addr.data);

    OK(rtmp_client_config_new(&client));
    OK(rtmp_client_config_set_connect_timeout_ms(client, 5000));

    /* Wrong token: rejected inside the callback. */
    EXPECT(rtmp_publisher_new(client, bad_url, &bad), RTMP_RESULT_REJECTED);
    CHECK(strstr(rtmp_last_error(), "Bad token.") != NULL);
    CHECK(bad == NULL);

    /* Deferred and never answered: the decision timeout rejects it; answering later reports it. */
    EXPECT(rtmp_publisher_new(client, abandoned_url, &abandoned), RTMP_RESULT_REJECTED);
    left = atomic_load(&s.abandoned);
    CHECK(left != NULL);
    if (left != NULL) {
        EXPECT(rtmp_request_accept(left), RTMP_RESULT_REQUEST_EXPIRED); /* and released */
    }

    /* Deferred and accepted from another thread. */
    pthread_create(&helper, NULL, answer_later, &s);
    OK(rtmp_publisher_new(client, url, &s.publisher));
    pthread_join(helper, NULL);
    if (s.publisher == NULL) {
        goto out;
    }
    OK(rtmp_publisher_send_data(s.publisher, 0, METADATA, sizeof METADATA));
    /* A data message the media-tag filter drops. */
    OK(rtmp_publisher_send_data(s.publisher, 0, (const uint8_t *)"\x02\x00\x0aonTextData\x02\x00\x02hi", 18));
    OK(rtmp_publisher_send_video(s.publisher, 0, AVC_SEQ, sizeof AVC_SEQ));
    OK(rtmp_publisher_send_audio(s.publisher, 0, AAC_SEQ, sizeof AAC_SEQ));
    OK(rtmp_publisher_send_video(s.publisher, 0, AVC_KEY, sizeof AVC_KEY));
    OK(rtmp_publisher_send_audio(s.publisher, 10, AAC_RAW, sizeof AAC_RAW));
    OK(rtmp_publisher_send_video(s.publisher, 40, AVC_INTER, sizeof AVC_INTER));
    EXPECT(rtmp_publisher_send_video(s.publisher, 0, NULL, 4), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_publisher_publish_flv(s.publisher, "/nonexistent.flv", false, NULL), RTMP_RESULT_IO);
    EXPECT(rtmp_publisher_send_data(s.publisher, 0, (const uint8_t *)"\x05", 1), RTMP_RESULT_PROTOCOL);

    /* A player joins: it gets the GOP cache (metadata, sequence headers, keyframe...). */
    OK(rtmp_player_new(client, play_url, &player));
    if (player == NULL) {
        goto out;
    }
    for (i = 0; i < 20 && (video < 5 || audio < 3 || metadata < 1); i++) {
        rtmp_player_event event;
        rtmp_result res = rtmp_player_next(player, 2000, &event);
        if (res != RTMP_RESULT_OK) {
            CHECK(res == RTMP_RESULT_OK);
            break;
        }
        if (event.kind == RTMP_PLAYER_EVENT_KIND_VIDEO) {
            video++;
            keyframes += rtmp_frame_is_keyframe(event.frame);
            if (video == 3) {
                /* Live from here: send more, and relay one received frame back unchanged. */
                OK(rtmp_publisher_send_video(s.publisher, 80, AVC_KEY, sizeof AVC_KEY));
                OK(rtmp_publisher_send_frame(s.publisher, event.frame));
                OK(rtmp_publisher_send_audio(s.publisher, 90, AAC_RAW, sizeof AAC_RAW));
            }
        } else if (event.kind == RTMP_PLAYER_EVENT_KIND_AUDIO) {
            audio++;
        } else if (event.kind == RTMP_PLAYER_EVENT_KIND_METADATA) {
            double width = 0;
            metadata++;
            OK(rtmp_frame_metadata_number(event.frame, "width", &width));
            CHECK(width == 640.0);
        } else if (event.kind == RTMP_PLAYER_EVENT_KIND_STATUS) {
            CHECK(event.code.len > 0 && event.frame == NULL);
        }
        rtmp_frame_release(event.frame);
    }
    CHECK(video >= 5 && audio >= 3 && metadata == 1 && keyframes >= 2);
    {
        rtmp_player_event event;
        EXPECT(rtmp_player_next(player, 0, &event), RTMP_RESULT_TIMEOUT);
        EXPECT(rtmp_player_next(player, 10, NULL), RTMP_RESULT_NULL_PARAMETER);
    }
    OK(rtmp_player_pause(player, true, 0));
    OK(rtmp_player_pause(player, false, 0));
    /* Wait for the pause events and one on_stats (100 ms interval). */
    for (i = 0; i < 500 && (atomic_load(&s.hooks[H_UNPAUSE]) == 0 || atomic_load(&s.hooks[H_STATS]) == 0); i++) {
        sleep_ms(10);
    }

    /* Statistics. */
    OK(rtmp_server_stats(s.server, &stats));
    OK(rtmp_stats_totals(stats, &totals));
    CHECK(totals.connections >= 2 && totals.total_connections >= 4 && totals.streams == 1);
    CHECK(totals.bytes_in > 0);
    OK(rtmp_stats_stream(stats, 0, &stream));
    CHECK(str_eq(stream.app, "live") && str_eq(stream.name, "cam") && stream.publisher_addr.len > 0);
    CHECK(stream.players == 1);
    /* The made-up SPS above tells no profile: the codec string may stay empty. */
    CHECK(stream.video_codec.len == 0 || memcmp(stream.video_codec.data, "avc1", 4) == 0);
    EXPECT(rtmp_stats_stream(stats, 1, &stream), RTMP_RESULT_NOT_FOUND);
    {
        uint64_t interruptions = 9, resumptions = 9;
        OK(rtmp_stats_stream_reconnects(stats, 0, &interruptions, &resumptions));
        CHECK(interruptions == 0 && resumptions == 0);
        OK(rtmp_stats_stream_reconnects(stats, 0, NULL, NULL));
        EXPECT(rtmp_stats_stream_reconnects(stats, 1, &interruptions, NULL), RTMP_RESULT_NOT_FOUND);
    }
    OK(rtmp_stats_player(stats, 0, 0, &pstats));
    CHECK(pstats.session_id != 0 && pstats.peer_addr.len > 0);
    EXPECT(rtmp_stats_player(stats, 0, 1, &pstats), RTMP_RESULT_NOT_FOUND);
    {
        uint64_t gaps = 99, behind = 99;
        OK(rtmp_stats_player_latency(stats, 0, 0, &gaps, &behind));
        CHECK(gaps == 0 && behind < 2000);
        OK(rtmp_stats_player_latency(stats, 0, 0, NULL, NULL));
        EXPECT(rtmp_stats_player_latency(stats, 0, 1, &gaps, &behind), RTMP_RESULT_NOT_FOUND);
        EXPECT(rtmp_stats_player_latency(NULL, 0, 0, &gaps, &behind), RTMP_RESULT_NULL_PARAMETER);
    }
    EXPECT(rtmp_stats_totals(stats, NULL), RTMP_RESULT_NULL_PARAMETER);
    rtmp_stats_free(stats);

    OK(rtmp_player_close(player));
    OK(rtmp_player_close(player));
    {
        rtmp_player_event event;
        rtmp_result res;
        /* Whatever was queued, then closed. */
        while ((res = rtmp_player_next(player, 1000, &event)) == RTMP_RESULT_OK) {
            rtmp_frame_release(event.frame);
        }
        EXPECT(res, RTMP_RESULT_CLOSED);
    }
    OK(rtmp_publisher_close(s.publisher));
    OK(rtmp_publisher_close(s.publisher));
    EXPECT(rtmp_publisher_send_video(s.publisher, 0, AVC_INTER, sizeof AVC_INTER), RTMP_RESULT_CLOSED);

out:
    OK(rtmp_server_stop(s.server));
    OK(rtmp_server_stop(s.server));
    EXPECT(rtmp_server_start(s.server), RTMP_RESULT_INVALID_STATE);

    for (i = 0; i < 17; i++) {
        if (atomic_load(&s.hooks[i]) == 0) {
            fprintf(stderr, "hook %s never ran\n", HOOK_NAMES[i]);
            CHECK(atomic_load(&s.hooks[i]) > 0);
        }
    }
    CHECK(atomic_load(&s.session_ok) == 0);
    CHECK(atomic_load(&s.play_args_ok) == 1);
    CHECK(atomic_load(&s.metadata_width) == 640);
    CHECK(atomic_load(&s.stop_in_worker) == RTMP_RESULT_IN_CALLBACK);
    CHECK(atomic_load(&s.send_in_worker) == RTMP_RESULT_IN_CALLBACK);
    CHECK(atomic_load(&s.stop_in_blocking) == RTMP_RESULT_IN_CALLBACK);
    CHECK(atomic_load(&s.dropped) >= 1); /* the onTextData */
    CHECK(atomic_load(&s.logs) > 0);

    /* A frame retained in a callback outlives it (and the server). */
    kept = atomic_load(&s.kept);
    CHECK(kept != NULL);
    if (kept != NULL) {
        CHECK(rtmp_frame_payload(kept).len == sizeof AVC_KEY && str_eq(rtmp_frame_stream_app(kept), "live"));
        rtmp_frame_release(kept);
    }

    /* The config is gone and the server stopped: nothing holds the callbacks, so the userdata
     * destructor ran, exactly once. */
    CHECK(atomic_load(&s.dropped) >= 1000 && atomic_load(&s.dropped) < 2000);
    rtmp_player_free(player);
    rtmp_publisher_free(s.publisher);
    rtmp_client_config_free(client);
    rtmp_server_free(s.server);
    CHECK(atomic_load(&s.dropped) < 2000);

    OK(rtmp_log_set_callback(NULL, NULL, NULL, RTMP_LOG_LEVEL_OFF));
    CHECK(atomic_load(&log_dropped) == 1);
}

/* The callbacks' destructor also runs for a config that never made a server, and when they are
 * replaced. */
static void test_userdata_drop(void) {
    static struct state s;
    rtmp_server_config *config = NULL;
    rtmp_server *server = NULL;
    rtmp_callbacks cb;
    memset(&cb, 0, sizeof cb);
    OK(rtmp_server_config_new(&config));
    OK(rtmp_server_config_set_callbacks(config, &cb, &s, drop_state));
    OK(rtmp_server_config_set_callbacks(config, &cb, &s, drop_state));
    CHECK(atomic_load(&s.dropped) == 1000);
    /* A server never started: stop just closes its listener; free drops the userdata. */
    OK(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    OK(rtmp_server_new(config, &server));
    rtmp_server_config_free(config);
    CHECK(atomic_load(&s.dropped) == 1000);
    OK(rtmp_server_stop(server));
    CHECK(atomic_load(&s.dropped) == 2000);
    EXPECT(rtmp_server_start(server), RTMP_RESULT_INVALID_STATE);
    rtmp_server_free(server);
    CHECK(atomic_load(&s.dropped) == 2000);
}

/* Binding a port that is taken fails with RTMP_RESULT_IO. */
static void test_max_players_per_stream(void) {
    rtmp_server_config *config = NULL;
    rtmp_server *server = NULL;
    rtmp_publisher *publisher = NULL;
    rtmp_player *player = NULL, *extra = NULL;
    char url[128];
    rtmp_str addr;
    OK(rtmp_server_config_new(&config));
    OK(rtmp_server_config_set(config, "bind", "127.0.0.1:0"));
    OK(rtmp_server_config_set(config, "max_players_per_stream", "1"));
    OK(rtmp_server_new(config, &server));
    rtmp_server_config_free(config);
    OK(rtmp_server_start(server));
    addr = rtmp_server_local_addr(server);
    snprintf(url, sizeof url, "rtmp://%.*s/live/cam", (int)addr.len, addr.data);
    OK(rtmp_publisher_new(NULL, url, &publisher));
    OK(rtmp_player_new(NULL, url, &player));
    EXPECT(rtmp_player_new(NULL, url, &extra), RTMP_RESULT_REJECTED);
    CHECK(extra == NULL && strstr(rtmp_last_error(), "Too many players.") != NULL);
    rtmp_player_free(player);
    rtmp_publisher_free(publisher);
    rtmp_server_free(server);
}

static void test_bind_conflict(void) {
    rtmp_server_config *config = NULL;
    rtmp_server *first = NULL, *second = NULL;
    char bind[64];
    rtmp_str addr;
    OK(rtmp_server_config_new(&config));
    OK(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    OK(rtmp_server_config_set_worker_threads(config, 1));
    OK(rtmp_server_new(config, &first));
    addr = rtmp_server_local_addr(first);
    snprintf(bind, sizeof bind, "%.*s", (int)addr.len, addr.data);
    OK(rtmp_server_config_set_bind(config, bind));
    EXPECT(rtmp_server_new(config, &second), RTMP_RESULT_IO);
    CHECK(second == NULL);
    /* A value the schema takes but the server cannot use: a roots file that cannot be read. */
    OK(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    OK(rtmp_server_config_set(config, "relay_tls_roots", "/nonexistent.pem"));
    EXPECT(rtmp_server_new(config, &second), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(second == NULL && strstr(rtmp_last_error(), "relay_tls_roots /nonexistent.pem") != NULL);
    rtmp_server_free(first);
    rtmp_server_config_free(config);
}

/* ---- streams in-process: subscriptions and local publishers ---- */

/* A started server on 127.0.0.1:0 with `policy`; NULL on failure. */
static rtmp_server *local_server(rtmp_publisher_policy policy) {
    rtmp_server_config *config = NULL;
    rtmp_server *server = NULL;
    OK(rtmp_server_config_new(&config));
    OK(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    OK(rtmp_server_config_set_worker_threads(config, 2));
    OK(rtmp_server_config_set_publisher_policy(config, policy));
    OK(rtmp_server_new(config, &server));
    rtmp_server_config_free(config);
    if (server != NULL) {
        OK(rtmp_server_start(server));
    }
    return server;
}

static rtmp_subscription *subscribe(rtmp_server *server, const char *key, rtmp_subscribe_start start, int64_t wait_ms) {
    rtmp_subscribe_options *options = NULL;
    rtmp_subscription *sub = NULL;
    OK(rtmp_subscribe_options_new(&options));
    OK(rtmp_subscribe_options_set_start(options, start));
    OK(rtmp_subscribe_options_set_wait_ms(options, wait_ms));
    OK(rtmp_server_subscribe(server, key, options, &sub));
    rtmp_subscribe_options_free(options);
    return sub;
}

/* The next item within 5 s; its kind, or 0 (with a failed check) when none came. The frame is
 * kept in *frame_out when that is not NULL, else released. */
static rtmp_subscription_item next_item(rtmp_subscription *sub, const rtmp_frame **frame_out) {
    rtmp_subscription_item item;
    memset(&item, 0, sizeof item);
    OK(rtmp_subscription_next(sub, 5000, &item));
    if (frame_out != NULL) {
        *frame_out = item.frame;
    } else {
        rtmp_frame_release(item.frame);
    }
    return item;
}

static int item_is(rtmp_subscription *sub, rtmp_subscription_item_kind kind, uint32_t timestamp) {
    const rtmp_frame *frame = NULL;
    rtmp_subscription_item item = next_item(sub, &frame);
    int ok = item.kind == kind && (frame == NULL || rtmp_frame_timestamp(frame) == timestamp);
    if (!ok) {
        fprintf(stderr, "  got kind %u ts %u, expected kind %u ts %u\n", (unsigned)item.kind,
                frame ? rtmp_frame_timestamp(frame) : 0, (unsigned)kind, timestamp);
    }
    rtmp_frame_release(frame);
    return ok;
}

/* The next two items are the video and the audio sequence headers, in either order. */
static int sequence_headers(rtmp_subscription *sub) {
    int video = 0, audio = 0, i;
    for (i = 0; i < 2; i++) {
        const rtmp_frame *frame = NULL;
        rtmp_subscription_item item = next_item(sub, &frame);
        if (frame != NULL && rtmp_frame_is_sequence_header(frame)) {
            video += item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO;
            audio += item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_AUDIO;
        }
        rtmp_frame_release(frame);
    }
    return video == 1 && audio == 1;
}

static int queue_empty(rtmp_subscription *sub) {
    rtmp_subscription_item item;
    rtmp_result res = rtmp_subscription_next(sub, 0, &item);
    if (res == RTMP_RESULT_OK) {
        fprintf(stderr, "  unexpected item of kind %u\n", (unsigned)item.kind);
        rtmp_frame_release(item.frame);
    }
    return res == RTMP_RESULT_TIMEOUT;
}

static void test_streams_null_and_misuse(void) {
    rtmp_server *server = local_server(RTMP_PUBLISHER_POLICY_REJECT_NEW);
    rtmp_subscribe_options *options = NULL;
    rtmp_subscription *sub = NULL, *other = NULL;
    rtmp_local_publisher *pub = NULL, *second = NULL;
    rtmp_subscription_item item;
    rtmp_stream_list *list = NULL;
    rtmp_stream_info info;
    rtmp_stats *stats = NULL;
    rtmp_peer_kind kind;
    const rtmp_frame *bad_frame = NULL;
    static const uint8_t GARBAGE[] = {0xff, 0x00, 0x01};
    static const uint8_t BAD_AAC[] = {0xaf, 0x07, 0x00}; /* AAC packet type 7 */
    struct timespec t0, t1;
    long waited_ms;

    /* Options. */
    EXPECT(rtmp_subscribe_options_new(NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_subscribe_options_set_start(NULL, RTMP_SUBSCRIBE_START_GOP), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_subscribe_options_set_wait_ms(NULL, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_subscribe_options_set_latency_budget_ms(NULL, 1000), RTMP_RESULT_NULL_PARAMETER);
    rtmp_subscribe_options_free(NULL);
    OK(rtmp_subscribe_options_new(&options));
    OK(rtmp_subscribe_options_set_start(options, RTMP_SUBSCRIBE_START_KEYFRAME));
    OK(rtmp_subscribe_options_set_start(options, RTMP_SUBSCRIBE_START_LIVE));
    OK(rtmp_subscribe_options_set_start(options, RTMP_SUBSCRIBE_START_GOP));
    EXPECT(rtmp_subscribe_options_set_start(options, 3), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strcmp(rtmp_last_error(), "unknown subscribe start 3") == 0);
    OK(rtmp_subscribe_options_set_wait_ms(options, -1));
    OK(rtmp_subscribe_options_set_wait_ms(options, 1000));
    OK(rtmp_subscribe_options_set_latency_budget_ms(options, -1));
    OK(rtmp_subscribe_options_set_latency_budget_ms(options, 500));
    EXPECT(rtmp_subscribe_options_set_latency_budget_ms(options, 0), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(rtmp_last_error(), "latency budget must be from 1 to 86400000 ms") != NULL);
    EXPECT(rtmp_subscribe_options_set_latency_budget_ms(options, 86400001), RTMP_RESULT_INVALID_ARGUMENT);
    /* Fixed numbers. */
    CHECK(RTMP_SUBSCRIBE_START_GOP == 0 && RTMP_SUBSCRIBE_START_KEYFRAME == 1 && RTMP_SUBSCRIBE_START_LIVE == 2);
    CHECK(RTMP_PEER_KIND_NONE == 0 && RTMP_PEER_KIND_RTMP == 1 && RTMP_PEER_KIND_LOCAL == 2);
    /* Kinds that mean what a player event kind means have its number. */
    CHECK(RTMP_SUBSCRIPTION_ITEM_KIND_AUDIO == 1 && RTMP_PLAYER_EVENT_KIND_AUDIO == 1);
    CHECK(RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO == 2 && RTMP_PLAYER_EVENT_KIND_VIDEO == 2);
    CHECK(RTMP_SUBSCRIPTION_ITEM_KIND_DATA == 3 && RTMP_PLAYER_EVENT_KIND_DATA == 3);
    CHECK(RTMP_SUBSCRIPTION_ITEM_KIND_METADATA == 4 && RTMP_PLAYER_EVENT_KIND_METADATA == 4);
    CHECK(RTMP_SUBSCRIPTION_ITEM_KIND_PUBLISHED == 5 && RTMP_PLAYER_EVENT_KIND_STREAM_BEGIN == 5);
    CHECK(RTMP_SUBSCRIPTION_ITEM_KIND_UNPUBLISHED == 6 && RTMP_PLAYER_EVENT_KIND_STREAM_END == 6);
    CHECK(RTMP_SUBSCRIPTION_ITEM_KIND_DROPPED == 9);

    /* Subscribe: NULLs, bad keys, a stream nobody publishes. Nothing is written on failure. */
    EXPECT(rtmp_server_subscribe(NULL, "live/cam", NULL, &sub), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_subscribe(server, NULL, NULL, &sub), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_subscribe(server, "live/cam", NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_subscribe(server, "cam", NULL, &sub), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strcmp(rtmp_last_error(), "stream key \"cam\" is not \"app/name\"") == 0);
    EXPECT(rtmp_server_subscribe(server, "/cam", NULL, &sub), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_server_subscribe(server, "live/\xff", NULL, &sub), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_server_subscribe(server, "live/none", NULL, &sub), RTMP_RESULT_NOT_FOUND);
    CHECK(strcmp(rtmp_last_error(), "stream live/none is not published") == 0);
    OK(rtmp_subscribe_options_set_wait_ms(options, 300));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EXPECT(rtmp_server_subscribe(server, "live/none", options, &sub), RTMP_RESULT_NOT_FOUND);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    waited_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(waited_ms >= 250 && waited_ms < 5000);
    CHECK(sub == NULL);
    rtmp_subscribe_options_free(options);

    /* Publish: NULLs, bad keys, a second publisher under reject_new. */
    EXPECT(rtmp_server_publish(NULL, "live/cam", &pub), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_publish(server, NULL, &pub), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_publish(server, "live/cam", NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_publish(server, "live", &pub), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(rtmp_last_error(), "is not \"app/name\"") != NULL);
    CHECK(pub == NULL);
    OK(rtmp_server_publish(server, "live/cam", &pub));
    EXPECT(rtmp_server_publish(server, "live/cam", &second), RTMP_RESULT_REJECTED);
    CHECK(strcmp(rtmp_last_error(), "stream live/cam is already published") == 0);
    CHECK(second == NULL);
    CHECK(rtmp_local_publisher_is_publishing(pub));

    /* Sends: NULLs and payloads that are not what they claim; nothing reaches a subscriber. */
    sub = subscribe(server, "live/cam", RTMP_SUBSCRIBE_START_LIVE, 0);
    CHECK(queue_empty(sub)); /* published before it came: no PUBLISHED item */
    EXPECT(rtmp_local_publisher_send_video(NULL, 0, AVC_KEY, sizeof AVC_KEY), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_local_publisher_send_audio(NULL, 0, AAC_RAW, sizeof AAC_RAW), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_local_publisher_send_data(NULL, 0, METADATA, sizeof METADATA), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_local_publisher_send_frame(NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_local_publisher_send_frame(pub, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_local_publisher_send_video(pub, 0, NULL, 4), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_local_publisher_send_video(pub, 0, NULL, 0), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(rtmp_last_error(), "not a valid FLV video tag body") != NULL);
    EXPECT(rtmp_local_publisher_send_video(pub, 0, GARBAGE, sizeof GARBAGE), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(rtmp_last_error(), "not a valid FLV video tag body") != NULL);
    EXPECT(rtmp_local_publisher_send_audio(pub, 0, BAD_AAC, sizeof BAD_AAC), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(rtmp_last_error(), "not a valid FLV audio tag body") != NULL);
    EXPECT(rtmp_local_publisher_send_data(pub, 0, GARBAGE, sizeof GARBAGE), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(rtmp_last_error(), "not an AMF0 data message") != NULL);
    OK(rtmp_frame_new(RTMP_FRAME_KIND_VIDEO, 0, GARBAGE, sizeof GARBAGE, &bad_frame));
    EXPECT(rtmp_local_publisher_send_frame(pub, bad_frame), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(rtmp_last_error(), "not a valid FLV video tag body") != NULL);
    rtmp_frame_release(bad_frame);
    /* Timestamps may step back within a second (interleaving), not further. */
    OK(rtmp_local_publisher_send_video(pub, 5000, AVC_SEQ, sizeof AVC_SEQ));
    OK(rtmp_local_publisher_send_audio(pub, 4500, AAC_SEQ, sizeof AAC_SEQ));
    EXPECT(rtmp_local_publisher_send_video(pub, 1000, AVC_KEY, sizeof AVC_KEY), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strcmp(rtmp_last_error(), "timestamp 1000 ms goes back more than 1000 ms from 5000 ms") == 0);
    CHECK(item_is(sub, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 5000));
    CHECK(item_is(sub, RTMP_SUBSCRIPTION_ITEM_KIND_AUDIO, 4500));
    CHECK(queue_empty(sub));

    /* Close: idempotent; sends after it fail with CLOSED; subscribers see the unpublish. */
    EXPECT(rtmp_local_publisher_close(NULL), RTMP_RESULT_NULL_PARAMETER);
    CHECK(!rtmp_local_publisher_is_publishing(NULL));
    OK(rtmp_local_publisher_close(pub));
    OK(rtmp_local_publisher_close(pub));
    CHECK(!rtmp_local_publisher_is_publishing(pub));
    EXPECT(rtmp_local_publisher_send_video(pub, 5040, AVC_KEY, sizeof AVC_KEY), RTMP_RESULT_CLOSED);
    CHECK(strcmp(rtmp_last_error(), "the publisher is closed") == 0);
    EXPECT(rtmp_local_publisher_send_data(pub, 5040, METADATA, sizeof METADATA), RTMP_RESULT_CLOSED);
    CHECK(item_is(sub, RTMP_SUBSCRIPTION_ITEM_KIND_UNPUBLISHED, 0));
    rtmp_local_publisher_free(pub); /* free after close */
    rtmp_local_publisher_free(NULL);
    pub = NULL;

    /* Next: NULLs; a timeout; a closed subscription, closed twice, freed after. */
    EXPECT(rtmp_subscription_next(NULL, 0, &item), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_subscription_next(sub, 0, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_subscription_next(sub, 50, &item), RTMP_RESULT_TIMEOUT);
    CHECK(strcmp(rtmp_last_error(), "no subscription item within the timeout") == 0);
    EXPECT(rtmp_subscription_close(NULL), RTMP_RESULT_NULL_PARAMETER);
    OK(rtmp_subscription_close(sub));
    OK(rtmp_subscription_close(sub));
    EXPECT(rtmp_subscription_next(sub, 0, &item), RTMP_RESULT_CLOSED);
    EXPECT(rtmp_subscription_next(sub, 100, &item), RTMP_RESULT_CLOSED);
    EXPECT(rtmp_subscription_next(sub, -1, &item), RTMP_RESULT_CLOSED);
    CHECK(strcmp(rtmp_last_error(), "the subscription is closed, or its server stopped") == 0);
    rtmp_subscription_free(sub);
    rtmp_subscription_free(NULL);
    sub = NULL;

    /* The stream list and the statistics' kinds: NULLs and indexes past the end. */
    EXPECT(rtmp_server_streams(NULL, &list), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_streams(server, NULL), RTMP_RESULT_NULL_PARAMETER);
    CHECK(rtmp_stream_list_len(NULL) == 0);
    EXPECT(rtmp_stream_list_get(NULL, 0, &info), RTMP_RESULT_NULL_PARAMETER);
    OK(rtmp_server_streams(server, &list));
    CHECK(rtmp_stream_list_len(list) == 0);
    EXPECT(rtmp_stream_list_get(list, 0, &info), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_stream_list_get(list, 0, NULL), RTMP_RESULT_NULL_PARAMETER);
    rtmp_stream_list_free(list);
    rtmp_stream_list_free(NULL);
    EXPECT(rtmp_stats_stream_publisher_kind(NULL, 0, &kind), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_stats_player_kind(NULL, 0, 0, &kind), RTMP_RESULT_NULL_PARAMETER);
    OK(rtmp_server_stats(server, &stats));
    EXPECT(rtmp_stats_stream_publisher_kind(stats, 0, &kind), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_stats_stream_publisher_kind(stats, 0, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_stats_player_kind(stats, 0, 0, &kind), RTMP_RESULT_NOT_FOUND);
    rtmp_stats_free(stats);

    /* A stopped server takes no new subscription or publisher; the ones it had end. */
    OK(rtmp_server_publish(server, "live/cam", &pub));
    sub = subscribe(server, "live/cam", RTMP_SUBSCRIBE_START_GOP, 0);
    OK(rtmp_local_publisher_send_video(pub, 0, AVC_SEQ, sizeof AVC_SEQ));
    OK(rtmp_server_stop(server));
    EXPECT(rtmp_server_subscribe(server, "live/cam", NULL, &other), RTMP_RESULT_INVALID_STATE);
    EXPECT(rtmp_server_publish(server, "live/other", &second), RTMP_RESULT_INVALID_STATE);
    CHECK(strcmp(rtmp_last_error(), "the server is stopped") == 0);
    EXPECT(rtmp_local_publisher_send_video(pub, 40, AVC_KEY, sizeof AVC_KEY), RTMP_RESULT_CLOSED);
    CHECK(strcmp(rtmp_last_error(), "the server is stopped") == 0);
    CHECK(!rtmp_local_publisher_is_publishing(pub));
    /* What was queued before the stop is still read, then CLOSED. */
    CHECK(item_is(sub, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 0));
    CHECK(item_is(sub, RTMP_SUBSCRIPTION_ITEM_KIND_UNPUBLISHED, 0)); /* the stop unpublished */
    EXPECT(rtmp_subscription_next(sub, 1000, &item), RTMP_RESULT_CLOSED);
    /* Both outlive the server. */
    rtmp_server_free(server);
    EXPECT(rtmp_subscription_next(sub, 1000, &item), RTMP_RESULT_CLOSED);
    EXPECT(rtmp_local_publisher_send_video(pub, 80, AVC_KEY, sizeof AVC_KEY), RTMP_RESULT_CLOSED);
    rtmp_subscription_free(sub);
    rtmp_local_publisher_free(pub);
}

struct blocked_reader {
    rtmp_subscription *sub;
    atomic_int result; /* -1 until next returned */
};

static void *read_blocked(void *arg) {
    struct blocked_reader *r = arg;
    rtmp_subscription_item item;
    rtmp_result res = rtmp_subscription_next(r->sub, -1, &item);
    if (res == RTMP_RESULT_OK) {
        rtmp_frame_release(item.frame);
    }
    atomic_store(&r->result, (int)res);
    return NULL;
}

struct waiting_subscribe {
    rtmp_server *server;
    rtmp_subscription *sub;
    atomic_int result;
};

static void *subscribe_waiting(void *arg) {
    struct waiting_subscribe *w = arg;
    rtmp_subscribe_options *options = NULL;
    rtmp_subscribe_options_new(&options);
    rtmp_subscribe_options_set_wait_ms(options, -1);
    atomic_store(&w->result, (int)rtmp_server_subscribe(w->server, "live/cam", options, &w->sub));
    rtmp_subscribe_options_free(options);
    return NULL;
}

static int wait_result(atomic_int *result, long ms) {
    long waited;
    for (waited = 0; atomic_load(result) == -1 && waited < ms; waited += 10) {
        sleep_ms(10);
    }
    return atomic_load(result);
}

/* Local publisher to subscriptions on one server: every start option, events, zero-copy
 * re-publish, a close that wakes a blocked reader, the stream list and the statistics. */
static void test_streams_local(void) {
    rtmp_server *server = local_server(RTMP_PUBLISHER_POLICY_REJECT_NEW);
    rtmp_local_publisher *pub = NULL, *copy = NULL;
    rtmp_subscription *early, *gop, *key, *live, *copy_sub;
    struct waiting_subscribe waiting = {NULL, NULL, -1};
    struct blocked_reader reader = {NULL, -1};
    rtmp_subscription_item item;
    const rtmp_frame *frame = NULL, *copied = NULL;
    rtmp_stream_list *list = NULL;
    rtmp_stream_info info;
    rtmp_stats *stats = NULL;
    rtmp_server_totals totals;
    rtmp_stream_stats stream;
    rtmp_player_stats player;
    rtmp_peer_kind kind;
    pthread_t thread;
    size_t i;
    int locals = 0;

    /* A subscribe that waits is released by the publish. */
    waiting.server = server;
    CHECK(pthread_create(&thread, NULL, subscribe_waiting, &waiting) == 0);
    sleep_ms(200);
    CHECK(atomic_load(&waiting.result) == -1);
    OK(rtmp_server_publish(server, "live/cam", &pub));
    CHECK(wait_result(&waiting.result, 5000) == RTMP_RESULT_OK);
    pthread_join(thread, NULL);
    early = waiting.sub;

    OK(rtmp_local_publisher_send_data(pub, 0, METADATA, sizeof METADATA));
    OK(rtmp_local_publisher_send_video(pub, 0, AVC_SEQ, sizeof AVC_SEQ));
    OK(rtmp_local_publisher_send_audio(pub, 0, AAC_SEQ, sizeof AAC_SEQ));
    OK(rtmp_local_publisher_send_video(pub, 0, AVC_KEY, sizeof AVC_KEY));
    OK(rtmp_local_publisher_send_audio(pub, 10, AAC_RAW, sizeof AAC_RAW));
    OK(rtmp_local_publisher_send_video(pub, 40, AVC_INTER, sizeof AVC_INTER));

    /* The early subscriber gets everything, in order, with the stream's key on each frame. */
    item = next_item(early, &frame);
    CHECK(item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_METADATA && frame != NULL);
    if (frame != NULL) {
        rtmp_str encoder;
        CHECK(rtmp_frame_get_kind(frame) == RTMP_FRAME_KIND_METADATA);
        CHECK(str_eq(rtmp_frame_stream_app(frame), "live") && str_eq(rtmp_frame_stream_name(frame), "cam"));
        OK(rtmp_frame_metadata_string(frame, "encoder", &encoder));
        CHECK(str_eq(encoder, "c-test"));
    }
    rtmp_frame_release(frame);
    item = next_item(early, &frame);
    CHECK(item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO && rtmp_frame_is_sequence_header(frame) &&
          item.dropped_video == 0 && item.dropped_audio == 0);
    CHECK(str_eq(rtmp_frame_codec(frame), "avc1"));
    rtmp_frame_release(frame);
    CHECK(item_is(early, RTMP_SUBSCRIPTION_ITEM_KIND_AUDIO, 0));
    item = next_item(early, &frame);
    CHECK(item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO && rtmp_frame_is_keyframe(frame) &&
          rtmp_frame_composition_time(frame) == 40);
    CHECK(rtmp_frame_payload(frame).len == sizeof AVC_KEY &&
          memcmp(rtmp_frame_payload(frame).data, AVC_KEY, sizeof AVC_KEY) == 0);
    rtmp_frame_release(frame);
    CHECK(item_is(early, RTMP_SUBSCRIPTION_ITEM_KIND_AUDIO, 10));
    CHECK(item_is(early, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 40));
    CHECK(queue_empty(early));

    /* Joining now: GOP replays the cached GOP; KEYFRAME and LIVE get the headers only. */
    gop = subscribe(server, "live/cam", RTMP_SUBSCRIBE_START_GOP, 0);
    key = subscribe(server, "live/cam", RTMP_SUBSCRIBE_START_KEYFRAME, 0);
    live = subscribe(server, "live/cam", RTMP_SUBSCRIBE_START_LIVE, 0);
    CHECK(item_is(gop, RTMP_SUBSCRIPTION_ITEM_KIND_METADATA, 0));
    CHECK(sequence_headers(gop));
    item = next_item(gop, &frame);
    CHECK(item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO && rtmp_frame_is_keyframe(frame) &&
          rtmp_frame_timestamp(frame) == 0);
    rtmp_frame_release(frame);
    CHECK(item_is(gop, RTMP_SUBSCRIPTION_ITEM_KIND_AUDIO, 10));
    CHECK(item_is(gop, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 40));
    CHECK(queue_empty(gop));
    for (i = 0; i < 2; i++) {
        rtmp_subscription *s = i == 0 ? key : live;
        CHECK(item_is(s, RTMP_SUBSCRIPTION_ITEM_KIND_METADATA, 0));
        CHECK(sequence_headers(s));
        CHECK(queue_empty(s));
    }
    /* An inter frame: LIVE takes it, KEYFRAME waits for the next keyframe. */
    OK(rtmp_local_publisher_send_video(pub, 80, AVC_INTER, sizeof AVC_INTER));
    OK(rtmp_local_publisher_send_video(pub, 120, AVC_KEY, sizeof AVC_KEY));
    CHECK(item_is(live, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 80));
    CHECK(item_is(live, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 120));
    item = next_item(key, &frame);
    CHECK(item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO && rtmp_frame_is_keyframe(frame) &&
          rtmp_frame_timestamp(frame) == 120);
    rtmp_frame_release(frame);
    CHECK(item_is(gop, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 80));
    CHECK(item_is(gop, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 120));
    CHECK(item_is(early, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 80));
    CHECK(item_is(early, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 120));

    /* Re-publish under another key without a copy: the copy's subscriber sees the same bytes. */
    OK(rtmp_server_publish(server, "live/copy", &copy));
    copy_sub = subscribe(server, "live/copy", RTMP_SUBSCRIBE_START_LIVE, 0);
    OK(rtmp_local_publisher_send_video(pub, 160, AVC_KEY, sizeof AVC_KEY));
    item = next_item(live, &frame);
    CHECK(item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO);
    OK(rtmp_local_publisher_send_frame(copy, frame));
    item = next_item(copy_sub, &copied);
    CHECK(item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO && copied != NULL && copied != frame);
    CHECK(rtmp_frame_payload(copied).data == rtmp_frame_payload(frame).data); /* shared, not copied */
    CHECK(rtmp_frame_timestamp(copied) == 160 && str_eq(rtmp_frame_stream_name(copied), "copy"));
    rtmp_frame_release(copied);
    rtmp_frame_release(frame);

    /* The live streams: both local, with their subscribers. */
    OK(rtmp_server_streams(server, &list));
    CHECK(rtmp_stream_list_len(list) == 2);
    OK(rtmp_stream_list_get(list, 0, &info));
    CHECK(str_eq(info.app, "live") && str_eq(info.name, "cam") && info.publisher == RTMP_PEER_KIND_LOCAL &&
          info.players == 0 && info.subscribers == 4 && str_eq(info.audio_codec, "mp4a.40.2"));
    OK(rtmp_stream_list_get(list, 1, &info));
    CHECK(str_eq(info.name, "copy") && info.publisher == RTMP_PEER_KIND_LOCAL && info.subscribers == 1);
    rtmp_stream_list_free(list);

    /* Statistics: the local publisher and the subscriptions as players of kind local. */
    OK(rtmp_server_stats(server, &stats));
    OK(rtmp_stats_totals(stats, &totals));
    CHECK(totals.streams == 2);
    for (i = 0; i < totals.streams; i++) {
        size_t p;
        OK(rtmp_stats_stream(stats, i, &stream));
        OK(rtmp_stats_stream_publisher_kind(stats, i, &kind));
        CHECK(kind == RTMP_PEER_KIND_LOCAL && str_eq(stream.publisher_addr, "0.0.0.0:0"));
        for (p = 0; p < stream.players; p++) {
            OK(rtmp_stats_player(stats, i, p, &player));
            OK(rtmp_stats_player_kind(stats, i, p, &kind));
            CHECK(kind == RTMP_PEER_KIND_LOCAL && str_eq(player.peer_addr, "0.0.0.0:0") &&
                  player.dropped_video == 0 && player.dropped_audio == 0);
            locals++;
        }
        EXPECT(rtmp_stats_player_kind(stats, i, stream.players, &kind), RTMP_RESULT_NOT_FOUND);
    }
    CHECK(locals == 5);
    rtmp_stats_free(stats);

    /* A close from another thread wakes a reader blocked in next. */
    reader.sub = copy_sub;
    CHECK(pthread_create(&thread, NULL, read_blocked, &reader) == 0);
    sleep_ms(200);
    CHECK(atomic_load(&reader.result) == -1);
    OK(rtmp_subscription_close(copy_sub));
    CHECK(wait_result(&reader.result, 5000) == RTMP_RESULT_CLOSED);
    pthread_join(thread, NULL);
    rtmp_subscription_free(copy_sub);

    /* Unpublish and republish: the subscriptions stay, with an event each way. */
    OK(rtmp_local_publisher_close(pub));
    rtmp_local_publisher_free(pub);
    CHECK(item_is(live, RTMP_SUBSCRIPTION_ITEM_KIND_UNPUBLISHED, 0));
    OK(rtmp_server_publish(server, "live/cam", &pub));
    OK(rtmp_local_publisher_send_video(pub, 0, AVC_SEQ, sizeof AVC_SEQ));
    OK(rtmp_local_publisher_send_video(pub, 0, AVC_KEY, sizeof AVC_KEY));
    CHECK(item_is(live, RTMP_SUBSCRIPTION_ITEM_KIND_PUBLISHED, 0));
    item = next_item(live, &frame);
    CHECK(item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO && rtmp_frame_is_sequence_header(frame));
    rtmp_frame_release(frame);
    CHECK(item_is(live, RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO, 0));

    /* Freeing with items queued releases them (the sanitizers and valgrind check). */
    rtmp_subscription_free(early);
    rtmp_subscription_free(gop);
    rtmp_subscription_free(key);
    rtmp_subscription_free(live);
    rtmp_local_publisher_free(copy);
    rtmp_local_publisher_free(pub);
    rtmp_server_free(server);
}

/* rtmp_server_stop from another thread ends a subscribe waiting for its stream. */
static void test_streams_stop_ends_wait(void) {
    rtmp_server *server = local_server(RTMP_PUBLISHER_POLICY_REJECT_NEW);
    struct waiting_subscribe waiting = {NULL, NULL, -1};
    pthread_t thread;
    waiting.server = server;
    CHECK(pthread_create(&thread, NULL, subscribe_waiting, &waiting) == 0);
    sleep_ms(200);
    CHECK(atomic_load(&waiting.result) == -1);
    OK(rtmp_server_stop(server));
    CHECK(wait_result(&waiting.result, 5000) == RTMP_RESULT_CLOSED);
    pthread_join(thread, NULL);
    CHECK(waiting.sub == NULL);
    rtmp_server_free(server);
}

/* A frame callback (a runtime worker): blocking reads and subscribes are refused there. */
struct in_worker {
    rtmp_server *server;
    rtmp_subscription *sub;
    atomic_int subscribe_result, next_wait_result, next_poll_result, calls;
};

static void cb_streams_in_worker(void *ud, const rtmp_session *session, const rtmp_frame *frame) {
    struct in_worker *w = ud;
    rtmp_subscription *sub = NULL;
    rtmp_subscription_item item;
    rtmp_result res;
    (void)session;
    (void)frame;
    if (atomic_fetch_add(&w->calls, 1) != 0) {
        return;
    }
    atomic_store(&w->subscribe_result, (int)rtmp_server_subscribe(w->server, "live/cam", NULL, &sub));
    rtmp_subscription_free(sub);
    /* A poll takes what is queued; once nothing is, a read that would wait is refused. */
    while ((res = rtmp_subscription_next(w->sub, 0, &item)) == RTMP_RESULT_OK) {
        rtmp_frame_release(item.frame);
    }
    atomic_store(&w->next_poll_result, (int)res);
    atomic_store(&w->next_wait_result, (int)rtmp_subscription_next(w->sub, 100, &item));
}

/* Publisher policy take_over between a local publisher and an RTMP one (the C client), both
 * ways; and the media-callback rules. */
static void test_streams_takeover(void) {
    static struct in_worker w;
    rtmp_server_config *config = NULL;
    rtmp_server *server = NULL;
    rtmp_local_publisher *pub = NULL, *kicker = NULL;
    rtmp_publisher *rtmp = NULL;
    rtmp_stream_list *list = NULL;
    rtmp_stream_info info;
    rtmp_callbacks cb;
    char url[128];
    rtmp_str addr;
    int i;

    memset(&cb, 0, sizeof cb);
    cb.on_video_frame = cb_streams_in_worker;
    OK(rtmp_server_config_new(&config));
    OK(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    OK(rtmp_server_config_set_publisher_policy(config, RTMP_PUBLISHER_POLICY_TAKE_OVER));
    OK(rtmp_server_config_set_callbacks(config, &cb, &w, NULL));
    OK(rtmp_server_new(config, &server));
    rtmp_server_config_free(config);
    OK(rtmp_server_start(server));
    w.server = server;
    atomic_store(&w.subscribe_result, -1);
    atomic_store(&w.next_poll_result, -1);
    atomic_store(&w.next_wait_result, -1);
    addr = rtmp_server_local_addr(server);
    snprintf(url, sizeof url, "rtmp://%.*s/live/cam", (int)addr.len, addr.data);

    /* A local publisher, then two of them: the newer takes over. */
    OK(rtmp_server_publish(server, "live/cam", &pub));
    OK(rtmp_local_publisher_send_video(pub, 0, AVC_SEQ, sizeof AVC_SEQ));
    OK(rtmp_server_publish(server, "live/cam", &kicker));
    CHECK(!rtmp_local_publisher_is_publishing(pub) && rtmp_local_publisher_is_publishing(kicker));
    EXPECT(rtmp_local_publisher_send_video(pub, 40, AVC_KEY, sizeof AVC_KEY), RTMP_RESULT_CLOSED);
    CHECK(strcmp(rtmp_last_error(), "another publisher took the stream over") == 0);
    OK(rtmp_local_publisher_close(pub)); /* closing a publisher taken over is harmless */
    rtmp_local_publisher_free(pub);
    pub = kicker;
    w.sub = subscribe(server, "live/cam", RTMP_SUBSCRIBE_START_LIVE, 0);

    /* An RTMP publisher takes over from the local one. */
    OK(rtmp_publisher_new(NULL, url, &rtmp));
    CHECK(!rtmp_local_publisher_is_publishing(pub));
    EXPECT(rtmp_local_publisher_send_video(pub, 80, AVC_KEY, sizeof AVC_KEY), RTMP_RESULT_CLOSED);
    CHECK(strcmp(rtmp_last_error(), "another publisher took the stream over") == 0);
    rtmp_local_publisher_free(pub);
    pub = NULL;
    OK(rtmp_publisher_send_video(rtmp, 0, AVC_SEQ, sizeof AVC_SEQ));
    OK(rtmp_publisher_send_video(rtmp, 0, AVC_KEY, sizeof AVC_KEY));
    for (i = 0; i < 500 && atomic_load(&w.next_wait_result) == -1; i++) {
        sleep_ms(10);
    }
    /* Inside the media callback: no blocking subscribe or read; a poll is fine. */
    CHECK(atomic_load(&w.subscribe_result) == RTMP_RESULT_IN_CALLBACK);
    CHECK(atomic_load(&w.next_wait_result) == RTMP_RESULT_IN_CALLBACK);
    CHECK(atomic_load(&w.next_poll_result) == RTMP_RESULT_TIMEOUT);
    OK(rtmp_server_streams(server, &list));
    CHECK(rtmp_stream_list_len(list) == 1);
    OK(rtmp_stream_list_get(list, 0, &info));
    CHECK(info.publisher == RTMP_PEER_KIND_RTMP && info.subscribers == 1 && info.players == 0);
    rtmp_stream_list_free(list);

    /* And a local publisher takes over from the RTMP one. */
    OK(rtmp_server_publish(server, "live/cam", &pub));
    OK(rtmp_server_streams(server, &list));
    OK(rtmp_stream_list_get(list, 0, &info));
    CHECK(info.publisher == RTMP_PEER_KIND_LOCAL);
    rtmp_stream_list_free(list);
    OK(rtmp_local_publisher_send_video(pub, 0, AVC_SEQ, sizeof AVC_SEQ));
    /* The kicked connection is closed by the server: its sends fail sooner or later. */
    for (i = 0; i < 100; i++) {
        if (rtmp_publisher_send_video(rtmp, 40 + 40 * (uint32_t)i, AVC_INTER, sizeof AVC_INTER) != RTMP_RESULT_OK) {
            break;
        }
        sleep_ms(20);
    }
    CHECK(i < 100);
    rtmp_publisher_free(rtmp);
    rtmp_subscription_free(w.sub);
    rtmp_local_publisher_free(pub);
    rtmp_server_free(server);
}


/* ---- relays without a peer: forwards to a closed port, a pull located on a closed port ---- */

struct relay_state {
    atomic_int forward_calls, forward_connecting, forward_backoff, forward_bad;
    atomic_int locate_calls, locate_bad;
    atomic_int pull_calls, pull_connecting, pull_backoff, pull_bad;
    char dead_url[128];
};

static void cb_relay_forward(void *ud, rtmp_str app, rtmp_str name, const rtmp_forward_stats *forward) {
    struct relay_state *s = ud;
    atomic_fetch_add(&s->forward_calls, 1);
    if (!str_eq(app, "live") || !str_eq(name, "src") || forward == NULL || !str_eq(forward->url, s->dead_url)) {
        atomic_fetch_add(&s->forward_bad, 1);
        return;
    }
    if (forward->state == RTMP_RELAY_STATE_CONNECTING) {
        atomic_fetch_add(&s->forward_connecting, 1);
    } else if (forward->state == RTMP_RELAY_STATE_BACKOFF && forward->last_error.len > 0 && forward->reconnects >= 1) {
        atomic_fetch_add(&s->forward_backoff, 1);
    }
}

static rtmp_decision cb_relay_locate(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct relay_state *s = ud;
    const char *urls[] = {s->dead_url};
    atomic_fetch_add(&s->locate_calls, 1);
    if (rtmp_request_get_kind(request) != RTMP_REQUEST_KIND_LOCATE || rtmp_session_id(session) != 0 ||
        !str_eq(rtmp_request_app(request), "live") || !str_eq(rtmp_request_stream_name(request), "remote") ||
        !str_eq(rtmp_session_peer_addr(session), "0.0.0.0:0")) {
        atomic_fetch_add(&s->locate_bad, 1);
    }
    /* Bad lists neither answer nor release. */
    if (rtmp_request_locate(request, NULL, 1) != RTMP_RESULT_NULL_PARAMETER) {
        atomic_fetch_add(&s->locate_bad, 1);
    }
    if (rtmp_request_locate(request, urls, 1) != RTMP_RESULT_OK ||
        rtmp_request_locate(request, urls, 1) != RTMP_RESULT_ALREADY_ANSWERED) {
        atomic_fetch_add(&s->locate_bad, 1);
    }
    return RTMP_DECISION_DEFER; /* answered */
}

static void cb_relay_pull(void *ud, rtmp_str app, rtmp_str name, const rtmp_pull_stats *pull) {
    struct relay_state *s = ud;
    atomic_fetch_add(&s->pull_calls, 1);
    if (!str_eq(app, "live") || !str_eq(name, "remote") || pull == NULL || !str_eq(pull->url, s->dead_url)) {
        atomic_fetch_add(&s->pull_bad, 1);
        return;
    }
    if (pull->state == RTMP_RELAY_STATE_CONNECTING) {
        atomic_fetch_add(&s->pull_connecting, 1);
    } else if (pull->state == RTMP_RELAY_STATE_BACKOFF && pull->last_error.len > 0) {
        atomic_fetch_add(&s->pull_backoff, 1);
    }
}

static int wait_atomic(atomic_int *value, int at_least, long timeout_ms) {
    long waited = 0;
    while (atomic_load(value) < at_least && waited < timeout_ms) {
        sleep_ms(20);
        waited += 20;
    }
    return atomic_load(value) >= at_least;
}

/* The stream index of live/<name> in a snapshot, or -1. */
static long stats_stream_index(const rtmp_stats *stats, const char *name) {
    rtmp_server_totals totals;
    rtmp_stream_stats stream;
    size_t i;
    if (rtmp_stats_totals(stats, &totals) != RTMP_RESULT_OK) {
        return -1;
    }
    for (i = 0; i < totals.streams; i++) {
        if (rtmp_stats_stream(stats, i, &stream) == RTMP_RESULT_OK && str_eq(stream.name, name)) {
            return (long)i;
        }
    }
    return -1;
}

static void test_relays_without_peer(void) {
    static struct relay_state state;
    rtmp_callbacks no_callbacks = {0};
    rtmp_server_config *config = NULL;
    rtmp_server *server = NULL;
    rtmp_local_publisher *pub = NULL;
    rtmp_subscribe_options *options = NULL;
    rtmp_subscription *sub = NULL;
    rtmp_stats *stats = NULL;
    rtmp_forward_stats forward;
    rtmp_pull_stats pull;
    size_t count = 99;
    long index;
    int dead_port = 1; /* nothing listens on port 1 of loopback: refused at once */

    snprintf(state.dead_url, sizeof state.dead_url, "rtmp://127.0.0.1:%d/live/copy", dead_port);
    /* NULLs and names. */
    EXPECT(rtmp_server_config_set_relay_callbacks(NULL, NULL, NULL, NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_add_forward(NULL, "live/src", state.dead_url), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_remove_forward(NULL, "live/src", state.dead_url), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_request_accept_with_forward(NULL, NULL, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_request_locate(NULL, NULL, 0), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_stats_stream_forwards(NULL, 0, &count), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_stats_forward(NULL, 0, 0, &forward), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_stats_stream_pull(NULL, 0, &pull), RTMP_RESULT_NULL_PARAMETER);
    CHECK(strcmp(rtmp_relay_state_name(RTMP_RELAY_STATE_CONNECTING), "connecting") == 0);
    CHECK(strcmp(rtmp_relay_state_name(RTMP_RELAY_STATE_LIVE), "live") == 0);
    CHECK(strcmp(rtmp_relay_state_name(RTMP_RELAY_STATE_BACKOFF), "backoff") == 0);
    CHECK(strcmp(rtmp_relay_state_name(0), "unknown") == 0);
    CHECK(RTMP_RELAY_STATE_CONNECTING == 1 && RTMP_RELAY_STATE_LIVE == 2 && RTMP_RELAY_STATE_BACKOFF == 3);
    CHECK(RTMP_PEER_KIND_FORWARD == 3 && RTMP_PEER_KIND_PULL == 4 && RTMP_REQUEST_KIND_LOCATE == 5);
    CHECK(RTMP_REQUEST_KIND_CREDENTIALS == 6);

    OK(rtmp_server_config_new(&config));
    OK(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    OK(rtmp_server_config_set(config, "pull_start_timeout", "1s"));
    OK(rtmp_server_config_set_relay_callbacks(config, cb_relay_forward, cb_relay_locate, cb_relay_pull));
    /* The relay callbacks get the userdata of rtmp_server_config_set_callbacks. */
    OK(rtmp_server_config_set_callbacks(config, &no_callbacks, &state, NULL));
    OK(rtmp_server_new(config, &server));
    rtmp_server_config_free(config);
    if (server == NULL) {
        return;
    }
    EXPECT(rtmp_server_add_forward(server, "live/src", state.dead_url), RTMP_RESULT_NOT_FOUND); /* not started */
    OK(rtmp_server_start(server));

    /* Runtime forwards: bad arguments, a stream that is not live, a duplicate, removal. */
    OK(rtmp_server_publish(server, "live/src", &pub));
    EXPECT(rtmp_server_add_forward(server, NULL, state.dead_url), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_add_forward(server, "live/src", NULL), RTMP_RESULT_NULL_PARAMETER);
    EXPECT(rtmp_server_add_forward(server, "src", state.dead_url), RTMP_RESULT_INVALID_ARGUMENT);
    EXPECT(rtmp_server_add_forward(server, "live/src", "http://127.0.0.1/live/x"), RTMP_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(rtmp_last_error(), "http://127.0.0.1/live/x") != NULL);
    EXPECT(rtmp_server_add_forward(server, "live/none", state.dead_url), RTMP_RESULT_NOT_FOUND);
    OK(rtmp_server_add_forward(server, "live/src", state.dead_url));
    EXPECT(rtmp_server_add_forward(server, "live/src", state.dead_url), RTMP_RESULT_ALREADY_EXISTS);
    CHECK(strstr(rtmp_last_error(), "already") != NULL);
    CHECK(wait_atomic(&state.forward_connecting, 1, 5000));
    CHECK(wait_atomic(&state.forward_backoff, 1, 5000));
    CHECK(atomic_load(&state.forward_bad) == 0);
    OK(rtmp_server_stats(server, &stats));
    index = stats_stream_index(stats, "src");
    CHECK(index >= 0);
    if (index >= 0) {
        OK(rtmp_stats_stream_forwards(stats, (size_t)index, &count));
        CHECK(count == 1);
        OK(rtmp_stats_forward(stats, (size_t)index, 0, &forward));
        CHECK(str_eq(forward.url, state.dead_url) && forward.state != RTMP_RELAY_STATE_LIVE &&
              forward.bytes_out == 0);
        EXPECT(rtmp_stats_forward(stats, (size_t)index, 1, &forward), RTMP_RESULT_NOT_FOUND);
        EXPECT(rtmp_stats_forward(stats, (size_t)index, 0, NULL), RTMP_RESULT_NULL_PARAMETER);
        EXPECT(rtmp_stats_stream_pull(stats, (size_t)index, &pull), RTMP_RESULT_NOT_FOUND);
        CHECK(strcmp(rtmp_last_error(), "stream 0 is not pulled") == 0 || strstr(rtmp_last_error(), "not pulled"));
    }
    EXPECT(rtmp_stats_stream_forwards(stats, 99, &count), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_stats_forward(stats, 99, 0, &forward), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_stats_stream_pull(stats, 99, &pull), RTMP_RESULT_NOT_FOUND);
    rtmp_stats_free(stats);
    OK(rtmp_server_remove_forward(server, "live/src", state.dead_url));
    EXPECT(rtmp_server_remove_forward(server, "live/src", state.dead_url), RTMP_RESULT_NOT_FOUND);
    EXPECT(rtmp_server_remove_forward(server, "src", state.dead_url), RTMP_RESULT_INVALID_ARGUMENT);
    OK(rtmp_server_stats(server, &stats));
    index = stats_stream_index(stats, "src");
    if (index >= 0) {
        OK(rtmp_stats_stream_forwards(stats, (size_t)index, &count));
        CHECK(count == 0);
    }
    rtmp_stats_free(stats);
    rtmp_local_publisher_free(pub);

    /* A subscribe of a stream nobody publishes asks on_locate, which names a closed port: the
     * pull connects, fails, backs off; the subscribe ends NOT_FOUND after its wait. */
    OK(rtmp_subscribe_options_new(&options));
    OK(rtmp_subscribe_options_set_wait_ms(options, 2500));
    EXPECT(rtmp_server_subscribe(server, "live/remote", options, &sub), RTMP_RESULT_NOT_FOUND);
    CHECK(sub == NULL);
    rtmp_subscribe_options_free(options);
    CHECK(atomic_load(&state.locate_calls) >= 1 && atomic_load(&state.locate_bad) == 0);
    CHECK(wait_atomic(&state.pull_connecting, 1, 5000));
    CHECK(wait_atomic(&state.pull_backoff, 1, 5000));
    CHECK(atomic_load(&state.pull_bad) == 0);
    OK(rtmp_server_stop(server));
    rtmp_server_free(server);
}

int main(void) {
    run("version and errors", test_version_and_errors);
    run("server config: every setter, NULL and bad values", test_server_config);
    run("client config: every setter, NULL and bad values", test_client_config);
    run("frames: new, accessors, retain/release, metadata", test_frames);
    run("NULL objects: every server, stats, request, session and client function", test_null_objects);
    run("live: every callback, defer/accept across threads, timeout, stats, player, publisher", test_live);
    run("userdata destructor", test_userdata_drop);
    run("bind conflict", test_bind_conflict);
    run("max_players_per_stream through the generic setter", test_max_players_per_stream);
    run("streams in-process: NULLs, bad keys and payloads, closed publishers and subscriptions", test_streams_null_and_misuse);
    run("streams in-process: start options, events, zero-copy re-publish, close from a thread, stats", test_streams_local);
    run("streams in-process: takeover with an RTMP publisher both ways, media-callback rules", test_streams_takeover);
    run("streams in-process: a server stop ends a subscribe that waits", test_streams_stop_ends_wait);
    run("relays: NULLs, runtime forward errors, on_forward/on_locate/on_pull against closed ports, stats", test_relays_without_peer);
    printf("%d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}
