/* chat_reasoning.c — the streaming reasoning/answer splitter (sk_chat.h). Bytes that could still
 * be the start of a tag are held back in `hold` until a later piece or finish decides them. */
#include "chat_internal.h"

#include <stdlib.h>
#include <string.h>

#define OPEN_TAG  "<think>"
#define CLOSE_TAG "</think>"

typedef enum { ST_START, ST_START_IN, ST_REASONING, ST_ANSWER } state_t;

struct sk_reasoning {
    state_t st;
    sk_chat_buf hold;      /* undecided bytes */
    sk_chat_buf reasoning; /* committed reasoning text */
    sk_chat_buf answer;    /* committed answer text */
    sk_chat_buf nl;        /* newlines inside the reasoning, held until more text follows */
    bool r_started, a_started, finished, unfinished;
    size_t r_taken, a_taken;
};

static bool is_nl(char c) {
    return c == '\n' || c == '\r';
}
static bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

sk_reasoning *sk_reasoning_new(bool started_in_reasoning, sk_err *e) {
    sk_reasoning *r = sk_calloc(1, sizeof *r, e);
    if (!r) return NULL;
    r->st = started_in_reasoning ? ST_START_IN : ST_START;
    /* give the text buffers a NUL so accessors never return NULL */
    if (sk_chat_buf_add(&r->reasoning, "", 0, e) || sk_chat_buf_add(&r->answer, "", 0, e)) {
        sk_reasoning_free(r);
        return NULL;
    }
    return r;
}

void sk_reasoning_free(sk_reasoning *r) {
    if (!r) return;
    sk_chat_buf_free(&r->hold);
    sk_chat_buf_free(&r->reasoning);
    sk_chat_buf_free(&r->answer);
    sk_chat_buf_free(&r->nl);
    free(r);
}

/* Reasoning text: leading newlines dropped, trailing newlines held in r->nl. */
static int emit_reasoning(sk_reasoning *r, const char *s, size_t n, sk_err *e) {
    size_t i = 0;
    while (i < n) {
        if (is_nl(s[i])) {
            if (r->r_started && sk_chat_buf_add(&r->nl, s + i, 1, e)) return SK_ERR_NOMEM;
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !is_nl(s[j])) j++;
        if (r->nl.len) {
            if (sk_chat_buf_add(&r->reasoning, r->nl.p, r->nl.len, e)) return SK_ERR_NOMEM;
            r->nl.len = 0;
        }
        if (sk_chat_buf_add(&r->reasoning, s + i, j - i, e)) return SK_ERR_NOMEM;
        r->r_started = true;
        i = j;
    }
    return SK_OK;
}

/* Answer text: leading whitespace dropped. */
static int emit_answer(sk_reasoning *r, const char *s, size_t n, sk_err *e) {
    size_t i = 0;
    if (!r->a_started) {
        while (i < n && is_ws(s[i])) i++;
        if (i == n) return SK_OK;
        r->a_started = true;
    }
    return sk_chat_buf_add(&r->answer, s + i, n - i, e);
}

/* Length of the longest suffix of s[0..n) that is a proper prefix of tag. */
static size_t partial_suffix(const char *s, size_t n, const char *tag) {
    size_t tl = strlen(tag);
    size_t max = n < tl - 1 ? n : tl - 1;
    for (size_t k = max; k > 0; k--)
        if (!memcmp(s + n - k, tag, k)) return k;
    return 0;
}

static void hold_consume(sk_reasoning *r, size_t k) {
    memmove(r->hold.p, r->hold.p + k, r->hold.len - k);
    r->hold.len -= k;
    r->hold.p[r->hold.len] = 0;
}

/* Moves as much of `hold` as can be decided. */
static int process(sk_reasoning *r, sk_err *e) {
    for (;;) {
        char *h = r->hold.p;
        size_t n = r->hold.len;
        size_t ws = 0;
        switch (r->st) {
        case ST_START:
        case ST_START_IN: {
            while (ws < n && is_ws(h[ws])) ws++;
            size_t rest = n - ws, tl = strlen(OPEN_TAG);
            if (rest < tl && !memcmp(h + ws, OPEN_TAG, rest)) return SK_OK; /* undecided */
            if (rest >= tl && !memcmp(h + ws, OPEN_TAG, tl)) {
                hold_consume(r, ws + tl);
                r->st = ST_REASONING;
            } else {
                r->st = r->st == ST_START ? ST_ANSWER : ST_REASONING;
            }
            continue;
        }
        case ST_REASONING: {
            char *close = n ? memmem(h, n, CLOSE_TAG, strlen(CLOSE_TAG)) : NULL;
            if (close) {
                size_t k = (size_t)(close - h);
                if (emit_reasoning(r, h, k, e)) return SK_ERR_NOMEM;
                r->nl.len = 0; /* trailing newlines before </think> are trimmed */
                hold_consume(r, k + strlen(CLOSE_TAG));
                r->st = ST_ANSWER;
                continue;
            }
            size_t keep = partial_suffix(h, n, CLOSE_TAG);
            if (emit_reasoning(r, h, n - keep, e)) return SK_ERR_NOMEM;
            hold_consume(r, n - keep);
            return SK_OK;
        }
        case ST_ANSWER:
            if (n && emit_answer(r, h, n, e)) return SK_ERR_NOMEM;
            if (n) hold_consume(r, n);
            return SK_OK;
        }
    }
}

int sk_reasoning_feed(sk_reasoning *r, const char *piece, size_t len, sk_err *e) {
    if (r->finished) return sk_err_set(e, SK_ERR_INVALID, "reasoning parser: feed after finish");
    if (len == 0) return SK_OK;
    if (!piece) return sk_err_set(e, SK_ERR_INVALID, "reasoning parser: NULL piece");
    if (sk_chat_buf_add(&r->hold, piece, len, e)) return SK_ERR_NOMEM;
    return process(r, e);
}

int sk_reasoning_finish(sk_reasoning *r, sk_err *e) {
    if (r->finished) return SK_OK;
    r->finished = true;
    const char *h = r->hold.p ? r->hold.p : "";
    size_t n = r->hold.len;
    switch (r->st) {
    case ST_START: /* a lone prefix of "<think>" is answer text */
        r->st = ST_ANSWER;
        if (emit_answer(r, h, n, e)) return SK_ERR_NOMEM;
        break;
    case ST_START_IN:
    case ST_REASONING:
        r->st = ST_REASONING;
        if (emit_reasoning(r, h, n, e)) return SK_ERR_NOMEM;
        r->nl.len = 0;
        r->unfinished = true;
        break;
    case ST_ANSWER:
        if (emit_answer(r, h, n, e)) return SK_ERR_NOMEM;
        break;
    }
    r->hold.len = 0;
    return SK_OK;
}

const char *sk_reasoning_text(const sk_reasoning *r, size_t *len) {
    if (len) *len = r->reasoning.len;
    return r->reasoning.p;
}

const char *sk_reasoning_answer(const sk_reasoning *r, size_t *len) {
    if (len) *len = r->answer.len;
    return r->answer.p;
}

void sk_reasoning_take_delta(sk_reasoning *r, const char **reasoning, size_t *reasoning_len,
                             const char **answer, size_t *answer_len) {
    *reasoning = r->reasoning.p + r->r_taken;
    *reasoning_len = r->reasoning.len - r->r_taken;
    *answer = r->answer.p + r->a_taken;
    *answer_len = r->answer.len - r->a_taken;
    r->r_taken = r->reasoning.len;
    r->a_taken = r->answer.len;
}

bool sk_reasoning_in_reasoning(const sk_reasoning *r) {
    return r->st == ST_REASONING || r->st == ST_START_IN;
}

bool sk_reasoning_unfinished(const sk_reasoning *r) {
    return r->unfinished;
}
