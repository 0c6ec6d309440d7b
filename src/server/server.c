/* server.c — routes, request parsing, the FIFO queue and the generation worker (sk_server.h). */
#include "server_internal.h"
#include "sk_generate.h"
#include "sk_http.h"
#include "sk_model.h"
#include "sk_tokenizer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { JOB_CHAT = 0, JOB_COMPLETION = 1 };

typedef struct job job;

struct sk_server {
    sk_server_opts o;
    char *model_name;
    char *api_key;
    sk_model *m;
    sk_tokenizer *tok;
    sk_gen *gen;
    sk_chat_kind kind;
    char kind_err[SK_ERR_MSG_MAX];
    bool reasoner;
    int n_ctx;
    int64_t created;
    sk_http *http;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *q_head, *q_tail;
    int n_waiting;
    job *running;
    bool stopping;
    long n_done, n_cancelled, n_failed; /* finished jobs, by outcome */
    pthread_t worker;
    bool worker_started;
    atomic_ulong seq;
};

struct job {
    job *next;
    int type; /* JOB_* */
    bool stream, include_usage, parse_tools, starts_in_reasoning, with_reasoning;
    json_t *root; /* the request (owns the stop strings) */
    int32_t *ids;
    size_t n_ids;
    sk_gen_params gp;
    char id[64];
    int64_t created;
    unsigned long seq;
    int fd;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_buf out;    /* SSE bytes (stream) or the response body */
    size_t out_off; /* bytes of out already sent (stream) */
    int status;     /* the HTTP status of a whole response */
    int result;     /* how the job ended: 200, 499 (cancelled), or an error status */
    bool finished;
    int refs;
    volatile sig_atomic_t cancel;

    sk_server_stream *ss; /* chat deltas while streaming (worker) */
};

static double now_s(void) {
    return sk_time_sec();
}

static void job_release(job *j) {
    pthread_mutex_lock(&j->mu);
    int left = --j->refs;
    pthread_mutex_unlock(&j->mu);
    if (left) return;
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    json_decref(j->root);
    free(j->ids);
    srv_buf_free(&j->out);
    sk_server_stream_free(j->ss);
    free(j);
}

/* Appends bytes to the job's output and wakes its connection. */
static void job_write(job *j, const char *s, size_t n) {
    pthread_mutex_lock(&j->mu);
    srv_buf_put(&j->out, s, n);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void job_sse(job *j, json_t *obj) {
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!s) return;
    pthread_mutex_lock(&j->mu);
    srv_buf_puts(&j->out, "data: ");
    srv_buf_puts(&j->out, s);
    srv_buf_puts(&j->out, "\n\n");
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    free(s);
}

static void job_finish(job *j, int status) {
    pthread_mutex_lock(&j->mu);
    if (!j->stream) j->status = status;
    j->result = status;
    j->finished = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* An error as the job's result: a JSON error body, or an SSE error event for a stream. */
static void job_fail(job *j, int status, const char *type, const char *msg) {
    sk_http_resp r = {0};
    sk_http_resp_error(&r, status, type, NULL, "%s", msg);
    if (r.body) {
        if (j->stream) {
            job_write(j, "data: ", 6);
            job_write(j, r.body, r.body_len);
            job_write(j, "\n\n", 2);
        } else {
            pthread_mutex_lock(&j->mu);
            srv_buf_free(&j->out);
            srv_buf_put(&j->out, r.body, r.body_len);
            pthread_mutex_unlock(&j->mu);
        }
    }
    free(r.body);
    job_finish(j, status);
}

/* ---- response pieces ------------------------------------------------------------------ */

static json_t *usage_json(const sk_gen_stats *st) {
    return json_pack("{s:i, s:i, s:i, s:{s:i}, s:i, s:i}", "prompt_tokens", st->n_prompt,
                     "completion_tokens", st->n_gen, "total_tokens", st->n_prompt + st->n_gen,
                     "completion_tokens_details", "reasoning_tokens", st->n_reasoning,
                     "prompt_cache_hit_tokens", st->n_reused, "prompt_cache_miss_tokens",
                     st->n_prompt - st->n_reused);
}

static const char *finish_reason(sk_gen_stop s) {
    switch (s) {
    case SK_GEN_STOP_LENGTH:
    case SK_GEN_STOP_CONTEXT:
        return "length";
    default:
        return "stop";
    }
}

static json_t *chunk_base(sk_server *s, job *j) {
    json_t *c =
        json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", j->id, "object",
                  j->type == JOB_CHAT ? "chat.completion.chunk" : "text_completion", "created",
                  (json_int_t)j->created, "model", s->model_name, "system_fingerprint", "seek");
    /* with include_usage every chunk carries "usage": null but the last (OpenAI) */
    if (c && j->include_usage) json_object_set_new(c, "usage", json_null());
    return c;
}

typedef struct piece_ctx {
    sk_server *s;
    job *j;
    srv_buf text; /* everything generated (non-stream, or completions) */
} piece_ctx;

/* A chat chunk with one choice: delta (taken over) and finish_reason (NULL → null). */
static void emit_delta(sk_server *s, job *j, json_t *delta, const char *fin) {
    json_t *c = chunk_base(s, j);
    json_t *choice = json_pack("{s:i, s:o, s:n, s:s?}", "index", 0, "delta", delta, "logprobs",
                               "finish_reason", fin);
    if (choice && fin == NULL) json_object_set_new(choice, "finish_reason", json_null());
    if (!c || !choice) {
        json_decref(c);
        json_decref(choice);
        return;
    }
    json_object_set_new(c, "choices", json_pack("[o]", choice));
    job_sse(j, c);
}

static void emit_text(sk_server *s, job *j, const char *text, size_t n, const char *fin) {
    json_t *c = chunk_base(s, j);
    json_t *choice = json_pack("{s:s%, s:i, s:n}", "text", text, n, "index", 0, "logprobs");
    if (!c || !choice) {
        json_decref(c);
        json_decref(choice);
        return;
    }
    json_object_set_new(choice, "finish_reason", fin ? json_string(fin) : json_null());
    json_object_set_new(c, "choices", json_pack("[o]", choice));
    job_sse(j, c);
}

static void on_delta(void *ud, json_t *delta) {
    piece_ctx *c = ud;
    emit_delta(c->s, c->j, delta, NULL);
}

static int on_piece(void *ud, const char *text, size_t len) {
    piece_ctx *c = ud;
    job *j = c->j;
    if (j->cancel) return 1;
    if (!j->stream) {
        srv_buf_put(&c->text, text, len);
        return 0;
    }
    if (j->type == JOB_COMPLETION) {
        emit_text(c->s, j, text, len, NULL);
        return 0;
    }
    return sk_server_stream_feed(j->ss, text, len, NULL) ? 1 : 0;
}

static void run_job(sk_server *s, job *j) {
    sk_err e = {0};
    piece_ctx pc = {.s = s, .j = j};
    sk_gen_stats st;
    memset(&st, 0, sizeof st);
    if (j->stream && j->type == JOB_CHAT) {
        if (sk_server_stream_new(j->starts_in_reasoning, j->with_reasoning, j->parse_tools, j->seq,
                                 on_delta, &pc, &j->ss, &e)) {
            job_fail(j, 500, "server_error", e.msg);
            return;
        }
        json_t *d = json_pack("{s:s, s:s}", "role", "assistant", "content", "");
        if (d && j->with_reasoning) json_object_set_new(d, "reasoning_content", json_null());
        emit_delta(s, j, d, NULL);
    }
    j->gp.cancel = &j->cancel;
    j->gp.starts_in_reasoning = j->starts_in_reasoning;
    int rc = sk_gen_run(s->gen, j->ids, (int)j->n_ids, &j->gp, on_piece, &pc, &st, &e);
    if (rc) {
        srv_buf_free(&pc.text);
        SK_WARN("server: %s: generation failed: %s", j->id, e.msg);
        job_fail(j, rc == SK_ERR_RANGE ? 400 : 500,
                 rc == SK_ERR_RANGE ? "invalid_request_error" : "server_error", e.msg);
        return;
    }
    SK_INFO("server: %s: %d prompt tokens (%d cached), %d generated, %s", j->id, st.n_prompt,
            st.n_reused, st.n_gen, sk_gen_stop_name(st.stop));
    if (st.stop == SK_GEN_STOP_CANCELLED || j->cancel) {
        srv_buf_free(&pc.text);
        job_fail(j, 499, "cancelled", "the request was cancelled");
        return;
    }
    const char *fin = finish_reason(st.stop);
    if (j->stream) {
        if (j->type == JOB_CHAT) {
            bool calls = false;
            if (sk_server_stream_finish(j->ss, &calls, &e)) {
                job_fail(j, 500, "server_error", e.msg);
                return;
            }
            if (calls) fin = "tool_calls";
            emit_delta(s, j, json_object(), fin);
        } else {
            emit_text(s, j, "", 0, fin);
        }
        if (j->include_usage) {
            json_t *c = chunk_base(s, j);
            if (c) {
                json_object_set_new(c, "choices", json_array());
                json_object_set_new(c, "usage", usage_json(&st));
            }
            job_sse(j, c);
        }
        job_write(j, "data: [DONE]\n\n", 14);
        job_finish(j, 200);
        return;
    }
    /* whole response */
    json_t *resp = NULL, *choice = NULL;
    const char *text = pc.text.s ? pc.text.s : "";
    if (j->type == JOB_CHAT) {
        json_t *msg = NULL;
        bool has_calls = false;
        rc = sk_server_chat_message(text, pc.text.len, j->starts_in_reasoning, j->with_reasoning,
                                    j->parse_tools, j->seq, &msg, &has_calls, &e);
        if (rc) {
            srv_buf_free(&pc.text);
            job_fail(j, 500, "server_error", e.msg);
            return;
        }
        if (has_calls) fin = "tool_calls";
        choice = json_pack("{s:i, s:o, s:n, s:s}", "index", 0, "message", msg, "logprobs",
                           "finish_reason", fin);
    } else {
        choice = json_pack("{s:s%, s:i, s:n, s:s}", "text", text, pc.text.len, "index", 0,
                           "logprobs", "finish_reason", fin);
    }
    srv_buf_free(&pc.text);
    resp = json_pack("{s:s, s:s, s:I, s:s, s:s, s:[o], s:o}", "id", j->id, "object",
                     j->type == JOB_CHAT ? "chat.completion" : "text_completion", "created",
                     (json_int_t)j->created, "model", s->model_name, "system_fingerprint", "seek",
                     "choices", choice, "usage", usage_json(&st));
    char *body = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
    json_decref(resp);
    if (!body) {
        job_fail(j, 500, "server_error", "cannot build the response");
        return;
    }
    pthread_mutex_lock(&j->mu);
    srv_buf_puts(&j->out, body);
    pthread_mutex_unlock(&j->mu);
    free(body);
    job_finish(j, 200);
}

static void *worker_main(void *arg) {
    sk_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->q_head && !s->stopping) pthread_cond_wait(&s->cv, &s->mu);
        job *j = s->q_head;
        if (!j) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        s->q_head = j->next;
        if (!s->q_head) s->q_tail = NULL;
        s->n_waiting--;
        s->running = j;
        bool stopping = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stopping)
            job_fail(j, 503, "server_error", "the server is shutting down");
        else if (j->cancel)
            job_fail(j, 499, "cancelled", "the request was cancelled");
        else
            run_job(s, j);
        pthread_mutex_lock(&j->mu);
        int outcome = j->result == 499 ? 1 : j->result != 200 ? 2 : 0;
        pthread_mutex_unlock(&j->mu);
        pthread_mutex_lock(&s->mu);
        s->running = NULL;
        if (outcome == 1)
            s->n_cancelled++;
        else if (outcome == 2)
            s->n_failed++;
        else
            s->n_done++;
        pthread_mutex_unlock(&s->mu);
        job_release(j);
    }
    return NULL;
}

/* ---- connection side --------------------------------------------------------------------- */

static ssize_t job_stream(void *ud, char *buf, size_t max) {
    job *j = ud;
    double t_last = now_s();
    pthread_mutex_lock(&j->mu);
    for (;;) {
        if (j->out_off < j->out.len) {
            size_t n = j->out.len - j->out_off;
            if (n > max) n = max;
            memcpy(buf, j->out.s + j->out_off, n);
            j->out_off += n;
            if (j->out_off == j->out.len) j->out_off = j->out.len = 0;
            pthread_mutex_unlock(&j->mu);
            return (ssize_t)n;
        }
        if (j->finished) {
            pthread_mutex_unlock(&j->mu);
            return 0;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
        if (j->out_off < j->out.len || j->finished) continue;
        pthread_mutex_unlock(&j->mu);
        if (sk_http_fd_closed(j->fd)) {
            j->cancel = 1;
            return -1;
        }
        if (now_s() - t_last > 10.0) { /* SSE comment: keeps proxies and clients patient */
            static const char ka[] = ": keep-alive\n\n";
            size_t n = sizeof ka - 1 < max ? sizeof ka - 1 : max;
            memcpy(buf, ka, n);
            return (ssize_t)n;
        }
        pthread_mutex_lock(&j->mu);
    }
}

static void job_stream_free(void *ud) {
    job *j = ud;
    pthread_mutex_lock(&j->mu);
    if (!j->finished) j->cancel = 1; /* the client went away mid-stream */
    pthread_mutex_unlock(&j->mu);
    job_release(j);
}

/* Waits for a whole (non-stream) result; gives up (cancelling) if the client goes away. */
static bool job_wait(job *j) {
    pthread_mutex_lock(&j->mu);
    while (!j->finished) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
        if (j->finished) break;
        pthread_mutex_unlock(&j->mu);
        if (sk_http_fd_closed(j->fd)) {
            j->cancel = 1;
            return false;
        }
        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    return true;
}

static int get_num(const json_t *root, const char *key, double lo, double hi, bool lo_open,
                   float *out, sk_err *e) {
    double v;
    bool found = false;
    int rc = sk_json_get_num(root, key, &v, &found, "request", e);
    if (rc || !found) return rc;
    if (!isfinite(v) || v < lo || v > hi || (lo_open && v == lo))
        return sk_err_set(e, SK_ERR_FORMAT, "request: \"%s\" must be in %s%g, %g], got %g", key,
                          lo_open ? "(" : "[", lo, hi, v);
    *out = (float)v;
    return SK_OK;
}

/* Fills the job's generation parameters from the request fields shared by both endpoints. */
static int parse_common(sk_server *s, const json_t *root, job *j, sk_err *e) {
    int rc;
    bool found;
    const char *model = NULL;
    if ((rc = sk_json_get_str(root, "model", &model, &found, "request", e))) return rc;
    bool stream = false;
    if ((rc = sk_json_get_bool(root, "stream", &stream, &found, "request", e))) return rc;
    j->stream = stream;
    const json_t *so = json_object_get(root, "stream_options");
    if (so && !json_is_null(so)) {
        if (!json_is_object(so))
            return sk_err_set(e, SK_ERR_FORMAT,
                              "request: \"stream_options\" must be an object, got %s",
                              sk_json_type_name(so));
        bool iu = false;
        if ((rc = sk_json_get_bool(so, "include_usage", &iu, &found, "stream_options", e)))
            return rc;
        j->include_usage = iu;
    }
    int64_t n = 1;
    if ((rc = sk_json_get_int(root, "n", &n, &found, "request", e))) return rc;
    if (n != 1) return sk_err_set(e, SK_ERR_UNSUPPORTED, "request: only \"n\": 1 is supported");
    const json_t *lb = json_object_get(root, "logit_bias");
    if (lb && !json_is_null(lb) && !(json_is_object(lb) && json_object_size(lb) == 0))
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "request: \"logit_bias\" is not supported");
    bool lp = false;
    if ((rc = sk_json_get_bool(root, "logprobs", &lp, &found, "request", e))) return rc;
    if (lp) return sk_err_set(e, SK_ERR_UNSUPPORTED, "request: \"logprobs\" is not supported");
    const json_t *rf = json_object_get(root, "response_format");
    if (rf && !json_is_null(rf)) {
        const char *ty = NULL;
        if (!json_is_object(rf))
            return sk_err_set(e, SK_ERR_FORMAT, "request: \"response_format\" must be an object");
        if ((rc = sk_json_get_str(rf, "type", &ty, &found, "response_format", e))) return rc;
        if (!ty || strcmp(ty, "text"))
            return sk_err_set(
                e, SK_ERR_UNSUPPORTED,
                "request: response_format type \"%s\" is not supported (only \"text\")",
                ty ? ty : "(none)");
    }

    sk_gen_params_init(&j->gp);
    sk_sampler_params sp;
    if (s->reasoner) {
        sp = sk_sampler_reasoner_params();
    } else {
        sp = sk_sampler_default_params();
        sp.temperature = 0.7f;
        sp.top_p = 0.95f;
    }
    int64_t mt = -1;
    bool mt_found = false;
    if ((rc = sk_json_get_int(root, "max_tokens", &mt, &mt_found, "request", e))) return rc;
    int64_t mct = -1;
    if ((rc = sk_json_get_int(root, "max_completion_tokens", &mct, &found, "request", e)))
        return rc;
    if (found) {
        mt = mct;
        mt_found = true;
    }
    if (mt_found && (mt < 1 || mt > (1 << 24)))
        return sk_err_set(e, SK_ERR_FORMAT, "request: max_tokens must be in [1, %d], got %lld",
                          1 << 24, (long long)mt);
    j->gp.n_predict = mt_found ? (int)mt : -1;
    if ((rc = get_num(root, "temperature", 0, 2, false, &sp.temperature, e))) return rc;
    if ((rc = get_num(root, "top_p", 0, 1, true, &sp.top_p, e))) return rc;
    if ((rc = get_num(root, "min_p", 0, 1, false, &sp.min_p, e))) return rc;
    if ((rc = get_num(root, "presence_penalty", -2, 2, false, &sp.presence_penalty, e))) return rc;
    if ((rc = get_num(root, "frequency_penalty", -2, 2, false, &sp.frequency_penalty, e)))
        return rc;
    if ((rc = get_num(root, "repetition_penalty", 0, 100, true, &sp.repetition_penalty, e)))
        return rc;
    int64_t topk = 0;
    if ((rc = sk_json_get_int(root, "top_k", &topk, &found, "request", e))) return rc;
    if (found) {
        if (topk < 0 || topk > (1 << 24))
            return sk_err_set(e, SK_ERR_FORMAT, "request: top_k must be in [0, %d]", 1 << 24);
        sp.top_k = (int32_t)topk;
    }
    const json_t *seed = json_object_get(root, "seed");
    if (seed && !json_is_null(seed)) {
        if (!json_is_integer(seed) || json_integer_value(seed) < 0)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "request: \"seed\" must be a non-negative integer, got %s",
                              sk_json_type_name(seed));
        sp.seed = (uint64_t)json_integer_value(seed);
    } else {
        sp.seed = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ j->seq;
    }
    if ((rc = sk_sampler_params_check(&sp, e))) return rc;
    j->gp.sampling = sp;

    const json_t *stop = json_object_get(root, "stop");
    if (stop && !json_is_null(stop)) {
        if (json_is_string(stop)) {
            if (json_string_length(stop)) j->gp.stop[0] = json_string_value(stop);
        } else if (json_is_array(stop)) {
            if (json_array_size(stop) > SK_GEN_MAX_STOP - 1)
                return sk_err_set(e, SK_ERR_FORMAT, "request: at most %d stop strings",
                                  SK_GEN_MAX_STOP - 1);
            size_t i, k = 0;
            const json_t *v;
            json_array_foreach(stop, i, v) {
                if (!json_is_string(v))
                    return sk_err_set(e, SK_ERR_FORMAT,
                                      "request: stop[%zu] must be a string, got %s", i,
                                      sk_json_type_name(v));
                if (json_string_length(v)) j->gp.stop[k++] = json_string_value(v);
            }
        } else {
            return sk_err_set(e, SK_ERR_FORMAT,
                              "request: \"stop\" must be a string or an array of strings, got %s",
                              sk_json_type_name(stop));
        }
    }
    return SK_OK;
}

static const char *const ROLE_NAMES[] = {"system", "user", "assistant", "tool", NULL};

/* Renders the chat request into token ids. */
static int build_chat(sk_server *s, const json_t *root, job *j, sk_err *e) {
    int rc;
    if (s->kind == SK_CHAT_UNKNOWN)
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "chat completions are unavailable: %s",
                          s->kind_err);
    const json_t *msgs = json_object_get(root, "messages");
    if (!msgs) return sk_err_set(e, SK_ERR_FORMAT, "request: \"messages\" is missing");
    if (!json_is_array(msgs))
        return sk_err_set(e, SK_ERR_FORMAT, "request: \"messages\" must be an array, got %s",
                          sk_json_type_name(msgs));
    if (!json_array_size(msgs))
        return sk_err_set(e, SK_ERR_FORMAT, "request: \"messages\" must not be empty");
    size_t i;
    const json_t *mv;
    json_array_foreach(msgs, i, mv) {
        const json_t *role = json_is_object(mv) ? json_object_get(mv, "role") : NULL;
        if (!json_is_string(role)) continue; /* reported by the message loader */
        int k = 0;
        while (ROLE_NAMES[k] && strcmp(ROLE_NAMES[k], json_string_value(role))) k++;
        if (!ROLE_NAMES[k])
            return sk_err_set(e, SK_ERR_FORMAT,
                              "messages[%zu]: unknown role \"%s\" (system, user, assistant, tool)",
                              i, json_string_value(role));
        const json_t *c = json_object_get(mv, "content");
        if (c && !json_is_string(c) && !json_is_null(c) && !json_is_array(c))
            return sk_err_set(e, SK_ERR_FORMAT,
                              "messages[%zu].content must be a string, an array of parts or null, "
                              "got %s",
                              i, sk_json_type_name(c));
    }
    const char *forced = NULL;
    bool tools_on = false;
    const json_t *tools = json_object_get(root, "tools");
    if (tools && !json_is_null(tools)) {
        if ((rc = srv_check_tools(tools, e))) return rc;
        tools_on = json_array_size(tools) > 0;
    }
    const json_t *tc = json_object_get(root, "tool_choice");
    if (tc && !json_is_null(tc)) {
        if (json_is_string(tc)) {
            const char *v = json_string_value(tc);
            if (!strcmp(v, "none"))
                tools_on = false;
            else if (!strcmp(v, "required"))
                forced = "";
            else if (strcmp(v, "auto"))
                return sk_err_set(e, SK_ERR_FORMAT,
                                  "request: tool_choice must be \"none\", \"auto\", \"required\" "
                                  "or {\"type\":\"function\",\"function\":{\"name\":…}}");
        } else {
            const json_t *f = json_is_object(tc) ? json_object_get(tc, "function") : NULL;
            const json_t *nm = json_is_object(f) ? json_object_get(f, "name") : NULL;
            if (!json_is_string(nm))
                return sk_err_set(e, SK_ERR_FORMAT,
                                  "request: tool_choice must be a string or "
                                  "{\"type\":\"function\",\"function\":{\"name\":…}}");
            forced = json_string_value(nm);
            bool known = false;
            const json_t *t;
            json_array_foreach(tools_on ? tools : NULL, i, t) {
                const char *tn =
                    json_string_value(json_object_get(json_object_get(t, "function"), "name"));
                if (tn && !strcmp(tn, forced)) known = true;
            }
            if (!known)
                return sk_err_set(
                    e, SK_ERR_FORMAT,
                    "request: tool_choice names function \"%s\", which is not in tools", forced);
        }
        if (forced && !tools_on)
            return sk_err_set(e, SK_ERR_FORMAT, "request: tool_choice needs a non-empty \"tools\"");
    }

    sk_chat_msgs cm;
    if ((rc = sk_chat_msgs_from_json(root, &cm, e))) return sk_err_prefix(e, "request");
    sk_chat_msg *list = cm.msgs;
    size_t n = cm.n;
    sk_chat_msg *tmp = NULL;
    sk_text_span *trusted = NULL; /* the server-written parts of the system prompt */
    if (tools_on) {
        char *tp = NULL;
        size_t n_trusted = 0;
        if ((rc = sk_server_tool_prompt_ex(tools, forced, &tp, &trusted, &n_trusted, e))) goto out;
        tmp = calloc(n + 1, sizeof *tmp);
        if (!tmp) {
            free(tp);
            rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
            goto out;
        }
        size_t last_sys = n;
        for (size_t k = 0; k < n; k++)
            if (list[k].role == SK_CHAT_ROLE_SYSTEM) last_sys = k;
        if (last_sys < n) {
            memcpy(tmp, list, n * sizeof *tmp);
            const char *old = tmp[last_sys].content ? tmp[last_sys].content : "";
            size_t la = strlen(old), lb = strlen(tp);
            char *joined = sk_arena_alloc(&cm.arena, la + lb + 3, 1, e);
            if (!joined) {
                free(tp);
                rc = SK_ERR_NOMEM;
                goto out;
            }
            memcpy(joined, old, la);
            memcpy(joined + la, la ? "\n\n" : "", la ? 2 : 0);
            memcpy(joined + la + (la ? 2 : 0), tp, lb + 1);
            tmp[last_sys].content = joined;
            /* the caller's earlier system text stays protected; the tool prompt's own text is
             * trusted */
            for (size_t k = 0; k < n_trusted; k++) trusted[k].off += la + (la ? 2 : 0);
            tmp[last_sys].trusted = trusted;
            tmp[last_sys].n_trusted = n_trusted;
        } else {
            tmp[0].role = SK_CHAT_ROLE_SYSTEM;
            tmp[0].content = sk_arena_strdup(&cm.arena, tp, strlen(tp), e);
            tmp[0].trusted = trusted;
            tmp[0].n_trusted = n_trusted;
            memcpy(tmp + 1, list, n * sizeof *tmp);
            n++;
        }
        free(tp);
        if (!tmp[0].content && tmp[0].role == SK_CHAT_ROLE_SYSTEM && last_sys == cm.n) {
            rc = SK_ERR_NOMEM;
            goto out;
        }
        list = tmp;
    }
    /* Message text is protected: a user who types "<｜end▁of▁sentence｜>" or "<｜Assistant｜>"
     * gets those characters, never the control tokens; only the template's own markup (and
     * the server's tool instructions) is parsed for special tokens. */
    if ((rc = sk_chat_encode(s->tok, s->kind, list, n, true, SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS,
                             &j->ids, &j->n_ids, e))) {
        sk_err_prefix(e, "request");
        goto out;
    }
    j->parse_tools = tools_on;
    j->starts_in_reasoning = sk_chat_kind_forces_think(s->kind);
    j->with_reasoning = s->reasoner;
out:
    free(trusted);
    free(tmp);
    sk_chat_msgs_free(&cm);
    return rc;
}

static int build_completion(sk_server *s, const json_t *root, job *j, sk_err *e) {
    const json_t *p = json_object_get(root, "prompt");
    if (json_is_array(p) && json_array_size(p) == 1) p = json_array_get(p, 0);
    if (!p) return sk_err_set(e, SK_ERR_FORMAT, "request: \"prompt\" is missing");
    if (!json_is_string(p))
        return sk_err_set(e, SK_ERR_FORMAT, "request: \"prompt\" must be a string, got %s",
                          sk_json_type_name(p));
    bool echo = false, found;
    int rc = sk_json_get_bool(root, "echo", &echo, &found, "request", e);
    if (rc) return rc;
    if (echo) return sk_err_set(e, SK_ERR_UNSUPPORTED, "request: \"echo\" is not supported");
    if (json_object_get(root, "suffix") && !json_is_null(json_object_get(root, "suffix")))
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "request: \"suffix\" is not supported");
    /* A raw prompt is sent as the model should see it, template markup included, so its
     * special-token texts are parsed (unlike chat messages, which are protected). */
    return sk_tokenizer_encode(s->tok, json_string_value(p), json_string_length(p),
                               SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, &j->ids, &j->n_ids, e);
}

static void err_resp(sk_http_resp *r, const sk_err *e) {
    int status = 400;
    const char *type = "invalid_request_error";
    if (e->code == SK_ERR_NOMEM || e->code == SK_ERR_IO) {
        status = 500;
        type = "server_error";
    }
    sk_http_resp_error(r, status, type, NULL, "%s", e->msg);
}

static void handle_generate(sk_server *s, const sk_http_req *req, sk_http_resp *r, int type) {
    sk_err e = {0};
    job *j = calloc(1, sizeof *j);
    if (!j) {
        sk_http_resp_error(r, 500, "server_error", NULL, "out of memory");
        return;
    }
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 1;
    j->type = type;
    j->fd = req->fd;
    j->seq = atomic_fetch_add(&s->seq, 1) + 1;
    j->created = (int64_t)time(NULL);
    snprintf(j->id, sizeof j->id, "%s-%08llx%08lx", type == JOB_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)(s->created & 0xffffffff), j->seq);
    int rc = SK_OK;
    for (size_t off = 0; off < req->body_len;) { /* JSON text is UTF-8 (RFC 8259) */
        int k = sk_utf8_seq_len((const uint8_t *)req->body + off, req->body_len - off);
        if (k <= 0) {
            rc = sk_err_set(&e, SK_ERR_FORMAT,
                            "request body is not valid UTF-8 (byte 0x%02x at offset %zu)",
                            (unsigned char)req->body[off], off);
            break;
        }
        off += (size_t)k;
    }
    if (!rc) rc = sk_json_load_buf(req->body, req->body_len, "request body", &j->root, &e);
    if (!rc && !json_is_object(j->root))
        rc = sk_err_set(&e, SK_ERR_FORMAT, "request body must be a JSON object, got %s",
                        sk_json_type_name(j->root));
    if (!rc) rc = parse_common(s, j->root, j, &e);
    if (!rc)
        rc = type == JOB_CHAT ? build_chat(s, j->root, j, &e) : build_completion(s, j->root, j, &e);
    if (!rc && (int64_t)j->n_ids >= s->n_ctx) {
        sk_http_resp_error(r, 400, "invalid_request_error", "context_length_exceeded",
                           "the prompt has %zu tokens; the context holds %d", j->n_ids, s->n_ctx);
        job_release(j);
        return;
    }
    if (rc) {
        err_resp(r, &e);
        job_release(j);
        return;
    }
    /* queue it */
    pthread_mutex_lock(&s->mu);
    if (s->stopping || s->n_waiting >= s->o.max_queue) {
        bool stopping = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stopping)
            sk_http_resp_error(r, 503, "server_error", NULL, "the server is shutting down");
        else
            sk_http_resp_error(r, 503, "server_error", "queue_full",
                               "the server is busy: %d requests are already waiting",
                               s->o.max_queue);
        sk_http_resp_header(r, "Retry-After", "1");
        job_release(j);
        return;
    }
    j->refs++; /* the worker's reference */
    if (s->q_tail)
        s->q_tail->next = j;
    else
        s->q_head = j;
    s->q_tail = j;
    s->n_waiting++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);

    if (j->stream) {
        r->status = 200;
        r->content_type = "text/event-stream";
        sk_http_resp_header(r, "Cache-Control", "no-cache");
        r->stream = job_stream;
        r->stream_free = job_stream_free;
        r->stream_ud = j;
        return;
    }
    if (!job_wait(j)) {
        sk_http_resp_error(r, 499, "cancelled", NULL, "the client closed the connection");
        job_release(j);
        return;
    }
    r->status = j->status ? j->status : 500;
    r->body = j->out.s;
    r->body_len = j->out.len;
    memset(&j->out, 0, sizeof j->out);
    job_release(j);
}

static bool auth_ok(sk_server *s, const sk_http_req *req) {
    if (!s->api_key) return true;
    const char *h = sk_http_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) return false;
    h += 7;
    while (*h == ' ') h++;
    size_t a = strlen(h), b = strlen(s->api_key);
    unsigned diff = a != b;
    for (size_t i = 0; i < b; i++)
        diff |= (unsigned char)(i < a ? h[i] : 0) ^ (unsigned char)s->api_key[i];
    return diff == 0;
}

static void handle(void *ud, const sk_http_req *req, sk_http_resp *r) {
    sk_server *s = ud;
    const char *p = req->path;
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    bool post = !strcmp(req->method, "POST");
    if (!strcmp(p, "/health") || !strcmp(p, "/v1/health")) {
        if (!get) goto not_allowed_get;
        pthread_mutex_lock(&s->mu);
        json_t *h =
            json_pack("{s:s, s:s, s:i, s:b, s:i, s:{s:I, s:I, s:I}}", "status", "ok", "model",
                      s->model_name, "queued", s->n_waiting, "busy", s->running != NULL,
                      "max_queue", s->o.max_queue, "requests", "completed", (json_int_t)s->n_done,
                      "cancelled", (json_int_t)s->n_cancelled, "failed", (json_int_t)s->n_failed);
        pthread_mutex_unlock(&s->mu);
        r->body = h ? json_dumps(h, JSON_COMPACT) : NULL;
        r->body_len = r->body ? strlen(r->body) : 0;
        r->status = r->body ? 200 : 500;
        json_decref(h);
        return;
    }
    int route = 0;
    if (!strcmp(p, "/v1/chat/completions") || !strcmp(p, "/chat/completions"))
        route = 1;
    else if (!strcmp(p, "/v1/completions") || !strcmp(p, "/completions"))
        route = 2;
    else if (!strcmp(p, "/v1/models") || !strcmp(p, "/models"))
        route = 3;
    else if (!strncmp(p, "/v1/models/", 11) && !strcmp(p + 11, s->model_name))
        route = 4;
    if (!route) {
        sk_http_resp_error(r, 404, "invalid_request_error", "not_found",
                           "no route %s %s (try POST /v1/chat/completions, POST /v1/completions, "
                           "GET /v1/models, GET /health)",
                           req->method, p);
        return;
    }
    if (!auth_ok(s, req)) {
        sk_http_resp_error(r, 401, "authentication_error", "invalid_api_key",
                           "missing or wrong API key (send \"Authorization: Bearer KEY\")");
        sk_http_resp_header(r, "WWW-Authenticate", "Bearer");
        return;
    }
    if (route == 4) {
        if (!get) goto not_allowed_get;
        json_t *m = json_pack("{s:s, s:s, s:I, s:s, s:i}", "id", s->model_name, "object", "model",
                              "created", (json_int_t)s->created, "owned_by", "seek",
                              "context_length", s->n_ctx);
        r->body = m ? json_dumps(m, JSON_COMPACT) : NULL;
        r->body_len = r->body ? strlen(r->body) : 0;
        r->status = r->body ? 200 : 500;
        json_decref(m);
        return;
    }
    if (route == 3) {
        if (!get) goto not_allowed_get;
        json_t *m =
            json_pack("{s:s, s:[{s:s, s:s, s:I, s:s, s:i}]}", "object", "list", "data", "id",
                      s->model_name, "object", "model", "created", (json_int_t)s->created,
                      "owned_by", "seek", "context_length", s->n_ctx);
        r->body = m ? json_dumps(m, JSON_COMPACT) : NULL;
        r->body_len = r->body ? strlen(r->body) : 0;
        r->status = r->body ? 200 : 500;
        json_decref(m);
        return;
    }
    if (!post) {
        sk_http_resp_error(r, 405, "invalid_request_error", "method_not_allowed",
                           "%s wants POST, not %s", p, req->method);
        sk_http_resp_header(r, "Allow", "POST, OPTIONS");
        return;
    }
    handle_generate(s, req, r, route == 1 ? JOB_CHAT : JOB_COMPLETION);
    return;
not_allowed_get:
    sk_http_resp_error(r, 405, "invalid_request_error", "method_not_allowed",
                       "%s wants GET, not %s", p, req->method);
    sk_http_resp_header(r, "Allow", "GET, OPTIONS");
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

void sk_server_opts_init(sk_server_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->cache_type = SK_CACHE_F32;
    o->max_queue = 16;
}

static char *default_name(const char *path, sk_err *e) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && path[b - 1] != '/') b--;
    size_t len = n - b;
    if (len > 5 && !strncmp(path + n - 5, ".gguf", 5)) len -= 5;
    char *s = sk_malloc(len + 1, e);
    if (!s) return NULL;
    memcpy(s, path + b, len);
    s[len] = 0;
    return s;
}

int sk_server_start(const sk_server_opts *o, sk_server **out, sk_err *e) {
    *out = NULL;
    if (!o->model_path) return sk_err_set(e, SK_ERR_INVALID, "no model given (-m PATH)");
    sk_server *s = calloc(1, sizeof *s);
    if (!s) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    s->o = *o;
    if (s->o.max_queue <= 0) s->o.max_queue = 16;
    json_object_seed(0); /* jansson's hash seed, set before any thread builds JSON */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->created = (int64_t)time(NULL);
    int rc = SK_OK;
    s->model_name = o->model_name ? sk_strdup(o->model_name, e) : default_name(o->model_path, e);
    if (!s->model_name) {
        rc = SK_ERR_NOMEM;
        goto fail;
    }
    if (o->api_key && *o->api_key && !(s->api_key = sk_strdup(o->api_key, e))) {
        rc = SK_ERR_NOMEM;
        goto fail;
    }
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = o->n_threads;
    mo.no_mmap = o->no_mmap;
    if ((rc = sk_model_open(o->model_path, &mo, &s->m, e))) goto fail;
    rc = sk_is_dir(o->model_path) ? sk_tokenizer_load_hf(o->model_path, &s->tok, e)
                                  : sk_tokenizer_load_gguf_file(o->model_path, &s->tok, e);
    if (rc) {
        sk_err_prefix(e, "%s: tokenizer", o->model_path);
        goto fail;
    }
    s->kind = SK_CHAT_UNKNOWN;
    if (o->chat_template) {
        if ((rc = sk_chat_kind_from_name(o->chat_template, &s->kind, e))) goto fail;
    } else {
        const char *tmpl = sk_tokenizer_chat_template(s->tok);
        sk_err ke = {0};
        if (!tmpl)
            snprintf(s->kind_err, sizeof s->kind_err,
                     "the model has no chat template (start the server with --chat-template NAME)");
        else if (sk_chat_template_detect(tmpl, sk_arch_name(sk_model_get_config(s->m)->arch),
                                         &s->kind, &ke))
            snprintf(s->kind_err, sizeof s->kind_err, "%s", ke.msg);
    }
    s->reasoner = s->kind != SK_CHAT_UNKNOWN && sk_chat_kind_forces_think(s->kind);
    sk_model_ctx_params cp;
    sk_model_ctx_params_init(&cp);
    if (o->n_ctx > 0) cp.n_ctx = o->n_ctx;
    cp.cache_type = o->cache_type;
    if ((rc = sk_gen_new(s->m, s->tok, &cp, &s->gen, e))) goto fail;
    s->n_ctx = sk_gen_n_ctx(s->gen);
    if (pthread_create(&s->worker, NULL, worker_main, s)) {
        rc = sk_err_set(e, SK_ERR_NOMEM, "cannot start the worker thread");
        goto fail;
    }
    s->worker_started = true;
    sk_http_opts ho = {
        .host = o->host, .port = o->port, .max_body = o->max_body, .max_conns = o->max_conns};
    if ((rc = sk_http_start(&ho, handle, s, &s->http, e))) goto fail;
    *out = s;
    return SK_OK;
fail:
    sk_server_stop(s);
    return rc;
}

int sk_server_port(const sk_server *s) {
    return s ? sk_http_port(s->http) : 0;
}
const char *sk_server_model_name(const sk_server *s) {
    return s ? s->model_name : NULL;
}

void sk_server_stop(sk_server *s) {
    if (!s) return;
    sk_http_quiesce(s->http);
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    if (s->running) s->running->cancel = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->worker_started) pthread_join(s->worker, NULL);
    sk_http_stop(s->http, 5.0);
    sk_gen_free(s->gen);
    sk_tokenizer_free(s->tok);
    sk_model_close(s->m);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->model_name);
    free(s->api_key);
    free(s);
}
