/* test_cli — the `seek` binary end to end on a synthetic model (seek synth): run (deterministic
 * greedy output, reasoning shown apart, context overflow refused), chat driven through stdin
 * (turns, /save, /reset, dropping old turns when the context is full), a real SIGINT during a
 * generation, perplexity, and usage errors. argv[1] is the path of the seek binary. */
#include "sk_test.h"
#include "sk_util.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *g_seek;
static char g_dir[256];
static char g_model[300];
/* the golden tiny Qwen2 model has no chat template of its own */
#define TINY "'" SEEK_TEST_DATA "/golden/qwen2-tiny/model.gguf' --chat-template r1-distill-qwen"

typedef struct result {
    int code; /* exit status, or 128+signal */
    char *out, *err;
} result;

static char *slurp_or_empty(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return strdup("");
    fclose(f);
    return sk_test_slurp(path, NULL);
}

/* Runs `seek ARGS` with stdin from `input` (may be NULL: /dev/null). */
static result run(const char *args, const char *input) {
    char in[320], out[320], err[320], cmd[4096];
    snprintf(in, sizeof in, "%s/stdin.txt", g_dir);
    snprintf(out, sizeof out, "%s/stdout.txt", g_dir);
    snprintf(err, sizeof err, "%s/stderr.txt", g_dir);
    FILE *f = fopen(in, "wb");
    if (f) {
        if (input) fputs(input, f);
        fclose(f);
    }
    snprintf(cmd, sizeof cmd, "SEEK_PROGRESS=0 '%s' %s <'%s' >'%s' 2>'%s'", g_seek, args, in, out,
             err);
    int st = system(cmd);
    result r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    r.out = slurp_or_empty(out);
    r.err = slurp_or_empty(err);
    return r;
}

static void result_free(result *r) {
    free(r->out);
    free(r->err);
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void test_synth_cli(void) {
    char args[1024];
    snprintf(args, sizeof args, "synth r1-distill-qwen-1.5b '%s' --layers 1 --vocab 400 --type q8_0",
             g_model);
    result r = run(args, NULL);
    CHECK_MSG(r.code == 0, "synth exit %d: %s", r.code, r.err);
    CHECK(strstr(r.out, "1 layers") && strstr(r.out, "wrote"));
    result_free(&r);
    r = run("synth deepseek-v9 /tmp/x.gguf", NULL);
    CHECK(r.code == 2 && strstr(r.err, "unknown shape"));
    result_free(&r);
    r = run("synth deepseek-v3 --dry-run --layers 4", NULL);
    CHECK(r.code == 0 && strstr(r.out, "4 layers (3 dense)"));
    result_free(&r);
    r = run("synth deepseek-v3 x.gguf --type q9_9", NULL);
    CHECK(r.code == 2);
    result_free(&r);
    /* --layers 1 keeps the promised MoE layer */
    r = run("synth deepseek-v3 --dry-run --layers 1", NULL);
    CHECK_MSG(r.code == 0 && strstr(r.out, "1 layers (0 dense)"), "%d: %s%s", r.code, r.out, r.err);
    result_free(&r);
    /* numeric options: not a number vs out of range (shared parser) */
    r = run("synth deepseek-v3 --dry-run --layers 99999999", NULL);
    CHECK_MSG(r.code == 2 && strstr(r.err, "out of range (min 1, max 16777216)"), "%s", r.err);
    result_free(&r);
    r = run("synth deepseek-v3 --dry-run --layers 3x", NULL);
    CHECK_MSG(r.code == 2 && strstr(r.err, "wants an integer, not '3x'"), "%s", r.err);
    result_free(&r);
    /* seek version takes no arguments */
    r = run("version", NULL);
    CHECK(r.code == 0 && strstr(r.out, "seek "));
    result_free(&r);
    r = run("version --x", NULL);
    CHECK(r.code == 2 && strstr(r.err, "'--x'") && !*r.out);
    result_free(&r);
}

static void test_run(void) {
    char args[1024];
    snprintf(args, sizeof args, "run -m '%s' -p 'Hello there' -n 8 --temp 0 --stats", g_model);
    result a = run(args, NULL), b = run(args, NULL);
    CHECK_MSG(a.code == 0, "run exit %d: %s", a.code, a.err);
    /* R1-Distill template: the output starts inside the reasoning, shown as a <think> block */
    CHECK(!strncmp(a.out, "<think>\n", 8));
    CHECK(!strcmp(a.out, b.out));
    CHECK(strstr(a.err, "generation: 8 tokens"));
    result_free(&b);
    /* --no-mmap: the weights read into memory give the same tokens */
    snprintf(args, sizeof args, "run -m '%s' -p 'Hello there' -n 8 --temp 0 --no-mmap",
             g_model);
    b = run(args, NULL);
    CHECK_MSG(b.code == 0 && !strcmp(a.out, b.out), "--no-mmap: exit %d, '%s' vs '%s'", b.code,
              b.out, a.out);
    result_free(&a);
    result_free(&b);
    /* --hide-think: no reasoning block (the answer is empty: the 8 tokens are all reasoning) */
    snprintf(args, sizeof args, "run -m " TINY " -p 'Hello there' -n 8 --temp 0 --hide-think");
    a = run(args, NULL);
    CHECK(a.code == 0 && !strstr(a.out, "<think>"));
    result_free(&a);
    /* --raw: no template, no reasoning split */
    snprintf(args, sizeof args, "run -m '%s' -p 'Hello there' -n 4 --temp 0 --raw", SEEK_TEST_DATA "/golden/qwen2-tiny/model.gguf");
    a = run(args, NULL);
    CHECK(a.code == 0 && strncmp(a.out, "<think>", 7));
    result_free(&a);
    /* a prompt longer than the context is refused with a message */
    snprintf(args, sizeof args,
             "run -m " TINY " -p 'a long prompt that does not fit in sixteen tokens at all, "
             "not even close' --ctx 16");
    a = run(args, NULL);
    CHECK(a.code == 1 && strstr(a.err, "context"));
    result_free(&a);
    /* sampling with a seed is reproducible */
    snprintf(args, sizeof args, "run -m " TINY " -p Hi -n 8 --temp 1.0 --top-k 40 --seed 7");
    a = run(args, NULL);
    b = run(args, NULL);
    CHECK(a.code == 0 && !strcmp(a.out, b.out));
    result_free(&a);
    result_free(&b);
    /* usage errors */
    a = run("run -p hi", NULL);
    CHECK(a.code == 2);
    result_free(&a);
    a = run("run --help", NULL);
    CHECK(a.code == 0 && strstr(a.out, "usage: seek run"));
    result_free(&a);
    snprintf(args, sizeof args, "run -m " TINY " -p hi --temp hot");
    a = run(args, NULL);
    CHECK(a.code == 2 && strstr(a.err, "--temp"));
    result_free(&a);
    a = run("run -m /nonexistent.gguf -p hi", NULL);
    CHECK(a.code == 1 && strstr(a.err, "nonexistent"));
    result_free(&a);
    /* no template and none named */
    snprintf(args, sizeof args, "run -m '%s' -p hi", SEEK_TEST_DATA "/golden/qwen2-tiny/model.gguf");
    a = run(args, NULL);
    CHECK(a.code == 1 && strstr(a.err, "--chat-template"));
    result_free(&a);
}

static void test_chat_stdin(void) {
    char args[1024], save[320], input[1024];
    snprintf(save, sizeof save, "%s/conv.json", g_dir);
    snprintf(args, sizeof args, "chat -m " TINY " -n 6 --temp 0 --stats");
    snprintf(input, sizeof input,
             "Hello\nHow are you?\n/save %s\n/reset\nHello\n/help\n/bogus\n/quit\nnot read\n", save);
    result r = run(args, input);
    CHECK_MSG(r.code == 0, "chat exit %d: %s", r.code, r.err);
    CHECK_MSG(count(r.out, "<think>\n") == 3, "stdout: %s", r.out);
    CHECK(strstr(r.err, "[new conversation]") && strstr(r.err, "unknown command /bogus"));
    CHECK(strstr(r.err, "/reset") != NULL); /* /help text goes to stderr when piped */
    /* the second turn reused the first turn's cache: only the new part was evaluated */
    const char *second = strstr(r.err, "prompt:");
    second = second ? strstr(second + 1, "prompt:") : NULL;
    int n_prompt = 0, n_reused = 0;
    CHECK(second && sscanf(second, "prompt: %d tokens (%d reused", &n_prompt, &n_reused) == 2);
    CHECK_MSG(n_reused > 5 && n_reused < n_prompt, "turn 2: %d of %d reused", n_reused, n_prompt);
    /* after /reset the first answer repeats (greedy, same prompt) */
    const char *t1 = strstr(r.out, "<think>\n"), *t3 = t1;
    for (int i = 0; i < 2 && t3; i++) t3 = strstr(t3 + 1, "<think>\n");
    const char *t2 = strstr(t1 + 1, "<think>\n");
    CHECK(t1 && t2 && t3 && !strncmp(t1, t3, (size_t)(t2 - t1)));
    char *json = slurp_or_empty(save);
    CHECK(count(json, "\"role\"") == 4 && count(json, "\"user\"") == 2 &&
          count(json, "\"assistant\"") == 2 && strstr(json, "How are you?"));
    free(json);
    result_free(&r);

    /* a small context: old turns are dropped with a notice, the chat goes on */
    snprintf(args, sizeof args, "chat -m " TINY " -n 4 --temp 0 --ctx 96 -s 'Be brief.'");
    r = run(args, "first message with a few words in it\nsecond message with a few more words\n"
                  "third message, again with several words\nfourth and last message here\n");
    CHECK_MSG(r.code == 0, "chat exit %d: %s", r.code, r.err);
    CHECK(strstr(r.err, "dropped the oldest turn") != NULL);
    CHECK(count(r.out, "<think>\n") == 4);
    result_free(&r);
    /* a message that alone exceeds the context is refused, the chat goes on */
    snprintf(args, sizeof args, "chat -m " TINY " -n 2 --temp 0 --ctx 48");
    r = run(args, "this message is far too long for a context of forty-eight tokens, surely, surely\nhi\n");
    CHECK(r.code == 0 && strstr(r.err, "it was not sent") && count(r.out, "<think>\n") == 1);
    result_free(&r);
}

/* A real Ctrl-C (SIGINT) stops a long generation without killing the process. */
static void test_sigint(void) {
    char cmd[2048], in[320], out[320], err[320];
    snprintf(in, sizeof in, "%s/sig.in", g_dir);
    snprintf(out, sizeof out, "%s/sig.out", g_dir);
    snprintf(err, sizeof err, "%s/sig.err", g_dir);
    FILE *f = fopen(in, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("Tell me a long story\n/quit\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "exec '%s' chat -m " TINY " -n 100000 --ctx 100000 --temp 0 <'%s' >'%s' 2>'%s'",
             g_seek, in, out, err);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0);
    if (pid <= 0) return;
    setpgid(pid, pid);
    /* wait until tokens are streaming, then interrupt */
    double t0 = sk_time_sec();
    for (;;) {
        usleep(100000);
        char *o = slurp_or_empty(out);
        size_t n = strlen(o);
        free(o);
        if (n > 20 || sk_time_sec() - t0 > 60) break;
    }
    kill(-pid, SIGINT);
    int st = 0;
    waitpid(pid, &st, 0);
    double dt = sk_time_sec() - t0;
    char *e = slurp_or_empty(err);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d, stderr: %s", st, e);
    CHECK(strstr(e, "[interrupted]") != NULL);
    CHECK(dt < 120);
    free(e);
}

static void test_perplexity(void) {
    char text[320], args[1024];
    snprintf(text, sizeof text, "%s/text.txt", g_dir);
    FILE *f = fopen(text, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("The quick brown fox jumps over the lazy dog. It is the end of the story, and the "
          "start of another one in which the dog finally wins.\n",
          f);
    fclose(f);
    snprintf(args, sizeof args, "perplexity -m '%s' -f '%s' --window 16 --stride 8", g_model, text);
    result r = run(args, NULL);
    CHECK_MSG(r.code == 0, "exit %d: %s", r.code, r.err);
    double ppl = 0;
    const char *p = strstr(r.out, "perplexity: ");
    CHECK(p && sscanf(p, "perplexity: %lf", &ppl) == 1 && ppl > 1 && isfinite(ppl));
    /* random weights (std 0.02) and a 400-token vocabulary: close to uniform */
    CHECK_MSG(ppl > 100 && ppl < 2000, "ppl %g", ppl);
    CHECK(strstr(r.err, "[1/") != NULL);
    result_free(&r);
    snprintf(args, sizeof args, "perplexity -m '%s' -f '%s' --window 16 --stride 20", g_model, text);
    r = run(args, NULL);
    CHECK(r.code == 2);
    result_free(&r);
    snprintf(args, sizeof args, "perplexity -m '%s' -f /nonexistent.txt", g_model);
    r = run(args, NULL);
    CHECK(r.code == 1 && strstr(r.err, "nonexistent"));
    result_free(&r);
}

/* seek run --mtp on the tiny trained MTP model: the same text as --temp 0, the acceptance
 * line in --stats, fewer main-model calls; refused with --temp > 0 and without MTP layers. */
static void test_run_mtp(void) {
    char base[1024], args[1200];
    snprintf(base, sizeof base,
             "run -m '%s/mtp-tiny' --tokenizer '%s/golden/ds3-tiny/model.gguf' --raw -p ACEGIKM "
             "-n 40 --stats",
             SEEK_TEST_DATA, SEEK_TEST_DATA);
    snprintf(args, sizeof args, "%s --temp 0", base);
    result a = run(args, NULL);
    snprintf(args, sizeof args, "%s --mtp", base);
    result b = run(args, NULL);
    CHECK_MSG(a.code == 0 && b.code == 0, "exit %d / %d: %s %s", a.code, b.code, a.err, b.err);
    CHECK(strlen(a.out) >= 40 && !strcmp(a.out, b.out));
    int drafts = 0, acc = 0, calls = 0, gen = 0;
    const char *m = strstr(b.err, "mtp: ");
    CHECK_MSG(m && sscanf(m, "mtp: %d drafts, %d accepted (%*f%%) | %d main-model decode calls "
                             "for %d tokens",
                          &drafts, &acc, &calls, &gen) == 4,
              "no mtp stats line in: %s", b.err);
    CHECK(gen == 40 && acc > 0 && acc <= drafts && calls == gen - 1 - acc);
    CHECK(!strstr(a.err, "mtp: "));
    result_free(&a);
    result_free(&b);
    snprintf(args, sizeof args, "%s --mtp --temp 0.8", base);
    a = run(args, NULL);
    CHECK(a.code == 2 && strstr(a.err, "greedily"));
    result_free(&a);
    snprintf(args, sizeof args, "run -m '%s/golden/ds3-tiny/model.gguf' --raw -p ab -n 4 --mtp",
             SEEK_TEST_DATA);
    a = run(args, NULL);
    CHECK(a.code == 1 && strstr(a.err, "MTP module"));
    result_free(&a);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_cli PATH-OF-SEEK\n");
        return 2;
    }
    g_seek = argv[1];
    snprintf(g_dir, sizeof g_dir, "/tmp/seek-test-cli-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_model, sizeof g_model, "%s/q.gguf", g_dir);
    RUN(test_synth_cli);
    RUN(test_run);
    RUN(test_run_mtp);
    RUN(test_chat_stdin);
    RUN(test_sigint);
    RUN(test_perplexity);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    return sk_test_report("cli");
}
