/* Chat templates: Seek's C renderers against the official Jinja templates rendered by
 * @huggingface/jinja (tests/chat/oracle), template detection, message JSON loading, errors. */
#include "sk_chat.h"
#include "sk_json.h"
#include "sk_test.h"

#include <unistd.h>

#define CHAT_DIR   SEEK_SOURCE_DIR "/tests/chat"
#define ORACLE_DIR CHAT_DIR "/oracle"

static const char *BOS = "<｜begin▁of▁sentence｜>";

static char *slurp_text(const char *path) {
    return sk_test_slurp(path, NULL);
}

/* Runs the oracle (npm ci first when node_modules is missing). Returns the fresh rendering as a
 * JSON value, or NULL (with the reason printed) when node/npm are unavailable. */
static json_t *run_oracle(void) {
    if (system("command -v node >/dev/null 2>&1") != 0) {
        fprintf(stderr, "  note: node not found\n");
        return NULL;
    }
    if (access(ORACLE_DIR "/node_modules/@huggingface/jinja/package.json", R_OK) != 0) {
        if (system("command -v npm >/dev/null 2>&1") != 0) {
            fprintf(stderr, "  note: npm not found and %s/node_modules is missing\n", ORACLE_DIR);
            return NULL;
        }
        fprintf(stderr, "  installing the oracle: npm ci --prefix %s\n", ORACLE_DIR);
        int rc = system("cd '" ORACLE_DIR "' && "
                        "(command -v flock >/dev/null 2>&1 && flock /tmp/seek-chat-oracle.lock "
                        "npm ci --no-audit --no-fund --loglevel=error || "
                        "npm ci --no-audit --no-fund --loglevel=error) >&2");
        if (rc != 0 ||
            access(ORACLE_DIR "/node_modules/@huggingface/jinja/package.json", R_OK) != 0) {
            fprintf(stderr, "  note: npm ci failed (offline?)\n");
            return NULL;
        }
    }
    char out[] = "/tmp/seek-chat-oracle-XXXXXX";
    int fd = mkstemp(out);
    if (fd < 0) return NULL;
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "node '%s/render.mjs' '%s/templates' '%s/conversations.json' > '%s'",
             ORACLE_DIR, CHAT_DIR, CHAT_DIR, out);
    json_t *root = NULL;
    if (system(cmd) == 0) {
        sk_err e = {0};
        if (sk_json_load_file(out, 64u << 20, &root, &e))
            fprintf(stderr, "  oracle output: %s\n", e.msg);
    } else {
        fprintf(stderr, "  note: the oracle renderer failed\n");
    }
    unlink(out);
    return root;
}

static json_t *find_conversation(json_t *convs, const char *name) {
    size_t i;
    json_t *c;
    json_array_foreach(convs, i, c) {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && !strcmp(n, name)) return c;
    }
    return NULL;
}

/* Every case of the oracle output: Seek must produce the same bytes, or fail where Jinja failed. */
static int compare_cases(json_t *oracle, json_t *convs, const char *label) {
    json_t *cases = json_object_get(oracle, "cases");
    CHECK(json_is_array(cases));
    size_t i, n_ok = 0, n_err = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *tname = json_string_value(json_object_get(c, "template"));
        const char *cname = json_string_value(json_object_get(c, "conversation"));
        bool gen = json_is_true(json_object_get(c, "add_generation_prompt"));
        json_t *conv = find_conversation(convs, cname);
        CHECK_MSG(conv != NULL, "conversation %s", cname);
        if (!conv) continue;
        sk_chat_kind kind;
        sk_err e = {0};
        CHECK_OK(sk_chat_kind_from_name(tname, &kind, &e), &e);
        sk_chat_msgs msgs;
        CHECK_OK(sk_chat_msgs_from_json(json_object_get(conv, "messages"), &msgs, &e), &e);
        char *out = NULL;
        int rc = sk_chat_render(kind, msgs.msgs, msgs.n, gen, &out, &e);
        json_t *want = json_object_get(c, "output");
        if (want) {
            CHECK_MSG(rc == SK_OK, "%s/%s/gen=%d: %s", tname, cname, gen, e.msg);
            if (rc == SK_OK) {
                const char *w = json_string_value(want);
                bool same = strlen(w) == strlen(out) && !memcmp(w, out, strlen(w));
                CHECK_MSG(same, "%s/%s/gen=%d (%s)\n   want: %s\n   got:  %s", tname, cname, gen,
                          label, w, out);
                n_ok += same;
            }
        } else {
            CHECK_MSG(rc != SK_OK, "%s/%s/gen=%d: Jinja failed (%s) but Seek rendered", tname,
                      cname, gen, json_string_value(json_object_get(c, "error")));
            if (rc != SK_OK) {
                CHECK(strstr(e.msg, "content is null") != NULL);
                n_err++;
            }
        }
        free(out);
        sk_chat_msgs_free(&msgs);
    }
    fprintf(stderr, "  %s: %zu cases byte-identical, %zu rejected as Jinja rejects them\n", label,
            n_ok, n_err);
    return (int)(n_ok + n_err);
}

static void test_oracle(void) {
    sk_err e = {0};
    json_t *convs = NULL, *snap = NULL;
    CHECK_OK(sk_json_load_file(CHAT_DIR "/conversations.json", 16u << 20, &convs, &e), &e);
    CHECK_OK(sk_json_load_file(ORACLE_DIR "/expected.json", 64u << 20, &snap, &e), &e);
    if (!convs || !snap) return;
    CHECK(json_array_size(convs) >= 15);
    json_t *fresh = run_oracle();
    if (fresh) {
        int n = compare_cases(fresh, convs, "fresh @huggingface/jinja rendering");
        CHECK(n == 5 * 2 * (int)json_array_size(convs));
        /* the committed snapshot must equal what the oracle renders today */
        CHECK_MSG(json_equal(json_object_get(fresh, "cases"), json_object_get(snap, "cases")),
                  "tests/chat/oracle/expected.json is stale: regenerate it with `node render.mjs "
                  "../templates ../conversations.json > expected.json`");
        json_decref(fresh);
    } else {
        fprintf(stderr, "  oracle unavailable: comparing against the committed snapshot "
                        "tests/chat/oracle/expected.json\n");
        int n = compare_cases(snap, convs, "snapshot");
        CHECK(n == 5 * 2 * (int)json_array_size(convs));
    }
    json_decref(snap);
    json_decref(convs);
}

/* Spec §5.6 examples (an independent statement of the R1 format). */
static void test_spec_examples(void) {
    sk_chat_msg m1[] = {{.role = SK_CHAT_ROLE_USER, .content = "Hi"}};
    char *out = NULL;
    sk_err e = {0};
    CHECK_OK(sk_chat_render(SK_CHAT_DEEPSEEK_R1, m1, 1, true, &out, &e), &e);
    CHECK(out && !strcmp(out, "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\n"));
    free(out);
    sk_chat_msg m2[] = {
        {.role = SK_CHAT_ROLE_USER, .content = "Hi"},
        {.role = SK_CHAT_ROLE_ASSISTANT, .content = "<think>\nsome reasoning\n</think>\n\nHello!"},
        {.role = SK_CHAT_ROLE_USER, .content = "Bye"}};
    CHECK_OK(sk_chat_render(SK_CHAT_R1_DISTILL_QWEN, m2, 3, true, &out, &e), &e);
    CHECK(out &&
          !strcmp(out, "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>\n\nHello!<｜end▁of▁"
                       "sentence｜><｜User｜>Bye<｜Assistant｜><think>\n"));
    free(out);
    CHECK_OK(sk_chat_render(SK_CHAT_DEEPSEEK3, m2, 3, true, &out, &e), &e);
    CHECK(out && strstr(out, "<｜Assistant｜><think>\nsome reasoning") != NULL); /* V3 keeps it */
    CHECK(out && !strncmp(out, BOS, strlen(BOS)));
    free(out);
    sk_chat_msg m3[] = {{.role = SK_CHAT_ROLE_SYSTEM, .content = "S"},
                        {.role = SK_CHAT_ROLE_USER, .content = "Q"},
                        {.role = SK_CHAT_ROLE_ASSISTANT, .content = "A"}};
    CHECK_OK(sk_chat_render(SK_CHAT_DEEPSEEK2, m3, 3, true, &out, &e), &e);
    CHECK(out &&
          !strcmp(out, "<｜begin▁of▁sentence｜>S\n\nUser: Q\n\nAssistant: A<｜end▁of▁sentence｜>"
                       "Assistant:"));
    free(out);
    CHECK(!strcmp(sk_chat_strip_reasoning("a</think>b</think>c"), "c"));
    CHECK(!strcmp(sk_chat_strip_reasoning("no tags"), "no tags"));
    CHECK(!strcmp(sk_chat_strip_reasoning("x</think>"), ""));
}

static void test_detect(void) {
    static const struct {
        const char *file, *arch;
        sk_chat_kind want;
    } cases[] = {
        {"deepseek3.jinja", NULL, SK_CHAT_DEEPSEEK3},
        {"deepseek3-0324.jinja", "deepseek2", SK_CHAT_DEEPSEEK3},
        {"deepseek-r1.jinja", "deepseek2", SK_CHAT_DEEPSEEK_R1},
        {"deepseek-r1-2501.jinja", NULL, SK_CHAT_DEEPSEEK_R1},
        {"r1-distill-qwen.jinja", "qwen2", SK_CHAT_R1_DISTILL_QWEN},
        {"r1-distill-llama.jinja", "llama", SK_CHAT_R1_DISTILL_LLAMA},
        {"r1-distill-llama.jinja", NULL, SK_CHAT_R1_DISTILL_QWEN},
        {"deepseek2.jinja", "deepseek2", SK_CHAT_DEEPSEEK2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/templates/%s", CHAT_DIR, cases[i].file);
        char *t = slurp_text(path);
        sk_chat_kind k = SK_CHAT_UNKNOWN;
        sk_err e = {0};
        CHECK_OK(sk_chat_template_detect(t, cases[i].arch, &k, &e), &e);
        CHECK_MSG(k == cases[i].want, "%s: got %s", cases[i].file, sk_chat_kind_name(k));
        free(t);
    }
    sk_chat_kind k;
    sk_err e = {0};
    const char *chatml =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
        "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
    CHECK(sk_chat_template_detect(chatml, NULL, &k, &e) == SK_ERR_UNSUPPORTED);
    CHECK(strstr(e.msg, "--chat-template") != NULL);
    CHECK(strstr(e.msg, "deepseek-r1") != NULL);
    CHECK(strstr(e.msg, "<|im_start|>") != NULL);
    /* the distinguishing fragments of the DeepSeek-V3.1 template (llama.cpp's copy) */
    const char *v31 = "{%- if not thinking is defined -%}{%- set thinking = false -%}{%- endif -%}"
                      "{{'<｜User｜>' + message['content']}}{{'<｜Assistant｜></think>'}}"
                      "{%- set content = content.split('</think>', 1)[1] -%}";
    CHECK(sk_chat_template_detect(v31, NULL, &k, &e) == SK_ERR_UNSUPPORTED);
    CHECK(strstr(e.msg, "V3.1") != NULL && strstr(e.msg, "--chat-template") != NULL);
    CHECK(sk_chat_template_detect("", NULL, &k, &e) == SK_ERR_NOTFOUND);
    CHECK(sk_chat_template_detect(NULL, NULL, &k, &e) == SK_ERR_NOTFOUND);
}

static void test_names(void) {
    const char *names[] = {"deepseek3", "deepseek-r1", "r1-distill-qwen", "r1-distill-llama",
                           "deepseek2"};
    for (size_t i = 0; i < 5; i++) {
        sk_chat_kind k;
        sk_err e = {0};
        CHECK_OK(sk_chat_kind_from_name(names[i], &k, &e), &e);
        CHECK(!strcmp(sk_chat_kind_name(k), names[i]));
        CHECK(sk_chat_kind_forces_think(k) == (i >= 1 && i <= 3));
    }
    sk_chat_kind k;
    sk_err e = {0};
    CHECK(sk_chat_kind_from_name("chatml", &k, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "chatml") && strstr(e.msg, "r1-distill-llama"));
}

static void test_render_errors(void) {
    sk_err e = {0};
    char *out = (char *)1;
    sk_chat_msg m[] = {{.role = SK_CHAT_ROLE_USER, .content = "a"}, {.role = SK_CHAT_ROLE_USER}};
    CHECK(sk_chat_render(SK_CHAT_DEEPSEEK3, m, 2, true, &out, &e) == SK_ERR_INVALID);
    CHECK(out == NULL);
    CHECK(strstr(e.msg, "message 1 (user)") != NULL);
    sk_chat_tool_call tc = {.name = NULL, .arguments = "{}"};
    sk_chat_msg m2[] = {{.role = SK_CHAT_ROLE_ASSISTANT,
                         .tool_calls = &tc,
                         .n_tool_calls = 1,
                         .has_tool_calls = true}};
    CHECK(sk_chat_render(SK_CHAT_DEEPSEEK_R1, m2, 1, false, &out, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "no function name") != NULL);
    CHECK(sk_chat_render((sk_chat_kind)99, m, 1, false, &out, &e) == SK_ERR_INVALID);
    /* an empty conversation is just the BOS text */
    CHECK_OK(sk_chat_render(SK_CHAT_DEEPSEEK3, NULL, 0, false, &out, &e), &e);
    CHECK(out && !strcmp(out, BOS));
    free(out);
}

static void test_json_loader(void) {
    sk_chat_msgs m;
    sk_err e = {0};
    const char *ok =
        "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
        "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]},{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"function\":{\"name\":\"f\","
        "\"arguments\":{\"k\":[1,2]}}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\","
        "\"content\":\"r\"},{\"role\":\"critic\",\"content\":\"x\"}]}";
    CHECK_OK(sk_chat_msgs_load_buf(ok, strlen(ok), "request", &m, &e), &e);
    CHECK(m.n == 4);
    if (m.n == 4) {
        CHECK(m.msgs[0].role == SK_CHAT_ROLE_USER && !strcmp(m.msgs[0].content, "ab"));
        CHECK(m.msgs[1].content == NULL && m.msgs[1].has_tool_calls && m.msgs[1].n_tool_calls == 1);
        CHECK(!strcmp(m.msgs[1].tool_calls[0].arguments, "{\"k\":[1,2]}"));
        CHECK(m.msgs[1].tool_calls[0].type == NULL && !strcmp(m.msgs[1].tool_calls[0].id, "c1"));
        CHECK(m.msgs[2].role == SK_CHAT_ROLE_TOOL && !strcmp(m.msgs[2].tool_call_id, "c1"));
        CHECK(m.msgs[3].role == SK_CHAT_ROLE_OTHER);
    }
    sk_chat_msgs_free(&m);
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"messages\": 3}", "must be a JSON array"},
        {"[1]", "message 0 is not an object"},
        {"[{\"content\":\"x\"}]", "no \"role\""},
        {"[{\"role\":\"user\",\"content\":5}]", "\"content\" must be"},
        {"[{\"role\":\"user\",\"content\":[{\"type\":\"image\"}]}]", "part 0"},
        {"[{\"role\":\"assistant\",\"tool_calls\":{}}]", "must be an array"},
        {"[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]}]",
         "no \"name\""},
        {"[{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"function\"}]}]", "no \"function\""},
        {"[{\"role\":\"user\",\"content\":\"x\"", "request"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sk_err e2 = {0};
        int rc = sk_chat_msgs_load_buf(bad[i].json, strlen(bad[i].json), "request", &m, &e2);
        CHECK_MSG(rc != SK_OK, "case %zu accepted", i);
        CHECK_MSG(strstr(e2.msg, bad[i].msg) != NULL, "case %zu: message '%s'", i, e2.msg);
        CHECK(m.n == 0 && m.msgs == NULL);
    }
}

int main(void) {
    RUN(test_oracle);
    RUN(test_spec_examples);
    RUN(test_detect);
    RUN(test_names);
    RUN(test_render_errors);
    RUN(test_json_loader);
    return sk_test_report("chat_template");
}
