/* consumer.c — a program outside the source tree, built only from the installed seek.h and
 * libseek.so (see consumer_test.sh). Valid C99 and C++.
 *
 *   consumer MODEL raw|chat PROMPT N
 *
 * raw: tokenizes PROMPT (with BOS), checks that detokenizing gives it back, and greedily
 * generates N tokens from it; chat: the same through the chat template. The output is printed
 * the way `seek run` prints to a pipe (reasoning between "<think>" and "</think>" lines), so
 * the test can compare it with `seek run [--raw] -p PROMPT -n N --temp 0`. */
#include <seek.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct printer {
    int think_open, answer_started;
} printer;

static int print_piece(void *user, seek_piece_kind kind, const char *text, size_t len) {
    printer *p = (printer *)user;
    if (kind == SEEK_PIECE_REASONING) {
        if (!p->think_open) fputs("<think>\n", stdout);
        p->think_open = 1;
    } else {
        if (p->think_open && !p->answer_started) fputs("\n</think>\n\n", stdout);
        p->answer_started = 1;
    }
    fwrite(text, 1, len, stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[2], "raw") && strcmp(argv[2], "chat"))) {
        fprintf(stderr, "usage: consumer MODEL raw|chat PROMPT N\n");
        return 2;
    }
    const char *prompt = argv[3];
    int chat = !strcmp(argv[2], "chat");
    seek_error err;
    memset(&err, 0, sizeof err);
    seek_model_params mp;
    seek_model_params_init(&mp);
    mp.n_ctx = 512;
    seek_model *m = NULL;
    if (seek_model_open(argv[1], &mp, &m, &err) != SEEK_OK) {
        fprintf(stderr, "consumer: %s\n", err.message);
        return 1;
    }
    fprintf(stderr, "consumer: libseek %s, %s, %d tokens, reasoner %d\n", seek_version(),
            seek_model_arch(m), (int)seek_model_n_vocab(m), seek_model_is_reasoner(m));
    int ret = 1;
    printer pr;
    seek_gen_result res;
    seek_gen_params gp;
    memset(&pr, 0, sizeof pr);
    seek_session *s = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    char *back = NULL;
    seek_tokenizer *tok = seek_model_tokenizer(m);
    if (seek_tokenize(tok, prompt, strlen(prompt), SEEK_TOKENIZE_ADD_BOS, &ids, &n, &err) ||
        seek_detokenize(tok, ids, n, SEEK_DETOKENIZE_SKIP_SPECIAL, &back, NULL, &err))
        goto fail;
    if (strcmp(back, prompt)) {
        fprintf(stderr, "consumer: round trip gave '%s'\n", back);
        goto done;
    }
    fprintf(stderr, "consumer: round trip ok (%zu tokens)\n", n);
    if (seek_session_new(m, &s, &err)) goto fail;
    seek_gen_params_init(&gp, m);
    gp.temperature = 0;
    gp.max_tokens = atoi(argv[4]);
    if (chat) {
        seek_chat_message msg;
        msg.role = "user";
        msg.content = prompt;
        if (seek_chat(s, &msg, 1, &gp, print_piece, &pr, &res, &err)) goto fail;
    } else {
        if (seek_generate(s, ids, n, &gp, print_piece, &pr, &res, &err)) goto fail;
    }
    if (pr.think_open && !pr.answer_started) fputs("\n</think>", stdout);
    fputc('\n', stdout);
    fprintf(stderr, "consumer: %d prompt tokens, %d generated, stop %d\n", res.n_prompt,
            res.n_generated, res.stop);
    ret = 0;
    goto done;
fail:
    fprintf(stderr, "consumer: %s (%s)\n", err.message, seek_status_name(err.code));
done:
    seek_free(back);
    seek_free(ids);
    seek_session_free(s);
    seek_model_close(m);
    return ret;
}
