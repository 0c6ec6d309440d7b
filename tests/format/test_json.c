/* Tests for the jansson wrapper: error positions and typed getters. */
#include "sk_json.h"
#include "sk_test.h"

#include <unistd.h>

static void test_parse_errors(void) {
    sk_err e;
    json_t *j = NULL;
    const char *bad = "{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}";
    CHECK(sk_json_load_buf(bad, strlen(bad), "cfg.json", &j, &e) == SK_ERR_FORMAT && !j);
    CHECK_MSG(strstr(e.msg, "cfg.json") && strstr(e.msg, "line 3"), "%s", e.msg);
    const char *dup = "{\"a\": 1, \"a\": 2}";
    CHECK(sk_json_load_buf(dup, strlen(dup), "dup", &j, &e) == SK_ERR_FORMAT);
    const char *badutf = "{\"a\": \"\xff\xfe\"}";
    CHECK(sk_json_load_buf(badutf, strlen(badutf), "utf", &j, &e) == SK_ERR_FORMAT);
    CHECK(sk_json_load_buf("", 0, "empty", &j, &e) == SK_ERR_FORMAT);
    const char *trunc = "{\"a\": [1, 2";
    CHECK(sk_json_load_buf(trunc, strlen(trunc), "t", &j, &e) == SK_ERR_FORMAT);
    CHECK(sk_json_load_file("/nonexistent/x.json", 100, &j, &e) == SK_ERR_IO);
    char path[128];
    snprintf(path, sizeof path, "/tmp/seek-test-json-%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs("{\"x\": 5}", f);
    fclose(f);
    CHECK(sk_json_load_file(path, 3, &j, &e) == SK_ERR_RANGE); /* over max_bytes */
    CHECK_OK(sk_json_load_file(path, 100, &j, &e), &e);
    int64_t x = 0;
    CHECK_OK(sk_json_get_int(j, "x", &x, NULL, path, &e), &e);
    CHECK(x == 5);
    json_decref(j);
    unlink(path);
}

static void test_getters(void) {
    sk_err e;
    json_t *j = NULL;
    const char *s = "{\"i\": 42, \"neg\": -7, \"r\": 1.5, \"ri\": 3.0, \"b\": true, \"s\": \"hi\","
                    " \"n\": null, \"big\": 1e30, \"arr\": []}";
    CHECK_OK(sk_json_load_buf(s, strlen(s), "x", &j, &e), &e);
    int64_t i = -1;
    double d = 0;
    bool b = false, found = true;
    const char *str = NULL;
    CHECK_OK(sk_json_get_int(j, "i", &i, &found, "x", &e), &e);
    CHECK(i == 42 && found);
    CHECK_OK(sk_json_get_int(j, "neg", &i, &found, "x", &e), &e);
    CHECK(i == -7);
    CHECK_OK(sk_json_get_int(j, "ri", &i, &found, "x", &e), &e);
    CHECK(i == 3);
    CHECK(sk_json_get_int(j, "r", &i, &found, "cfg", &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "\"r\"") && strstr(e.msg, "cfg"));
    CHECK(sk_json_get_int(j, "big", &i, &found, "x", &e) == SK_ERR_FORMAT);
    CHECK(sk_json_get_int(j, "s", &i, &found, "x", &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "a string") != NULL);
    i = 99;
    CHECK_OK(sk_json_get_int(j, "missing", &i, &found, "x", &e), &e);
    CHECK(i == 99 && !found);
    CHECK_OK(sk_json_get_int(j, "n", &i, &found, "x", &e), &e); /* null counts as absent */
    CHECK(i == 99 && !found);
    CHECK_OK(sk_json_get_num(j, "r", &d, &found, "x", &e), &e);
    CHECK(d == 1.5 && found);
    CHECK_OK(sk_json_get_num(j, "i", &d, &found, "x", &e), &e);
    CHECK(d == 42.0);
    CHECK(sk_json_get_num(j, "b", &d, &found, "x", &e) == SK_ERR_FORMAT);
    CHECK_OK(sk_json_get_bool(j, "b", &b, &found, "x", &e), &e);
    CHECK(b && found);
    CHECK(sk_json_get_bool(j, "i", &b, &found, "x", &e) == SK_ERR_FORMAT);
    CHECK_OK(sk_json_get_str(j, "s", &str, &found, "x", &e), &e);
    CHECK(str && !strcmp(str, "hi"));
    CHECK(sk_json_get_str(j, "arr", &str, &found, "x", &e) == SK_ERR_FORMAT);
    CHECK(sk_json_get_str(json_object_get(j, "arr"), "k", &str, &found, "x", &e) == SK_ERR_FORMAT);
    json_decref(j);
}

int main(void) {
    RUN(test_parse_errors);
    RUN(test_getters);
    return sk_test_report("json");
}
