/*
 * seek.h — the public C API of libseek.
 *
 * libseek loads DeepSeek-family models (GGUF files or Hugging Face safetensors folders),
 * tokenizes, renders chat templates and generates text on the CPU. Build against it with
 *
 *     cc app.c $(pkg-config --cflags --libs seek)
 *
 * The header is plain C (C99 or later) and can be included from C++.
 *
 * Handles. Every object is opaque and has a pair of functions that make and end it:
 *   seek_model    seek_model_open / seek_model_close     a model, its tokenizer and chat template
 *   seek_session  seek_session_new / seek_session_free   one evaluation context (the KV cache)
 *   seek_tokenizer                                       borrowed from a model, never freed
 * A session keeps a pointer to its model: free every session before closing the model.
 *
 * Errors. Every fallible function returns an int status: SEEK_OK (0) on success, otherwise
 * one of the seek_status codes. Its last parameter is a caller-provided `seek_error *err`
 * (may be NULL); on failure the library fills it with the same code and a human message
 * naming the problem (file, field, value). On success *err is left untouched. The library
 * never exits the process and never writes to stdout. (A few load-time warnings about odd
 * tokenizer metadata go to stderr through the internal logger; seek_log_quiet() turns them
 * off, as does the environment variable SEEK_LOG=error.)
 *
 * Memory. Arrays and strings the library allocates for the caller (token ids, detokenized
 * text, rendered chat prompts) are released with seek_free(). Pointers the library lends
 * (seek_model_tokenizer, seek_model_arch, seek_status_name, the text of a piece callback) must
 * not be freed; each function says how long they stay valid.
 *
 * Threads. A model and its sessions are not thread-safe: use one session at a time per model
 * (the sessions of a model share its thread pool). Different models are independent.
 */
#ifndef SEEK_H
#define SEEK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEEK_VERSION_STRING "0.1.0"

/* The library version, e.g. "0.1.0" (a static string). */
const char *seek_version(void);

/* ---- errors ---------------------------------------------------------------------------- */

typedef enum seek_status {
    SEEK_OK = 0,
    SEEK_ERR_IO = 1,          /* a file could not be opened, read or mapped */
    SEEK_ERR_FORMAT = 2,      /* a file or string is malformed (bad magic, truncated, …) */
    SEEK_ERR_NOMEM = 3,       /* out of memory */
    SEEK_ERR_INVALID = 4,     /* a bad argument (NULL handle, out-of-range parameter, …) */
    SEEK_ERR_UNSUPPORTED = 5, /* well-formed but not handled (architecture, template, …) */
    SEEK_ERR_RANGE = 6,       /* a size or index out of bounds (token id, context length) */
    SEEK_ERR_NOTFOUND = 7,    /* a file, key or tensor is missing */
    SEEK_ERR_CANCELLED = 8,   /* stopped by the caller */
} seek_status;

#define SEEK_ERROR_MAX 1024

typedef struct seek_error {
    int code;                     /* a seek_status; SEEK_OK until a failure fills it */
    char message[SEEK_ERROR_MAX]; /* NUL-terminated; "" until a failure fills it */
} seek_error;

/* "ok", "i/o error", "format error", … (a static string; "unknown" for other values). */
const char *seek_status_name(int status);

/* Releases memory the library returned (token arrays, strings). NULL is a no-op. */
void seek_free(void *p);

/* Silences the library's load-time warnings on stderr (process-wide; see "Errors"). */
void seek_log_quiet(void);

/* ---- models ---------------------------------------------------------------------------- */

typedef struct seek_model seek_model;
typedef struct seek_tokenizer seek_tokenizer;
typedef struct seek_session seek_session;

/* Element type of a session's KV / latent cache. */
typedef enum seek_cache_type {
    SEEK_CACHE_F32 = 0,
    SEEK_CACHE_F16 = 1,
    SEEK_CACHE_BF16 = 2,
    SEEK_CACHE_Q8_0 = 3,
} seek_cache_type;

typedef struct seek_model_params {
    int n_threads;             /* worker threads; <= 0: all CPUs (default 0) */
    int n_ctx;                 /* context of new sessions in tokens; <= 0: min(n_ctx_train,
                                  4096) (default 0) */
    int cache_type;            /* seek_cache_type of new sessions (default SEEK_CACHE_F32) */
    const char *tokenizer;     /* NULL: the model's own; else a .gguf file, a Hugging Face
                                  folder or a tokenizer.json (default NULL) */
    const char *chat_template; /* NULL: recognised from the model's template; else a name:
                                  "deepseek3", "deepseek-r1", "r1-distill-qwen",
                                  "r1-distill-llama", "deepseek2" (default NULL) */
    int no_mmap;               /* nonzero: read the weight files into private memory instead
                                  of mapping them: slower to open, a private copy of the
                                  weights, and on some machines faster to stream (default 0) */
} seek_model_params;

/* Fills *p with the defaults above. */
void seek_model_params_init(seek_model_params *p);

/* Opens a model: `path` is a .gguf file (or any split of one) or a Hugging Face folder holding
 * config.json, *.safetensors and tokenizer.json. params may be NULL (defaults). The weights
 * stay memory-mapped, never copied (unless params->no_mmap). On success *out is a new model
 * (seek_model_close); on failure *out is NULL. A model without a recognised chat template still
 * opens (the chat functions then fail with SEEK_ERR_UNSUPPORTED saying why). */
int seek_model_open(const char *path, const seek_model_params *params, seek_model **out,
                    seek_error *err);
/* Closes the model and its tokenizer. Free its sessions first. NULL is a no-op. */
void seek_model_close(seek_model *m);

/* Architecture family: "deepseek2" (DeepSeek-V2/V3/R1), "qwen2" or "llama" (R1-Distill).
 * A static string. */
const char *seek_model_arch(const seek_model *m);
int32_t seek_model_n_vocab(const seek_model *m);     /* rows of the logits */
int32_t seek_model_n_ctx_train(const seek_model *m); /* max_position_embeddings */
int32_t seek_model_n_layer(const seek_model *m);
int32_t seek_model_n_embd(const seek_model *m);
/* 1 if the chat template opens a <think> block for the answer (DeepSeek-R1 and the
 * R1-Distill models), else 0. */
int seek_model_is_reasoner(const seek_model *m);
/* Name of the chat template family in use ("deepseek-r1", …; see seek_model_params), or NULL
 * if the model has none that Seek recognises. A static string. */
const char *seek_model_chat_template(const seek_model *m);

/* ---- tokenizer ------------------------------------------------------------------------- */

/* The model's tokenizer, owned by the model: valid until seek_model_close, never freed. */
seek_tokenizer *seek_model_tokenizer(seek_model *m);

int32_t seek_tokenizer_n_vocab(const seek_tokenizer *t);
int32_t seek_tokenizer_bos(const seek_tokenizer *t); /* -1 if none */
int32_t seek_tokenizer_eos(const seek_tokenizer *t); /* -1 if none */

/* seek_tokenize flags. */
enum {
    SEEK_TOKENIZE_ADD_BOS = 1u << 0, /* prepend BOS when the tokenizer asks for one */
    SEEK_TOKENIZE_SPECIAL = 1u << 1, /* "<｜User｜>" etc. in the text become their special
                                        tokens (without it they are encoded as plain text) */
};

/* Encodes len bytes of UTF-8 text (invalid UTF-8 becomes U+FFFD). On success *ids is a
 * new array of *n_ids token ids (seek_free; NULL when *n_ids is 0). */
int seek_tokenize(seek_tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ids,
                  size_t *n_ids, seek_error *err);

/* seek_detokenize flags. */
enum {
    SEEK_DETOKENIZE_SKIP_SPECIAL = 1u << 0, /* leave out special tokens (BOS, <think>, …) */
};

/* Decodes ids to UTF-8 text. On success *text is a new NUL-terminated string (seek_free) of
 * *len bytes (len may be NULL). An id outside the vocabulary is SEEK_ERR_RANGE. */
int seek_detokenize(const seek_tokenizer *t, const int32_t *ids, size_t n_ids, unsigned flags,
                    char **text, size_t *len, seek_error *err);

/* ---- chat templates -------------------------------------------------------------------- */

/* One message. role: "system", "user", "assistant" or "tool" (anything else is
 * SEEK_ERR_INVALID). The strings are the caller's; the library only reads them. */
typedef struct seek_chat_message {
    const char *role;
    const char *content;
} seek_chat_message;

/* Renders messages with the model's chat template, as the model's official Jinja template
 * does (BOS text included); add_generation_prompt != 0 appends the assistant prefix (for R1
 * models it ends inside "<think>\n"). On success *text is a new NUL-terminated string
 * (seek_free). */
int seek_chat_apply(const seek_model *m, const seek_chat_message *msgs, size_t n_msgs,
                    int add_generation_prompt, char **text, seek_error *err);

/* Renders and tokenizes in one step. Unlike seek_tokenize(text, SEEK_TOKENIZE_SPECIAL), text
 * inside the messages never becomes a special token: a user who types "<｜Assistant｜>" gets
 * plain text. On success *ids is a new array of *n_ids ids (seek_free). */
int seek_chat_tokenize(seek_model *m, const seek_chat_message *msgs, size_t n_msgs,
                       int add_generation_prompt, int32_t **ids, size_t *n_ids, seek_error *err);

/* ---- sessions ---------------------------------------------------------------------------- */

/* Makes an evaluation context with the model's n_ctx and cache_type (seek_model_params).
 * On success *out is a new session (seek_session_free). */
int seek_session_new(seek_model *m, seek_session **out, seek_error *err);
void seek_session_free(seek_session *s);           /* NULL is a no-op */
int32_t seek_session_n_ctx(const seek_session *s); /* capacity in tokens */
/* Forgets the cached tokens (the next generation evaluates its whole prompt). */
void seek_session_reset(seek_session *s);

/* Logits of a token sequence, evaluated from an empty cache (the session's cache is reset
 * before and after). all_rows == 0: the n_vocab logits after the last token; all_rows != 0:
 * n_ids rows of n_vocab, row i predicting the token after ids[i]. `logits` is the caller's
 * buffer of `capacity` floats; too small is SEEK_ERR_RANGE (nothing is evaluated). */
int seek_logits(seek_session *s, const int32_t *ids, size_t n_ids, int all_rows, float *logits,
                size_t capacity, seek_error *err);

/* ---- generation -------------------------------------------------------------------------- */

#define SEEK_MAX_STOP 7

typedef struct seek_gen_params {
    int max_tokens;          /* at most this many new tokens; < 0: until EOS or a full context */
    float temperature;       /* 0: greedy (the largest logit; top_*, min_p and seed unused) */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* in (0, 1); >= 1: off */
    float min_p;             /* in [0, 1]; 0: off */
    float repeat_penalty;    /* > 0; 1: off */
    float presence_penalty;  /* -2..2; 0: off */
    float frequency_penalty; /* -2..2; 0: off */
    int32_t repeat_last_n;   /* penalty window in tokens; 0: none; -1: every token */
    uint64_t seed;           /* sampling seed: the same seed, prompt and cache state give the
                                same output (a prefix reused from the session's cache is not
                                evaluated again, and batch and single-token evaluation of a
                                quantized model can differ in the last bits; seek_session_reset
                                first for exact reproduction) */
    const char *const *stop; /* n_stop non-empty stop strings (the caller's); the output ends
                                before the first occurrence of any of them */
    size_t n_stop;           /* at most SEEK_MAX_STOP */
    int think_budget;        /* >= 0: force "</think>" after this many reasoning tokens */
    /* Whether the prompt ends inside a <think> block, so the output starts as reasoning:
     * -1 (default): when the prompt text ends with "<think>" (plus whitespace), as the R1
     * generation prompts do; 0: no; 1: yes. */
    int prompt_in_think;
    /* 1 (default): the output is split into reasoning (inside <think>…</think>) and answer,
     * tags removed, as the DeepSeek API's reasoning_content / content; 0: every piece is
     * SEEK_PIECE_ANSWER, the text exactly as decoded (tags included). */
    int split_reasoning;
} seek_gen_params;

/* Defaults: max_tokens -1, no stop strings, no think budget, split_reasoning 1,
 * prompt_in_think -1, repeat_penalty 1, repeat_last_n 64, seed 0, and the sampling `seek run`
 * uses for the model: temperature 0.6 / top_p 0.95 for reasoners, else 0.7 / 0.95 (m may be
 * NULL: the latter). */
void seek_gen_params_init(seek_gen_params *p, const seek_model *m);

typedef enum seek_piece_kind {
    SEEK_PIECE_ANSWER = 0,
    SEEK_PIECE_REASONING = 1,
} seek_piece_kind;

/* Receives streamed output: len > 0 bytes of UTF-8 (a character is never split), not
 * NUL-terminated, valid only during the call. Return 0 to go on, non-zero to stop the
 * generation (the result's stop is then SEEK_STOP_CANCELLED and the call returns SEEK_OK). */
typedef int (*seek_piece_fn)(void *user, seek_piece_kind kind, const char *text, size_t len);

typedef enum seek_stop_reason {
    SEEK_STOP_NONE = 0,
    SEEK_STOP_EOS = 1,       /* the model ended its answer */
    SEEK_STOP_STRING = 2,    /* a stop string appeared */
    SEEK_STOP_LENGTH = 3,    /* max_tokens were generated */
    SEEK_STOP_CONTEXT = 4,   /* the session's context is full (n_prompt + n_generated =
                                n_ctx + 1: the last token is sampled but not evaluated) */
    SEEK_STOP_CANCELLED = 5, /* the piece callback asked to stop */
} seek_stop_reason;

typedef struct seek_gen_result {
    int n_prompt;      /* prompt tokens */
    int n_reused;      /* of those, found in the session's cache (not evaluated again) */
    int n_generated;   /* new tokens */
    int n_reasoning;   /* of those, inside the reasoning block */
    double t_prompt;   /* seconds evaluating the prompt */
    double t_generate; /* seconds generating */
    int stop;          /* a seek_stop_reason */
} seek_gen_result;

/* Generates from a token prompt. The session's cache keeps the longest common prefix with
 * the previous prompt + output, so a conversation that is re-rendered each turn only
 * evaluates its new part. params may be NULL (seek_gen_params_init for the session's model);
 * on_piece may be NULL; result may be NULL. A prompt longer than
 * the context is SEEK_ERR_RANGE; bad params are SEEK_ERR_INVALID naming the field. */
int seek_generate(seek_session *s, const int32_t *prompt, size_t n_prompt,
                  const seek_gen_params *params, seek_piece_fn on_piece, void *user,
                  seek_gen_result *result, seek_error *err);

/* seek_chat_tokenize (with the generation prompt) + seek_generate: the assistant's next turn.
 * With params->prompt_in_think -1 the reasoning of R1 models streams as SEEK_PIECE_REASONING.
 * params may be NULL (seek_gen_params_init for the session's model). */
int seek_chat(seek_session *s, const seek_chat_message *msgs, size_t n_msgs,
              const seek_gen_params *params, seek_piece_fn on_piece, void *user,
              seek_gen_result *result, seek_error *err);

#ifdef __cplusplus
}
#endif
#endif
