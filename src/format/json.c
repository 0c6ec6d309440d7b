/* json.c — jansson wrapper: parsing with file/line/column errors and typed getters
 * (see sk_json.h). */
#include "sk_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rejects duplicate keys and decodes any value (not only arrays/objects) at top level. */
#define SK_JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

static int load_buf(const char *buf, size_t len, const char *what, unsigned flags, json_t **out,
                    sk_err *e) {
    *out = NULL;
    if (!what) what = "JSON";
    if (!buf && len) return sk_err_set(e, SK_ERR_INVALID, "%s: no buffer", what);
    json_error_t je;
    size_t jf = SK_JSON_FLAGS | ((flags & SK_JSON_INT_AS_REAL) ? JSON_DECODE_INT_AS_REAL : 0);
    json_t *j = json_loadb(buf ? buf : "", len, jf, &je);
    if (!j)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: invalid JSON at line %d, column %d: %s", what,
                          je.line, je.column, je.text);
    *out = j;
    return SK_OK;
}

int sk_json_load_buf(const char *buf, size_t len, const char *what, json_t **out, sk_err *e) {
    return load_buf(buf, len, what, 0, out, e);
}

int sk_json_load_file_ex(const char *path, uint64_t max_bytes, unsigned flags, json_t **out,
                         sk_err *e) {
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = sk_read_file(path, max_bytes, &buf, &len, e);
    if (rc) return rc;
    rc = load_buf(buf, len, path, flags, out, e);
    free(buf);
    return rc;
}

int sk_json_load_file(const char *path, uint64_t max_bytes, json_t **out, sk_err *e) {
    return sk_json_load_file_ex(path, max_bytes, 0, out, e);
}

static int check_obj(const json_t *obj, const char *key, const char *what, sk_err *e) {
    if (!obj || !json_is_object(obj))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: expected a JSON object holding \"%s\"",
                          what ? what : "JSON", key);
    return SK_OK;
}

const char *sk_json_type_name(const json_t *v) {
    if (!v) return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

int sk_json_get_int(const json_t *obj, const char *key, int64_t *out, bool *found, const char *what,
                    sk_err *e) {
    if (found) *found = false;
    int rc = check_obj(obj, key, what, e);
    if (rc) return rc;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return SK_OK;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        /* 1.0 style integers appear in some configs; accept exact integral values only. */
        double d = json_real_value(v);
        if (!(d == floor(d)) || d < -9.2e18 || d > 9.2e18)
            return sk_err_set(e, SK_ERR_FORMAT, "%s: \"%s\" must be an integer, got %g",
                              what ? what : "JSON", key, d);
        *out = (int64_t)d;
    } else {
        return sk_err_set(e, SK_ERR_FORMAT, "%s: \"%s\" must be an integer, got %s",
                          what ? what : "JSON", key, sk_json_type_name(v));
    }
    if (found) *found = true;
    return SK_OK;
}

int sk_json_get_num(const json_t *obj, const char *key, double *out, bool *found, const char *what,
                    sk_err *e) {
    if (found) *found = false;
    int rc = check_obj(obj, key, what, e);
    if (rc) return rc;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return SK_OK;
    if (!json_is_number(v))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: \"%s\" must be a number, got %s",
                          what ? what : "JSON", key, sk_json_type_name(v));
    *out = json_number_value(v);
    if (found) *found = true;
    return SK_OK;
}

int sk_json_get_bool(const json_t *obj, const char *key, bool *out, bool *found, const char *what,
                     sk_err *e) {
    if (found) *found = false;
    int rc = check_obj(obj, key, what, e);
    if (rc) return rc;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return SK_OK;
    if (!json_is_boolean(v))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: \"%s\" must be true or false, got %s",
                          what ? what : "JSON", key, sk_json_type_name(v));
    *out = json_is_true(v);
    if (found) *found = true;
    return SK_OK;
}

int sk_json_get_str(const json_t *obj, const char *key, const char **out, bool *found,
                    const char *what, sk_err *e) {
    if (found) *found = false;
    int rc = check_obj(obj, key, what, e);
    if (rc) return rc;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return SK_OK;
    if (!json_is_string(v))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: \"%s\" must be a string, got %s",
                          what ? what : "JSON", key, sk_json_type_name(v));
    *out = json_string_value(v);
    if (found) *found = true;
    return SK_OK;
}
