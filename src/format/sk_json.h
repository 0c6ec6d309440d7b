/*
 * json — our wrapper over jansson: parse with errors that name the file, line and column,
 * and typed field getters that say which key is missing or of the wrong type.
 * Callers use jansson's json_t API directly for everything else (json_object_get, …);
 * this header is the one place that includes <jansson.h>.
 *
 * Ownership: sk_json_load_* return a new reference; release it with json_decref.
 */
#ifndef SK_JSON_H
#define SK_JSON_H

#include "sk_util.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parses a file (at most max_bytes) / a buffer. `what` names the source in messages. */
int sk_json_load_file(const char *path, uint64_t max_bytes, json_t **out, sk_err *e);
int sk_json_load_buf(const char *buf, size_t len, const char *what, json_t **out, sk_err *e);
/* sk_json_load_file with options: SK_JSON_INT_AS_REAL decodes every number as a real (for
 * files that write huge integers such as "model_max_length": 1e30 as integer literals, which
 * would otherwise be "too big integer" errors). */
enum { SK_JSON_INT_AS_REAL = 1u << 0 };
int sk_json_load_file_ex(const char *path, uint64_t max_bytes, unsigned flags, json_t **out,
                         sk_err *e);

/* Typed getters on an object. `found` (may be NULL) tells whether the key was present;
 * a missing key leaves *out unchanged and is not an error; a present key of the wrong type
 * (or an integer out of range) is SK_ERR_FORMAT naming `what` and the key. */
int sk_json_get_int(const json_t *obj, const char *key, int64_t *out, bool *found, const char *what,
                    sk_err *e);
int sk_json_get_num(const json_t *obj, const char *key, double *out, bool *found, const char *what,
                    sk_err *e); /* integers accepted */
int sk_json_get_bool(const json_t *obj, const char *key, bool *out, bool *found, const char *what,
                     sk_err *e);
/* *out points into obj (valid while obj lives); null values count as absent. */
int sk_json_get_str(const json_t *obj, const char *key, const char **out, bool *found,
                    const char *what, sk_err *e);

/* The type of a JSON value for error messages: "an object", "an array", "a string",
 * "an integer", "a real number", "a boolean", "null"; "nothing" for NULL (an absent key). */
const char *sk_json_type_name(const json_t *v);

#ifdef __cplusplus
}
#endif
#endif
