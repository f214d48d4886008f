/*
 * The C runner of the conformance cases (bindings/embed/conformance/server_options.txt): each
 * option is set through rtmp_server_config_set (durations in milliseconds or with their unit),
 * and the result must be the case's; a refusal's message must name the option.
 * Usage: conformance CASES_FILE
 */
#include <stdio.h>
#include <string.h>

#include "rtmp_rs.h"

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
        char *name = strtok(line, "\t");
        char *value = strtok(NULL, "\t");
        char *expected = strtok(NULL, "\t");
        if (name == NULL || value == NULL || expected == NULL) {
            fprintf(stderr, "bad case line\n");
            return 2;
        }
        char text[256];
        to_c_text(value, text, sizeof text);
        rtmp_server_config *config = NULL;
        if (rtmp_server_config_new(&config) != RTMP_RESULT_OK) {
            return 2;
        }
        rtmp_result result = rtmp_server_config_set(config, name, text);
        int ok = strcmp(expected, "ok") == 0;
        int as_expected = ok ? result == RTMP_RESULT_OK
                             : result == RTMP_RESULT_INVALID_ARGUMENT && strstr(rtmp_last_error(), name) != NULL;
        if (!as_expected) {
            fprintf(stderr, "FAIL %s = %s: expected %s, got %u (%s)\n", name, text, expected, (unsigned)result,
                    result == RTMP_RESULT_OK ? "" : rtmp_last_error());
            failed++;
        }
        cases++;
        rtmp_server_config_free(config);
    }
    fclose(file);
    printf("conformance (C): %d cases, %d as expected, %d failed\n", cases, cases - failed, failed);
    return failed == 0 && cases > 0 ? 0 : 1;
}
