/* The fake guest's serial console: stdin is what is typed on ttyS0, stdout
 * what the guest prints (as Firecracker's serial device uses them). The
 * fake guest echoes every byte it reads, as a terminal with ECHO does, and
 * runs two "commands" on a line of their own:
 *   flood N   prints N bytes of console lines ("flood ...\n"), then
 *             "flood done\n" (writes block while the console is not read:
 *             a stalled reader stalls this fake guest and its API with it,
 *             which is what tests of the console relay watch for);
 *   poweroff  powers the guest off (exit 0), as Ctrl+Alt+Del would;
 *   deaf      stops reading the console for good (a guest whose serial
 *             input is never drained: what is typed piles up on the host).
 * A stdin at end-of-file (/dev/null) is read no more. */
#include "fake_fc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 256

static char line[LINE_MAX_LEN];
static size_t line_len;
static bool stdin_done, deaf;

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void flood(long long n)
{
	char chunk[4096];
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (i % 64 == 63) ? '\n' : "flood "[i % 64 % 6];
	for (; n > 0; n -= (long long)sizeof(chunk))
		write_all(chunk, n < (long long)sizeof(chunk) ? (size_t)n : sizeof(chunk));
	write_all("\nflood done\n", 12);
}

static void run_line(fake_fc *fc)
{
	line[line_len] = '\0';
	if (!strncmp(line, "flood ", 6))
		flood(atoll(line + 6));
	else if (!strcmp(line, "poweroff"))
		fc_exit(fc, 0);
	else if (!strcmp(line, "deaf"))
		deaf = true;
}

int fc_serial_fd(void) { return stdin_done || deaf ? -1 : STDIN_FILENO; }

void fc_serial_read(fake_fc *fc)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		stdin_done = true;
		return;
	}
	write_all(buf, (size_t)n);
	for (ssize_t i = 0; i < n; i++) {
		char c = buf[i];
		if (c == '\n' || c == '\r') {
			run_line(fc);
			line_len = 0;
			if (deaf)
				return; /* the rest of the read is never looked at */
		} else if (line_len + 1 < sizeof(line)) {
			line[line_len++] = c;
		}
	}
}
