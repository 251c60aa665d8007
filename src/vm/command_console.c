/* The host side of the guest command protocol (include/smartvm/command.h):
 * the smartvm.cmd= boot argument (encoded by guest/guest_cmd.c, the same
 * source the guest's init decodes with) and the console reader.
 *
 * The reader is a small state machine: before the start line it keeps only
 * a short tail of the console (enough to find a marker split across
 * chunks); while the command runs it hands output on at once, holding back
 * only a suffix that could still become the exit line. It never allocates
 * more than the chunk it was fed plus that tail. Pure: no files, no VM. */
#include <smartvm/command.h>

#include "../../guest/guest_cmd.h"
#include "util/buf.h"
#include "util/error.h"
#include <smartvm/error.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define START_LINE "=== smartvm: command start ===\n"
#define EXIT_HEAD "\n=== smartvm: exit status "
#define EXIT_TAIL " ==="
/* Longer than any marker, so a marker split across chunks is still found. */
#define BEFORE_TAIL_KEEP 64

typedef enum { PHASE_BEFORE, PHASE_OUTPUT, PHASE_DONE } phase;

struct sv_command_console {
	phase phase;
	int status;
	char *pending; /* BEFORE: the console's tail; OUTPUT: bytes held back */
	size_t pending_len;
	sv_buf out;
};

int sv_command_boot_arg(char **out, const char *const *argv)
{
	*out = NULL;
	if (!argv || !argv[0])
		return sv_err(SV_EINVAL, "command: needs at least one argument");
	char *encoded = sv_guest_cmd_encode(argv);
	if (!encoded)
		return sv_err(SV_ENOMEM, "out of memory");
	size_t len = strlen(SV_GUEST_CMD_KEY) + strlen(encoded);
	if (len + 1 > SV_COMMAND_LINE_MAX) {
		free(encoded);
		return sv_err(SV_EINVAL,
			      "command: too long for the kernel command line (%zu bytes encoded, at most %d)",
			      len, SV_COMMAND_LINE_MAX - 1);
	}
	char *arg = malloc(len + 1);
	if (!arg) {
		free(encoded);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	strcpy(arg, SV_GUEST_CMD_KEY);
	strcat(arg, encoded);
	free(encoded);
	*out = arg;
	return 0;
}

int sv_command_console_new(sv_command_console **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

void sv_command_console_free(sv_command_console *c)
{
	if (!c)
		return;
	free(c->pending);
	sv_buf_free(&c->out);
	free(c);
}

bool sv_command_console_started(const sv_command_console *c) { return c->phase != PHASE_BEFORE; }

bool sv_command_console_finished(const sv_command_console *c, int *status)
{
	if (c->phase == PHASE_DONE && status)
		*status = c->status;
	return c->phase == PHASE_DONE;
}

enum { MATCH_NO, MATCH_PARTIAL, MATCH_FULL };

/* Compares s[0..n) with the literal lit as far as both go. */
static int match_literal(const char *s, size_t n, const char *lit, size_t *used)
{
	size_t l = strlen(lit);
	if (memcmp(s, lit, n < l ? n : l) != 0)
		return MATCH_NO;
	*used = l;
	return n < l ? MATCH_PARTIAL : MATCH_FULL;
}

/* Is s[0..n) the exit line "\n=== smartvm: exit status N ===\n" (or \r\n),
 * a beginning of it, or neither? On a full match *used is its length. */
static int match_exit(const char *s, size_t n, size_t *used, int *status)
{
	size_t i = 0, u;
	int m = match_literal(s, n, EXIT_HEAD, &u);
	if (m != MATCH_FULL)
		return m;
	i = u;
	int value = 0, digits = 0;
	while (i < n && digits < 3 && s[i] >= '0' && s[i] <= '9') {
		value = value * 10 + (s[i++] - '0');
		digits++;
	}
	if (i == n)
		return MATCH_PARTIAL;
	if (digits == 0)
		return MATCH_NO;
	if ((m = match_literal(s + i, n - i, EXIT_TAIL, &u)) != MATCH_FULL)
		return m;
	i += u;
	if (i < n && s[i] == '\r')
		i++;
	if (i == n)
		return MATCH_PARTIAL;
	if (s[i] != '\n')
		return MATCH_NO;
	*used = i + 1;
	*status = value;
	return MATCH_FULL;
}

static int emit(sv_command_console *c, const char *data, size_t len)
{
	return sv_buf_append(&c->out, data, len);
}

static int set_pending(sv_command_console *c, const char *data, size_t len)
{
	char *nb = malloc(len ? len : 1);
	if (!nb)
		return sv_err(SV_ENOMEM, "out of memory");
	memcpy(nb, data, len);
	free(c->pending);
	c->pending = nb;
	c->pending_len = len;
	return 0;
}

/* The command runs: everything up to the first possible exit line is output. */
static int scan_output(sv_command_console *c, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		size_t used = 0;
		int status = 0;
		int m = match_exit(buf + i, n - i, &used, &status);
		if (m == MATCH_NO)
			continue;
		int rc = emit(c, buf, i);
		if (rc)
			return rc;
		if (m == MATCH_FULL) {
			c->phase = PHASE_DONE;
			c->status = status;
			return set_pending(c, "", 0);
		}
		return set_pending(c, buf + i, n - i);
	}
	int rc = emit(c, buf, n);
	return rc ? rc : set_pending(c, "", 0);
}

/* Before the start line: find it, or an exit line (the command was refused). */
static int scan_before(sv_command_console *c, const char *buf, size_t n)
{
	const char *start = memmem(buf, n, START_LINE, strlen(START_LINE));
	size_t limit = start ? (size_t)(start - buf) : n;
	for (size_t i = 0; i < limit; i++) {
		size_t used = 0;
		int status = 0;
		if (buf[i] == '\n' && match_exit(buf + i, n - i, &used, &status) == MATCH_FULL) {
			c->phase = PHASE_DONE;
			c->status = status;
			return set_pending(c, "", 0);
		}
	}
	if (start) {
		c->phase = PHASE_OUTPUT;
		size_t skip = (size_t)(start - buf) + strlen(START_LINE);
		return scan_output(c, buf + skip, n - skip);
	}
	size_t keep = n < BEFORE_TAIL_KEEP ? n : BEFORE_TAIL_KEEP;
	return set_pending(c, buf + n - keep, keep);
}

int sv_command_console_feed(sv_command_console *c, const void *data, size_t len, const char **output,
			    size_t *output_len)
{
	c->out.len = 0;
	*output = "";
	*output_len = 0;
	if (c->phase == PHASE_DONE || len == 0)
		return 0;
	/* What was held back comes first. */
	char *buf = malloc(c->pending_len + len);
	if (!buf)
		return sv_err(SV_ENOMEM, "out of memory");
	if (c->pending_len)
		memcpy(buf, c->pending, c->pending_len);
	memcpy(buf + c->pending_len, data, len);
	size_t n = c->pending_len + len;
	int rc = c->phase == PHASE_BEFORE ? scan_before(c, buf, n) : scan_output(c, buf, n);
	free(buf);
	if (rc)
		return rc;
	*output = c->out.data ? c->out.data : "";
	*output_len = c->out.len;
	return 0;
}

int sv_command_parse_console(const char *text, size_t len, char **output, size_t *output_len, int *status)
{
	if (output)
		*output = NULL;
	if (output_len)
		*output_len = 0;
	sv_command_console *c = NULL;
	int rc = sv_command_console_new(&c);
	if (rc)
		return rc;
	const char *chunk = NULL;
	size_t chunk_len = 0;
	if ((rc = sv_command_console_feed(c, text, len, &chunk, &chunk_len)) == 0) {
		/* Not finished: what was held back was output after all. */
		if (c->phase == PHASE_OUTPUT && c->pending_len)
			rc = emit(c, c->pending, c->pending_len);
	}
	if (rc == 0 && output) {
		/* memcpy, not strndup: the output may contain NUL bytes. */
		if ((*output = malloc(c->out.len + 1))) {
			if (c->out.len)
				memcpy(*output, c->out.data, c->out.len);
			(*output)[c->out.len] = '\0';
		} else {
			rc = sv_err(SV_ENOMEM, "out of memory");
		}
	}
	if (rc == 0 && output_len)
		*output_len = c->out.len;
	if (rc == 0 && !sv_command_console_finished(c, status))
		rc = sv_err(SV_ENOTFOUND, "no command exit line in the console");
	sv_command_console_free(c);
	return rc;
}
