/*
 * An RTMP server that lets only holders of a token publish; playing is open.
 *
 *   auth_server --bind 127.0.0.1:1935 --publish-token SECRET [--log LEVEL]
 *   ffmpeg -re -i in.mp4 -c copy -f flv 'rtmp://127.0.0.1:1935/live/cam?token=SECRET'
 *   ffplay rtmp://127.0.0.1:1935/live/cam
 *
 * One line per event on stdout: "connect app=live", "publish live/cam", "keyframe live/cam ts=MS",
 * "unpublish live/cam", "play live/cam", "disconnect". Refusals and the listening address go to
 * stderr. SIGINT or SIGTERM stops it gracefully.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <string.h>

#include "common.h"

struct app {
    const char *token;
};

static void line(const char *fmt_prefix, rtmp_str a, rtmp_str b) {
    printf("%s%.*s/%.*s\n", fmt_prefix, (int)a.len, a.data, (int)b.len, b.data);
    fflush(stdout);
}

static rtmp_decision on_connect(void *userdata, const rtmp_session *session, rtmp_request *request) {
    rtmp_str app = rtmp_session_app(session);
    (void)userdata;
    (void)request;
    printf("connect app=%.*s\n", (int)app.len, app.data);
    fflush(stdout);
    return RTMP_DECISION_ACCEPT;
}

static rtmp_decision on_publish(void *userdata, const rtmp_session *session, rtmp_request *request) {
    const struct app *app = userdata;
    rtmp_str token;
    (void)session;
    if (rtmp_request_query_param(request, "token", &token) != RTMP_RESULT_OK ||
        token.len != strlen(app->token) || memcmp(token.data, app->token, token.len) != 0) {
        rtmp_str raw = rtmp_request_stream_raw(request);
        fprintf(stderr, "refused publish of %.*s: bad token\n", (int)raw.len, raw.data);
        rtmp_request_reject(request, "Bad publish token.");
        return RTMP_DECISION_DEFER; /* answered above */
    }
    line("publish ", rtmp_request_app(request), rtmp_request_stream_name(request));
    return RTMP_DECISION_ACCEPT;
}

static void on_keyframe(void *userdata, const rtmp_session *session, const rtmp_frame *frame) {
    rtmp_str app = rtmp_frame_stream_app(frame), name = rtmp_frame_stream_name(frame);
    (void)userdata;
    (void)session;
    printf("keyframe %.*s/%.*s ts=%u\n", (int)app.len, app.data, (int)name.len, name.data,
           rtmp_frame_timestamp(frame));
    fflush(stdout);
}

static void on_unpublish(void *userdata, const rtmp_session *session, rtmp_str app, rtmp_str name) {
    (void)userdata;
    (void)session;
    line("unpublish ", app, name);
}

static rtmp_decision on_play(void *userdata, const rtmp_session *session, rtmp_request *request) {
    (void)userdata;
    (void)session;
    line("play ", rtmp_request_app(request), rtmp_request_stream_name(request));
    return RTMP_DECISION_ACCEPT;
}

static void on_disconnect(void *userdata, const rtmp_session *session, rtmp_disconnect_reason reason,
                          rtmp_str text) {
    (void)userdata;
    (void)session;
    (void)reason;
    (void)text;
    printf("disconnect\n");
    fflush(stdout);
}

static int usage(void) {
    fprintf(stderr, "usage: auth_server --bind ADDR --publish-token SECRET [--log error|warn|info|debug]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *bind = NULL, *log = NULL;
    struct app app = {NULL};
    rtmp_server_config *config = NULL;
    rtmp_server *server = NULL;
    rtmp_callbacks callbacks;
    sigset_t signals;
    int sig = 0, failed = 0, i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--bind") == 0) {
            bind = argv[i + 1];
        } else if (strcmp(argv[i], "--publish-token") == 0) {
            app.token = argv[i + 1];
        } else if (strcmp(argv[i], "--log") == 0) {
            log = argv[i + 1];
        } else {
            return usage();
        }
    }
    if (i != argc || bind == NULL || app.token == NULL) {
        return usage();
    }
    if (log != NULL) {
        rtmp_log_level level = strcmp(log, "error") == 0   ? RTMP_LOG_LEVEL_ERROR
                               : strcmp(log, "warn") == 0  ? RTMP_LOG_LEVEL_WARN
                               : strcmp(log, "debug") == 0 ? RTMP_LOG_LEVEL_DEBUG
                                                           : RTMP_LOG_LEVEL_INFO;
        check(rtmp_log_set_callback(log_to_stderr, NULL, NULL, level), "log");
    }

    /* Block the stop signals before the library starts threads, so that they inherit the mask
     * and sigwait below receives them. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);

    memset(&callbacks, 0, sizeof callbacks);
    callbacks.on_connect = on_connect;
    callbacks.on_publish = on_publish;
    callbacks.on_keyframe = on_keyframe;
    callbacks.on_unpublish = on_unpublish;
    callbacks.on_play = on_play;
    callbacks.on_disconnect = on_disconnect;

    if (check(rtmp_server_config_new(&config), "config") ||
        check(rtmp_server_config_set_bind(config, bind), "--bind") ||
        check(rtmp_server_config_set_callbacks(config, &callbacks, &app, NULL), "callbacks") ||
        check(rtmp_server_new(config, &server), "server") || check(rtmp_server_start(server), "start")) {
        failed = 1;
    } else {
        rtmp_str addr = rtmp_server_local_addr(server);
        fprintf(stderr, "listening on rtmp://%.*s\n", (int)addr.len, addr.data);
        sigwait(&signals, &sig);
        failed = check(rtmp_server_stop(server), "stop");
    }
    rtmp_server_free(server);
    rtmp_server_config_free(config);
    rtmp_log_set_callback(NULL, NULL, NULL, RTMP_LOG_LEVEL_OFF);
    return failed;
}
