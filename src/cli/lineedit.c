/* lineedit.c — user input lines for `seek chat`: libedit's readline interface on a
 * terminal (editing, history in ~/.seek_history), plain getline otherwise (see lineedit.h).
 * This file is the only one that includes libedit. */
#include "lineedit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline.h>

struct lineedit {
    bool tty;
    char *history_path;
};

lineedit *lineedit_new(bool use_history) {
    lineedit *le = calloc(1, sizeof *le);
    if (!le) return NULL;
    le->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (!le->tty) return le;
    using_history();
    const char *home = getenv("HOME");
    if (use_history && home && *home) {
        size_t n = strlen(home) + 32;
        le->history_path = malloc(n);
        if (le->history_path) {
            snprintf(le->history_path, n, "%s/.seek_history", home);
            read_history(le->history_path); /* absent on first use: fine */
        }
    }
    return le;
}

void lineedit_free(lineedit *le) {
    if (!le) return;
    if (le->history_path) write_history(le->history_path);
    free(le->history_path);
    free(le);
}

bool lineedit_interactive(const lineedit *le) {
    return le->tty;
}

char *lineedit_read(lineedit *le, const char *prompt) {
    if (le->tty) return readline(prompt ? prompt : "");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    return line;
}

void lineedit_add_history(lineedit *le, const char *line) {
    if (le->tty && line && *line) add_history(line);
}
