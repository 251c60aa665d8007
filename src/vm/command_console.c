/* The host side of the guest command protocol (include/smartvm/command.h):
 * the smartvm.cmd= boot argument (encoded by proto/guest_cmd.c, the same
 * source the guest's init decodes with) and the console reader.
 *
 * The console is entirely the guest's: anything in the guest can print a
 * line that looks like the exit line. So an exit line is only a candidate
 * until the console ends (the VM powered off): it counts if at most
 * SV_COMMAND_TRAILER_MAX bytes (the kernel's "reboot: Power down") and no
 * other exit line followed it. Anything more makes it output after all, and
 * the reader goes on; the last exit line wins.
 *
 * The reader is a small state machine: before the start line it keeps only a
 * short tail of the console (enough to find a marker split across chunks);
 * while the command runs it hands output on at once, holding back only a
 * suffix that could still become the exit line; after a candidate exit line
 * it holds that line and what followed it. It never allocates more than the
 * chunk it was fed plus those few hundred bytes. Pure: no files, no VM. */
#include <smartvm/command.h>

#include "guest_cmd.h"
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

typedef enum { PHASE_BEFORE, PHASE_OUTPUT, PHASE_EXITED, PHASE_ENDED } phase;

struct sv_command_console {
	phase phase;
	phase exited_from; /* EXITED: BEFORE or OUTPUT, where the exit line was found */
	bool started;
	bool final; /* ENDED: the last exit line counts */
	int status;
	/* BEFORE: the console's tail; OUTPUT: bytes held back; EXITED: the exit
	 * line (exit_len bytes, from its leading '\n') and what followed it. */
	char *pending;
	size_t pending_len;
	size_t exit_len;
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

bool sv_command_console_started(const sv_command_console *c) { return c->started; }

bool sv_command_console_exited(const sv_command_console *c, int *status)
{
	if (c->phase == PHASE_EXITED && status)
		*status = c->status;
	return c->phase == PHASE_EXITED;
}

bool sv_command_console_finished(const sv_command_console *c, int *status)
{
	bool done = c->phase == PHASE_ENDED && c->final;
	if (done && status)
		*status = c->status;
	return done;
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

/* Each scan step consumes a prefix of buf in the current phase. It either
 * keeps what it needs as pending and is done (*advance = DONE), or changes
 * the phase and says where the scan goes on (a loop, not recursion: a
 * console full of exit lines must not grow the stack). */
#define DONE SIZE_MAX

/* buf + i starts with a full exit line of used bytes: the candidate. */
static void enter_exited(sv_command_console *c, size_t i, size_t used, int status, size_t *advance)
{
	c->exited_from = c->phase;
	c->phase = PHASE_EXITED;
	c->status = status;
	c->exit_len = used;
	*advance = i;
}

/* The command runs: everything up to the first possible exit line is output. */
static int scan_output(sv_command_console *c, const char *buf, size_t n, size_t *advance)
{
	*advance = DONE;
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
			enter_exited(c, i, used, status, advance);
			return 0;
		}
		return set_pending(c, buf + i, n - i);
	}
	int rc = emit(c, buf, n);
	return rc ? rc : set_pending(c, "", 0);
}

/* Before the start line: find it, or an exit line (the command was refused). */
static int scan_before(sv_command_console *c, const char *buf, size_t n, size_t *advance)
{
	*advance = DONE;
	const char *start = memmem(buf, n, START_LINE, strlen(START_LINE));
	size_t limit = start ? (size_t)(start - buf) : n;
	for (size_t i = 0; i < limit; i++) {
		size_t used = 0;
		int status = 0;
		if (buf[i] == '\n' && match_exit(buf + i, n - i, &used, &status) == MATCH_FULL) {
			enter_exited(c, i, used, status, advance);
			return 0;
		}
	}
	if (start) {
		c->phase = PHASE_OUTPUT;
		c->started = true;
		*advance = (size_t)(start - buf) + strlen(START_LINE);
		return 0;
	}
	size_t keep = n < BEFORE_TAIL_KEEP ? n : BEFORE_TAIL_KEEP;
	return set_pending(c, buf + n - keep, keep);
}

/* buf is the candidate exit line (exit_len bytes) and what followed it. It
 * stays the candidate while what followed is a short trailer without another
 * exit line; else it was output (or, before the start line, noise) after all
 * and the scan resumes at its last '\n', where another exit line may begin. */
static int scan_exited(sv_command_console *c, const char *buf, size_t n, size_t *advance)
{
	*advance = DONE;
	bool demote = n - c->exit_len > SV_COMMAND_TRAILER_MAX;
	for (size_t i = c->exit_len - 1; !demote && i < n; i++) {
		size_t used = 0;
		int status = 0;
		demote = buf[i] == '\n' && match_exit(buf + i, n - i, &used, &status) == MATCH_FULL;
	}
	if (!demote)
		return set_pending(c, buf, n);
	c->phase = c->exited_from;
	*advance = c->exit_len - 1;
	return c->phase == PHASE_OUTPUT ? emit(c, buf, *advance) : 0;
}

static int scan(sv_command_console *c, const char *buf, size_t n)
{
	for (size_t off = 0, advance = 0;; off += advance) {
		int rc = c->phase == PHASE_BEFORE   ? scan_before(c, buf + off, n - off, &advance)
			 : c->phase == PHASE_OUTPUT ? scan_output(c, buf + off, n - off, &advance)
						    : scan_exited(c, buf + off, n - off, &advance);
		if (rc || advance == DONE)
			return rc;
	}
}

static void hand_out(sv_command_console *c, const char **output, size_t *output_len)
{
	*output = c->out.data ? c->out.data : "";
	*output_len = c->out.len;
}

int sv_command_console_feed(sv_command_console *c, const void *data, size_t len, const char **output,
			    size_t *output_len)
{
	c->out.len = 0;
	*output = "";
	*output_len = 0;
	if (c->phase == PHASE_ENDED || len == 0)
		return 0;
	/* What was held back comes first. */
	char *buf = malloc(c->pending_len + len);
	if (!buf)
		return sv_err(SV_ENOMEM, "out of memory");
	if (c->pending_len)
		memcpy(buf, c->pending, c->pending_len);
	memcpy(buf + c->pending_len, data, len);
	int rc = scan(c, buf, c->pending_len + len);
	free(buf);
	if (rc)
		return rc;
	hand_out(c, output, output_len);
	return 0;
}

int sv_command_console_end(sv_command_console *c, const char **output, size_t *output_len)
{
	c->out.len = 0;
	*output = "";
	*output_len = 0;
	if (c->phase == PHASE_ENDED)
		return 0;
	int rc = 0;
	/* Held back as a possible exit line, it was output after all. */
	if (c->phase == PHASE_OUTPUT && c->pending_len)
		rc = emit(c, c->pending, c->pending_len);
	c->final = c->phase == PHASE_EXITED;
	c->phase = PHASE_ENDED;
	c->pending_len = 0;
	if (rc)
		return rc;
	hand_out(c, output, output_len);
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
	sv_buf all = {0};
	const char *chunk = NULL;
	size_t chunk_len = 0;
	if ((rc = sv_command_console_feed(c, text, len, &chunk, &chunk_len)) == 0 &&
	    (rc = sv_buf_append(&all, chunk, chunk_len)) == 0 &&
	    (rc = sv_command_console_end(c, &chunk, &chunk_len)) == 0)
		rc = sv_buf_append(&all, chunk, chunk_len);
	bool finished = rc == 0 && sv_command_console_finished(c, status);
	sv_command_console_free(c);
	if (rc) {
		sv_buf_free(&all);
		return rc;
	}
	if (output_len)
		*output_len = all.len;
	if (output)
		*output = all.data; /* moved, not strndup'd: it may hold NUL bytes */
	else
		sv_buf_free(&all);
	return finished ? 0 : sv_err(SV_ENOTFOUND, "no command exit line in the console");
}
