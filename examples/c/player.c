/*
 * Plays a stream for a while and counts what arrived.
 *
 *   player rtmp://127.0.0.1:1935/live/cam --duration 5
 *
 * Ends with "video=N audio=M keyframes=K" on stdout, after the duration or when the stream ends.
 */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */

#include <string.h>

int main(int argc, char **argv) {
    const char *url = NULL;
    double duration = 10;
    unsigned long video = 0, audio = 0, keyframes = 0;
    rtmp_client_config *config = NULL;
    rtmp_player *player = NULL;
    long long deadline;
    int i, failed = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
            duration = atof(argv[++i]);
        } else if (url == NULL && argv[i][0] != '-') {
            url = argv[i];
        } else {
            url = NULL;
            break;
        }
    }
    if (url == NULL || duration <= 0) {
        fprintf(stderr, "usage: player URL [--duration SECONDS]\n");
        return 2;
    }
    if (check(rtmp_client_config_new(&config), "config") ||
        check(rtmp_client_config_set_connect_timeout_ms(config, 5000), "config") ||
        check(rtmp_player_new(config, url, &player), url)) {
        rtmp_client_config_free(config);
        return 1;
    }
    deadline = now_ms() + (long long)(duration * 1000);
    for (;;) {
        rtmp_player_event event;
        long long left = deadline - now_ms();
        rtmp_result res;
        if (left <= 0) {
            break;
        }
        res = rtmp_player_next(player, left, &event);
        if (res == RTMP_RESULT_TIMEOUT || res == RTMP_RESULT_CLOSED) {
            break;
        }
        if (check(res, "read")) {
            failed = 1;
            break;
        }
        if (event.kind == RTMP_PLAYER_EVENT_KIND_VIDEO) {
            video++;
            keyframes += rtmp_frame_is_keyframe(event.frame);
        } else if (event.kind == RTMP_PLAYER_EVENT_KIND_AUDIO) {
            audio++;
        } else if (event.kind == RTMP_PLAYER_EVENT_KIND_STREAM_END) {
            rtmp_frame_release(event.frame);
            break;
        }
        rtmp_frame_release(event.frame); /* NULL for non-media events: ignored */
    }
    printf("video=%lu audio=%lu keyframes=%lu\n", video, audio, keyframes);
    rtmp_player_close(player);
    rtmp_player_free(player);
    rtmp_client_config_free(config);
    return failed;
}
