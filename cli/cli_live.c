/* Helpers shared by the live-operation commands (see cli_live.h). */
#include "cli_live.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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

int cli_live_read_file(const char *flag, const char *path, char **out)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f)
		return cli_error(CLI_EXIT_USAGE, "%s %s: %s", flag, path, strerror(errno));
	size_t cap = 0, len = 0;
	char *buf = NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return cli_error(CLI_EXIT_FAILURE, "out of memory");
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	*out = buf;
	return 0;
}
