/*
 * Publish authentication and data messages through the C API, against ffmpeg 9. The server has
 * publish_auth "adobe" and on_credentials (rtmp_server_config_set_auth_callbacks): alice's
 * password is answered later from another thread, bob's during the call, mallory is rejected
 * (no answer: no such user), eve is answered NULL.
 *   1. ffmpeg publishes rtmp://alice:s3cret@…/live/cam: accepted, on_publish's session shows
 *      the user alice (rtmp_session_user, rtmp_request_user); an ffmpeg player without
 *      credentials decodes it (its on_play session has no user);
 *   2. ffmpeg with alice's wrong password is refused ("Incorrect username/password"), ffmpeg as
 *      mallory too ("Incorrect username"); neither reaches on_publish;
 *   3. our client: a publisher as bob (credentials in the URL) is accepted, its onCuePoint
 *      reaches on_data; a player as bob logs in and gets video; a publisher with bob's wrong
 *      password is RTMP_RESULT_REJECTED "authfailed…", one as eve "nosuchuser…", a player with a
 *      wrong password "authfailed…";
 *   4. on_data (rtmp_server_config_set_data_callbacks): ffmpeg publishing a text subtitle stream
 *      as alice: onTextData "hello" then "world", stream live/subs, session user alice.
 * Run by scripts/test-c.sh with ASan/UBSan:  auth_e2e FFMPEG WORK_DIR
 * Ends with "auth_e2e: N passed, 0 failed"; exits 1 at the first failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>

#include "e2e_support.h"

/* ---- ffmpeg ---- */

/* ffmpeg publishing 4 s of video with a text subtitle stream from `srt` (flv carries it as
 * onTextData), as rtmp-core/tests/server/encoders.rs does. */
static pid_t publish_subtitles(const char *log, const char *url, const char *srt) {
    const char *args[] = {"-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                          "-i", srt, "-t", "4", "-map", "0:v", "-map", "1:s", "-c:v", "libx264",
                          "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-c:s", "text",
                          "-f", "flv", url, NULL};
    return spawn_ffmpeg(log, args);
}

/* ---- the server and its callbacks ---- */

#define MAX_EVENTS 32

/* A publish or play decision: the stream and the user on the session and on the request. */
struct decision_event {
    char name[32], session_user[32], request_user[32];
};

/* An on_data call. */
struct data_event {
    char app[16], name[32], message[32], user[32], text[64];
    uint32_t kind;
    size_t values;
    double number;
};

struct state {
    pthread_mutex_t lock;
    struct decision_event publishes[MAX_EVENTS], plays[MAX_EVENTS];
    struct data_event data[MAX_EVENTS];
    int npublishes, nplays, ndata;
    atomic_int alice, bob, mallory, eve, other, bad;
};

/* alice's password comes from another thread (a lookup elsewhere), a while later. */
static void *answer_alice(void *arg) {
    rtmp_request *request = arg;
    sleep_ms(50);
    if (rtmp_request_credentials(request, "s3cret") != RTMP_RESULT_OK) { /* releases the request */
        fprintf(stderr, "answering alice: %s\n", rtmp_last_error());
    }
    return NULL;
}

/* A blocking-pool thread: may block; answers now or defers. */
static rtmp_decision on_credentials(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct state *s = ud;
    rtmp_str user = rtmp_request_user(request);
    pthread_t thread;
    if (rtmp_request_get_kind(request) != RTMP_REQUEST_KIND_CREDENTIALS || rtmp_request_session(request) != session ||
        !str_eq(rtmp_request_app(request), "live") || rtmp_session_id(session) == 0 ||
        rtmp_session_peer_addr(session).len == 0 || rtmp_session_user(session).len != 0) {
        atomic_fetch_add(&s->bad, 1);
    }
    /* A password that is not UTF-8 neither answers nor releases. */
    if (rtmp_request_credentials(request, "\xff\xfe") != RTMP_RESULT_INVALID_ARGUMENT) {
        atomic_fetch_add(&s->bad, 1);
    }
    if (str_eq(user, "alice")) {
        atomic_fetch_add(&s->alice, 1);
        if (pthread_create(&thread, NULL, answer_alice, request) != 0) {
            return RTMP_DECISION_REJECT;
        }
        pthread_detach(thread);
        return RTMP_DECISION_DEFER;
    }
    if (str_eq(user, "bob")) {
        atomic_fetch_add(&s->bob, 1);
        if (rtmp_request_credentials(request, "hunter2") != RTMP_RESULT_OK ||
            rtmp_request_credentials(request, "other") != RTMP_RESULT_ALREADY_ANSWERED) {
            atomic_fetch_add(&s->bad, 1);
        }
        return RTMP_DECISION_DEFER; /* answered */
    }
    if (str_eq(user, "mallory")) {
        atomic_fetch_add(&s->mallory, 1);
        return RTMP_DECISION_REJECT; /* no password answer: no such user */
    }
    if (str_eq(user, "eve")) {
        atomic_fetch_add(&s->eve, 1);
        if (rtmp_request_credentials(request, NULL) != RTMP_RESULT_OK) {
            atomic_fetch_add(&s->bad, 1);
        }
        return RTMP_DECISION_DEFER; /* answered */
    }
    atomic_fetch_add(&s->other, 1);
    return RTMP_DECISION_REJECT;
}

static void record_decision(struct state *s, struct decision_event *events, int *count, const rtmp_session *session,
                            rtmp_request *request) {
    struct decision_event *e;
    pthread_mutex_lock(&s->lock);
    if (*count < MAX_EVENTS) {
        e = &events[(*count)++];
        copy_str(e->name, sizeof e->name, rtmp_request_stream_name(request));
        copy_str(e->session_user, sizeof e->session_user, rtmp_session_user(session));
        copy_str(e->request_user, sizeof e->request_user, rtmp_request_user(request));
    }
    pthread_mutex_unlock(&s->lock);
}

static rtmp_decision on_publish(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct state *s = ud;
    record_decision(s, s->publishes, &s->npublishes, session, request);
    return RTMP_DECISION_ACCEPT;
}

static rtmp_decision on_play(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct state *s = ud;
    record_decision(s, s->plays, &s->nplays, session, request);
    return RTMP_DECISION_ACCEPT;
}

/* A runtime worker: reads the message, records it and returns at once. */
static void on_data(void *ud, const rtmp_session *session, const rtmp_frame *frame) {
    struct state *s = ud;
    struct data_event *e;
    rtmp_str text = {"", 0};
    pthread_mutex_lock(&s->lock);
    if (s->ndata < MAX_EVENTS) {
        e = &s->data[s->ndata++];
        copy_str(e->app, sizeof e->app, rtmp_frame_stream_app(frame));
        copy_str(e->name, sizeof e->name, rtmp_frame_stream_name(frame));
        copy_str(e->message, sizeof e->message, rtmp_frame_data_name(frame));
        copy_str(e->user, sizeof e->user, rtmp_session_user(session));
        e->kind = rtmp_frame_get_kind(frame);
        e->values = rtmp_frame_data_value_count(frame);
        if (rtmp_frame_data_string(frame, 0, "text", &text) != RTMP_RESULT_OK) {
            (void)rtmp_frame_data_string(frame, 0, "name", &text); /* onCuePoint */
        }
        copy_str(e->text, sizeof e->text, text);
        e->number = -1;
        (void)rtmp_frame_data_number(frame, 0, "time", &e->number);
    }
    pthread_mutex_unlock(&s->lock);
}

/* The decision for stream `name` in `events` (the first), or NULL. */
static const struct decision_event *find_decision(struct state *s, const struct decision_event *events,
                                                  const int *count, const char *name, const char *user) {
    const struct decision_event *found = NULL;
    int i;
    pthread_mutex_lock(&s->lock);
    for (i = 0; i < *count && found == NULL; i++) {
        if (strcmp(events[i].name, name) == 0 && (user == NULL || strcmp(events[i].session_user, user) == 0)) {
            found = &events[i];
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

static int count_data(struct state *s, const char *name) {
    int i, n = 0;
    pthread_mutex_lock(&s->lock);
    for (i = 0; i < s->ndata; i++) {
        n += strcmp(s->data[i].name, name) == 0;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* ---- our client ---- */

/* onCuePoint with an object {name: "ad", time: 1.5}. */
static const uint8_t CUE_POINT[] = {0x02, 0x00, 0x0a, 'o', 'n', 'C', 'u', 'e', 'P', 'o', 'i', 'n', 't', 0x03,
                                    0x00, 0x04, 'n', 'a', 'm', 'e', 0x02, 0x00, 0x02, 'a', 'd',
                                    0x00, 0x04, 't', 'i', 'm', 'e', 0x00, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
                                    0x00, 0x00, 0x09};

/* A publisher of ours to `url` must be refused: REJECTED, the description starting `reason`. */
static void publisher_refused(const char *url, const char *reason) {
    rtmp_publisher *pub = NULL;
    rtmp_result result = rtmp_publisher_new(NULL, url, &pub);
    REQUIRE(result == RTMP_RESULT_REJECTED && pub == NULL, "our publisher to %s: %s", url, rtmp_result_message(result));
    REQUIRE(strstr(rtmp_last_error(), reason) != NULL, "our publisher to %s was refused without %s", url, reason);
}

static void our_client(struct state *s, const char *base) {
    char url[256], message[512];
    rtmp_publisher *pub = NULL;
    rtmp_player *player = NULL;
    rtmp_player_event event;
    const struct decision_event *decision;
    long long deadline;
    int videos = 0, i;

    snprintf(url, sizeof url, "rtmp://bob:hunter2@%s/live/client", base);
    MUST(rtmp_publisher_new(NULL, url, &pub));
    MUST(rtmp_publisher_send_video(pub, 0, AVC_SEQ, sizeof AVC_SEQ));
    MUST(rtmp_publisher_send_video(pub, 0, AVC_KEY, sizeof AVC_KEY));
    MUST(rtmp_publisher_send_data(pub, 40, CUE_POINT, sizeof CUE_POINT));
    deadline = now_ms() + 10000;
    while (count_data(s, "client") == 0 && now_ms() < deadline) {
        sleep_ms(20);
    }
    MUST(rtmp_publisher_close(pub));
    rtmp_publisher_free(pub);
    decision = find_decision(s, s->publishes, &s->npublishes, "client", NULL);
    REQUIRE(decision != NULL && strcmp(decision->session_user, "bob") == 0 &&
                strcmp(decision->request_user, "bob") == 0,
            "on_publish of live/client: %s", decision == NULL ? "never" : decision->session_user);
    pthread_mutex_lock(&s->lock);
    for (i = 0; i < s->ndata && strcmp(s->data[i].name, "client") != 0; i++) {
    }
    REQUIRE(i < s->ndata && strcmp(s->data[i].message, "onCuePoint") == 0 && s->data[i].kind == RTMP_FRAME_KIND_DATA &&
                s->data[i].values == 1 && strcmp(s->data[i].text, "ad") == 0 && s->data[i].number == 1.5 &&
                strcmp(s->data[i].user, "bob") == 0 && strcmp(s->data[i].app, "live") == 0,
            "on_data of live/client");
    pthread_mutex_unlock(&s->lock);
    ok("our publisher as bob (rtmp://bob:hunter2@…, answered during the call): accepted, on_publish's session "
       "user bob; its onCuePoint reached on_data {name: \"ad\", time: 1.5} with user bob");

    /* A player of ours with credentials logs in too (it names the user in its connect). */
    snprintf(url, sizeof url, "rtmp://bob:hunter2@%s/live/cam", base);
    MUST(rtmp_player_new(NULL, url, &player));
    deadline = now_ms() + 10000;
    while (videos < 5 && now_ms() < deadline && rtmp_player_next(player, 2000, &event) == RTMP_RESULT_OK) {
        if (event.kind == RTMP_PLAYER_EVENT_KIND_VIDEO) {
            videos++;
        }
        if (event.frame != NULL) {
            rtmp_frame_release(event.frame);
        }
    }
    rtmp_player_free(player);
    player = NULL;
    REQUIRE(videos >= 5, "our player as bob got %d video frames of live/cam", videos);
    decision = find_decision(s, s->plays, &s->nplays, "cam", "bob");
    REQUIRE(decision != NULL && strcmp(decision->request_user, "bob") == 0, "on_play never saw bob");
    ok("our player as bob: logged in (on_play's session user bob), %d video frames of live/cam", videos);

    snprintf(url, sizeof url, "rtmp://bob:wrong@%s/live/client2", base);
    publisher_refused(url, "authfailed");
    snprintf(message, sizeof message, "%s", rtmp_last_error());
    snprintf(url, sizeof url, "rtmp://eve:x@%s/live/client2", base);
    publisher_refused(url, "nosuchuser");
    snprintf(url, sizeof url, "rtmp://bob:wrong@%s/live/cam", base);
    REQUIRE(rtmp_player_new(NULL, url, &player) == RTMP_RESULT_REJECTED && player == NULL,
            "our player with a wrong password");
    REQUIRE(strstr(rtmp_last_error(), "authfailed") != NULL, "our player's refusal: %s", rtmp_last_error());
    REQUIRE(find_decision(s, s->publishes, &s->npublishes, "client2", NULL) == NULL, "a refused publisher reached on_publish");
    ok("our clients refused: bob's wrong password REJECTED (\"%.60s…\"), eve (answered NULL) REJECTED "
       "nosuchuser, a player with a wrong password REJECTED authfailed",
       message);
}

int main(int argc, char **argv) {
    static struct state state;
    rtmp_server_config *config = NULL;
    rtmp_server *server;
    rtmp_callbacks callbacks;
    char base[64], url[256], srt[512];
    const struct decision_event *decision;
    pid_t cam, subs, wrong, unknown, player;
    long long started = now_ms(), deadline;
    long frames;
    int status, i;
    FILE *file;
    e2e_args(argc, argv, "auth_e2e");
    pthread_mutex_init(&state.lock, NULL);

    memset(&callbacks, 0, sizeof callbacks);
    callbacks.on_publish = on_publish;
    callbacks.on_play = on_play;
    MUST(rtmp_server_config_new(&config));
    MUST(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    MUST(rtmp_server_config_set(config, "publish_auth", "adobe"));
    MUST(rtmp_server_config_set_callbacks(config, &callbacks, &state, NULL));
    MUST(rtmp_server_config_set_auth_callbacks(config, on_credentials));
    MUST(rtmp_server_config_set_data_callbacks(config, on_data));
    server = e2e_server_start(config, "", base, sizeof base);

    /* Everything ffmpeg does runs at once: the publish as alice, the subtitles, the refusals. */
    snprintf(srt, sizeof srt, "%s/subs.srt", work);
    file = fopen(srt, "w");
    REQUIRE(file != NULL, "cannot write %s", srt);
    fputs("1\n00:00:02,000 --> 00:00:02,500\nhello\n\n2\n00:00:03,000 --> 00:00:03,500\nworld\n", file);
    fclose(file);
    snprintf(url, sizeof url, "rtmp://alice:s3cret@%s/live/cam", base);
    cam = publish("publish-cam.log", url, "8");
    snprintf(url, sizeof url, "rtmp://alice:s3cret@%s/live/subs", base);
    subs = publish_subtitles("publish-subs.log", url, srt);
    snprintf(url, sizeof url, "rtmp://alice:wrong@%s/live/wrong", base);
    wrong = publish("publish-wrong.log", url, "2");
    snprintf(url, sizeof url, "rtmp://mallory:s3cret@%s/live/unknown", base);
    unknown = publish("publish-unknown.log", url, "2");

    /* 1. alice's publish is accepted; an ffmpeg player without credentials decodes it. */
    deadline = now_ms() + 15000;
    while (find_decision(&state, state.publishes, &state.npublishes, "cam", NULL) == NULL && now_ms() < deadline) {
        sleep_ms(50);
    }
    decision = find_decision(&state, state.publishes, &state.npublishes, "cam", NULL);
    REQUIRE(decision != NULL, "ffmpeg's publish as alice never reached on_publish (publish-cam.log)");
    REQUIRE(strcmp(decision->session_user, "alice") == 0 && strcmp(decision->request_user, "alice") == 0,
            "on_publish of live/cam: session user \"%s\", request user \"%s\"", decision->session_user,
            decision->request_user);
    snprintf(url, sizeof url, "rtmp://%s/live/cam", base);
    player = play("play-cam.log", url, "2", "play-cam.progress");

    /* 3. Our client meanwhile. */
    our_client(&state, base);

    REQUIRE(wait_exit(player, 30) == 0, "the ffmpeg player of live/cam failed (play-cam.log)");
    frames = decoded_frames("play-cam.progress");
    REQUIRE(frames >= 30, "the ffmpeg player decoded %ld frames of live/cam", frames);
    decision = find_decision(&state, state.plays, &state.nplays, "cam", "");
    REQUIRE(decision != NULL && decision->request_user[0] == '\0', "on_play never saw the anonymous ffmpeg player");
    ok("ffmpeg published as alice (rtmp://alice:s3cret@…, password answered from another thread): on_publish's "
       "session user alice; an ffmpeg player without credentials (no user) decoded %ld frames",
       frames);

    /* 2. The refusals, as ffmpeg words them (libavformat/rtmpproto.c). */
    status = wait_exit(wrong, 30);
    REQUIRE(status > 0 && log_contains("publish-wrong.log", "Incorrect username/password"),
            "ffmpeg with a wrong password: status %d (publish-wrong.log)", status);
    status = wait_exit(unknown, 30);
    REQUIRE(status > 0 && log_contains("publish-unknown.log", "Incorrect username") &&
                !log_contains("publish-unknown.log", "Incorrect username/password"),
            "ffmpeg as an unknown user: status %d (publish-unknown.log)", status);
    REQUIRE(find_decision(&state, state.publishes, &state.npublishes, "wrong", NULL) == NULL &&
                find_decision(&state, state.publishes, &state.npublishes, "unknown", NULL) == NULL,
            "a refused ffmpeg reached on_publish");
    REQUIRE(atomic_load(&state.mallory) >= 1, "on_credentials never asked for mallory");
    ok("ffmpeg refused: alice with a wrong password (\"Incorrect username/password\"), mallory, whom the hook "
       "rejected (\"Incorrect username\"); neither reached on_publish");

    /* 4. The subtitles arrive as onTextData. */
    status = wait_exit(subs, 30);
    REQUIRE(status == 0, "ffmpeg publishing subtitles failed: status %d (publish-subs.log)", status);
    deadline = now_ms() + 5000;
    while (count_data(&state, "subs") < 2 && now_ms() < deadline) {
        sleep_ms(50);
    }
    pthread_mutex_lock(&state.lock);
    {
        const char *texts[2] = {"", ""};
        int n = 0;
        for (i = 0; i < state.ndata; i++) {
            struct data_event *e = &state.data[i];
            if (strcmp(e->name, "subs") != 0) {
                continue;
            }
            REQUIRE(strcmp(e->message, "onTextData") == 0 && e->kind == RTMP_FRAME_KIND_DATA && e->values >= 1 &&
                        strcmp(e->app, "live") == 0 && strcmp(e->user, "alice") == 0,
                    "on_data of live/subs: %s with %zu values, user \"%s\"", e->message, e->values, e->user);
            if (n < 2) {
                texts[n] = e->text;
            }
            n++;
        }
        REQUIRE(n == 2 && strcmp(texts[0], "hello") == 0 && strcmp(texts[1], "world") == 0,
                "on_data of live/subs: %d messages, texts \"%s\", \"%s\"", n, texts[0], texts[1]);
    }
    pthread_mutex_unlock(&state.lock);
    ok("ffmpeg's subtitle stream as alice: on_data got onTextData \"hello\" then \"world\" (kind DATA, "
       "live/subs, session user alice)");

    REQUIRE(atomic_load(&state.bad) == 0 && atomic_load(&state.other) == 0,
            "on_credentials: %d unexpected requests, %d unknown users", atomic_load(&state.bad),
            atomic_load(&state.other));
    REQUIRE(atomic_load(&state.alice) >= 3 && atomic_load(&state.bob) >= 3 && atomic_load(&state.eve) >= 1,
            "on_credentials lookups: alice %d, bob %d, eve %d", atomic_load(&state.alice), atomic_load(&state.bob),
            atomic_load(&state.eve));
    ok("on_credentials: kind CREDENTIALS, app live, a session without a user yet; a non-UTF-8 password "
       "INVALID_ARGUMENT, a second answer ALREADY_ANSWERED; lookups alice %d, bob %d, mallory %d, eve %d",
       atomic_load(&state.alice), atomic_load(&state.bob), atomic_load(&state.mallory), atomic_load(&state.eve));

    wait_exit(cam, 20);
    MUST(rtmp_server_stop(server));
    rtmp_server_free(server);
    kill_children();
    pthread_mutex_destroy(&state.lock);
    printf("auth_e2e: %d passed, 0 failed (%lld s)\n", passed, (now_ms() - started) / 1000);
    return 0;
}
