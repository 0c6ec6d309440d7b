/* Tests for `seek inspect` and `seek convert` (their sk_cmd_* functions, linked directly):
 * exit codes, the printed summary, --dump against the reference dequantizations and the golden
 * GGUF, and a CLI conversion against llama.cpp's Q8_0 file. */
#include "sk_gguf.h"
#include "sk_test.h"

#include <unistd.h>

int sk_cmd_inspect(int argc, char **argv);
int sk_cmd_convert(int argc, char **argv);

static char g_tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

/* Runs a command with stdout sent to a file; returns its exit code, *out = what it printed. */
static int run(int (*fn)(int, char **), char **out, int argc, ...) {
    char *argv[16];
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc && i < 15; i++) argv[i] = va_arg(ap, char *);
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(tmp_path("stdout.txt"), "w");
    dup2(fileno(f), 1);
    int rc = fn(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(f);
    size_t len;
    char *text = sk_test_slurp(tmp_path("stdout.txt"), &len);
    if (out)
        *out = text;
    else
        free(text);
    return rc;
}

static void test_inspect(void) {
    char *out = NULL;
    char p[512], ref[512];
    CHECK(run(sk_cmd_inspect, &out, 2, "inspect", "--help") == 0 && strstr(out, "usage"));
    free(out);
    CHECK(run(sk_cmd_inspect, NULL, 1, "inspect") == 2);
    CHECK(run(sk_cmd_inspect, NULL, 3, "inspect", "--bogus", "x") == 2);
    CHECK(run(sk_cmd_inspect, NULL, 2, "inspect", "/nonexistent/model.gguf") == 1);
    CHECK(run(sk_cmd_inspect, NULL, 4, "inspect", "--dump", "x.f32", "y.gguf") == 2);

    snprintf(p, sizeof p, "%s/golden/ds3-tiny/model-q8_0.gguf", SEEK_TEST_DATA);
    CHECK(run(sk_cmd_inspect, &out, 3, "inspect", "--kv", p) == 0);
    CHECK(strstr(out, "architecture:  deepseek2") && strstr(out, "totals: 66 tensors") &&
          strstr(out, "q8_0         43 tensors") && strstr(out, "pre deepseek-v3, 512 tokens") &&
          strstr(out, "expert_count") && strstr(out, "tokenizer.ggml.merges") &&
          strstr(out, "blk.3.ffn_down_exps.weight"));
    free(out);
    CHECK(run(sk_cmd_inspect, NULL, 4, "inspect", "--tensor", "nope", p) == 1);

    /* --dump of quantized tensors reproduces llama.cpp's reference decoder bit for bit */
    const char *types[3] = {"q4_k", "q5_0", "iq4_nl"};
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "%s/golden/quant/quant-%s.gguf", SEEK_TEST_DATA, types[k]);
        snprintf(ref, sizeof ref, "%s/golden/quant/quant-%s.blk.0.attn_q.weight.f32",
                 SEEK_TEST_DATA, types[k]);
        CHECK(run(sk_cmd_inspect, NULL, 6, "inspect", "--tensor", "blk.0.attn_q.weight", "--dump",
                  tmp_path("d.f32"), p) == 0);
        CHECK_MSG(sk_test_same_file(tmp_path("d.f32"), ref), "%s dump", types[k]);
    }

    /* HF folder: summary, and a BF16 tensor dumped equals the golden GGUF's F32 bytes */
    snprintf(p, sizeof p, "%s/golden/llama3-tiny", SEEK_TEST_DATA);
    CHECK(run(sk_cmd_inspect, &out, 2, "inspect", p) == 0);
    CHECK(strstr(out, "LlamaForCausalLM") && strstr(out, "BF16") &&
          strstr(out, "model.layers.1.mlp.down_proj.weight") &&
          strstr(out, "tokenizer.json: absent"));
    free(out);
    CHECK(run(sk_cmd_inspect, NULL, 6, "inspect", "--tensor", "model.layers.1.mlp.down_proj.weight",
              "--dump", tmp_path("h.f32"), p) == 0);
    sk_gguf *g = NULL;
    sk_err e;
    snprintf(p, sizeof p, "%s/golden/llama3-tiny/model.gguf", SEEK_TEST_DATA);
    CHECK_OK(sk_gguf_open(p, &g, &e), &e);
    if (g) {
        const sk_gguf_tensor_info *t =
            sk_gguf_tensor(g, sk_gguf_find_tensor(g, "blk.1.ffn_down.weight"));
        size_t len;
        char *d = sk_test_slurp(tmp_path("h.f32"), &len);
        CHECK(t && len == t->nbytes && !memcmp(d, t->data, len));
        free(d);
        sk_gguf_close(g);
    }
}

/* --dump onto the input itself is refused and leaves the model intact (it used to truncate the
 * mmapped file: SIGBUS and a wiped model); a dump that fails leaves neither OUT nor a temp file;
 * a malformed config.json is an error on stderr with exit 1. */
static void test_inspect_safety(void) {
    char p[512], cmd[4096];
    snprintf(p, sizeof p, "%s/golden/ds3-tiny/model.gguf", SEEK_TEST_DATA);
    char self[600], lnk[600], good[600]; /* tmp_path's buffers rotate: keep copies */
    snprintf(self, sizeof self, "%s", tmp_path("self.gguf"));
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", p, self);
    CHECK(system(cmd) == 0);
    size_t before = 0, after = 0;
    free(sk_test_slurp(self, &before));
    CHECK(run(sk_cmd_inspect, NULL, 6, "inspect", "--tensor", "token_embd.weight", "--dump", self,
              self) == 2);
    free(sk_test_slurp(self, &after));
    CHECK(before > 0 && after == before);
    /* a hard link is the same file too */
    snprintf(lnk, sizeof lnk, "%s", tmp_path("self-link.f32"));
    unlink(lnk);
    CHECK(link(self, lnk) == 0);
    CHECK(run(sk_cmd_inspect, NULL, 6, "inspect", "--tensor", "token_embd.weight", "--dump", lnk,
              self) == 2);
    free(sk_test_slurp(self, &after));
    CHECK(after == before);
    unlink(lnk);
    /* a dump into a missing folder: "cannot create" with the reason, nothing left behind */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no-such-dir/x.f32", g_tmp);
    CHECK(run(sk_cmd_inspect, NULL, 6, "inspect", "--tensor", "token_embd.weight", "--dump", bad,
              self) == 1);
    /* a good dump goes through OUT.tmp<pid> and leaves only OUT */
    snprintf(good, sizeof good, "%s", tmp_path("good.f32"));
    CHECK(run(sk_cmd_inspect, NULL, 6, "inspect", "--tensor", "token_embd.weight", "--dump", good,
              self) == 0);
    snprintf(cmd, sizeof cmd, "test -s '%s' && ! ls '%s'.tmp* >/dev/null 2>&1", good, good);
    CHECK(system(cmd) == 0);

    /* malformed config.json: exit 1, the message on stderr and not on stdout */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/badcfg", g_tmp);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && ln -sf '%s/golden/llama3-tiny/model.safetensors' '%s/' && "
             "printf '{\"vocab_size\": ' > '%s/config.json'",
             dir, SEEK_TEST_DATA, dir, dir);
    CHECK(system(cmd) == 0);
    char *out = NULL;
    CHECK(run(sk_cmd_inspect, &out, 2, "inspect", dir) == 1);
    CHECK(out && !strstr(out, "config.json"));
    free(out);
}

/* inspect reads an HF tokenizer with the tokenizer module's loader: a chat_template given as a
 * list without a "default" entry is shown (the loader takes it), as are add_bos and specials. */
static void test_inspect_hf_tokenizer(void) {
    char dir[512], cmd[4096], p[700];
    snprintf(dir, sizeof dir, "%s/hftok", g_tmp);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && ln -sf '%s/golden/llama3-tiny/model.safetensors' '%s/' && "
             "cp '%s/golden/llama3-tiny/config.json' '%s/'",
             dir, SEEK_TEST_DATA, dir, SEEK_TEST_DATA, dir);
    CHECK(system(cmd) == 0);
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    FILE *f = fopen(p, "w");
    fputs("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2},"
          " \"merges\": [\"a b\"]}, \"added_tokens\": [{\"id\": 3, \"content\": \"<|eot|>\","
          " \"special\": true}], \"pre_tokenizer\": null}",
          f);
    fclose(f);
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
    f = fopen(p, "w");
    fputs("{\"eos_token\": \"<|eot|>\", \"chat_template\": [{\"name\": \"tool_use\","
          " \"template\": \"T{{ x }}\"}]}",
          f);
    fclose(f);
    char *out = NULL;
    CHECK(run(sk_cmd_inspect, &out, 3, "inspect", "--no-tensors", dir) == 0);
    CHECK_MSG(out && strstr(out, "4 tokens, 1 merges") && strstr(out, "eos      3 <|eot|>") &&
                  strstr(out, "add_bos  false") && strstr(out, "chat template: present (8 bytes)"),
              "%s", out ? out : "");
    free(out);
}

static void test_convert_cli(void) {
    char p[512];
    snprintf(p, sizeof p, "%s/golden/llama3-tiny", SEEK_TEST_DATA);
    CHECK(run(sk_cmd_convert, NULL, 2, "convert", "--help") == 0);
    CHECK(run(sk_cmd_convert, NULL, 1, "convert") == 2);
    CHECK(run(sk_cmd_convert, NULL, 5, "convert", p, tmp_path("x.gguf"), "--type", "q3_k") == 2);
    CHECK(run(sk_cmd_convert, NULL, 5, "convert", p, tmp_path("x.gguf"), "--threads", "0") == 2);
    CHECK(run(sk_cmd_convert, NULL, 4, "convert", p, "--dry-run", "--kv-b-split") == 0);
    CHECK(access(tmp_path("x.gguf"), F_OK) != 0);
    CHECK(run(sk_cmd_convert, NULL, 3, "convert", "/nonexistent", tmp_path("x.gguf")) == 1);
    CHECK(run(sk_cmd_convert, NULL, 7, "convert", p, tmp_path("q.gguf"), "--type", "q8_0",
              "--threads", "2") == 0);
    sk_gguf *a = NULL, *b = NULL;
    sk_err e;
    CHECK_OK(sk_gguf_open(tmp_path("q.gguf"), &a, &e), &e);
    snprintf(p, sizeof p, "%s/golden/llama3-tiny/model-q8_0.gguf", SEEK_TEST_DATA);
    CHECK_OK(sk_gguf_open(p, &b, &e), &e);
    if (a && b) {
        CHECK(sk_gguf_n_tensors(a) == sk_gguf_n_tensors(b));
        for (int64_t i = 0; i < sk_gguf_n_tensors(b); i++) {
            const sk_gguf_tensor_info *tb = sk_gguf_tensor(b, i);
            const sk_gguf_tensor_info *ta = sk_gguf_tensor(a, sk_gguf_find_tensor(a, tb->name));
            CHECK_MSG(ta && ta->type == tb->type && ta->nbytes == tb->nbytes &&
                          !memcmp(ta->data, tb->data, tb->nbytes),
                      "%s", tb->name);
        }
    }
    sk_gguf_close(a);
    sk_gguf_close(b);
    /* split output, opened from its last split */
    snprintf(p, sizeof p, "%s/golden/llama3-tiny", SEEK_TEST_DATA);
    CHECK(run(sk_cmd_convert, NULL, 5, "convert", p, tmp_path("s.gguf"), "--split-max-size",
              "100K") == 0);
    char last[64];
    int n = 0;
    for (int k = 2; k < 20; k++) {
        snprintf(last, sizeof last, "s-00001-of-%05d.gguf", k);
        if (access(tmp_path(last), F_OK) == 0) n = k;
    }
    CHECK(n >= 3); /* ~300 KB of f16 tensors in splits of at most 100 KB */
    snprintf(last, sizeof last, "s-%05d-of-%05d.gguf", n, n);
    CHECK_OK(sk_gguf_open(tmp_path(last), &a, &e), &e);
    if (a) {
        CHECK(sk_gguf_n_splits(a) == n && sk_gguf_n_tensors(a) == 22);
        sk_gguf_close(a);
    }
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "/tmp/seek-test-fcli-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", g_tmp);
    if (system(cmd) != 0) return 2;
    setenv("SEEK_PROGRESS", "0", 1);
    sk_log_set_level(SK_LOG_ERROR);
    RUN(test_inspect);
    RUN(test_inspect_safety);
    RUN(test_inspect_hf_tokenizer);
    RUN(test_convert_cli);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (system(cmd) != 0) return 2;
    return sk_test_report("format_cli");
}
