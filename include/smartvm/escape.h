/* Showing bytes smartvm does not control — a guest's console, a VMM's
 * messages — on a terminal.
 *
 * Every byte a terminal could act on is made visible as text: control
 * characters other than tab and newline, DEL and every byte >= 0x80 become
 * \xNN (so no escape sequence, C1 control or bidi override survives), a
 * backslash becomes \\, and a carriage return is dropped before a newline
 * (serial consoles end lines with "\r\n") and shown as \r elsewhere. The
 * library's own messages already quote guest and VMM bytes this way; this is
 * for programs that print a console themselves (`smartvm logs` on a
 * terminal). */
#ifndef SMARTVM_ESCAPE_H
#define SMARTVM_ESCAPE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A stream being escaped (a "\r" at the end of one chunk may meet its "\n"
 * in the next). */
typedef struct sv_escaper sv_escaper;

int sv_escaper_new(sv_escaper **out);
void sv_escaper_free(sv_escaper *e);

/* Escapes the stream's next len bytes: *out / *out_len (valid until the next
 * call on e) get the text to print. */
int sv_escaper_feed(sv_escaper *e, const void *data, size_t len, const char **out, size_t *out_len);

/* The end of the stream: what was held back (a final lone "\r"). */
int sv_escaper_finish(sv_escaper *e, const char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
