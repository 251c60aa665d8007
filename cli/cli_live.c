/* Helpers shared by the live-operation commands (see cli_live.h). */
#include "cli_live.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_live_parse(cli_opts *p, cli_ctx *cli, int argc, char **argv, const struct option *longopts,
		   int (*on_opt)(cli_ctx *cli, int opt, const char *arg, void *ctx), void *ctx)
{
	int c, rc = 0;
	cli_opts_begin(p, cli, argc, argv, NULL, longopts);
	while (rc == 0 && (c = cli_opts_next(p)) > 0)
		rc = on_opt ? on_opt(cli, c, p->optarg, ctx) : 0;
	if (rc)
		return rc;
	return c == CLI_OPTS_EXIT ? p->exit_code : -1;
}

int cli_live_args(cli_opts *p, int n, const char *names)
{
	int have = p->argc - p->optind;
	if (have < n)
		return cli_usage_error(p->cli, "missing arguments: expected %s", names);
	if (have > n)
		return cli_usage_error(p->cli, "unexpected argument \"%s\"", p->argv[p->optind + n]);
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	if (!*s || *s == '-')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || (*end && *end != ':'))
		return -1;
	*out = v;
	return (int)(end - s);
}

int cli_live_bucket(cli_ctx *cli, const char *flag, const char *text, sv_token_bucket *tb)
{
	*tb = (sv_token_bucket){ 0 };
	const char *s = text;
	int n = parse_u64(s, &tb->size);
	if (n > 0 && s[n] == ':') {
		s += n + 1;
		n = parse_u64(s, &tb->refill_time);
		if (n > 0 && s[n] == ':') {
			s += n + 1;
			n = parse_u64(s, &tb->one_time_burst);
			if (n > 0 && !s[n])
				return tb->size && tb->refill_time ? 0 : cli_usage_error(cli, "%s \"%s\": SIZE and REFILL_MS must be greater than 0", flag, text);
		} else if (n > 0 && !s[n]) {
			return tb->size && tb->refill_time ? 0 : cli_usage_error(cli, "%s \"%s\": SIZE and REFILL_MS must be greater than 0", flag, text);
		}
	}
	return cli_usage_error(cli, "%s \"%s\": expected SIZE:REFILL_MS[:BURST] (non-negative integers)", flag, text);
}

/* Reads at most max_bytes + 1 bytes of fd into buf, so that a file that grew
 * since fstat is caught too. Returns the length, or -1 with errno. */
static ssize_t read_bounded(int fd, char *buf, size_t max_bytes)
{
	size_t len = 0;
	while (len <= max_bytes) {
		ssize_t n = read(fd, buf + len, max_bytes + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

int cli_live_read_file(const char *flag, const char *path, size_t max_bytes, char **out)
{
	*out = NULL;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return cli_error(CLI_EXIT_USAGE, "%s: reading %s: %s", flag, path, strerror(e));
	}
	char *buf = NULL;
	ssize_t len = -1;
	int code = 0;
	if (!S_ISREG(st.st_mode))
		code = cli_error(CLI_EXIT_USAGE, "%s: reading %s: not a regular file", flag, path);
	else if ((uint64_t)st.st_size <= max_bytes && !(buf = malloc(max_bytes + 2)))
		code = cli_error(CLI_EXIT_FAILURE, "out of memory");
	else if (buf && (len = read_bounded(fd, buf, max_bytes)) < 0)
		code = cli_error(CLI_EXIT_USAGE, "%s: reading %s: %s", flag, path, strerror(errno));
	if (!code && (!buf || (size_t)len > max_bytes))
		code =
		    cli_error(CLI_EXIT_USAGE, "%s: reading %s: larger than %zu bytes", flag, path, max_bytes);
	close(fd);
	if (code) {
		free(buf);
		return code;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}
