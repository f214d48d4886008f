/* Small helpers shared by the C examples. */
#ifndef RTMP_EXAMPLES_COMMON_H
#define RTMP_EXAMPLES_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rtmp_rs.h>

/* Prints "what: <result message>: <last error>" to stderr and returns 1 when res is an error. */
static inline int check(rtmp_result res, const char *what) {
    if (res == RTMP_RESULT_OK) {
        return 0;
    }
    fprintf(stderr, "%s: %s: %s\n", what, rtmp_result_message(res), rtmp_last_error());
    return 1;
}

/* Milliseconds on a monotonic clock. */
static inline long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Log callback: the library's tracing events on stderr. */
static inline void log_to_stderr(void *userdata, rtmp_log_level level, rtmp_str target, rtmp_str message) {
    static const char *const names[] = {"OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    (void)userdata;
    fprintf(stderr, "%s %.*s: %.*s\n", level <= 5 ? names[level] : "?", (int)target.len, target.data,
            (int)message.len, message.data);
}

#endif
