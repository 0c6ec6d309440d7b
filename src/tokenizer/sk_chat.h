/*
 * chat — DeepSeek chat templates rendered by Seek's own code, the reasoning parser that splits
 * model output into reasoning and answer, and the parser for the V3/R1 tool-call markup.
 * Spec §5.6. No Jinja engine: each family's official template is re-implemented in C and
 * checked byte for byte against the Jinja originals (tests/chat/, rendered by
 * @huggingface/jinja), including the templates' quirks (see the per-family notes below).
 *
 * Families (names as accepted by --chat-template):
 *   deepseek3         DeepSeek-V3 tokenizer_config.json. All system messages concatenated
 *                     ("\n\n" between them) after the BOS text; `<｜User｜>`c, `<｜Assistant｜>`c
 *                     `<｜end▁of▁sentence｜>`; generation prompt `<｜Assistant｜>`. Tool calls are
 *                     rendered only for assistant messages whose content is null.
 *   deepseek-r1       DeepSeek-R1 (current revision). Like deepseek3, but earlier assistant turns
 *                     keep only the text after the LAST `</think>`, an assistant message may carry
 *                     content and tool calls, consecutive tool outputs are not separated by "\n",
 *                     and the generation prompt is `<｜Assistant｜><think>\n`.
 *   r1-distill-qwen   DeepSeek-R1-Distill-Qwen-* and
 *   r1-distill-llama  DeepSeek-R1-Distill-Llama-* (the two official strings are identical): only
 *                     the LAST system message is used; tool markup as deepseek3 (V3's per-call
 *                     `<｜tool▁calls▁end｜>` quirk included); `</think>` stripping and the forced
 *                     `<think>\n` as deepseek-r1.
 *   deepseek2         DeepSeek-V2(-Lite)-Chat: BOS, then per message in order: system c"\n\n",
 *                     "User: "c"\n\n", "Assistant: "c`<｜end▁of▁sentence｜>`; generation prompt
 *                     "Assistant:". Tool messages are ignored.
 *
 * Ownership. sk_chat_msg and sk_chat_tool_call only point at caller-owned strings. An
 * sk_chat_msgs (from JSON) owns copies of every string in its arena. sk_chat_render returns a
 * malloc'd NUL-terminated string (free()). A reasoning parser owns its buffers; pointers it
 * returns stay valid until the next feed/finish/free.
 */
#ifndef SK_CHAT_H
#define SK_CHAT_H

#include "sk_tokenizer.h"
#include "sk_util.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t; /* jansson */

/* ---- messages ------------------------------------------------------------------------ */

typedef enum sk_chat_kind {
    SK_CHAT_UNKNOWN = 0,
    SK_CHAT_DEEPSEEK3,
    SK_CHAT_DEEPSEEK_R1,
    SK_CHAT_R1_DISTILL_QWEN,
    SK_CHAT_R1_DISTILL_LLAMA,
    SK_CHAT_DEEPSEEK2,
} sk_chat_kind;

typedef enum sk_chat_role {
    SK_CHAT_ROLE_OTHER = 0, /* any other role string: ignored by every DeepSeek template */
    SK_CHAT_ROLE_SYSTEM,
    SK_CHAT_ROLE_USER,
    SK_CHAT_ROLE_ASSISTANT,
    SK_CHAT_ROLE_TOOL,
} sk_chat_role;

typedef struct sk_chat_tool_call {
    const char *id;        /* may be NULL (not rendered) */
    const char *type;      /* NULL means "function" */
    const char *name;      /* function name */
    const char *arguments; /* JSON text, rendered verbatim */
} sk_chat_tool_call;

typedef struct sk_chat_msg {
    sk_chat_role role;
    const char *content;           /* NULL = JSON null (an assistant turn with only tool calls) */
    const char *reasoning_content; /* may be NULL; never rendered (as in the official templates) */
    const sk_chat_tool_call *tool_calls;
    size_t n_tool_calls;
    bool has_tool_calls;      /* the message has a tool_calls list (possibly empty) */
    const char *tool_call_id; /* tool messages; may be NULL (not rendered) */
    /* Byte ranges of `content` written by the application rather than supplied by its caller
     * (e.g. the server's tool instructions appended to a system prompt): sorted, not
     * overlapping, inside content. sk_chat_render_spans leaves them out of the message's spans,
     * so special tokens in them are parsed. Usually NULL / 0. */
    const sk_text_span *trusted;
    size_t n_trusted;
} sk_chat_msg;

/* Canonical name of a kind ("deepseek3", …); "unknown" for SK_CHAT_UNKNOWN. */
const char *sk_chat_kind_name(sk_chat_kind kind);
/* Parses a name given with --chat-template; the error lists the valid names. */
int sk_chat_kind_from_name(const char *name, sk_chat_kind *out, sk_err *e);
/* True for the R1 family, whose prompts end inside a forced <think> block. */
bool sk_chat_kind_forces_think(sk_chat_kind kind);

/* Recognises the family from a model's own template string (GGUF tokenizer.chat_template or
 * tokenizer_config.json chat_template). `arch` (may be NULL) is the model architecture
 * ("llama", "qwen2", "deepseek2", …); it only chooses between the two R1-Distill names, whose
 * official templates are identical. An unrecognised template is SK_ERR_UNSUPPORTED with a
 * message suggesting --chat-template NAME. */
int sk_chat_template_detect(const char *tmpl, const char *arch, sk_chat_kind *out, sk_err *e);

/* Renders messages as the family's official template does (BOS text included). Inputs the
 * Jinja template cannot render (a null content where the template concatenates it, a tool call
 * without a name) are SK_ERR_INVALID naming the message. *out: malloc'd, NUL-terminated. */
int sk_chat_render(sk_chat_kind kind, const sk_chat_msg *msgs, size_t n, bool add_generation_prompt,
                   char **out, sk_err *e);

/* sk_chat_render that also returns the byte ranges of *out that came from the messages rather
 * than from the template: contents (system prompts, user and assistant text — for the R1
 * families what is kept after the last "</think>" —, tool outputs), tool-call types, names and
 * arguments; less each message's `trusted` ranges. *spans (malloc'd, free(); NULL when
 * *n_spans is 0) is sorted, its ranges non-empty and not touching one another. The text is
 * the same as sk_chat_render's. */
int sk_chat_render_spans(sk_chat_kind kind, const sk_chat_msg *msgs, size_t n,
                         bool add_generation_prompt, char **out, sk_text_span **spans,
                         size_t *n_spans, sk_err *e);

/* Renders the messages and encodes the text with their spans protected
 * (sk_tokenizer_encode_ex): the template's special tokens become their ids (with
 * SK_TOK_PARSE_SPECIAL in flags; flags as for sk_tokenizer_encode, usually
 * SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS), while message text never turns into an added token of
 * any kind ("<｜end▁of▁sentence｜>", "<｜Assistant｜>", "<think>" typed by a user stay text). Where
 * the messages hold no such look-alikes the ids equal those of encoding sk_chat_render's text.
 * *ids: malloc'd (free()). */
int sk_chat_encode(sk_tokenizer *tok, sk_chat_kind kind, const sk_chat_msg *msgs, size_t n,
                   bool add_generation_prompt, unsigned flags, int32_t **ids, size_t *n_ids,
                   sk_err *e);

/* The text after the last "</think>" of s (s itself when it has none) — what the R1 templates
 * keep of an earlier assistant turn. */
const char *sk_chat_strip_reasoning(const char *s);

/* Messages loaded from OpenAI-style JSON: an array of {role, content, reasoning_content?,
 * tool_calls?: [{id?, type?, function: {name, arguments}}], tool_call_id?}, or an object with a
 * "messages" array (a chat-completions request). `arguments` may be a string (used verbatim) or
 * any JSON value (serialised compactly). content may be a string, null, or an array of
 * {type:"text", text} parts (concatenated); a missing content counts as null (the Jinja
 * templates would fail on it; an assistant turn with only tool_calls then renders its calls).
 * tool_calls: null counts as absent. */
typedef struct sk_chat_msgs {
    sk_chat_msg *msgs;
    size_t n;
    sk_arena arena; /* owns msgs, tool calls and every string */
} sk_chat_msgs;

int sk_chat_msgs_from_json(const struct json_t *root, sk_chat_msgs *out, sk_err *e);
int sk_chat_msgs_load_buf(const char *buf, size_t len, const char *what, sk_chat_msgs *out,
                          sk_err *e);
int sk_chat_msgs_load_file(const char *path, sk_chat_msgs *out, sk_err *e);
void sk_chat_msgs_free(sk_chat_msgs *m);

/* ---- reasoning parser (streaming) ----------------------------------------------------- */

/* Splits generated text into reasoning (inside <think>…</think>) and answer, fed piece by piece
 * as tokens are decoded. Tags may be split across pieces ("</th" + "ink>").
 *
 *   started_in_reasoning = true: the prompt ended with the opening <think> (R1 family), so the
 *     output starts inside the reasoning; a redundant "<think>" at the very start of the output
 *     (after whitespace) is dropped.
 *   started_in_reasoning = false: the output is reasoning only if it starts (after whitespace)
 *     with "<think>"; otherwise all of it is answer.
 *
 * The first "</think>" ends the reasoning; later tags are ordinary answer text. Trimming, as the
 * DeepSeek API's reasoning_content / content split: reasoning loses leading and trailing
 * newlines ("\n", "\r"); the answer loses leading whitespace (" ", "\t", "\r", "\n"). If the
 * output ends inside the reasoning (sk_reasoning_finish before "</think>"), everything is
 * reasoning, the answer is empty and sk_reasoning_unfinished() is true. */
typedef struct sk_reasoning sk_reasoning;

sk_reasoning *sk_reasoning_new(bool started_in_reasoning, sk_err *e);
void sk_reasoning_free(sk_reasoning *r);
int sk_reasoning_feed(sk_reasoning *r, const char *piece, size_t len, sk_err *e);
/* Ends the stream: flushes held-back bytes. Further feeds are SK_ERR_INVALID. */
int sk_reasoning_finish(sk_reasoning *r, sk_err *e);
/* Text committed so far (NUL-terminated; len may be NULL). Bytes that might still turn out to
 * be part of a tag or trimmed whitespace are held back until later pieces or finish decide. */
const char *sk_reasoning_text(const sk_reasoning *r, size_t *len);
const char *sk_reasoning_answer(const sk_reasoning *r, size_t *len);
/* The part of each committed since the previous call (for streaming deltas). */
void sk_reasoning_take_delta(sk_reasoning *r, const char **reasoning, size_t *reasoning_len,
                             const char **answer, size_t *answer_len);
bool sk_reasoning_in_reasoning(const sk_reasoning *r); /* currently inside <think> */
bool sk_reasoning_unfinished(const sk_reasoning *r);   /* finished while still inside */

/* ---- tool-call markup ------------------------------------------------------------------ */

/* Parses the V3/R1 tool-call block out of an answer:
 *   CONTENT<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>TYPE<｜tool▁sep｜>NAME\n```json\nARGS\n```
 *   <｜tool▁call▁end｜>[\n<｜tool▁call▁begin｜>…<｜tool▁call▁end｜>]…<｜tool▁calls▁end｜>
 * and the V3.1 form <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜>.
 * Text without the markup yields content = the whole text and no calls. Malformed or
 * unterminated markup is SK_ERR_FORMAT saying what is wrong. Strings are owned by `out`. */
typedef struct sk_chat_parsed {
    char *content;            /* text before the tool-call block (trailing whitespace kept) */
    sk_chat_tool_call *calls; /* type, name and arguments set; id NULL */
    size_t n_calls;
    sk_arena arena;
} sk_chat_parsed;

int sk_chat_parse_tool_calls(const char *text, size_t len, sk_chat_parsed *out, sk_err *e);
void sk_chat_parsed_free(sk_chat_parsed *p);

#ifdef __cplusplus
}
#endif
#endif
