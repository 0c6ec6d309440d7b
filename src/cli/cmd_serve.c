/* cmd_serve.c — `seek serve -m MODEL`: the DeepSeek/OpenAI-compatible HTTP API (src/server). */
#include "sk_model.h"
#include "sk_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek serve -m MODEL [options]\n\n"
            "Serves the model over HTTP with the DeepSeek/OpenAI chat-completions API:\n"
            "  POST /v1/chat/completions   messages, tools, stream (SSE), reasoning_content\n"
            "  POST /v1/completions        raw prompt continuation\n"
            "  GET  /v1/models, GET /health\n"
            "One generation at a time; further requests wait in a FIFO queue. The cache is kept\n"
            "between requests, so a conversation re-sent with one more message reuses its prefix.\n"
            "Ctrl-C or SIGTERM stops the server gracefully.\n\n"
            "options:\n"
            "  -m, --model PATH        a .gguf file (any split) or a Hugging Face folder\n"
            "  --host ADDR             address to listen on (default 127.0.0.1)\n"
            "  --port N                port (default 8080; 0 picks a free one)\n"
            "  -t, --threads N         threads (default: all CPUs)\n"
            "  --no-mmap               read the weights into memory instead of mapping the file\n"
            "  -c, --ctx N             context size in tokens (default: min(model, 4096))\n"
            "  --cache-type T          KV/latent cache type: f32 (default), f16, bf16, q8_0\n"
            "  --api-key KEY           require \"Authorization: Bearer KEY\" (default: none;\n"
            "                          also read from SEEK_API_KEY)\n"
            "  --chat-template NAME    deepseek3, deepseek-r1, r1-distill-qwen, r1-distill-llama,\n"
            "                          deepseek2 (default: recognised from the model)\n"
            "  --model-name NAME       the model id reported by the API (default: file name)\n"
            "  --queue N               requests that may wait before 503 (default 16)\n"
            "  --max-body BYTES        request body limit (default 8388608)\n");
}

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int sk_cmd_serve(int argc, char **argv) {
    sk_server_opts o;
    sk_server_opts_init(&o);
    o.api_key = getenv("SEEK_API_KEY");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-mmap")) {
            o.no_mmap = true;
            continue;
        }
        static const char *const with_value[] = {"-m",
                                                 "--model",
                                                 "--host",
                                                 "--port",
                                                 "-t",
                                                 "--threads",
                                                 "-c",
                                                 "--ctx",
                                                 "--cache-type",
                                                 "--api-key",
                                                 "--chat-template",
                                                 "--model-name",
                                                 "--queue",
                                                 "--max-body",
                                                 NULL};
        int k = 0;
        while (with_value[k] && strcmp(with_value[k], a)) k++;
        if (!with_value[k]) {
            fprintf(stderr, "seek serve: unknown option '%s' (see seek serve --help)\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "seek serve: %s needs a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        long n = 0;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            o.model_path = v;
        } else if (!strcmp(a, "--host")) {
            o.host = v;
        } else if (!strcmp(a, "--api-key")) {
            o.api_key = v;
        } else if (!strcmp(a, "--chat-template")) {
            o.chat_template = v;
        } else if (!strcmp(a, "--model-name")) {
            o.model_name = v;
        } else if (!strcmp(a, "--cache-type")) {
            o.cache_type = sk_cache_type_from_name(v);
            if (o.cache_type < 0) {
                fprintf(stderr, "seek serve: --cache-type wants f32, f16, bf16 or q8_0, not '%s'\n",
                        v);
                return 2;
            }
        } else {
            long lo = 0, hi = 1 << 24;
            if (!strcmp(a, "--port"))
                hi = 65535;
            else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
                hi = 1024;
            else if (!strcmp(a, "-c") || !strcmp(a, "--ctx"))
                lo = 1;
            else if (!strcmp(a, "--queue"))
                lo = 1, hi = 1 << 20;
            else if (!strcmp(a, "--max-body"))
                lo = 1024, hi = 1L << 30;
            if (parse_long(v, lo, hi, &n)) {
                fprintf(stderr, "seek serve: %s wants an integer in [%ld, %ld], not '%s'\n", a, lo,
                        hi, v);
                return 2;
            }
            if (!strcmp(a, "--port"))
                o.port = (int)n;
            else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
                o.n_threads = (int)n;
            else if (!strcmp(a, "-c") || !strcmp(a, "--ctx"))
                o.n_ctx = (int)n;
            else if (!strcmp(a, "--queue"))
                o.max_queue = (int)n;
            else
                o.max_body = (size_t)n;
        }
    }
    if (!o.model_path) {
        fprintf(stderr, "seek serve: no model given (-m PATH); see seek serve --help\n");
        return 2;
    }
    if (sk_log_get_level() < SK_LOG_INFO) sk_log_set_level(SK_LOG_INFO);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    sk_err e = {0};
    sk_server *s = NULL;
    if (sk_server_start(&o, &s, &e)) {
        fprintf(stderr, "seek serve: %s\n", e.msg);
        return 1;
    }
    fprintf(stderr, "seek serve: %s listening on http://%s%s%s:%d (POST /v1/chat/completions)%s\n",
            sk_server_model_name(s), strchr(o.host, ':') ? "[" : "", o.host,
            strchr(o.host, ':') ? "]" : "", sk_server_port(s),
            o.api_key && *o.api_key ? ", API key required" : "");
    while (!g_stop) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "seek serve: stopping\n");
    sk_server_stop(s);
    return 0;
}
