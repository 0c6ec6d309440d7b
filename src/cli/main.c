/* main.c — the `seek` command: dispatches to one sk_cmd_* function per subcommand.
 * Only this layer prints usage and exits the process. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int sk_cmd_version(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: seek version\n\nPrints the version of seek.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "seek version: unexpected argument '%s' (usage: seek version)\n", argv[1]);
        return 2;
    }
    printf("seek 0.1.0\n");
    return 0;
}

static const sk_command commands[] = {
#define SK_CMD(name, fn, help) {name, fn, help},
#include "commands.def"
#undef SK_CMD
};

static void usage(FILE *f) {
    fprintf(f, "seek %s — DeepSeek models, run and trained on your own machine\n\n"
               "usage: seek COMMAND [ARGS]\n\ncommands:\n",
            "0.1.0");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`seek COMMAND --help` describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("seek 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "seek: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
