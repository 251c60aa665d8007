/* Escaping untrusted bytes for messages, logs and terminals (see escape.h).
 * Pure: no I/O, no state besides the caller's sv_escape_state. */
#include "util/escape.h"

#include "util/error.h"
#include <smartvm/escape.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put(sv_buf *out, const char *s, size_t n) { return sv_buf_append(out, s, n); }

static int put_byte_escaped(sv_buf *out, unsigned char c)
{
	char hex[5];
	snprintf(hex, sizeof(hex), "\\x%02x", c);
	return put(out, hex, 4);
}

static int line_start(sv_buf *out, sv_escape_state *st, const char *indent)
{
	if (st->mid_line || !indent || !*indent)
		return 0;
	return put(out, indent, strlen(indent));
}

int sv_escape_feed(sv_buf *out, sv_escape_state *st, const void *data, size_t len, const char *indent)
{
	const unsigned char *s = data;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < len; i++) {
		unsigned char c = s[i];
		if (st->pending_cr) {
			st->pending_cr = false;
			if (c != '\n' && ((rc = line_start(out, st, indent)) || (rc = put(out, "\\r", 2))))
				break;
			if (c != '\n')
				st->mid_line = true;
		}
		if (c == '\r') {
			st->pending_cr = true;
			continue;
		}
		if (c == '\n') {
			if (indent) {
				/* An empty line still gets its indent: it is quoted too. */
				if ((rc = line_start(out, st, indent)))
					break;
				rc = put(out, "\n", 1);
				st->mid_line = false;
			} else {
				rc = put(out, "\\n", 2);
				st->mid_line = true;
			}
			continue;
		}
		if ((rc = line_start(out, st, indent)))
			break;
		st->mid_line = true;
		if (c == '\\')
			rc = put(out, "\\\\", 2);
		else if (c == '\t' || (c >= 0x20 && c < 0x7f))
			rc = put(out, (const char *)&s[i], 1);
		else
			rc = put_byte_escaped(out, c);
	}
	return rc;
}

int sv_escape_finish(sv_buf *out, sv_escape_state *st)
{
	if (!st->pending_cr)
		return 0;
	st->pending_cr = false;
	st->mid_line = true;
	return put(out, "\\r", 2);
}

char *sv_escape_text(const void *s, size_t len, const char *indent)
{
	sv_buf out = {0};
	sv_escape_state st = {0};
	/* Trailing newlines (and the "\r" of "\r\n") would only add empty lines. */
	const unsigned char *b = s;
	while (len && (b[len - 1] == '\n' || b[len - 1] == '\r'))
		len--;
	if (sv_escape_feed(&out, &st, s, len, indent) || sv_escape_finish(&out, &st) ||
	    sv_buf_append(&out, "", 0)) {
		sv_buf_free(&out);
		return NULL;
	}
	return out.data;
}

char *sv_escape_tail(const void *s, size_t len, int max_lines, size_t max_bytes, const char *indent)
{
	const char *b = s;
	while (len && (b[len - 1] == '\n' || b[len - 1] == '\r'))
		len--;
	size_t start = len > max_bytes ? len - max_bytes : 0;
	int lines = 0;
	for (size_t i = len; i > start; i--)
		if (b[i - 1] == '\n' && ++lines == max_lines) {
			start = i;
			break;
		}
	return sv_escape_text(b + start, len - start, indent);
}

/* ---- the public streaming form (smartvm/escape.h) ---- */

struct sv_escaper {
	sv_escape_state st;
	sv_buf out;
};

int sv_escaper_new(sv_escaper **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

void sv_escaper_free(sv_escaper *e)
{
	if (!e)
		return;
	sv_buf_free(&e->out);
	free(e);
}

static int hand_out(sv_escaper *e, int rc, const char **out, size_t *out_len)
{
	*out = rc == 0 && e->out.data ? e->out.data : "";
	*out_len = rc == 0 ? e->out.len : 0;
	return rc;
}

int sv_escaper_feed(sv_escaper *e, const void *data, size_t len, const char **out, size_t *out_len)
{
	e->out.len = 0;
	return hand_out(e, sv_escape_feed(&e->out, &e->st, data, len, ""), out, out_len);
}

int sv_escaper_finish(sv_escaper *e, const char **out, size_t *out_len)
{
	e->out.len = 0;
	return hand_out(e, sv_escape_finish(&e->out, &e->st), out, out_len);
}
