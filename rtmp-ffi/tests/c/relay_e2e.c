/*
 * Relays through the C API against nginx-rtmp (a server no one here wrote) and ffmpeg:
 *   1. on_publish routes: ffmpeg publishes live/cam here, the decision accepts it with a forward
 *      to nginx live/cam-copy (rtmp_request_accept_with_forward); an ffmpeg player reading nginx
 *      decodes it; on_forward saw connecting then live; the statistics show the forward live,
 *      with bytes, and its player of kind FORWARD;
 *   2. rtmp_server_add_forward to nginx live/cam-second at runtime: its ffmpeg player decodes;
 *      a duplicate is ALREADY_EXISTS, a stream that is not live NOT_FOUND, a bad URL
 *      INVALID_ARGUMENT; rtmp_server_remove_forward takes it out of the statistics;
 *   3. on_locate: ffmpeg publishes live/remote to nginx only; an ffmpeg player of live/remote here
 *      decodes it, pulled through the second of the URLs the hook answered (deferred, from another
 *      thread) after a closed port; on_pull saw live; the statistics show the pull and a publisher
 *      of kind PULL. A locate the hook rejects pulls nothing: that player gets StreamNotFound.
 * Run by scripts/test-c.sh with ASan/UBSan:  relay_e2e FFMPEG WORK_DIR
 * Needs nginx with the RTMP module (/usr/sbin/nginx, /usr/lib/nginx/modules/ngx_rtmp_module.so);
 * fails, never skips, without it. Ends with "relay_e2e: N passed, 0 failed"; exits 1 at the first
 * failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "e2e_support.h"

#define NGINX "/usr/sbin/nginx"
#define NGINX_RTMP_MODULE "/usr/lib/nginx/modules/ngx_rtmp_module.so"

/* ---- child processes, nginx ---- */

static void stop_child(pid_t pid) {
    int i;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    for (i = 0; i < nchildren; i++) {
        if (children[i] == pid) {
            children[i] = 0;
        }
    }
}

/* A loopback port nothing listens on now (bound, then closed). */
static int free_port(void) {
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
                getsockname(fd, (struct sockaddr *)&addr, &len) == 0,
            "no free port");
    port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static int port_open(int port) {
    struct sockaddr_in addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0), open_;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    open_ = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return open_;
}

/* ---- nginx-rtmp: its own config on a free loopback port, one `live` application ---- */

static pid_t nginx_pid;
static int nginx_port;

static void nginx_start(void) {
    char dir[512], logs[600], conf_path[600];
    const char *argv[] = {NGINX, "-p", dir, "-c", conf_path, NULL};
    long long deadline;
    FILE *conf;
    REQUIRE(access(NGINX, X_OK) == 0 && access(NGINX_RTMP_MODULE, R_OK) == 0,
            "nginx-rtmp is missing: apt-get install nginx-light libnginx-mod-rtmp (scripts/test.sh does this "
            "as root)");
    nginx_port = free_port();
    snprintf(dir, sizeof dir, "%s/nginx", work);
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(conf_path, sizeof conf_path, "%s/nginx.conf", dir);
    mkdir(dir, 0755);
    mkdir(logs, 0755);
    conf = fopen(conf_path, "w");
    REQUIRE(conf != NULL, "cannot write %s", conf_path);
    fprintf(conf,
            "load_module %s;\n%s\nworker_processes 1;\ndaemon off;\nmaster_process off;\n"
            "error_log %s/error.log info;\npid %s/nginx.pid;\n"
            "events { worker_connections 256; }\n"
            "rtmp { server { listen 127.0.0.1:%d; chunk_size 4096;\n"
            "application live { live on; record off; } } }\n",
            NGINX_RTMP_MODULE, geteuid() == 0 ? "user root;" : "", logs, dir, nginx_port);
    fclose(conf);
    nginx_pid = spawn(NGINX, "nginx.out", argv);
    deadline = now_ms() + 10000;
    while (!port_open(nginx_port)) {
        REQUIRE(now_ms() < deadline && wait_exit(nginx_pid, 0) == -1, "nginx did not start: see %s", logs);
        sleep_ms(50);
    }
}

static void nginx_url(char *url, size_t size, const char *name) {
    snprintf(url, size, "rtmp://127.0.0.1:%d/live/%s", nginx_port, name);
}

/* ---- the server and its callbacks ---- */

#define MAX_EVENTS 64

struct relay_event {
    char name[32];
    char url[160];
    rtmp_relay_state state;
};

struct state {
    char copy_url[160];     /* where on_publish sends live/cam */
    char remote_urls[2][160]; /* what on_locate answers for live/remote: a closed port, nginx */
    pthread_mutex_t lock;
    struct relay_event forwards[MAX_EVENTS], pulls[MAX_EVENTS];
    int nforwards, npulls;
    atomic_int locate_remote, locate_nowhere, locate_other, publish_bad;
};

static void record(struct state *s, struct relay_event *events, int *count, rtmp_str name, rtmp_str url,
                   rtmp_relay_state state) {
    struct relay_event *e;
    pthread_mutex_lock(&s->lock);
    if (*count < MAX_EVENTS) {
        e = &events[(*count)++];
        copy_str(e->name, sizeof e->name, name);
        copy_str(e->url, sizeof e->url, url);
        e->state = state;
    }
    pthread_mutex_unlock(&s->lock);
}

/* A runtime worker: records and returns at once. */
static void on_forward(void *ud, rtmp_str app, rtmp_str name, const rtmp_forward_stats *forward) {
    struct state *s = ud;
    (void)app;
    record(s, s->forwards, &s->nforwards, name, forward->url, forward->state);
}

static void on_pull(void *ud, rtmp_str app, rtmp_str name, const rtmp_pull_stats *pull) {
    struct state *s = ud;
    (void)app;
    record(s, s->pulls, &s->npulls, name, pull->url, pull->state);
}

/* The destinations come from the stream name: live/cam goes to nginx live/cam-copy. */
static rtmp_decision on_publish(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct state *s = ud;
    const char *urls[1];
    (void)session;
    if (str_eq(rtmp_request_stream_name(request), "cam")) {
        /* A destination that is not RTMP answers nothing: the request takes the next answer. */
        urls[0] = "http://127.0.0.1/live/cam-copy";
        if (rtmp_request_accept_with_forward(request, urls, 1) != RTMP_RESULT_INVALID_ARGUMENT ||
            !strstr(rtmp_last_error(), "http://127.0.0.1/live/cam-copy")) {
            atomic_fetch_add(&s->publish_bad, 1);
        }
        urls[0] = s->copy_url;
        if (rtmp_request_accept_with_forward(request, urls, 1) != RTMP_RESULT_OK) {
            atomic_fetch_add(&s->publish_bad, 1);
        }
        return RTMP_DECISION_DEFER; /* answered */
    }
    return RTMP_DECISION_ACCEPT;
}

struct deferred_locate {
    rtmp_request *request;
    struct state *state;
};

static void *answer_locate(void *arg) {
    struct deferred_locate *d = arg;
    const char *urls[2] = {d->state->remote_urls[0], d->state->remote_urls[1]};
    const char *bad[1] = {"rtmp:/missing-host"};
    sleep_ms(100);
    /* Not a URL: neither answers nor releases (ASan would see the next call use a freed one). */
    if (rtmp_request_locate(d->request, bad, 1) != RTMP_RESULT_INVALID_ARGUMENT) {
        atomic_fetch_add(&d->state->locate_other, 1);
    }
    if (rtmp_request_locate(d->request, urls, 2) != RTMP_RESULT_OK) { /* releases the request */
        atomic_fetch_add(&d->state->locate_other, 1);
    }
    free(d);
    return NULL;
}

/* live/remote: answered later from another thread (a lookup); live/nowhere: rejected, which
 * names no upstream (and there are no pull rules). */
static rtmp_decision on_locate(void *ud, const rtmp_session *session, rtmp_request *request) {
    struct state *s = ud;
    rtmp_str name = rtmp_request_stream_name(request);
    pthread_t thread;
    struct deferred_locate *d;
    if (rtmp_request_get_kind(request) != RTMP_REQUEST_KIND_LOCATE || rtmp_session_id(session) != 0 ||
        !str_eq(rtmp_request_app(request), "live")) {
        atomic_fetch_add(&s->locate_other, 1);
        return RTMP_DECISION_REJECT;
    }
    if (str_eq(name, "remote")) {
        atomic_fetch_add(&s->locate_remote, 1);
        d = malloc(sizeof *d);
        d->request = request;
        d->state = s;
        if (pthread_create(&thread, NULL, answer_locate, d) != 0) {
            free(d);
            return RTMP_DECISION_REJECT;
        }
        pthread_detach(thread);
        return RTMP_DECISION_DEFER;
    }
    if (str_eq(name, "nowhere")) {
        atomic_fetch_add(&s->locate_nowhere, 1);
    } else {
        atomic_fetch_add(&s->locate_other, 1);
    }
    return RTMP_DECISION_REJECT;
}

/* Whether `events` hold `state` for name/url (url NULL: any). */
static int saw(struct state *s, const struct relay_event *events, const int *count, const char *name,
               const char *url, rtmp_relay_state state) {
    int i, found = 0;
    pthread_mutex_lock(&s->lock);
    for (i = 0; i < *count && !found; i++) {
        found = strcmp(events[i].name, name) == 0 && (url == NULL || strcmp(events[i].url, url) == 0) &&
                events[i].state == state;
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

/* The first index of `state` for name/url in `events`, or -1. */
static int first(struct state *s, const struct relay_event *events, const int *count, const char *name,
                 const char *url, rtmp_relay_state state) {
    int i, at = -1;
    pthread_mutex_lock(&s->lock);
    for (i = 0; i < *count && at < 0; i++) {
        if (strcmp(events[i].name, name) == 0 && (url == NULL || strcmp(events[i].url, url) == 0) &&
            events[i].state == state) {
            at = i;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return at;
}

/* What the statistics say about live/<name>. */
struct stream_view {
    int found;
    rtmp_peer_kind publisher;
    size_t forwards, forward_players;
    int forward_live[4];
    uint64_t forward_bytes[4];
    char forward_url[4][160];
    int pulled;
    rtmp_pull_stats pull; /* views not kept: url copied below */
    char pull_url[160];
};

static struct stream_view view_stream(rtmp_server *server, const char *name) {
    struct stream_view v;
    rtmp_stats *stats = NULL;
    rtmp_server_totals totals;
    rtmp_stream_stats stream;
    rtmp_forward_stats forward;
    rtmp_peer_kind kind;
    size_t i, j;
    memset(&v, 0, sizeof v);
    MUST(rtmp_server_stats(server, &stats));
    MUST(rtmp_stats_totals(stats, &totals));
    for (i = 0; i < totals.streams; i++) {
        MUST(rtmp_stats_stream(stats, i, &stream));
        if (!str_eq(stream.app, "live") || !str_eq(stream.name, name)) {
            continue;
        }
        v.found = 1;
        MUST(rtmp_stats_stream_publisher_kind(stats, i, &v.publisher));
        MUST(rtmp_stats_stream_forwards(stats, i, &v.forwards));
        for (j = 0; j < v.forwards && j < 4; j++) {
            MUST(rtmp_stats_forward(stats, i, j, &forward));
            v.forward_live[j] = forward.state == RTMP_RELAY_STATE_LIVE;
            v.forward_bytes[j] = forward.bytes_out;
            copy_str(v.forward_url[j], sizeof v.forward_url[j], forward.url);
        }
        for (j = 0; j < stream.players; j++) {
            MUST(rtmp_stats_player_kind(stats, i, j, &kind));
            v.forward_players += kind == RTMP_PEER_KIND_FORWARD;
        }
        if (rtmp_stats_stream_pull(stats, i, &v.pull) == RTMP_RESULT_OK) {
            v.pulled = 1;
            copy_str(v.pull_url, sizeof v.pull_url, v.pull.url);
            v.pull.url.data = v.pull.last_error.data = "";
            v.pull.url.len = v.pull.last_error.len = 0;
        }
    }
    rtmp_stats_free(stats);
    return v;
}

/* The forward to `url` of a view: its index, or -1. */
static int forward_index(const struct stream_view *v, const char *url) {
    size_t j;
    for (j = 0; j < v->forwards && j < 4; j++) {
        if (strcmp(v->forward_url[j], url) == 0) {
            return (int)j;
        }
    }
    return -1;
}

static void forwards(rtmp_server *server, struct state *s, const char *base) {
    char url[256], second[160], bad[160];
    pid_t publisher, copy_player, second_player;
    long long deadline;
    struct stream_view v;
    long copy_frames, second_frames;
    int i, at_connecting, at_live;

    /* 1. ffmpeg publishes live/cam; on_publish forwards it to nginx live/cam-copy. */
    snprintf(url, sizeof url, "%s/live/cam", base);
    publisher = publish("publish-cam.log", url, "20");
    deadline = now_ms() + 20000;
    do {
        sleep_ms(100);
        v = view_stream(server, "cam");
        i = forward_index(&v, s->copy_url);
    } while (!(i >= 0 && v.forward_live[i] && v.forward_bytes[i] > 0) && now_ms() < deadline);
    REQUIRE(i >= 0 && v.forward_live[i] && v.forward_bytes[i] > 0, "the forward to %s never went live in the stats",
            s->copy_url);
    REQUIRE(atomic_load(&s->publish_bad) == 0, "rtmp_request_accept_with_forward failed");
    copy_player = play("play-copy.log", s->copy_url, "4", "play-copy.progress");

    /* 2. A second destination at runtime, and the errors. */
    nginx_url(second, sizeof second, "cam-second");
    MUST(rtmp_server_add_forward(server, "live/cam", second));
    REQUIRE(rtmp_server_add_forward(server, "live/cam", second) == RTMP_RESULT_ALREADY_EXISTS,
            "a duplicate forward");
    REQUIRE(rtmp_server_add_forward(server, "live/none", second) == RTMP_RESULT_NOT_FOUND,
            "a forward of a stream that is not live");
    snprintf(bad, sizeof bad, "http://127.0.0.1:%d/live/x", nginx_port);
    REQUIRE(rtmp_server_add_forward(server, "live/cam", bad) == RTMP_RESULT_INVALID_ARGUMENT, "a forward to %s", bad);
    ok("add_forward errors: duplicate ALREADY_EXISTS, live/none NOT_FOUND, http:// INVALID_ARGUMENT (\"%s\")",
       rtmp_last_error());
    deadline = now_ms() + 20000;
    do {
        sleep_ms(100);
        v = view_stream(server, "cam");
        i = forward_index(&v, second);
    } while (!(i >= 0 && v.forward_live[i] && v.forward_bytes[i] > 0) && now_ms() < deadline);
    REQUIRE(i >= 0 && v.forward_live[i] && v.forward_bytes[i] > 0, "the runtime forward never went live");
    second_player = play("play-second.log", second, "4", "play-second.progress");
    REQUIRE(v.forwards == 2 && v.forward_players == 2 && v.publisher == RTMP_PEER_KIND_RTMP,
            "stats of live/cam: %zu forwards, %zu players of kind forward, publisher kind %u", v.forwards,
            v.forward_players, (unsigned)v.publisher);
    ok("stats of live/cam: 2 forwards live (%s %llu bytes out, %s %llu bytes out), 2 players of kind FORWARD",
       v.forward_url[0], (unsigned long long)v.forward_bytes[0], v.forward_url[1],
       (unsigned long long)v.forward_bytes[1]);

    REQUIRE(wait_exit(copy_player, 30) == 0, "the ffmpeg player of %s failed (play-copy.log)", s->copy_url);
    REQUIRE(wait_exit(second_player, 30) == 0, "the ffmpeg player of %s failed (play-second.log)", second);
    copy_frames = decoded_frames("play-copy.progress");
    second_frames = decoded_frames("play-second.progress");
    /* 4 s at 25 fps: 100 pictures, less up to a GOP (1 s) that nginx may start in (it sends a
     * new player the next frame, which may be an inter frame, and ffmpeg's -t counts from it). */
    REQUIRE(copy_frames >= 65 && second_frames >= 65, "decoded from nginx: cam-copy %ld, cam-second %ld",
            copy_frames, second_frames);
    at_connecting = first(s, s->forwards, &s->nforwards, "cam", s->copy_url, RTMP_RELAY_STATE_CONNECTING);
    at_live = first(s, s->forwards, &s->nforwards, "cam", s->copy_url, RTMP_RELAY_STATE_LIVE);
    REQUIRE(at_connecting >= 0 && at_live > at_connecting, "on_forward for cam-copy: connecting at %d, live at %d",
            at_connecting, at_live);
    REQUIRE(saw(s, s->forwards, &s->nforwards, "cam", second, RTMP_RELAY_STATE_LIVE),
            "on_forward never saw cam-second live");
    ok("on_publish forwarded live/cam to nginx live/cam-copy: on_forward connecting then live, an ffmpeg player of "
       "nginx decoded %ld frames; the runtime forward to live/cam-second: %ld frames",
       copy_frames, second_frames);

    MUST(rtmp_server_remove_forward(server, "live/cam", second));
    REQUIRE(rtmp_server_remove_forward(server, "live/cam", second) == RTMP_RESULT_NOT_FOUND,
            "a second remove_forward");
    v = view_stream(server, "cam");
    REQUIRE(v.forwards == 1 && forward_index(&v, second) < 0 && forward_index(&v, s->copy_url) == 0,
            "stats after remove_forward: %zu forwards", v.forwards);
    ok("remove_forward: live/cam-second gone from the stats (1 forward left), a second remove NOT_FOUND");
    stop_child(publisher);
}

static void pulls(rtmp_server *server, struct state *s, const char *base) {
    char url[256], remote[160];
    pid_t upstream, player, lonely;
    long long deadline, started;
    struct stream_view v;
    long frames;
    int status;

    /* ffmpeg publishes live/remote to nginx only. */
    nginx_url(remote, sizeof remote, "remote");
    upstream = publish("publish-remote.log", remote, "20");
    snprintf(s->remote_urls[0], sizeof s->remote_urls[0], "rtmp://127.0.0.1:%d/live/remote", free_port());
    snprintf(s->remote_urls[1], sizeof s->remote_urls[1], "%s", remote);
    /* Until nginx has it: a player of ours that gets a picture from nginx. */
    {
        rtmp_player *probe = NULL;
        rtmp_player_event event;
        int pictures = 0;
        deadline = now_ms() + 20000;
        while (pictures == 0 && now_ms() < deadline) {
            if (rtmp_player_new(NULL, remote, &probe) != RTMP_RESULT_OK) {
                sleep_ms(200);
                continue;
            }
            while (pictures == 0 && rtmp_player_next(probe, 2000, &event) == RTMP_RESULT_OK) {
                pictures += event.kind == RTMP_PLAYER_EVENT_KIND_VIDEO;
                rtmp_frame_release(event.frame);
            }
            rtmp_player_free(probe);
            probe = NULL;
        }
        REQUIRE(pictures > 0, "ffmpeg never published live/remote to nginx (publish-remote.log)");
    }

    /* A stream the hook does not locate, played meanwhile: not found when play_wait_timeout passes. */
    snprintf(url, sizeof url, "%s/live/nowhere", base);
    started = now_ms();
    lonely = play("play-nowhere.log", url, "3", "play-nowhere.progress");
    snprintf(url, sizeof url, "%s/live/remote", base);
    player = play("play-remote.log", url, "4", "play-remote.progress");

    deadline = now_ms() + 20000;
    do {
        sleep_ms(100);
        v = view_stream(server, "remote");
    } while (!(v.pulled && v.pull.state == RTMP_RELAY_STATE_LIVE && v.pull.bytes_in > 0) && now_ms() < deadline);
    REQUIRE(v.pulled && v.pull.state == RTMP_RELAY_STATE_LIVE && v.pull.bytes_in > 0 &&
                strcmp(v.pull_url, remote) == 0 && v.publisher == RTMP_PEER_KIND_PULL,
            "stats of live/remote: pulled %d, state %s, url %s, publisher kind %u", v.pulled,
            rtmp_relay_state_name(v.pull.state), v.pull_url, (unsigned)v.publisher);
    ok("stats of live/remote: pull from %s live, %llu bytes in, %llu reconnects, publisher kind PULL", v.pull_url,
       (unsigned long long)v.pull.bytes_in, (unsigned long long)v.pull.reconnects);

    REQUIRE(wait_exit(player, 30) == 0, "the ffmpeg player of live/remote failed (play-remote.log)");
    frames = decoded_frames("play-remote.progress");
    /* 4 s at 25 fps: 100 pictures, less up to a GOP: the player waits here before the pull
     * starts, and nginx starts the pull with the next frame, which may be an inter frame. */
    REQUIRE(frames >= 65, "decoded %ld frames of live/remote through the pull", frames);
    REQUIRE(atomic_load(&s->locate_remote) >= 1 && atomic_load(&s->locate_other) == 0,
            "on_locate: live/remote %d times, %d unexpected", atomic_load(&s->locate_remote),
            atomic_load(&s->locate_other));
    REQUIRE(saw(s, s->pulls, &s->npulls, "remote", remote, RTMP_RELAY_STATE_LIVE), "on_pull never saw live");
    ok("on_locate answered (deferred, another thread) [closed port, nginx]: an ffmpeg player here decoded %ld "
       "frames of live/remote pulled from nginx; on_pull saw it live (%d events)",
       frames, s->npulls);

    status = wait_exit(lonely, 30);
    REQUIRE(status > 0 && decoded_frames("play-nowhere.progress") <= 0,
            "ffmpeg played live/nowhere, which nobody has (status %d)", status);
    /* Play.StreamNotFound's description, as ffmpeg prints it. */
    REQUIRE(log_contains("play-nowhere.log", "No publisher arrived in time"),
            "the player of live/nowhere did not get StreamNotFound (play-nowhere.log)");
    REQUIRE(atomic_load(&s->locate_nowhere) >= 1, "on_locate never asked for live/nowhere");
    REQUIRE(!saw(s, s->pulls, &s->npulls, "nowhere", NULL, RTMP_RELAY_STATE_CONNECTING) &&
                !view_stream(server, "nowhere").pulled,
            "a pull of live/nowhere ran");
    ok("on_locate rejected live/nowhere: no pull, the ffmpeg player got StreamNotFound (\"No publisher arrived in "
       "time\", status %d) after %lld ms, 0 frames",
       status, now_ms() - started);
    stop_child(upstream);
}

int main(int argc, char **argv) {
    static struct state state;
    rtmp_server_config *config = NULL;
    rtmp_server *server;
    rtmp_callbacks callbacks;
    char base[128];
    long long started = now_ms();
    e2e_args(argc, argv, "relay_e2e");
    pthread_mutex_init(&state.lock, NULL);
    nginx_start();
    nginx_url(state.copy_url, sizeof state.copy_url, "cam-copy");

    memset(&callbacks, 0, sizeof callbacks);
    callbacks.on_publish = on_publish;
    MUST(rtmp_server_config_new(&config));
    MUST(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    MUST(rtmp_server_config_set_callbacks(config, &callbacks, &state, NULL));
    MUST(rtmp_server_config_set_relay_callbacks(config, on_forward, on_locate, on_pull));
    MUST(rtmp_server_config_set(config, "play_wait_timeout", "4s"));
    MUST(rtmp_server_config_set(config, "pull_start_timeout", "3s"));
    server = e2e_server_start(config, "rtmp://", base, sizeof base);

    forwards(server, &state, base);
    pulls(server, &state, base);

    MUST(rtmp_server_stop(server));
    rtmp_server_free(server);
    kill_children();
    pthread_mutex_destroy(&state.lock);
    printf("relay_e2e: %d passed, 0 failed (%lld s)\n", passed, (now_ms() - started) / 1000);
    return 0;
}
