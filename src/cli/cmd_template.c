/* cmd_template.c — `seek template`: renders chat messages with a DeepSeek chat template and
 * prints the prompt exactly as the model will see it (no trailing newline added). */
#include "cli.h"
#include "sk_chat.h"
#include "sk_gguf.h"
#include "sk_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: seek template (-m MODEL.gguf | --template NAME | --template-file FILE) "
        "MESSAGES.json\n"
        "                     [--no-generation-prompt]\n"
        "       seek template (-m MODEL.gguf | --template-file FILE) --detect\n"
        "\n"
        "Renders OpenAI-style chat messages (a JSON array of {role, content, tool_calls?, …}, or "
        "a\n"
        "request object with a \"messages\" array; \"-\" reads standard input) with a DeepSeek "
        "chat\n"
        "template and prints the prompt text, BOS text included, byte for byte as the official\n"
        "Jinja template renders it.\n"
        "\n"
        "  -m, --model FILE        use the template stored in a GGUF (tokenizer.chat_template)\n"
        "  --template NAME         deepseek3, deepseek-r1, r1-distill-qwen, r1-distill-llama,\n"
        "                          deepseek2 (--chat-template NAME is the same)\n"
        "  --template-file FILE    a Jinja template file, or a tokenizer_config.json holding one\n"
        "  --no-generation-prompt  do not end with the assistant prefix (e.g. "
        "`<｜Assistant｜><think>\\n`)\n"
        "  --detect                print the recognised template family and exit\n"
        "  -h, --help              this help\n");
}

/* A tokenizer_config.json (object with chat_template: string or [{name, template}]) or raw text. */
static int template_from_file(const char *path, char **out, sk_err *e) {
    char *buf = NULL;
    size_t len = 0;
    int rc = sk_read_file(path, 64u << 20, &buf, &len, e);
    if (rc) return rc;
    /* JSON starts with '{' then (after blanks) '"' or '}'; Jinja starts with "{%", "{{" or "{#" */
    const char *p = buf;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    const char *q = *p == '{' ? p + 1 : p;
    while (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t') q++;
    if (*p != '{' || (*q != '"' && *q != '}')) {
        *out = buf;
        return SK_OK;
    }
    json_t *root = NULL;
    rc = sk_json_load_buf(buf, len, path, &root, e);
    free(buf);
    if (rc) return rc;
    const json_t *t = json_object_get(root, "chat_template");
    const char *s = NULL;
    if (json_is_string(t)) {
        s = json_string_value(t);
    } else if (json_is_array(t)) { /* [{name: "default", template: "…"}, …] */
        size_t i;
        const json_t *it;
        json_array_foreach(t, i, it) {
            const char *name = json_string_value(json_object_get(it, "name"));
            const char *tt = json_string_value(json_object_get(it, "template"));
            if (tt && (!s || (name && !strcmp(name, "default")))) s = tt;
        }
    }
    if (!s) {
        json_decref(root);
        return sk_err_set(e, SK_ERR_NOTFOUND, "%s: no \"chat_template\" string in this JSON object",
                          path);
    }
    *out = sk_strdup(s, e);
    json_decref(root);
    return *out ? SK_OK : SK_ERR_NOMEM;
}

static int template_from_gguf(const char *path, char **tmpl, char **arch, sk_err *e) {
    sk_gguf *g = NULL;
    int rc = sk_gguf_open(path, &g, e);
    if (rc) return rc;
    const char *s;
    size_t len;
    *tmpl = NULL;
    *arch = NULL;
    if (sk_gguf_get_str(g, "tokenizer.chat_template", &s, &len)) {
        *tmpl = malloc(len + 1);
        if (*tmpl) memcpy(*tmpl, s, len), (*tmpl)[len] = 0;
    } else {
        *tmpl = sk_strdup("", e); /* detect reports the missing template */
    }
    if (sk_gguf_get_str(g, "general.architecture", &s, &len)) {
        *arch = malloc(len + 1);
        if (*arch) memcpy(*arch, s, len), (*arch)[len] = 0;
    }
    sk_gguf_close(g);
    if (!*tmpl) return sk_err_set(e, SK_ERR_NOMEM, "out of memory reading %s", path);
    return SK_OK;
}

int sk_cmd_template(int argc, char **argv) {
    const char *model = NULL, *name = NULL, *tfile = NULL, *msgs_path = NULL;
    bool gen = true, detect = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc) {
            model = argv[++i];
        } else if ((!strcmp(a, "--template") || !strcmp(a, "--chat-template")) && i + 1 < argc) {
            name = argv[++i];
        } else if (!strcmp(a, "--template-file") && i + 1 < argc) {
            tfile = argv[++i];
        } else if (!strcmp(a, "--no-generation-prompt")) {
            gen = false;
        } else if (!strcmp(a, "--detect")) {
            detect = true;
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "seek template: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        } else if (!msgs_path) {
            msgs_path = a;
        } else {
            fprintf(stderr, "seek template: more than one messages file given ('%s', '%s')\n\n",
                    msgs_path, a);
            usage(stderr);
            return 2;
        }
    }
    int sources = (model != NULL) + (name != NULL) + (tfile != NULL);
    if (sources != 1 || (!detect && !msgs_path) || (detect && name)) {
        fprintf(stderr, "seek template: %s\n\n",
                sources != 1 ? "give exactly one of -m, --template, --template-file"
                : detect     ? "--detect needs -m or --template-file"
                             : "no messages file given");
        usage(stderr);
        return 2;
    }

    sk_err e = {0};
    sk_chat_kind kind = SK_CHAT_UNKNOWN;
    char *tmpl = NULL, *arch = NULL, *text = NULL;
    sk_chat_msgs msgs = {0};
    int status = 1;
    if (name) {
        if (sk_chat_kind_from_name(name, &kind, &e)) goto fail;
    } else {
        int rc = model ? template_from_gguf(model, &tmpl, &arch, &e)
                       : template_from_file(tfile, &tmpl, &e);
        if (rc) goto fail;
        if (sk_chat_template_detect(tmpl, arch, &kind, &e)) {
            sk_err_prefix(&e, "%s", model ? model : tfile);
            goto fail;
        }
    }
    if (detect) {
        printf("%s\n", sk_chat_kind_name(kind));
        status = 0;
        goto done;
    }
    if (!strcmp(msgs_path, "-")) {
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap);
        size_t got;
        while (buf && (got = fread(buf + len, 1, cap - len, stdin)) > 0) {
            len += got;
            if (len == cap) {
                char *nb = cap < (256u << 20) ? realloc(buf, cap * 2) : NULL;
                if (!nb) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = nb;
                cap *= 2;
            }
        }
        if (!buf) {
            sk_err_set(&e, SK_ERR_NOMEM, "standard input too large or out of memory");
            goto fail;
        }
        int rc = sk_chat_msgs_load_buf(buf, len, "<stdin>", &msgs, &e);
        free(buf);
        if (rc) goto fail;
    } else if (sk_chat_msgs_load_file(msgs_path, &msgs, &e)) {
        goto fail;
    }
    if (sk_chat_render(kind, msgs.msgs, msgs.n, gen, &text, &e)) goto fail;
    fwrite(text, 1, strlen(text), stdout);
    if (fflush(stdout) != 0) {
        sk_err_set(&e, SK_ERR_IO, "cannot write to standard output");
        goto fail;
    }
    status = 0;
    goto done;
fail:
    fprintf(stderr, "seek template: %s\n", e.msg);
done:
    free(text);
    free(tmpl);
    free(arch);
    sk_chat_msgs_free(&msgs);
    return status;
}
