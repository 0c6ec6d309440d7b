/*
 * server — the DeepSeek/OpenAI-compatible HTTP API (`seek serve`).
 *
 * Routes:
 *   POST /v1/chat/completions (also /chat/completions)   chat, streamed (SSE) or not
 *   POST /v1/completions (also /completions)             raw prompt continuation
 *   GET  /v1/models (also /models)                        the one served model
 *   GET  /health                                          {"status":"ok", queue numbers}
 * Anything else is 404; a known path with another method is 405 (with Allow). Errors are JSON
 * {"error":{"message","type","param":null,"code"}}. With an API key set, every route but
 * /health needs "Authorization: Bearer KEY" (401 otherwise).
 *
 * One model, one generation at a time: a worker thread takes jobs from a FIFO queue; requests
 * are parsed, rendered and tokenized on their connection's thread, then wait in the queue
 * (503 when max_queue requests already wait). The generator's cache is kept between requests,
 * so a conversation re-sent with one more message re-evaluates only the new tokens
 * (usage.prompt_cache_hit_tokens). A client that closes its connection cancels its request,
 * queued or running.
 *
 * Special tokens. A chat request's messages are rendered with the model's template and encoded
 * with the messages' text protected (sk_chat_encode): only the template's markup becomes
 * special tokens, so a message that spells "<｜end▁of▁sentence｜>", "<｜Assistant｜>" or "<think>"
 * is read as those characters. /v1/completions sends a raw prompt, template markup included
 * on purpose: its special-token texts are parsed (SK_TOK_PARSE_SPECIAL).
 *
 * Tools. No DeepSeek template renders tool definitions, so when a request has `tools` (and
 * tool_choice is not "none") Seek describes them in a system message (appended to the last
 * system message, or inserted first): the function list as JSON and the V3/R1 tool-call markup
 * the model must answer with (sk_server_tool_prompt). Seek's own instructions there are
 * trusted (their markup example is made of the real special tokens); the caller's function
 * definitions are protected like message text. The answer's markup is parsed into
 * message.tool_calls (finish_reason "tool_calls").
 *
 * Ownership: sk_server owns the model, tokenizer, generator, HTTP daemon and worker thread.
 */
#ifndef SK_SERVER_H
#define SK_SERVER_H

#include "sk_chat.h"
#include "sk_sampler.h"
#include "sk_util.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sk_server_opts {
    const char *model_path;    /* .gguf or Hugging Face folder */
    const char *host;          /* default 127.0.0.1 */
    int port;                  /* 0: ephemeral (see sk_server_port) */
    int n_threads;             /* ≤ 0: all CPUs */
    bool no_mmap;              /* read the weights into memory instead of mapping the file */
    int n_ctx;                 /* ≤ 0: model default */
    int cache_type;            /* sk_cache_type */
    const char *api_key;       /* NULL: no authentication */
    const char *chat_template; /* NULL: recognised from the model */
    const char *model_name;    /* NULL: the file name of model_path */
    int max_queue;             /* waiting requests before 503; ≤ 0: 16 */
    size_t max_body;           /* bytes; 0: 8 MiB */
    int max_conns;             /* 0: 64 */
} sk_server_opts;

void sk_server_opts_init(sk_server_opts *o);

typedef struct sk_server sk_server;

/* Loads the model and starts listening. */
int sk_server_start(const sk_server_opts *o, sk_server **out, sk_err *e);
int sk_server_port(const sk_server *s);
const char *sk_server_model_name(const sk_server *s);
/* Graceful stop: no new connections, queued requests answered 503, the running generation
 * cancelled (its stream ends with an error event), threads joined, everything freed. */
void sk_server_stop(sk_server *s);

/* ---- pieces exported for tests ------------------------------------------------------- */

/* The system-prompt text describing `tools` (a JSON array of {type:"function", function:
 * {name, description?, parameters?}}) and the markup to call them. forced: NULL, "" for
 * "required" (some function must be called), or a function name. *out malloc'd. */
int sk_server_tool_prompt(const json_t *tools, const char *forced, char **out, sk_err *e);
/* The same, and the byte ranges of *out the server wrote itself (everything but the tools'
 * JSON and the forced name, which come from the caller): *trusted malloc'd, sorted, may be
 * NULL with *n_trusted 0. Chat completions render the prompt with these ranges trusted
 * (sk_chat_msg.trusted), so the call markup in the instructions is made of the real special
 * tokens while the caller's tool definitions stay plain text. */
int sk_server_tool_prompt_ex(const json_t *tools, const char *forced, char **out,
                             sk_text_span **trusted, size_t *n_trusted, sk_err *e);

/* Assembles the assistant message of a chat completion from the whole generated text: the
 * reasoning split (starts_in_reasoning as for the generation) and, when parse_tools, the
 * tool-call markup. Returns a new JSON object {role, content, reasoning_content?, tool_calls?}
 * and whether it holds tool calls. `call_seq` numbers the tool-call ids. */
int sk_server_chat_message(const char *text, size_t len, bool starts_in_reasoning,
                           bool with_reasoning, bool parse_tools, unsigned long call_seq,
                           json_t **msg, bool *has_tool_calls, sk_err *e);

/* Streaming counterpart of sk_server_chat_message: text is fed as generated and the chat
 * deltas go to fn as they are decided — {"reasoning_content": r, "content": null},
 * {"content": c} (with "reasoning_content": null when with_reasoning) and, at finish, one
 * {"tool_calls": [{index, id, type, function:{name, arguments}}]} when the answer ended with
 * valid tool-call markup. With parse_tools, answer text from a tool-call marker on is held back
 * (and text that could be the start of one, until decided); markup that does not parse is sent
 * as content at finish. The concatenated deltas equal sk_server_chat_message's fields for the
 * same text. fn takes over the delta's reference. */
typedef void (*sk_server_delta_fn)(void *ud, json_t *delta);
typedef struct sk_server_stream sk_server_stream;

int sk_server_stream_new(bool starts_in_reasoning, bool with_reasoning, bool parse_tools,
                         unsigned long call_seq, sk_server_delta_fn fn, void *ud,
                         sk_server_stream **out, sk_err *e);
int sk_server_stream_feed(sk_server_stream *st, const char *text, size_t len, sk_err *e);
int sk_server_stream_finish(sk_server_stream *st, bool *has_tool_calls, sk_err *e);
void sk_server_stream_free(sk_server_stream *st); /* NULL is a no-op */

#ifdef __cplusplus
}
#endif
#endif
