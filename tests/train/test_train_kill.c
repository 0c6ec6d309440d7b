/* test_train_kill — `seek train` survives SIGKILL: the test runs `seek train` (this
 * executable re-executed as `--child train ...`, which calls the command's function) once
 * uninterrupted, then again in a second directory where it is killed with SIGKILL at
 * seeded random moments (the first kill after a checkpoint exists, one kill timed to land
 * while a checkpoint is being written when the poll catches ckpt.bin.tmp, the others
 * anywhere), each time continued with --resume, until a run finishes on its own. The loss
 * trajectory (metrics.jsonl without the timing fields), the final weights
 * (model.safetensors) and the loss chart must equal the uninterrupted run's byte for byte.
 * Two data inputs: a line file (120 steps, --ckpt-every 4) and a shuffled token shard set
 * (60 steps, --seq-len 16, --accum 2, --ckpt-every 1, several epochs), whose loader position
 * travels in the checkpoint. */
#include "sk_data.h"
#include "sk_test.h"
#include "sk_train.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int sk_cmd_train(int argc, char **argv);

static char tmpdir[256], cfgp[512], datap[512], shardp[512];
/* the run's settings: data, step count and the extra flags of the current case */
static const char *run_data;
static const char *run_steps;
static const char *const *run_extra;
static const char *self_exe = "/proc/self/exe";

static bool exists(const char *dir, const char *name) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

/* In a cross build CTest sets SEEK_TEST_EMULATOR (e.g. "qemu-aarch64", words split at
 * spaces): the kernel cannot start this executable by itself, so the child is the emulator
 * running it (its real path: /proc/self/exe would name the emulator in the child). */
static char emu_buf[512], self_path[512];
static const char *emu_argv[8];
static int emu_argc;

static void setup_emulator(void) {
    const char *emu = getenv("SEEK_TEST_EMULATOR");
    if (!emu || !*emu || strlen(emu) >= sizeof emu_buf) return;
    ssize_t l = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (l <= 0) return;
    self_path[l] = 0;
    strcpy(emu_buf, emu);
    for (char *t = strtok(emu_buf, " "); t && emu_argc < 7; t = strtok(NULL, " "))
        emu_argv[emu_argc++] = t;
}

static pid_t spawn_train(const char *out, bool resume) {
    pid_t pid = fork();
    if (pid == 0) {
        const char *args[48];
        int n = 0;
        for (int i = 0; i < emu_argc; i++) args[n++] = emu_argv[i];
        args[n++] = emu_argc ? self_path : self_exe;
        const char *run[] = {"--child",   "train", "--config", cfgp,      "--data",  run_data,
                             "--out",     out,     "--steps",  run_steps, "--batch", "4",
                             "--threads", "2",     "--seed",   "7",       "--quiet"};
        for (size_t i = 0; i < sizeof run / sizeof run[0]; i++) args[n++] = run[i];
        for (int i = 0; run_extra[i] && n < 45; i++) args[n++] = run_extra[i];
        if (resume) args[n++] = "--resume";
        args[n] = NULL;
        if (emu_argc)
            execvp(args[0], (char **)args);
        else
            execv(self_exe, (char **)args);
        _exit(127);
    }
    return pid;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static unsigned char *slurp(const char *dir, const char *name, size_t *n) {
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return sk_test_read(p, n);
}

static int count_lines(const char *dir) {
    size_t n;
    unsigned char *s = slurp(dir, "metrics.jsonl", &n);
    int c = 0;
    for (size_t i = 0; i < n; i++) c += s[i] == '\n';
    free(s);
    return c;
}

/* metrics.jsonl without the wall-clock fields (tok_per_s, mfu, seconds) */
static char *metrics_canon(const char *dir, int *n_lines) {
    size_t n;
    char *s = (char *)slurp(dir, "metrics.jsonl", &n);
    *n_lines = 0;
    if (!s) return NULL;
    char *out = malloc(n + 1), *o = out;
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl) break;
        *nl = 0;
        char *a = strstr(line, ",\"tok_per_s\":"), *b = strstr(line, ",\"load_max_over_mean\":"),
             *c = strstr(line, ",\"seconds\":");
        if (a && b && c && a < b && b < c) {
            o += sprintf(o, "%.*s%.*s\n", (int)(a - line), line, (int)(c - b), b);
        } else {
            o += sprintf(o, "%s\n", line);
        }
        (*n_lines)++;
        line = nl + 1;
    }
    *o = 0;
    free(s);
    return out;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void sigkill_case(const char *name, int n_steps) {
    char ref[300], run[300];
    snprintf(ref, sizeof ref, "%s/%s-ref", tmpdir, name);
    snprintf(run, sizeof run, "%s/%s-killed", tmpdir, name);
    double t0 = now_s();
    pid_t pid = spawn_train(ref, false);
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "uninterrupted run failed (status %d)", st);
    double t_ref = now_s() - t0;
    int kills = 0, during_write = 0, rounds = 0;
    bool finished = false;
    while (!finished && rounds < 12) {
        bool resume = exists(run, "ckpt.bin");
        pid = spawn_train(run, resume);
        CHECK(pid > 0);
        if (pid <= 0) return;
        rounds++;
        int mode = rounds <= 5 ? (rounds == 2 ? 1 : 0) : 2; /* 2: let it finish */
        bool exited = false;
        /* wait for a checkpoint to exist (a resumed run already has one) */
        while (mode != 2 && !exists(run, "ckpt.bin")) {
            if (waitpid(pid, &st, WNOHANG) == pid) {
                exited = true;
                break;
            }
            usleep(200);
        }
        if (!exited && mode == 0) {
            /* a random number of further steps (wall-clock delays would depend on the load),
             * then a random fraction of a step */
            int target = count_lines(run) + 1 + (int)(urand() * 25);
            while (count_lines(run) < target) {
                if (waitpid(pid, &st, WNOHANG) == pid) {
                    exited = true;
                    break;
                }
                usleep(200);
            }
            double until = now_s() + urand() * t_ref / n_steps;
            while (!exited && now_s() < until) {
                if (waitpid(pid, &st, WNOHANG) == pid) exited = true;
                usleep(50);
            }
        } else if (!exited && mode == 1) {
            /* aim at a checkpoint write: kill as soon as the temporary file appears */
            double until = now_s() + 2 * t_ref + 1;
            while (now_s() < until && !exists(run, "ckpt.bin.tmp")) {
                if (waitpid(pid, &st, WNOHANG) == pid) {
                    exited = true;
                    break;
                }
            }
            if (!exited && exists(run, "ckpt.bin.tmp")) during_write++;
        }
        if (!exited && mode != 2) {
            kill(pid, SIGKILL);
            CHECK(waitpid(pid, &st, 0) == pid);
            if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
                kills++;
                continue;
            }
            exited = true; /* it finished before the signal landed */
        }
        if (!exited) CHECK(waitpid(pid, &st, 0) == pid);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %d: run failed (status %d)", rounds,
                  st);
        finished = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (!finished) break;
    }
    CHECK(finished);
    CHECK_MSG(kills >= 1, "no run was killed (t_ref %.3f s)", t_ref);
    int na = 0, nb = 0;
    char *a = metrics_canon(ref, &na), *b = metrics_canon(run, &nb);
    CHECK(a && b && na == n_steps && nb == n_steps);
    CHECK_MSG(a && b && strcmp(a, b) == 0, "metrics differ after SIGKILL + resume");
    const char *files[] = {"model.safetensors", "loss.svg"};
    for (int i = 0; i < 2; i++) {
        size_t x = 0, y = 0;
        unsigned char *p = slurp(ref, files[i], &x), *q = slurp(run, files[i], &y);
        CHECK_MSG(p && q && x == y && x > 0 && memcmp(p, q, x) == 0, "%s differs", files[i]);
        free(p);
        free(q);
    }
    printf("%s: uninterrupted run %.2f s; %d rounds, %d SIGKILLs (%d while ckpt.bin.tmp "
           "existed); %d metric lines and model.safetensors identical\n",
           name, t_ref, rounds, kills, during_write, n_steps);
    free(a);
    free(b);
}

static void test_sigkill_resume(void) {
    static const char *const extra[] = {"--ckpt-every", "4", NULL};
    run_data = datap;
    run_steps = "120";
    run_extra = extra;
    sigkill_case("lines", 120);
}

/* 31 documents of 4..40 ids (BOS 0, EOS 1), shards of at most 300 tokens */
static void write_shards(void) {
    sk_err e = {0};
    sk_shard_writer *w = NULL;
    CHECK_OK(sk_shard_writer_open(shardp, 48, 0, 1, 300, &w, &e), &e);
    if (!w) return;
    uint32_t s = 99;
    int32_t doc[64];
    for (int d = 0; d < 31; d++) {
        s = s * 1103515245u + 12345u;
        int len = 4 + (int)((s >> 16) % 37), a = (int)((s >> 8) % 46), st = 1 + (int)(s % 5);
        for (int j = 0; j < len; j++) doc[j] = 2 + (a + st * j) % 46;
        CHECK_OK(sk_shard_writer_add(w, doc, (size_t)len, &e), &e);
    }
    CHECK_OK(sk_shard_writer_finish(w, NULL, NULL, NULL, &e), &e);
}

static void test_sigkill_resume_shards(void) {
    write_shards();
    static const char *const extra[] = {"--seq-len",    "16", "--accum", "2",
                                        "--ckpt-every", "1",  NULL};
    run_data = shardp;
    run_steps = "60";
    run_extra = extra;
    sigkill_case("shards", 60);
}

int main(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "--child")) return sk_cmd_train(argc - 2, argv + 2);
    setup_emulator();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/seek-train-kill-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(cfgp, sizeof cfgp, "%s/trainref/v3-mtp1/config.json", SEEK_TEST_DATA);
    snprintf(datap, sizeof datap, "%s/data.txt", tmpdir);
    snprintf(shardp, sizeof shardp, "%s/shards/tok", tmpdir);
    FILE *f = fopen(datap, "w");
    uint32_t s = 4242;
    for (int i = 0; i < 64; i++) {
        s = s * 1103515245u + 12345u;
        int a = (int)(s >> 16) % 48, d = 1 + (int)(s >> 8) % 5;
        for (int j = 0; j < 17; j++) fprintf(f, "%s%d", j ? " " : "", (a + d * j) % 48);
        fputc('\n', f);
    }
    fclose(f);
    RUN(test_sigkill_resume);
    RUN(test_sigkill_resume_shards);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return sk_test_report("train_kill");
}
