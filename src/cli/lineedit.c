/* lineedit.c — libedit (loaded with dlopen) or plain line reads (see lineedit.h). */
#include "lineedit.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lineedit {
    void *lib;
    char *(*readline)(const char *);
    int (*add_history)(const char *);
    int (*read_history)(const char *);
    int (*write_history)(const char *);
    bool tty;
    char *history_path;
};

lineedit *lineedit_new(bool use_history) {
    lineedit *le = calloc(1, sizeof *le);
    if (!le) return NULL;
    le->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (!le->tty) return le;
    le->lib = dlopen("libedit.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!le->lib) le->lib = dlopen("libedit.so", RTLD_NOW | RTLD_LOCAL);
    if (le->lib) {
        *(void **)&le->readline = dlsym(le->lib, "readline");
        *(void **)&le->add_history = dlsym(le->lib, "add_history");
        *(void **)&le->read_history = dlsym(le->lib, "read_history");
        *(void **)&le->write_history = dlsym(le->lib, "write_history");
        if (!le->readline) {
            dlclose(le->lib);
            le->lib = NULL;
        }
    }
    const char *home = getenv("HOME");
    if (le->lib && use_history && home && *home) {
        size_t n = strlen(home) + 32;
        le->history_path = malloc(n);
        if (le->history_path) {
            snprintf(le->history_path, n, "%s/.seek_history", home);
            if (le->read_history) le->read_history(le->history_path);
        }
    }
    return le;
}

void lineedit_free(lineedit *le) {
    if (!le) return;
    if (le->history_path && le->write_history) le->write_history(le->history_path);
    free(le->history_path);
    if (le->lib) dlclose(le->lib);
    free(le);
}

bool lineedit_interactive(const lineedit *le) {
    return le->tty;
}

char *lineedit_read(lineedit *le, const char *prompt) {
    if (le->lib) return le->readline(prompt);
    if (le->tty && prompt) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
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
    if (le->lib && le->add_history && line && *line) le->add_history(line);
}
