/* chat_internal.h — shared by the chat_*.c files: a growable text buffer and the texts of the
 * DeepSeek tool-call special tokens (spec §5.4; U+FF5C bars, U+2581 word separators). */
#ifndef SK_CHAT_INTERNAL_H
#define SK_CHAT_INTERNAL_H

#include "sk_chat.h"

#define SK_CHAT_BAR "\xEF\xBD\x9C"
#define SK_CHAT_SP  "\xE2\x96\x81"
#define SK_CHAT_T_CALLS_BEGIN                                                                      \
    "<" SK_CHAT_BAR "tool" SK_CHAT_SP "calls" SK_CHAT_SP "begin" SK_CHAT_BAR ">"
#define SK_CHAT_T_CALLS_END                                                                        \
    "<" SK_CHAT_BAR "tool" SK_CHAT_SP "calls" SK_CHAT_SP "end" SK_CHAT_BAR ">"
#define SK_CHAT_T_CALL_BEGIN                                                                       \
    "<" SK_CHAT_BAR "tool" SK_CHAT_SP "call" SK_CHAT_SP "begin" SK_CHAT_BAR ">"
#define SK_CHAT_T_CALL_END "<" SK_CHAT_BAR "tool" SK_CHAT_SP "call" SK_CHAT_SP "end" SK_CHAT_BAR ">"
#define SK_CHAT_T_SEP      "<" SK_CHAT_BAR "tool" SK_CHAT_SP "sep" SK_CHAT_BAR ">"
#define SK_CHAT_T_OUTPUTS_BEGIN                                                                    \
    "<" SK_CHAT_BAR "tool" SK_CHAT_SP "outputs" SK_CHAT_SP "begin" SK_CHAT_BAR ">"
#define SK_CHAT_T_OUTPUTS_END                                                                      \
    "<" SK_CHAT_BAR "tool" SK_CHAT_SP "outputs" SK_CHAT_SP "end" SK_CHAT_BAR ">"
#define SK_CHAT_T_OUTPUT_BEGIN                                                                     \
    "<" SK_CHAT_BAR "tool" SK_CHAT_SP "output" SK_CHAT_SP "begin" SK_CHAT_BAR ">"
#define SK_CHAT_T_OUTPUT_END                                                                       \
    "<" SK_CHAT_BAR "tool" SK_CHAT_SP "output" SK_CHAT_SP "end" SK_CHAT_BAR ">"

/* A growable NUL-terminated byte buffer. After a failed add, `failed` is set, later adds are
 * no-ops and the first error stays in e. */
typedef struct sk_chat_buf {
    char *p;
    size_t len, cap;
    bool failed;
    /* With track: the ranges of p added by sk_chat_buf_user (caller-supplied text), in order,
     * non-empty, touching ones merged. */
    bool track;
    sk_text_span *spans;
    size_t n_spans, cap_spans;
} sk_chat_buf;

int sk_chat_buf_add(sk_chat_buf *b, const char *s, size_t n, sk_err *e);
int sk_chat_buf_puts(sk_chat_buf *b, const char *s, sk_err *e);
/* Appends n bytes of caller-supplied text; with track, records them as a span. */
int sk_chat_buf_user(sk_chat_buf *b, const char *s, size_t n, sk_err *e);
void sk_chat_buf_free(sk_chat_buf *b);

#endif
