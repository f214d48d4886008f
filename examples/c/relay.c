/*
 * Pulls a stream from one server and pushes it to another, frames passed on without copies.
 *
 *   relay rtmp://SRC/live/cam rtmp://DST/live/cam [--duration SECONDS]
 *
 * Stops when the source stream ends (or after the duration); prints "relayed=N".
 */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */

#include <string.h>

int main(int argc, char **argv) {
    const char *src = NULL, *dst = NULL;
    double duration = 0;
    unsigned long relayed = 0;
    rtmp_player *player = NULL;
    rtmp_publisher *publisher = NULL;
    long long deadline;
    int i, failed = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
            duration = atof(argv[++i]);
        } else if (src == NULL) {
            src = argv[i];
        } else if (dst == NULL) {
            dst = argv[i];
        } else {
            src = NULL;
        }
    }
    if (src == NULL || dst == NULL) {
        fprintf(stderr, "usage: relay SRC_URL DST_URL [--duration SECONDS]\n");
        return 2;
    }
    if (check(rtmp_player_new(NULL, src, &player), src) || check(rtmp_publisher_new(NULL, dst, &publisher), dst)) {
        rtmp_player_free(player);
        return 1;
    }
    deadline = duration > 0 ? now_ms() + (long long)(duration * 1000) : 0;
    for (;;) {
        rtmp_player_event event;
        rtmp_result res = rtmp_player_next(player, 1000, &event);
        if (deadline != 0 && now_ms() >= deadline) {
            if (res == RTMP_RESULT_OK) {
                rtmp_frame_release(event.frame);
            }
            break;
        }
        if (res == RTMP_RESULT_TIMEOUT) {
            continue;
        }
        if (res == RTMP_RESULT_CLOSED) {
            break;
        }
        if (check(res, "read")) {
            failed = 1;
            break;
        }
        if (event.frame != NULL) {
            res = rtmp_publisher_send_frame(publisher, event.frame);
            rtmp_frame_release(event.frame);
            if (check(res, "send")) {
                failed = 1;
                break;
            }
            relayed++;
        } else if (event.kind == RTMP_PLAYER_EVENT_KIND_STREAM_END) {
            break;
        }
    }
    printf("relayed=%lu\n", relayed);
    rtmp_publisher_close(publisher);
    rtmp_publisher_free(publisher);
    rtmp_player_free(player);
    return failed;
}
