/* test_serve_cli — the `seek serve` subcommand as a child process: usage and option errors,
 * serving on an ephemeral port announced on stderr, the API key, and a graceful stop on
 * SIGTERM and on SIGINT (exit status 0, within a bounded time). argv[1] is the seek binary. */
#include "http_client.h"
#include "sk_test.h"

#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define MODEL SEEK_TEST_DATA "/golden/ds3-tiny/model.gguf"

static const char *g_seek;

typedef struct child {
    pid_t pid;
    int out, err; /* read ends */
} child;

static bool spawn(child *c, char *const argv[]) {
    int po[2], pe[2];
    if (pipe(po) || pipe(pe)) return false;
    c->pid = fork();
    if (c->pid < 0) return false;
    if (c->pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        close(po[1]);
        close(pe[1]);
        execv(g_seek, argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    c->out = po[0];
    c->err = pe[0];
    return true;
}

/* Reads fd into buf until needle appears, EOF, or timeout_s; returns whether needle came. */
static bool read_until(int fd, char *buf, size_t cap, size_t *len, const char *needle,
                       double timeout_s) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        buf[*len] = 0;
        if (needle && strstr(buf, needle)) return true;
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        if (el > timeout_s || *len + 1 >= cap) return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, 100);
        if (r <= 0) continue;
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0) return needle == NULL;
        *len += (size_t)n;
    }
}

/* Waits for the child (bounded); returns its exit status, or -1 (killed after the timeout). */
static int wait_exit(child *c, double timeout_s) {
    for (int i = 0; i < (int)(timeout_s * 20); i++) {
        int st;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    return -1;
}

static void close_child(child *c) {
    close(c->out);
    close(c->err);
}

static int run_quick(char *const argv[], char *out, size_t cap) {
    child c;
    if (!spawn(&c, argv)) return -2;
    size_t len = 0;
    read_until(c.out, out, cap, &len, NULL, 30);
    int st = wait_exit(&c, 30);
    close_child(&c);
    return st;
}

static void test_usage(void) {
    static char out[8192];
    char *help[] = {"seek", "serve", "--help", NULL};
    CHECK(run_quick(help, out, sizeof out) == 0);
    CHECK(strstr(out, "usage: seek serve") && strstr(out, "--api-key"));
    char *none[] = {"seek", "serve", NULL};
    CHECK(run_quick(none, out, sizeof out) == 2);
    char *bad[] = {"seek", "serve", "-m", MODEL, "--bogus", NULL};
    CHECK(run_quick(bad, out, sizeof out) == 2);
    char *port[] = {"seek", "serve", "-m", MODEL, "--port", "99999", NULL};
    CHECK(run_quick(port, out, sizeof out) == 2);
    char *missing[] = {"seek", "serve", "-m", "/nonexistent/model.gguf", "--port", "0", NULL};
    CHECK(run_quick(missing, out, sizeof out) == 1);
    char *tmpl[] = {"seek", "serve", "-m", MODEL, "--port", "0", "--chat-template", "nope", NULL};
    CHECK(run_quick(tmpl, out, sizeof out) == 1);
}

static void serve_and_stop(int sig) {
    char *argv[] = {
        "seek",         "serve", "-m", MODEL,   "--port", "0",         "--chat-template",
        "deepseek-r1",  "-t",    "1",  "--ctx", "512",    "--api-key", "k3y",
        "--model-name", "tiny",  NULL};
    child c;
    CHECK(spawn(&c, argv));
    static char err[65536];
    size_t len = 0;
    bool up = read_until(c.err, err, sizeof err, &len, "listening on http://127.0.0.1:", 30);
    CHECK_MSG(up, "stderr: %s", err);
    int port = 0;
    const char *p = strstr(err, "http://127.0.0.1:");
    if (up && p) {
        /* the line may still be arriving */
        read_until(c.err, err, sizeof err, &len, "\n", 5);
        p = strstr(err, "http://127.0.0.1:");
        port = atoi(p + strlen("http://127.0.0.1:"));
    }
    CHECK(port > 0 && port < 65536);
    if (port > 0) {
        hc_resp r;
        CHECK(hc_request(port, "GET", "/v1/models", NULL, NULL, &r) == 0);
        CHECK(r.status == 401);
        hc_free(&r);
        CHECK(hc_request(port, "GET", "/v1/models", NULL, "Authorization: Bearer k3y\r\n", &r) ==
              0);
        CHECK(r.status == 200 && strstr(r.body, "\"tiny\""));
        hc_free(&r);
        const char *body =
            "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":3,"
            "\"temperature\":0}";
        CHECK(hc_request(port, "POST", "/v1/chat/completions", body,
                         "Authorization: Bearer k3y\r\n", &r) == 0);
        CHECK(r.status == 200);
        json_error_t je;
        json_t *j = json_loadb(r.body, r.body_len, JSON_ALLOW_NUL, &je);
        CHECK(j && json_integer_value(
                       json_object_get(json_object_get(j, "usage"), "completion_tokens")) >= 1);
        json_decref(j);
        hc_free(&r);
    }
    kill(c.pid, sig);
    int st = wait_exit(&c, 20);
    CHECK_MSG(st == 0, "exit status %d after signal %d", st, sig);
    read_until(c.err, err, sizeof err, &len, NULL, 2);
    CHECK(strstr(err, "stopping") != NULL);
    close_child(&c);
    if (port > 0) {
        int fd = hc_connect(port);
        CHECK(fd < 0); /* nobody listens any more */
        if (fd >= 0) close(fd);
    }
}

static void test_sigterm(void) {
    serve_and_stop(SIGTERM);
}
static void test_sigint(void) {
    serve_and_stop(SIGINT);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_serve_cli PATH/TO/seek\n");
        return 2;
    }
    g_seek = argv[1];
    signal(SIGPIPE, SIG_IGN);
    RUN(test_usage);
    RUN(test_sigterm);
    RUN(test_sigint);
    return sk_test_report("serve_cli");
}
