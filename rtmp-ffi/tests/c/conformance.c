/*
 * The C runner of the conformance cases (bindings/embed/conformance/cases.txt):
 * - option and client_option cases set one option through rtmp_server_config_set or
 *   rtmp_client_config_set (durations in milliseconds or with their unit); the result must be
 *   the case's, and a refusal's message must name it;
 * - decision cases publish to a server whose on_publish callback does what the stream's name
 *   says (see the cases file), and expect the publisher accepted or rejected.
 * Usage: conformance CASES_FILE
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtmp_rs.h"

static int str_eq(rtmp_str s, const char *text) {
    return s.data != NULL && s.len == strlen(text) && memcmp(s.data, text, s.len) == 0;
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The case's value as the C API takes it: quotes dropped, "[a, b]" as "a,b". */
static void to_c_text(const char *value, char *out, size_t size) {
    size_t n = 0;
    for (const char *p = value; *p != '\0' && n + 1 < size; p++) {
        if (*p == '"' || *p == '[' || *p == ']' || (*p == ' ' && value[0] == '[')) {
            continue;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
}

static rtmp_result set_server_option(const char *name, const char *text) {
    rtmp_server_config *config = NULL;
    rtmp_result result = rtmp_server_config_new(&config);
    if (result == RTMP_RESULT_OK) {
        result = rtmp_server_config_set(config, name, text);
        rtmp_server_config_free(config);
    }
    return result;
}

static rtmp_result set_client_option(const char *name, const char *text) {
    rtmp_client_config *config = NULL;
    rtmp_result result = rtmp_client_config_new(&config);
    if (result == RTMP_RESULT_OK) {
        result = rtmp_client_config_set(config, name, text);
        rtmp_client_config_free(config);
    }
    return result;
}

static int option_case(rtmp_result (*set)(const char *, const char *), const char *name, const char *value,
                       const char *expected) {
    char text[256];
    to_c_text(value, text, sizeof text);
    rtmp_result result = set(name, text);
    int ok = strcmp(expected, "ok") == 0;
    int as_expected = ok ? result == RTMP_RESULT_OK
                         : result == RTMP_RESULT_INVALID_ARGUMENT && strstr(rtmp_last_error(), name) != NULL;
    if (!as_expected) {
        fprintf(stderr, "FAIL option %s = %s: expected %s, got %u (%s)\n", name, text, expected, (unsigned)result,
                result == RTMP_RESULT_OK ? "" : rtmp_last_error());
    }
    return as_expected;
}

/* A deferred answer from a thread of the application's. */
struct later {
    rtmp_request *request;
    long delay_ms;
};

static void *answer_later(void *arg) {
    struct later *later = arg;
    sleep_ms(later->delay_ms);
    rtmp_request_accept(later->request); /* past the timeout: RTMP_RESULT_REQUEST_EXPIRED, released */
    free(later);
    return NULL;
}

/* The request of no_answer, answered (to release it) only once the case is over. */
static rtmp_request *unanswered;

static rtmp_decision on_publish(void *userdata, const rtmp_session *session, rtmp_request *request) {
    (void)userdata;
    (void)session;
    rtmp_str outcome = rtmp_request_stream_name(request);
    if (str_eq(outcome, "accept")) {
        return RTMP_DECISION_ACCEPT;
    }
    if (str_eq(outcome, "reject")) {
        rtmp_request_reject(request, "Not you.");
        return RTMP_DECISION_REJECT;
    }
    if (str_eq(outcome, "fail")) {
        return 99; /* no valid decision: C's way to fail */
    }
    if (str_eq(outcome, "no_answer")) {
        unanswered = request;
        return RTMP_DECISION_DEFER;
    }
    struct later *later = malloc(sizeof *later);
    pthread_t thread;
    if (later == NULL) {
        abort();
    }
    later->request = request;
    later->delay_ms = str_eq(outcome, "answer_in_time") ? 100 : 800;
    if (pthread_create(&thread, NULL, answer_later, later) != 0) {
        abort();
    }
    pthread_detach(thread);
    return RTMP_DECISION_DEFER;
}

static int decision_case(const char *outcome, const char *expected) {
    rtmp_server_config *config = NULL;
    rtmp_server *server = NULL;
    rtmp_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.on_publish = on_publish;
    if (rtmp_server_config_new(&config) != RTMP_RESULT_OK ||
        rtmp_server_config_set(config, "bind", "127.0.0.1:0") != RTMP_RESULT_OK ||
        rtmp_server_config_set(config, "decision_timeout", "400ms") != RTMP_RESULT_OK ||
        rtmp_server_config_set_callbacks(config, &callbacks, NULL, NULL) != RTMP_RESULT_OK ||
        rtmp_server_new(config, &server) != RTMP_RESULT_OK || rtmp_server_start(server) != RTMP_RESULT_OK) {
        fprintf(stderr, "FAIL decision %s: no server (%s)\n", outcome, rtmp_last_error());
        return 0;
    }
    rtmp_server_config_free(config);
    char url[128];
    rtmp_str addr = rtmp_server_local_addr(server);
    snprintf(url, sizeof url, "rtmp://%.*s/live/%s", (int)addr.len, addr.data, outcome);
    rtmp_publisher *publisher = NULL;
    rtmp_result result = rtmp_publisher_new(NULL, url, &publisher);
    int as_expected = strcmp(expected, "accepted") == 0
                          ? result == RTMP_RESULT_OK
                          : result == RTMP_RESULT_REJECTED &&
                                (strcmp(outcome, "reject") != 0 || strstr(rtmp_last_error(), "Not you.") != NULL);
    if (!as_expected) {
        fprintf(stderr, "FAIL decision %s: expected %s, got %u (%s)\n", outcome, expected, (unsigned)result,
                result == RTMP_RESULT_OK ? "" : rtmp_last_error());
    }
    rtmp_publisher_free(publisher);
    if (unanswered != NULL) {
        rtmp_request_reject(unanswered, "Too late."); /* expired by now; this releases it */
        unanswered = NULL;
    }
    sleep_ms(900); /* a late answer's thread is done */
    rtmp_server_stop(server);
    rtmp_server_free(server);
    return as_expected;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CASES_FILE\n", argv[0]);
        return 2;
    }
    FILE *file = fopen(argv[1], "r");
    if (file == NULL) {
        perror(argv[1]);
        return 2;
    }
    char line[512];
    int cases = 0, failed = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') {
            continue;
        }
        char *kind = strtok(line, "\t");
        char *a = strtok(NULL, "\t");
        char *b = strtok(NULL, "\t");
        char *c = strtok(NULL, "\t");
        int ok;
        if (kind != NULL && strcmp(kind, "option") == 0 && c != NULL) {
            ok = option_case(set_server_option, a, b, c);
        } else if (kind != NULL && strcmp(kind, "client_option") == 0 && c != NULL) {
            ok = option_case(set_client_option, a, b, c);
        } else if (kind != NULL && strcmp(kind, "decision") == 0 && b != NULL) {
            ok = decision_case(a, b);
        } else {
            fprintf(stderr, "bad case line\n");
            return 2;
        }
        cases++;
        failed += !ok;
    }
    fclose(file);
    printf("conformance (C): %d cases, %d as expected, %d failed\n", cases, cases - failed, failed);
    return failed == 0 && cases > 0 ? 0 : 1;
}
