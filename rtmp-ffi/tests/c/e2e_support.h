/*
 * What the C end-to-end tests (streams_e2e.c, relay_e2e.c, auth_e2e.c) share: timing, the
 * pass/fail reporting (ok, fail, REQUIRE, MUST), the arguments (FFMPEG WORK_DIR), starting a
 * configured server, the child processes (ffmpeg and others, their output into WORK_DIR/<log>,
 * killed at a failure and at the end) and reading ffmpeg's logs and -progress files. Each program
 * is one translation unit that includes this once: everything here is static, and marked unused
 * so that a program that needs only some of it still compiles with -Wall -Wextra -Werror. Each
 * program's own helpers stay in it.
 */
#ifndef RTMP_RS_E2E_SUPPORT_H
#define RTMP_RS_E2E_SUPPORT_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rtmp_rs.h"

#define E2E_UNUSED __attribute__((unused))

extern char **environ;

static const char *ffmpeg; /* argv[1] */
static const char *work;   /* argv[2]: the logs and other files of the run */
static int passed;
static pid_t children[16];
static int nchildren;

E2E_UNUSED static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

E2E_UNUSED static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

E2E_UNUSED static void kill_children(void) {
    int i;
    for (i = 0; i < nchildren; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

E2E_UNUSED static void fail(const char *fmt, ...) {
    va_list args;
    fprintf(stderr, "FAIL ");
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, " (last error: %s; logs in %s)\n", rtmp_last_error(), work);
    kill_children();
    exit(1);
}

E2E_UNUSED static void ok(const char *fmt, ...) {
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

/* The arguments, FFMPEG WORK_DIR (exits 2 with the usage without them), and SIGPIPE ignored. */
E2E_UNUSED static void e2e_args(int argc, char **argv, const char *name) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s FFMPEG WORK_DIR\n", name);
        exit(2);
    }
    ffmpeg = argv[1];
    work = argv[2];
    signal(SIGPIPE, SIG_IGN);
}

E2E_UNUSED static int str_eq(rtmp_str s, const char *text) {
    return s.len == strlen(text) && memcmp(s.data, text, s.len) == 0;
}

E2E_UNUSED static void copy_str(char *out, size_t size, rtmp_str s) {
    snprintf(out, size, "%.*s", (int)s.len, s.data);
}

/* Creates and starts the server `config` describes, and frees `config`; the address it listens on
 * goes into `base` after `prefix` ("rtmp://" for a base URL, "" for host:port alone). */
E2E_UNUSED static rtmp_server *e2e_server_start(rtmp_server_config *config, const char *prefix, char *base,
                                                size_t size) {
    rtmp_server *server = NULL;
    rtmp_str addr;
    MUST(rtmp_server_new(config, &server));
    rtmp_server_config_free(config);
    MUST(rtmp_server_start(server));
    addr = rtmp_server_local_addr(server);
    snprintf(base, size, "%s%.*s", prefix, (int)addr.len, addr.data);
    return server;
}

/* AVC sequence header (avcC) and a keyframe, as in test_api.c. */
E2E_UNUSED static const uint8_t AVC_SEQ[] = {0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00,
                                             0x04, 0x67, 0x64, 0x00, 0x1f, 0x01, 0x00, 0x04, 0x68, 0xee, 0x3c, 0x80};
E2E_UNUSED static const uint8_t AVC_KEY[] = {0x17, 0x01, 0x00, 0x00, 0x28, 0x00, 0x00,
                                             0x00, 0x05, 0x65, 0x88, 0x84, 0x00, 0x10};

/* ---- child processes ---- */

/* Starts `program` with `argv` (NULL-terminated, argv[0] included), stdin /dev/null, stdout and
 * stderr into WORK/<log>; killed by kill_children. */
E2E_UNUSED static pid_t spawn(const char *program, const char *log, const char *const *argv) {
    char path[512];
    posix_spawn_file_actions_t actions;
    pid_t pid;
    snprintf(path, sizeof path, "%s/%s", work, log);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid, program, &actions, NULL, (char *const *)argv, environ) != 0) {
        fail("cannot run %s", program);
    }
    posix_spawn_file_actions_destroy(&actions);
    children[nchildren++] = pid;
    return pid;
}

/* Starts ffmpeg with `args` (NULL-terminated), its output into WORK/<log>. */
E2E_UNUSED static pid_t spawn_ffmpeg(const char *log, const char *const *args) {
    const char *argv[64];
    int n = 0, i;
    argv[n++] = ffmpeg;
    argv[n++] = "-hide_banner";
    argv[n++] = "-nostdin";
    for (i = 0; args[i] != NULL && n < 62; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return spawn(ffmpeg, log, argv);
}

/* ffmpeg publishing testsrc 320x240 (25 fps, a keyframe a second) and a sine (AAC, 44.1 kHz) to
 * `url` for `seconds`, at real-time pace. */
E2E_UNUSED static pid_t publish(const char *log, const char *url, const char *seconds) {
    const char *args[] = {"-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
                          "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", seconds,
                          "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
                          "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url, NULL};
    return spawn_ffmpeg(log, args);
}

/* ffmpeg playing `url` for `seconds` of media (NULL: until it ends), decoding every frame; the
 * count goes to WORK/<progress>. */
E2E_UNUSED static pid_t play(const char *log, const char *url, const char *seconds, const char *progress) {
    char path[512];
    const char *timed[] = {"-loglevel", "error", "-i", url, "-t", seconds, "-f", "null", "-progress", path, "-", NULL};
    const char *whole[] = {"-loglevel", "error", "-i", url, "-f", "null", "-progress", path, "-", NULL};
    snprintf(path, sizeof path, "%s/%s", work, progress);
    /* posix_spawn is done with the arguments when it returns */
    return spawn_ffmpeg(log, seconds != NULL ? timed : whole);
}

/* Waits up to `seconds` for `pid`; its exit status, or -1 if it is still running. */
E2E_UNUSED static int wait_exit(pid_t pid, int seconds) {
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
E2E_UNUSED static long decoded_frames(const char *progress) {
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
E2E_UNUSED static int log_contains(const char *log, const char *text) {
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

#endif
