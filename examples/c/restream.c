/*
 * An RTMP server that re-publishes a stream in-process: it subscribes to live/cam (waiting for
 * someone to publish it) and publishes its metadata and video, without audio and without
 * copying a frame, as live/cam_video. Players may play either.
 *
 *   restream --bind 127.0.0.1:1935 [--log LEVEL]
 *   ffmpeg -re -i in.mp4 -c copy -f flv rtmp://127.0.0.1:1935/live/cam
 *   ffplay rtmp://127.0.0.1:1935/live/cam_video
 *
 * One line per second on stdout while frames flow ("video=N keyframes=N dropped=N", counts so
 * far), "published live/cam_video" and "unpublished live/cam_video video=N keyframes=N" as the
 * source comes and goes, and "restreamed video=N metadata=N" at the end. The listening address goes to stderr.
 * SIGINT or SIGTERM stops it gracefully.
 */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */

#include <pthread.h>
#include <signal.h>
#include <string.h>

#define SOURCE "live/cam"
#define COPY "live/cam_video"

/* Waits for SIGINT or SIGTERM, then stops the server: a subscribe waiting for the source and a
 * read waiting for a frame both return RTMP_RESULT_CLOSED, so the main loop ends. */
static void *stop_on_signal(void *server) {
    sigset_t signals;
    int sig = 0;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigwait(&signals, &sig);
    check(rtmp_server_stop(server), "stop");
    return NULL;
}

struct counts {
    unsigned long video, keyframes, metadata, dropped;
};

/* Reads the source until the server stops, re-publishing under COPY while it is published. */
static int restream(rtmp_server *server, rtmp_subscription *source, struct counts *n) {
    rtmp_local_publisher *copy = NULL;
    long long next_line = now_ms() + 1000;
    int failed = 0;
    for (;;) {
        rtmp_subscription_item item;
        rtmp_result res = rtmp_subscription_next(source, 1000, &item);
        if (res == RTMP_RESULT_CLOSED) {
            break; /* the server stopped */
        }
        if (res == RTMP_RESULT_OK) {
            switch (item.kind) {
            case RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO:
            case RTMP_SUBSCRIPTION_ITEM_KIND_METADATA:
                /* The first frame of a publish, or the first after the source came back. */
                if (copy == NULL) {
                    if (check(rtmp_server_publish(server, COPY, &copy), "publish " COPY)) {
                        failed = 1;
                        break;
                    }
                    printf("published %s\n", COPY);
                }
                res = rtmp_local_publisher_send_frame(copy, item.frame);
                if (res != RTMP_RESULT_OK) {
                    check(res, "send");
                    /* Taken over (RTMP_RESULT_CLOSED): publish again with the next frame. */
                    rtmp_local_publisher_free(copy);
                    copy = NULL;
                } else if (item.kind == RTMP_SUBSCRIPTION_ITEM_KIND_METADATA) {
                    n->metadata++;
                } else if (!rtmp_frame_is_sequence_header(item.frame)) {
                    n->video++; /* pictures */
                    n->keyframes += rtmp_frame_is_keyframe(item.frame);
                }
                break;
            case RTMP_SUBSCRIPTION_ITEM_KIND_UNPUBLISHED:
                if (copy != NULL) {
                    rtmp_local_publisher_free(copy); /* unpublishes: its players are told */
                    copy = NULL;
                    printf("unpublished %s video=%lu keyframes=%lu\n", COPY, n->video, n->keyframes);
                }
                break;
            case RTMP_SUBSCRIPTION_ITEM_KIND_DROPPED:
                n->dropped += item.dropped_video + item.dropped_audio;
                break;
            default: /* audio and data are not re-published; PUBLISHED needs nothing */
                break;
            }
            rtmp_frame_release(item.frame); /* NULL for events */
        } else if (res != RTMP_RESULT_TIMEOUT) {
            failed = check(res, "read");
            break;
        }
        if (failed) {
            break;
        }
        if (now_ms() >= next_line) {
            printf("video=%lu keyframes=%lu dropped=%lu\n", n->video, n->keyframes, n->dropped);
            next_line += 1000;
        }
        fflush(stdout);
    }
    rtmp_local_publisher_free(copy);
    return failed;
}

static int usage(void) {
    fprintf(stderr, "usage: restream --bind ADDR [--log error|warn|info|debug]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *bind = NULL, *log = NULL;
    rtmp_server_config *config = NULL;
    rtmp_server *server = NULL;
    rtmp_subscribe_options *options = NULL;
    rtmp_subscription *source = NULL;
    struct counts n = {0, 0, 0, 0};
    sigset_t signals;
    pthread_t stopper;
    int failed = 0, i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--bind") == 0) {
            bind = argv[i + 1];
        } else if (strcmp(argv[i], "--log") == 0) {
            log = argv[i + 1];
        } else {
            return usage();
        }
    }
    if (i != argc || bind == NULL) {
        return usage();
    }
    if (log != NULL) {
        rtmp_log_level level = strcmp(log, "error") == 0   ? RTMP_LOG_LEVEL_ERROR
                               : strcmp(log, "warn") == 0  ? RTMP_LOG_LEVEL_WARN
                               : strcmp(log, "debug") == 0 ? RTMP_LOG_LEVEL_DEBUG
                                                           : RTMP_LOG_LEVEL_INFO;
        check(rtmp_log_set_callback(log_to_stderr, NULL, NULL, level), "log");
    }

    /* The stop signals go to the stopper thread only: block them before any thread starts. */
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);

    if (check(rtmp_server_config_new(&config), "config") ||
        check(rtmp_server_config_set_bind(config, bind), "--bind") ||
        check(rtmp_server_new(config, &server), "server") || check(rtmp_server_start(server), "start")) {
        rtmp_server_free(server);
        rtmp_server_config_free(config);
        return 1;
    }
    rtmp_server_config_free(config);
    {
        rtmp_str addr = rtmp_server_local_addr(server);
        fprintf(stderr, "listening on rtmp://%.*s\n", (int)addr.len, addr.data);
    }
    if (pthread_create(&stopper, NULL, stop_on_signal, server) != 0) {
        rtmp_server_free(server);
        return 1;
    }

    /* Wait for the source as long as it takes; start at its cached GOP, as a player would. */
    if (check(rtmp_subscribe_options_new(&options), "options") ||
        check(rtmp_subscribe_options_set_wait_ms(options, -1), "options") ||
        check(rtmp_subscribe_options_set_start(options, RTMP_SUBSCRIBE_START_GOP), "options")) {
        failed = 1;
    } else {
        rtmp_result res = rtmp_server_subscribe(server, SOURCE, options, &source);
        if (res == RTMP_RESULT_OK) {
            failed = restream(server, source, &n);
        } else if (res != RTMP_RESULT_CLOSED) { /* CLOSED: stopped before anyone published */
            failed = check(res, "subscribe " SOURCE);
        }
    }
    rtmp_subscribe_options_free(options);
    printf("restreamed video=%lu metadata=%lu\n", n.video, n.metadata);
    fflush(stdout);

    if (failed) {
        pthread_kill(stopper, SIGTERM); /* let the stopper thread stop the server and end */
    }
    pthread_join(stopper, NULL);
    rtmp_subscription_free(source);
    rtmp_server_free(server);
    rtmp_log_set_callback(NULL, NULL, NULL, RTMP_LOG_LEVEL_OFF);
    return failed;
}
