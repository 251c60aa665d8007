/* A raw protocol peer for the tests (see agentfixture.h). */
#include "svtest.h"
#include "agentfixture.h"

#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *sat_agent_path(void)
{
	static char path[4096];
	const char *build = getenv("SMARTVM_BUILD_ROOT");
	if (!build)
		fail_msg("SMARTVM_BUILD_ROOT is not set: run the tests through meson test");
	snprintf(path, sizeof(path), "%s/guest/smartvm-agent", build);
	return path;
}

void sat_adopt(sat_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->rbuf = malloc(SVA_MAX_FRAME);
	c->frame = malloc(SVA_MAX_FRAME);
	assert_non_null(c->rbuf);
	assert_non_null(c->frame);
	sva_reader_init(&c->rd, c->rbuf, SVA_MAX_FRAME);
}

void sat_spawn_agent(sat_conn *c, const char *const *extra)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	char fdarg[16];
	snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
	const char *argv[16] = {sat_agent_path(), "--fd", fdarg};
	size_t n = 3;
	for (size_t i = 0; extra && extra[i] && n < 15; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	sv_spawn_opts so = {.argv = argv,
			    .stdin_fd = -1,
			    .stdout_fd = 2,
			    .stderr_fd = 2,
			    .keep_fds = &sv[1],
			    .n_keep_fds = 1};
	pid_t pid;
	assert_int_equal(sv_spawn(&so, &pid, NULL), 0);
	close(sv[1]);
	sat_adopt(c, sv[0]);
	c->pid = pid;
}

void sat_close(sat_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->pid > 0) {
		/* Closing the stream ends the agent; SIGKILL if it does not. */
		if (sv_reap(c->pid, 5000, NULL) != 0) {
			kill(c->pid, SIGKILL);
			sv_reap(c->pid, 5000, NULL);
		}
		c->pid = 0;
	}
	free(c->rbuf);
	free(c->frame);
	c->rbuf = c->frame = NULL;
}

void sat_send_raw(sat_conn *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(c->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("writing to the agent stream: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

void sat_send(sat_conn *c, uint8_t type, uint32_t channel, const void *payload, size_t len)
{
	uint8_t h[SVA_HEADER_SIZE];
	sva_header_put(h, type, channel, (uint32_t)len);
	sat_send_raw(c, h, sizeof(h));
	if (len)
		sat_send_raw(c, payload, len);
}

void sat_send_msg(sat_conn *c, sva_msg *m)
{
	long n = sva_msg_end(m);
	assert_true(n >= SVA_HEADER_SIZE);
	sat_send_raw(c, m->buf, (size_t)n);
}

bool sat_recv(sat_conn *c, int timeout_ms, bool *eof)
{
	long long deadline = sv_now_ms() + timeout_ms;
	if (eof)
		*eof = false;
	for (;;) {
		int rc = sva_reader_next(&c->rd, &c->f);
		if (rc < 0)
			fail_msg("the peer sent a frame header that is not valid");
		if (rc == 1) {
			memcpy(c->frame, c->f.payload, c->f.length);
			c->f.payload = c->frame;
			return true;
		}
		long long left = deadline - sv_now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		size_t avail;
		uint8_t *space = sva_reader_space(&c->rd, &avail);
		ssize_t n = read(c->fd, space, avail);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			if (eof)
				*eof = true;
			return false;
		}
		sva_reader_commit(&c->rd, (size_t)n);
	}
}

void sat_expect(sat_conn *c, uint8_t type, uint32_t channel, int timeout_ms)
{
	long long deadline = sv_now_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - sv_now_ms();
		bool eof = false;
		if (left <= 0 || !sat_recv(c, (int)left, &eof))
			fail_msg("expected %s on channel %u: %s", sva_type_name(type), channel,
				 eof ? "the stream ended" : "timed out");
		if (c->f.type == type && c->f.channel == channel)
			return;
		if (c->f.type == SVA_WINDOW)
			continue;
		if (c->f.type == SVA_ERROR) {
			char *msg = sat_str(c, SVA_F_ERROR_MESSAGE);
			fail_msg("expected %s on channel %u, got ERROR on %u: %s", sva_type_name(type),
				 channel, c->f.channel, msg);
		}
		fail_msg("expected %s on channel %u, got %s on %u", sva_type_name(type), channel,
			 sva_type_name(c->f.type) ? sva_type_name(c->f.type) : "?", c->f.channel);
	}
}

bool sat_wait_eof(sat_conn *c, int timeout_ms)
{
	long long deadline = sv_now_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - sv_now_ms();
		bool eof = false;
		if (left <= 0)
			return false;
		if (!sat_recv(c, (int)left, &eof))
			return eof;
	}
}

uint32_t sat_hello(sat_conn *c)
{
	uint8_t buf[64];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_HELLO, 0);
	sva_msg_u32(&m, 1, 1);
	sva_msg_u32(&m, 2, 1);
	sva_msg_str(&m, 3, "svtest");
	sat_send_msg(c, &m);
	sat_expect(c, SVA_HELLO_OK, 0, 10000);
	assert_int_equal(sat_u32(c, SVA_F_HELLO_OK_VERSION), 1);
	return sat_u32(c, SVA_F_HELLO_OK_WINDOW);
}

static void parse_current(sat_conn *c, sva_field *v)
{
	size_t n = 0;
	const sva_spec *spec = sva_spec_for(c->f.type, &n);
	assert_non_null(spec);
	assert_int_equal(sva_tlv_parse(c->f.payload, c->f.length, spec, n, v), 0);
}

bool sat_has(sat_conn *c, size_t field)
{
	sva_field v[32];
	parse_current(c, v);
	return v[field].present;
}

uint32_t sat_u32(sat_conn *c, size_t field)
{
	sva_field v[32];
	parse_current(c, v);
	if (!v[field].present)
		fail_msg("%s without field %zu", sva_type_name(c->f.type), field);
	return (uint32_t)v[field].num;
}

uint64_t sat_u64(sat_conn *c, size_t field)
{
	sva_field v[32];
	parse_current(c, v);
	if (!v[field].present)
		fail_msg("%s without field %zu", sva_type_name(c->f.type), field);
	return v[field].num;
}

char *sat_str(sat_conn *c, size_t field)
{
	sva_field v[32];
	parse_current(c, v);
	if (!v[field].present)
		fail_msg("%s without field %zu", sva_type_name(c->f.type), field);
	return strndup((const char *)v[field].bytes, v[field].len);
}

void sat_exec(sat_conn *c, uint32_t ch, const char *const *argv, bool with_stdin)
{
	static uint8_t buf[SVA_MAX_FRAME];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_EXEC, ch);
	for (size_t i = 0; argv[i]; i++)
		sva_msg_str(&m, SVA_T_EXEC_ARG, argv[i]);
	if (with_stdin)
		sva_msg_u32(&m, SVA_T_EXEC_STDIN, 1);
	sat_send_msg(c, &m);
}

static void append(char **buf, size_t *len, const uint8_t *data, size_t n)
{
	char *grown = realloc(*buf, *len + n + 1);
	assert_non_null(grown);
	memcpy(grown + *len, data, n);
	*len += n;
	grown[*len] = '\0';
	*buf = grown;
}

void sat_collect(sat_conn *c, uint32_t ch, int timeout_ms, sat_result *r)
{
	memset(r, 0, sizeof(*r));
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	r->code = -1;
	long long deadline = sv_now_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - sv_now_ms();
		bool eof = false;
		if (left <= 0 || !sat_recv(c, (int)left, &eof))
			fail_msg("collecting channel %u: %s (so far: stdout \"%s\", stderr \"%s\")", ch,
				 eof ? "the stream ended" : "timed out", r->out, r->err);
		if (c->f.channel != ch)
			continue;
		if (c->f.type == SVA_STDOUT || c->f.type == SVA_STDERR) {
			if (c->f.type == SVA_STDOUT)
				append(&r->out, &r->out_len, c->f.payload, c->f.length);
			else
				append(&r->err, &r->err_len, c->f.payload, c->f.length);
			uint8_t buf[32];
			sva_msg m;
			sva_msg_begin(&m, buf, sizeof(buf), SVA_WINDOW, ch);
			sva_msg_u32(&m, 1, c->f.length);
			sat_send_msg(c, &m);
		} else if (c->f.type == SVA_EXIT) {
			if (sat_has(c, SVA_F_EXIT_CODE))
				r->code = (int)sat_u32(c, SVA_F_EXIT_CODE);
			if (sat_has(c, SVA_F_EXIT_SIGNAL))
				r->signal = (int)sat_u32(c, SVA_F_EXIT_SIGNAL);
			r->timed_out = sat_has(c, SVA_F_EXIT_TIMED_OUT) && sat_u32(c, SVA_F_EXIT_TIMED_OUT);
			return;
		} else if (c->f.type == SVA_ERROR) {
			char *msg = sat_str(c, SVA_F_ERROR_MESSAGE);
			fail_msg("channel %u: ERROR %s", ch, msg);
		}
	}
}

void sat_result_free(sat_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}
