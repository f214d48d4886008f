/*
 * Streams in-process (rtmp_server_subscribe, rtmp_server_publish, rtmp_server_streams) against
 * a real ffmpeg, publisher and players:
 *   1. subscriptions of an ffmpeg stream get every frame (counted against the fixture's rate and
 *      a network player's count) and start as their option says (GOP, keyframe, live);
 *      rtmp_server_streams and the statistics show the publisher and the players by kind;
 *   2. a subscriber that reads nothing for 5 s loses video, not audio, its drops show in the
 *      statistics, and a network player of the same stream misses nothing;
 *   3. take_over between ffmpeg and a local publisher, both ways;
 *   4. reject_new between them, both ways.
 * Run by scripts/test-c.sh with ASan/UBSan:  streams_e2e FFMPEG WORK_DIR
 * Ends with "streams_e2e: N passed, 0 failed"; exits 1 at the first failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>

#include "e2e_support.h"

static int starts_with(rtmp_str s, const char *prefix) {
    return s.len >= strlen(prefix) && memcmp(s.data, prefix, strlen(prefix)) == 0;
}

/* ---- the server ---- */

static rtmp_server *start_server(rtmp_publisher_policy policy, char *base_url, size_t size) {
    rtmp_server_config *config = NULL;
    MUST(rtmp_server_config_new(&config));
    MUST(rtmp_server_config_set_bind(config, "127.0.0.1:0"));
    MUST(rtmp_server_config_set_publisher_policy(config, policy));
    return e2e_server_start(config, "rtmp://", base_url, size);
}

/* Who publishes app/name now (RTMP_PEER_KIND_NONE when it is not live), with its players and
 * subscribers, from rtmp_server_streams. */
static rtmp_peer_kind stream_publisher(rtmp_server *server, const char *name, size_t *players, size_t *subscribers,
                                       int *codecs_known) {
    rtmp_stream_list *list = NULL;
    rtmp_peer_kind kind = RTMP_PEER_KIND_NONE;
    rtmp_stream_info info;
    size_t i;
    MUST(rtmp_server_streams(server, &list));
    for (i = 0; i < rtmp_stream_list_len(list); i++) {
        MUST(rtmp_stream_list_get(list, i, &info));
        if (str_eq(info.app, "live") && str_eq(info.name, name)) {
            kind = info.publisher;
            if (players != NULL) {
                *players = info.players;
            }
            if (subscribers != NULL) {
                *subscribers = info.subscribers;
            }
            if (codecs_known != NULL) {
                *codecs_known = starts_with(info.video_codec, "avc1.") && str_eq(info.audio_codec, "mp4a.40.2");
            }
        }
    }
    rtmp_stream_list_free(list);
    return kind;
}

static int wait_publisher(rtmp_server *server, const char *name, rtmp_peer_kind kind, int seconds) {
    long long deadline = now_ms() + seconds * 1000LL;
    while (stream_publisher(server, name, NULL, NULL, NULL) != kind) {
        if (now_ms() >= deadline) {
            return 0;
        }
        sleep_ms(50);
    }
    return 1;
}

/* ---- subscription readers ---- */

struct reader {
    /* set up */
    rtmp_server *server;
    const char *key;
    rtmp_subscribe_start start;
    int64_t wait_ms;   /* subscribe here, waiting, unless `sub` is given */
    long stall_ms;     /* read nothing for this long after subscribing */
    rtmp_subscription *sub;
    /* progress */
    atomic_int subscribed; /* 1 once subscribed, -1 if that failed */
    atomic_long pictures;
    atomic_int finished;
    /* results */
    int first_kind;               /* kind of the first item */
    int first_after_stall;        /* kind of the first item read after the stall */
    uint64_t first_dropped_video, first_dropped_audio;
    long metadata, video_headers, audio_headers, audio, keyframes, dropped_items;
    uint64_t dropped_video, dropped_audio;
    int first_video_is_header;    /* the first video item is a sequence header */
    int first_picture_is_key;
    long long first_picture_ts, last_picture_ts, first_audio_ts, last_audio_ts, max_audio_gap;
    int unpublished;
};

static void *read_subscription(void *arg) {
    struct reader *r = arg;
    long long deadline;
    int items = 0;
    if (r->sub == NULL) {
        rtmp_subscribe_options *options = NULL;
        rtmp_subscribe_options_new(&options);
        rtmp_subscribe_options_set_start(options, r->start);
        rtmp_subscribe_options_set_wait_ms(options, r->wait_ms);
        if (rtmp_server_subscribe(r->server, r->key, options, &r->sub) != RTMP_RESULT_OK) {
            fprintf(stderr, "subscribe %s: %s\n", r->key, rtmp_last_error());
            atomic_store(&r->subscribed, -1);
            rtmp_subscribe_options_free(options);
            return NULL;
        }
        rtmp_subscribe_options_free(options);
    }
    atomic_store(&r->subscribed, 1);
    if (r->stall_ms > 0) {
        sleep_ms(r->stall_ms);
    }
    r->first_picture_ts = r->first_audio_ts = r->last_audio_ts = -1;
    r->first_video_is_header = -1;
    deadline = now_ms() + 60000;
    while (now_ms() < deadline) {
        rtmp_subscription_item item;
        rtmp_result res = rtmp_subscription_next(r->sub, 1000, &item);
        if (res == RTMP_RESULT_TIMEOUT) {
            continue;
        }
        if (res != RTMP_RESULT_OK) {
            break;
        }
        if (items++ == 0) {
            r->first_kind = (int)item.kind;
            r->first_after_stall = (int)item.kind;
            r->first_dropped_video = item.dropped_video;
            r->first_dropped_audio = item.dropped_audio;
        }
        switch (item.kind) {
        case RTMP_SUBSCRIPTION_ITEM_KIND_METADATA:
            r->metadata++;
            break;
        case RTMP_SUBSCRIPTION_ITEM_KIND_VIDEO: {
            long long ts = rtmp_frame_timestamp(item.frame);
            if (r->first_video_is_header == -1) {
                r->first_video_is_header = rtmp_frame_is_sequence_header(item.frame);
            }
            if (rtmp_frame_is_sequence_header(item.frame)) {
                r->video_headers++;
                break;
            }
            if (r->first_picture_ts < 0) {
                r->first_picture_ts = ts;
                r->first_picture_is_key = rtmp_frame_is_keyframe(item.frame);
            }
            r->last_picture_ts = ts;
            r->keyframes += rtmp_frame_is_keyframe(item.frame);
            atomic_fetch_add(&r->pictures, 1);
            break;
        }
        case RTMP_SUBSCRIPTION_ITEM_KIND_AUDIO: {
            long long ts = rtmp_frame_timestamp(item.frame);
            if (rtmp_frame_is_sequence_header(item.frame)) {
                r->audio_headers++;
                break;
            }
            if (r->first_audio_ts < 0) {
                r->first_audio_ts = ts;
            } else if (ts - r->last_audio_ts > r->max_audio_gap) {
                r->max_audio_gap = ts - r->last_audio_ts;
            }
            r->last_audio_ts = ts;
            r->audio++;
            break;
        }
        case RTMP_SUBSCRIPTION_ITEM_KIND_DROPPED:
            r->dropped_items++;
            r->dropped_video += item.dropped_video;
            r->dropped_audio += item.dropped_audio;
            break;
        case RTMP_SUBSCRIPTION_ITEM_KIND_UNPUBLISHED:
            r->unpublished = 1;
            break;
        default:
            break;
        }
        rtmp_frame_release(item.frame);
        if (r->unpublished) {
            break;
        }
    }
    atomic_store(&r->finished, 1);
    return NULL;
}

static void start_reader(struct reader *r, pthread_t *thread) {
    atomic_store(&r->subscribed, 0);
    atomic_store(&r->pictures, 0);
    atomic_store(&r->finished, 0);
    if (pthread_create(thread, NULL, read_subscription, r) != 0) {
        fail("pthread_create");
    }
}

static void join_reader(struct reader *r, pthread_t thread, const char *name) {
    long long deadline = now_ms() + 20000;
    while (!atomic_load(&r->finished) && now_ms() < deadline) {
        sleep_ms(50);
    }
    if (!atomic_load(&r->finished) && r->sub != NULL) {
        rtmp_subscription_close(r->sub); /* wakes it */
    }
    pthread_join(thread, NULL);
    REQUIRE(r->unpublished, "subscription %s never saw the stream unpublished", name);
    rtmp_subscription_free(r->sub);
    r->sub = NULL;
}

static int within(long value, double expected, double tolerance) {
    return value >= expected * (1 - tolerance) && value <= expected * (1 + tolerance);
}

/* Pictures a reader should have had, from its first and last timestamps (25 fps: 40 ms). */
static double span_pictures(const struct reader *r) {
    return (double)(r->last_picture_ts - r->first_picture_ts) / 40.0 + 1;
}

static double span_audio(const struct reader *r) {
    return (double)(r->last_audio_ts - r->first_audio_ts) * 44.1 / 1024.0 + 1;
}

static rtmp_subscription *subscribe_now(rtmp_server *server, const char *key, rtmp_subscribe_start start) {
    rtmp_subscribe_options *options = NULL;
    rtmp_subscription *sub = NULL;
    MUST(rtmp_subscribe_options_new(&options));
    MUST(rtmp_subscribe_options_set_start(options, start));
    MUST(rtmp_server_subscribe(server, key, options, &sub));
    rtmp_subscribe_options_free(options);
    return sub;
}

/* ---- 1. counts, start options, streams and statistics ---- */

static void counts_and_starts(rtmp_server *server, const char *base) {
    static struct reader all, gop, key, live;
    pthread_t t_all, t_gop, t_key, t_live;
    char url[256];
    pid_t player, publisher;
    long long deadline;
    long p1;
    size_t players = 0, subscribers = 0, i, j, locals = 0, rtmps = 0;
    int codecs = 0;
    rtmp_stats *stats = NULL;
    rtmp_server_totals totals;
    rtmp_stream_stats stream;
    rtmp_peer_kind kind;

    snprintf(url, sizeof url, "%s/live/cam", base);
    /* A network player and a subscription, both waiting before ffmpeg publishes. */
    player = play("p1.log", url, NULL, "p1.progress");
    all.server = server;
    all.key = "live/cam";
    all.start = RTMP_SUBSCRIBE_START_GOP;
    all.wait_ms = 20000;
    start_reader(&all, &t_all);
    sleep_ms(1000);
    publisher = publish("publish1.log", url, "6");
    deadline = now_ms() + 20000;
    while (atomic_load(&all.pictures) < 60 && now_ms() < deadline) {
        sleep_ms(20);
    }
    REQUIRE(atomic_load(&all.subscribed) == 1 && atomic_load(&all.pictures) >= 60,
            "the waiting subscription got no frames");
    /* About 2.5 s in, mid-GOP: one subscription per start option. */
    gop.sub = subscribe_now(server, "live/cam", RTMP_SUBSCRIBE_START_GOP);
    key.sub = subscribe_now(server, "live/cam", RTMP_SUBSCRIBE_START_KEYFRAME);
    live.sub = subscribe_now(server, "live/cam", RTMP_SUBSCRIBE_START_LIVE);
    start_reader(&gop, &t_gop);
    start_reader(&key, &t_key);
    start_reader(&live, &t_live);

    /* The stream as rtmp_server_streams and the statistics see it. */
    REQUIRE(stream_publisher(server, "cam", &players, &subscribers, &codecs) == RTMP_PEER_KIND_RTMP,
            "live/cam is not listed with an RTMP publisher");
    REQUIRE(players == 1 && subscribers == 4 && codecs, "live/cam: %zu players, %zu subscribers, codecs %s", players,
            subscribers, codecs ? "known" : "unknown");
    MUST(rtmp_server_stats(server, &stats));
    MUST(rtmp_stats_totals(stats, &totals));
    for (i = 0; i < totals.streams; i++) {
        MUST(rtmp_stats_stream(stats, i, &stream));
        if (!str_eq(stream.name, "cam")) {
            continue;
        }
        MUST(rtmp_stats_stream_publisher_kind(stats, i, &kind));
        REQUIRE(kind == RTMP_PEER_KIND_RTMP && !str_eq(stream.publisher_addr, "0.0.0.0:0"),
                "stats: publisher kind %u", (unsigned)kind);
        for (j = 0; j < stream.players; j++) {
            MUST(rtmp_stats_player_kind(stats, i, j, &kind));
            locals += kind == RTMP_PEER_KIND_LOCAL;
            rtmps += kind == RTMP_PEER_KIND_RTMP;
        }
    }
    rtmp_stats_free(stats);
    REQUIRE(locals == 4 && rtmps == 1, "stats: %zu local and %zu rtmp players", locals, rtmps);
    ok("live/cam listed with publisher rtmp, 1 player, 4 subscribers, codecs; stats: 4 local players, 1 rtmp");

    REQUIRE(wait_exit(publisher, 30) == 0, "ffmpeg publishing failed (publish1.log)");
    join_reader(&all, t_all, "all");
    join_reader(&gop, t_gop, "gop");
    join_reader(&key, t_key, "keyframe");
    join_reader(&live, t_live, "live");
    REQUIRE(wait_exit(player, 20) == 0, "the ffmpeg player failed (p1.log)");
    p1 = decoded_frames("p1.progress");

    /* 6 s at 25 fps: 150 pictures, and 6 s of AAC at 44.1 kHz: about 258 frames. */
    REQUIRE(within(atomic_load(&all.pictures), 150, 0.02) && within(all.audio, 6 * 44100 / 1024.0, 0.02),
            "subscription from the start: %ld pictures, %ld audio frames", atomic_load(&all.pictures), all.audio);
    REQUIRE(within(atomic_load(&all.pictures), (double)p1, 0.02),
            "subscription: %ld pictures, the ffmpeg player decoded %ld", atomic_load(&all.pictures), p1);
    REQUIRE(all.first_kind == RTMP_SUBSCRIPTION_ITEM_KIND_METADATA && all.first_video_is_header == 1 &&
                all.first_picture_is_key && all.dropped_items == 0 && all.audio_headers == 1,
            "subscription from the start: first item %d, first video a header %d, first picture key %d",
            all.first_kind, all.first_video_is_header, all.first_picture_is_key);
    ok("subscription from before the publish: %ld pictures, %ld audio frames (expected 150 and 258 +-2%%); "
       "the ffmpeg player decoded %ld; metadata, headers, keyframe first",
       atomic_load(&all.pictures), all.audio, p1);

    /* Mid-stream: each gets metadata and headers first, then every picture from its start. */
    {
        struct reader *rs[3] = {&gop, &key, &live};
        const char *names[3] = {"gop", "keyframe", "live"};
        for (i = 0; i < 3; i++) {
            struct reader *r = rs[i];
            REQUIRE(r->first_kind == RTMP_SUBSCRIPTION_ITEM_KIND_METADATA && r->first_video_is_header == 1 &&
                        r->audio_headers == 1 && r->dropped_items == 0,
                    "%s: first item %d, first video a header %d, %ld drop items", names[i], r->first_kind,
                    r->first_video_is_header, r->dropped_items);
            REQUIRE(within(atomic_load(&r->pictures), span_pictures(r), 0.02) &&
                        within(r->audio, span_audio(r), 0.02),
                    "%s: %ld pictures over %lld..%lld ms, %ld audio frames", names[i], atomic_load(&r->pictures),
                    r->first_picture_ts, r->last_picture_ts, r->audio);
        }
    }
    REQUIRE(gop.first_picture_is_key && key.first_picture_is_key, "gop/keyframe did not start at a keyframe");
    REQUIRE(gop.first_picture_ts < key.first_picture_ts,
            "gop starts at %lld ms, not before keyframe's %lld ms (the cached GOP)", gop.first_picture_ts,
            key.first_picture_ts);
    /* Live starts with whatever comes after its subscribe (not the cached GOP). */
    REQUIRE(live.first_picture_ts > gop.first_picture_ts, "live starts at %lld ms, not after gop's %lld ms",
            live.first_picture_ts, gop.first_picture_ts);
    ok("mid-stream, every picture from the start on (+-2%%): gop from the cached keyframe at %lld ms (%ld), "
       "keyframe from the next one at %lld ms (%ld), live from %lld ms, %s (%ld)",
       gop.first_picture_ts, atomic_load(&gop.pictures), key.first_picture_ts, atomic_load(&key.pictures),
       live.first_picture_ts, live.first_picture_is_key ? "a keyframe" : "an inter frame", atomic_load(&live.pictures));
}

/* ---- 2. a subscriber that stops reading ---- */

static void slow_subscriber(rtmp_server *server, const char *base) {
    static struct reader slow;
    pthread_t t_slow;
    char url[256];
    pid_t player, publisher;
    long long deadline;
    long p2;
    rtmp_stats *stats = NULL;
    rtmp_server_totals totals;
    rtmp_stream_stats stream;
    rtmp_player_stats p;
    rtmp_peer_kind kind;
    size_t i, j;
    int seen_local = 0, seen_rtmp = 0;
    uint64_t dropped_video = 0, dropped_audio = 0;

    snprintf(url, sizeof url, "%s/live/slow", base);
    player = play("p2.log", url, NULL, "p2.progress");
    slow.server = server;
    slow.key = "live/slow";
    slow.start = RTMP_SUBSCRIBE_START_GOP;
    slow.wait_ms = 20000;
    slow.stall_ms = 5000;
    start_reader(&slow, &t_slow);
    sleep_ms(1000);
    publisher = publish("publish2.log", url, "10");
    deadline = now_ms() + 20000;
    while (atomic_load(&slow.subscribed) == 0 && now_ms() < deadline) {
        sleep_ms(20);
    }
    REQUIRE(atomic_load(&slow.subscribed) == 1, "the slow subscription never subscribed");
    /* Near the end of its 5 s without reading. */
    sleep_ms(4500);
    MUST(rtmp_server_stats(server, &stats));
    MUST(rtmp_stats_totals(stats, &totals));
    for (i = 0; i < totals.streams; i++) {
        MUST(rtmp_stats_stream(stats, i, &stream));
        if (!str_eq(stream.name, "slow")) {
            continue;
        }
        for (j = 0; j < stream.players; j++) {
            MUST(rtmp_stats_player(stats, i, j, &p));
            MUST(rtmp_stats_player_kind(stats, i, j, &kind));
            if (kind == RTMP_PEER_KIND_LOCAL) {
                seen_local++;
                dropped_video = p.dropped_video;
                dropped_audio = p.dropped_audio;
            } else {
                seen_rtmp++;
                REQUIRE(p.dropped_video == 0 && p.dropped_audio == 0, "the network player lost frames");
            }
        }
    }
    rtmp_stats_free(stats);
    REQUIRE(seen_local == 1 && seen_rtmp == 1, "stats: %d local, %d rtmp players of live/slow", seen_local,
            seen_rtmp);
    REQUIRE(dropped_video > 0 && dropped_audio == 0, "stats of the slow subscriber: dropped_video %llu audio %llu",
            (unsigned long long)dropped_video, (unsigned long long)dropped_audio);
    ok("after 4.5 s without reading: stats show the local player's dropped_video=%llu, dropped_audio=0; the "
       "network player lost nothing",
       (unsigned long long)dropped_video);

    REQUIRE(wait_exit(publisher, 30) == 0, "ffmpeg publishing failed (publish2.log)");
    join_reader(&slow, t_slow, "slow");
    REQUIRE(wait_exit(player, 20) == 0, "the ffmpeg player failed (p2.log)");
    p2 = decoded_frames("p2.progress");
    REQUIRE(slow.first_after_stall == RTMP_SUBSCRIPTION_ITEM_KIND_DROPPED && slow.first_dropped_video > 0 &&
                slow.first_dropped_audio == 0,
            "the first item after the stall: kind %d, video %llu, audio %llu", slow.first_after_stall,
            (unsigned long long)slow.first_dropped_video, (unsigned long long)slow.first_dropped_audio);
    REQUIRE(slow.dropped_audio == 0 && within(slow.audio, 10 * 44100 / 1024.0, 0.02) && slow.max_audio_gap <= 100,
            "the slow subscriber's audio: %ld frames, %llu dropped, largest gap %lld ms", slow.audio,
            (unsigned long long)slow.dropped_audio, slow.max_audio_gap);
    REQUIRE(atomic_load(&slow.pictures) < 240, "the slow subscriber lost no video (%ld pictures)",
            atomic_load(&slow.pictures));
    REQUIRE(p2 >= 245, "the network player decoded %ld of 250 frames", p2);
    ok("slow subscriber: first item DROPPED (video %llu, audio 0), then %ld of 250 pictures and %ld audio frames "
       "(all, largest gap %lld ms); the ffmpeg player decoded %ld of 250",
       (unsigned long long)slow.first_dropped_video, atomic_load(&slow.pictures), slow.audio, slow.max_audio_gap, p2);
}

/* ---- 3 and 4. publisher policies between ffmpeg and a local publisher ---- */

static void take_over(rtmp_server *server, const char *base) {
    char url[256];
    pid_t publisher;
    rtmp_local_publisher *local = NULL;
    int status;
    long long started;

    /* A local publisher kicks ffmpeg out. */
    snprintf(url, sizeof url, "%s/live/take", base);
    publisher = publish("publish3.log", url, "30");
    REQUIRE(wait_publisher(server, "take", RTMP_PEER_KIND_RTMP, 20), "ffmpeg never published live/take");
    started = now_ms();
    MUST(rtmp_server_publish(server, "live/take", &local));
    REQUIRE(stream_publisher(server, "take", NULL, NULL, NULL) == RTMP_PEER_KIND_LOCAL,
            "live/take is not listed with a local publisher");
    MUST(rtmp_local_publisher_send_video(local, 0, AVC_SEQ, sizeof AVC_SEQ));
    MUST(rtmp_local_publisher_send_video(local, 0, AVC_KEY, sizeof AVC_KEY));
    status = wait_exit(publisher, 15);
    REQUIRE(status >= 0, "ffmpeg kept publishing after the local publisher took over");
    REQUIRE(rtmp_local_publisher_is_publishing(local), "the local publisher lost the stream");
    ok("take_over: a local publisher took live/take from ffmpeg, which ended %lld ms later (status %d)",
       now_ms() - started, status);
    rtmp_local_publisher_free(local);
    local = NULL;

    /* ffmpeg takes the stream from a local publisher, whose next send says so. */
    snprintf(url, sizeof url, "%s/live/take2", base);
    MUST(rtmp_server_publish(server, "live/take2", &local));
    MUST(rtmp_local_publisher_send_video(local, 0, AVC_SEQ, sizeof AVC_SEQ));
    MUST(rtmp_local_publisher_send_video(local, 0, AVC_KEY, sizeof AVC_KEY));
    publisher = publish("publish4.log", url, "3");
    REQUIRE(wait_publisher(server, "take2", RTMP_PEER_KIND_RTMP, 20), "ffmpeg never took live/take2 over");
    REQUIRE(!rtmp_local_publisher_is_publishing(local), "the local publisher still publishes");
    REQUIRE(rtmp_local_publisher_send_video(local, 40, AVC_KEY, sizeof AVC_KEY) == RTMP_RESULT_CLOSED &&
                strcmp(rtmp_last_error(), "another publisher took the stream over") == 0,
            "a send after the takeover");
    REQUIRE(wait_exit(publisher, 30) == 0, "ffmpeg publishing live/take2 failed (publish4.log)");
    rtmp_local_publisher_free(local);
    ok("take_over: ffmpeg took live/take2 from a local publisher, whose send then returned CLOSED (\"another "
       "publisher took the stream over\")");
}

static void reject_new(const char *work_dir) {
    char base[128], url[256];
    rtmp_server *server = start_server(RTMP_PUBLISHER_POLICY_REJECT_NEW, base, sizeof base);
    rtmp_local_publisher *local = NULL, *refused = NULL;
    pid_t publisher;
    int status;
    (void)work_dir;

    /* ffmpeg is refused a stream a local publisher has. */
    MUST(rtmp_server_publish(server, "live/busy", &local));
    snprintf(url, sizeof url, "%s/live/busy", base);
    publisher = publish("publish5.log", url, "3");
    status = wait_exit(publisher, 20);
    REQUIRE(status > 0, "ffmpeg was not refused live/busy (status %d)", status);
    REQUIRE(rtmp_local_publisher_is_publishing(local) &&
                stream_publisher(server, "busy", NULL, NULL, NULL) == RTMP_PEER_KIND_LOCAL,
            "the local publisher lost live/busy");
    ok("reject_new: ffmpeg refused a stream a local publisher has (status %d)", status);

    /* A local publisher is refused a stream ffmpeg has. */
    snprintf(url, sizeof url, "%s/live/busy2", base);
    publisher = publish("publish6.log", url, "4");
    REQUIRE(wait_publisher(server, "busy2", RTMP_PEER_KIND_RTMP, 20), "ffmpeg never published live/busy2");
    REQUIRE(rtmp_server_publish(server, "live/busy2", &refused) == RTMP_RESULT_REJECTED && refused == NULL &&
                strcmp(rtmp_last_error(), "stream live/busy2 is already published") == 0,
            "a local publish of a stream ffmpeg has");
    REQUIRE(wait_exit(publisher, 30) == 0, "ffmpeg publishing live/busy2 failed (publish6.log)");
    ok("reject_new: a local publisher refused a stream ffmpeg has (REJECTED, \"%s\")",
       "stream live/busy2 is already published");
    rtmp_local_publisher_free(local);
    rtmp_server_free(server);
}

int main(int argc, char **argv) {
    char base[128];
    rtmp_server *server;
    e2e_args(argc, argv, "streams_e2e");
    server = start_server(RTMP_PUBLISHER_POLICY_TAKE_OVER, base, sizeof base);
    counts_and_starts(server, base);
    slow_subscriber(server, base);
    take_over(server, base);
    rtmp_server_free(server);
    reject_new(work);
    kill_children();
    printf("streams_e2e: %d passed, 0 failed\n", passed);
    return 0;
}
