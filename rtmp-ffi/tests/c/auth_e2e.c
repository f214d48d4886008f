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

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rtmp_rs.h"

extern char **environ;

static const char *ffmpeg;
static const char *work;
static int passed;
static pid_t children[16];
static int nchildren;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void kill_children(void) {
    int i;
    for (i = 0; i < nchildren; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

static void fail(const char *fmt, ...) {
    va_list args;
    fprintf(stderr, "FAIL ");
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, " (last error: %s; logs in %s)\n", rtmp_last_error(), work);
    kill_children();
    exit(1);
}

static void ok(const char *fmt, ...) {
    va_list args;
    printf("ok   ");
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
    passed++;
}

#define REQUIRE(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);                             \
            fail(__VA_ARGS__);                                                                     \
        }                                                                                          \
    } while (0)
#define MUST(call) REQUIRE((call) == RTMP_RESULT_OK, "%s", #call)

static int str_eq(rtmp_str s, const char *text) {
    return s.len == strlen(text) && memcmp(s.data, text, s.len) == 0;
}

static void copy_str(char *out, size_t size, rtmp_str s) {
    snprintf(out, size, "%.*s", (int)s.len, s.data);
}

/* ---- child processes ---- */

static pid_t spawn_ffmpeg(const char *log, const char *const *args) {
    const char *argv[64];
    char path[512];
    posix_spawn_file_actions_t actions;
    pid_t pid;
    int n = 0, i;
    argv[n++] = ffmpeg;
    argv[n++] = "-hide_banner";
    argv[n++] = "-nostdin";
    for (i = 0; args[i] != NULL && n < 62; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    snprintf(path, sizeof path, "%s/%s", work, log);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid, ffmpeg, &actions, NULL, (char *const *)argv, environ) != 0) {
        fail("cannot run %s", ffmpeg);
    }
    posix_spawn_file_actions_destroy(&actions);
    children[nchildren++] = pid;
    return pid;
}

/* ffmpeg publishing testsrc 320x240 (25 fps, a keyframe a second) and a sine (AAC) to `url` for
 * `seconds`, at real-time pace. */
static pid_t publish(const char *log, const char *url, const char *seconds) {
    const char *args[] = {"-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                          "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", seconds,
                          "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
                          "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url, NULL};
    return spawn_ffmpeg(log, args);
}

/* ffmpeg publishing 4 s of video with a text subtitle stream from `srt` (flv carries it as
 * onTextData), as rtmp-core/tests/server/encoders.rs does. */
static pid_t publish_subtitles(const char *log, const char *url, const char *srt) {
    const char *args[] = {"-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                          "-i", srt, "-t", "4", "-map", "0:v", "-map", "1:s", "-c:v", "libx264",
                          "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-c:s", "text",
                          "-f", "flv", url, NULL};
    return spawn_ffmpeg(log, args);
}

/* ffmpeg playing `url` for `seconds` of media, decoding every frame; the count goes to
 * WORK/<progress>. */
static pid_t play(const char *log, const char *url, const char *seconds, const char *progress) {
    char path[512];
    const char *args[] = {"-loglevel", "error", "-i", url, "-t", seconds, "-f", "null", "-progress", path, "-", NULL};
    snprintf(path, sizeof path, "%s/%s", work, progress);
    return spawn_ffmpeg(log, args); /* posix_spawn is done with the arguments when it returns */
}

/* Waits up to `seconds` for `pid`; its exit status, or -1 if it is still running. */
static int wait_exit(pid_t pid, int seconds) {
    long long deadline = now_ms() + seconds * 1000LL;
    int status, i;
    do {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            for (i = 0; i < nchildren; i++) {
                if (children[i] == pid) {
                    children[i] = 0;
                }
            }
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        sleep_ms(50);
    } while (now_ms() < deadline);
    return -1;
}

/* The frames decoded, from the last "frame=N" of an ffmpeg -progress file (-1 without one). */
static long decoded_frames(const char *progress) {
    char path[512], line[256];
    long frames = -1;
    FILE *file;
    snprintf(path, sizeof path, "%s/%s", work, progress);
    file = fopen(path, "r");
    if (file == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, file) != NULL) {
        if (strncmp(line, "frame=", 6) == 0) {
            frames = atol(line + 6);
        }
    }
    fclose(file);
    return frames;
}

/* Whether WORK/<log> contains `text`. */
static int log_contains(const char *log, const char *text) {
    char path[512], line[1024];
    int found = 0;
    FILE *file;
    snprintf(path, sizeof path, "%s/%s", work, log);
    file = fopen(path, "r");
    if (file == NULL) {
        return 0;
    }
    while (!found && fgets(line, sizeof line, file) != NULL) {
        found = strstr(line, text) != NULL;
    }
    fclose(file);
    return found;
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

/* AVC sequence header (avcC) and a keyframe, as in test_api.c. */
static const uint8_t AVC_SEQ[] = {0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04,
                                  0x67, 0x64, 0x00, 0x1f, 0x01, 0x00, 0x04, 0x68, 0xee, 0x3c, 0x80};
static const uint8_t AVC_KEY[] = {0x17, 0x01, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x05, 0x65, 0x88, 0x84, 0x00, 0x10};
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
    rtmp_server *server = NULL;
    rtmp_callbacks callbacks;
    rtmp_str addr;
    char base[64], url[256], srt[512];
    const struct decision_event *decision;
    pid_t cam, subs, wrong, unknown, player;
    long long started = now_ms(), deadline;
    long frames;
    int status, i;
    FILE *file;
    if (argc != 3) {
        fprintf(stderr, "usage: auth_e2e FFMPEG WORK_DIR\n");
        return 2;
    }
    ffmpeg = argv[1];
    work = argv[2];
    signal(SIGPIPE, SIG_IGN);
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
    MUST(rtmp_server_new(config, &server));
    rtmp_server_config_free(config);
    MUST(rtmp_server_start(server));
    addr = rtmp_server_local_addr(server);
    snprintf(base, sizeof base, "%.*s", (int)addr.len, addr.data);

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
