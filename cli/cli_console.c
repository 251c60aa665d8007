/* Printing a VM's console log (see cli_console.h). The supervisor writes the
 * log (src/vm/vmm_output.c): when it is full it renames it to <log>.1 and
 * starts a new one, so a follower that sees another file at the path drains
 * the old one and moves on. A follower slower than a whole generation (1 MiB)
 * between two calls misses that generation. */
#include "cli_console.h"

#include "cli.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(STDOUT_FILENO, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Copies fd to stdout until EOF, escaped when c->escaper is set. */
static int copy(cli_console *c, int fd)
{
	if (!c->escaper)
		return cli_copy_to_stdout(fd);
	char buf[65536];
	fflush(stdout);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		const char *out = NULL;
		size_t len = 0;
		if (sv_escaper_feed(c->escaper, buf, (size_t)n, &out, &len) == 0 && write_all(out, len) < 0)
			return -1;
	}
}

static int open_log(const char *path, ino_t *ino)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0)
		*ino = st.st_ino;
	return fd;
}

void cli_console_init(cli_console *c, const char *path)
{
	*c = (cli_console){.path = path, .fd = -1};
	if (isatty(STDOUT_FILENO) && sv_escaper_new(&c->escaper) != 0)
		c->escaper = NULL;
}

bool cli_console_opened(const cli_console *c) { return c->fd >= 0; }

int cli_console_pump(cli_console *c, bool from_previous)
{
	if (c->fd < 0) {
		if (from_previous) {
			char *old = NULL;
			ino_t ino = 0;
			int fd = asprintf(&old, "%s.1", c->path) > 0 ? open_log(old, &ino) : -1;
			free(old);
			/* Opened first: a rotation now still leaves us the current log. */
			c->fd = open_log(c->path, &c->ino);
			int rc = fd >= 0 ? copy(c, fd) : 0;
			if (fd >= 0)
				close(fd);
			if (rc < 0)
				return rc;
		} else {
			c->fd = open_log(c->path, &c->ino);
		}
		if (c->fd < 0)
			return 0;
	}
	if (copy(c, c->fd) < 0)
		return -1;
	struct stat st;
	if (stat(c->path, &st) != 0 || st.st_ino == c->ino)
		return 0;
	/* Rotated: what the old log got before it was renamed, then the new one. */
	int rc = copy(c, c->fd);
	close(c->fd);
	c->fd = open_log(c->path, &c->ino);
	return rc < 0 ? rc : c->fd >= 0 ? copy(c, c->fd) : 0;
}

/* Where the last `lines` lines of fd begin (a last line without its newline
 * counts); *found gets how many there are, at most lines. */
static off_t last_lines_start(int fd, unsigned lines, unsigned *found)
{
	struct stat st;
	*found = 0;
	if (fstat(fd, &st) != 0 || st.st_size == 0 || lines == 0)
		return fstat(fd, &st) == 0 ? st.st_size : 0;
	char buf[8192];
	off_t end = st.st_size;
	bool first = true; /* the file's very last byte: a newline there ends the last line */
	unsigned newlines = 0;
	while (end > 0) {
		size_t n = end > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)end;
		ssize_t r = pread(fd, buf, n, end - (off_t)n);
		if (r != (ssize_t)n)
			break;
		for (size_t i = n; i-- > 0;) {
			if (buf[i] == '\n' && !first && ++newlines == lines) {
				*found = lines;
				return end - (off_t)n + (off_t)i + 1;
			}
			first = false;
		}
		end -= (off_t)n;
	}
	*found = newlines + 1;
	return 0;
}

int cli_console_tail(cli_console *c, unsigned lines)
{
	char *old = NULL;
	ino_t ino = 0;
	int prev = asprintf(&old, "%s.1", c->path) > 0 ? open_log(old, &ino) : -1;
	free(old);
	c->fd = open_log(c->path, &c->ino);
	unsigned found = 0;
	off_t from = c->fd >= 0 ? last_lines_start(c->fd, lines, &found) : 0;
	int rc = 0;
	/* Too few lines in the current log: the rest from the one before it. */
	if (prev >= 0 && found < lines) {
		unsigned more = 0;
		off_t prev_from = last_lines_start(prev, lines - found, &more);
		if (lseek(prev, prev_from, SEEK_SET) >= 0)
			rc = copy(c, prev);
	}
	if (prev >= 0)
		close(prev);
	if (c->fd >= 0 && lseek(c->fd, from, SEEK_SET) < 0)
		return -1;
	return rc;
}

void cli_console_close(cli_console *c)
{
	if (c->escaper) {
		const char *out = NULL;
		size_t len = 0;
		if (sv_escaper_finish(c->escaper, &out, &len) == 0)
			(void)write_all(out, len);
		sv_escaper_free(c->escaper);
	}
	if (c->fd >= 0)
		close(c->fd);
	*c = (cli_console){.fd = -1};
}
