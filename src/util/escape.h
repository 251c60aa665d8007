/* Quoting bytes smartvm does not control — a guest's console, a VMM's stderr,
 * a VMM's API error text — in messages, logs and on terminals.
 *
 * Every byte a terminal could act on is made visible as text: C0 controls
 * other than tab and newline, DEL and every byte >= 0x80 become \xNN (so no
 * escape sequence, C1 control or bidi override survives), '\\' becomes "\\\\",
 * and a carriage return is dropped before a newline (serial consoles end
 * lines with "\r\n") and shown as \r elsewhere. Newlines are either escaped
 * too (one-line quotes) or kept with every line starting with an indent, so
 * that no quoted line can pass for one of smartvm's own messages.
 *
 * This is the one place that knows how; everything that quotes guest or VMM
 * output goes through it. */
#ifndef SV_UTIL_ESCAPE_H
#define SV_UTIL_ESCAPE_H

#include "util/buf.h"
#include <stdbool.h>
#include <stddef.h>

/* Streaming state: a chunk boundary may fall between '\r' and '\n'. */
typedef struct {
	bool mid_line;	 /* the last byte written was not a newline */
	bool pending_cr; /* a '\r' not yet written: dropped if a '\n' follows */
} sv_escape_state;

/* Appends s[0..len) escaped to out. indent NULL: newlines become "\n" too
 * (the quote stays on one line); otherwise newlines are kept and each line
 * starts with indent (may be ""). SV_ENOMEM if out cannot grow. */
int sv_escape_feed(sv_buf *out, sv_escape_state *st, const void *s, size_t len, const char *indent);

/* Ends a stream: writes a pending lone '\r' as "\r". */
int sv_escape_finish(sv_buf *out, sv_escape_state *st);

/* s[0..len) escaped (see sv_escape_feed), without a trailing newline.
 * malloc'd; NULL on OOM. */
char *sv_escape_text(const void *s, size_t len, const char *indent);

/* The last max_lines lines of s[0..len) (at most max_bytes bytes of them),
 * escaped with each line starting with indent. "" when s holds nothing but
 * newlines. malloc'd; NULL on OOM. */
char *sv_escape_tail(const void *s, size_t len, int max_lines, size_t max_bytes, const char *indent);

#endif
