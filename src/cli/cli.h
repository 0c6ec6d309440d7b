/* cli.h — the command table of the `seek` binary. Each subcommand lives in its own file
 * cmd_NAME.c as `int sk_cmd_NAME(int argc, char **argv)` (argv[0] is the command name)
 * and is listed in commands.def. Returns the process exit code: 0 ok, 1 failure, 2 usage. */
#ifndef SK_CLI_H
#define SK_CLI_H

typedef int (*sk_cmd_fn)(int argc, char **argv);
typedef struct sk_command {
    const char *name;
    sk_cmd_fn fn;
    const char *help;
} sk_command;

#define SK_CMD(name, fn, help) int fn(int argc, char **argv);
#include "commands.def"
#undef SK_CMD

#endif
