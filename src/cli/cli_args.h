/* cli_args.h — shared parsing of numeric command-line values for the `seek` subcommands. */
#ifndef SK_CLI_ARGS_H
#define SK_CLI_ARGS_H

#include <stdint.h>

/* Parses s as a base-10 integer in [lo, hi] into *out. On failure prints
 * "seek CMD: NAME wants an integer, not 'S'" (not a number: empty, trailing characters,
 * overflow of int64) or "seek CMD: NAME S is out of range (min LO, max HI)" to stderr and
 * returns 2 (the usage-error exit code); returns 0 on success. cmd may be NULL ("seek: …"). */
int sk_cli_parse_int(const char *cmd, const char *name, const char *s, int64_t lo, int64_t hi,
                     int64_t *out);

#endif
