/* lineedit.h — reading user input lines for `seek chat`: with libedit (line editing and
 * history, ~/.seek_history) when stdin is a terminal, plain buffered reads otherwise (no
 * prompt is printed then, so piped input produces clean output).
 * libedit (Debian libedit-dev) is wrapped here and linked into the seek binary. */
#ifndef SK_LINEEDIT_H
#define SK_LINEEDIT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct lineedit lineedit;

lineedit *lineedit_new(bool use_history);
void lineedit_free(lineedit *le);
bool lineedit_interactive(const lineedit *le); /* stdin is a terminal */
/* Reads one line without its newline; returns a malloc'd string, or NULL at end of input. */
char *lineedit_read(lineedit *le, const char *prompt);
void lineedit_add_history(lineedit *le, const char *line);

#endif
