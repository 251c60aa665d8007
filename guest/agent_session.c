/* One byte stream to the host (a vsock or unix connection, a virtio-serial
 * port, an inherited fd): the handshake, the channel table, dispatch of
 * frames to their channels, and the out queue.
 *
 * A stream that breaks the protocol is closed; a virtio-serial port has no
 * connection to close, so there the session ends every channel and skips
 * bytes until the next HELLO (docs/agent-protocol.md §2). Frames for a
 * channel that is not open are dropped: they can be in flight when either
 * side ends a channel. The out queue holds control frames without limit
 * but producers stop above AGENT_OUTQ_HIGH and the session stops reading
 * the host above AGENT_OUTQ_MAX, so it stays bounded either way. */
#include "agent.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

agent_session *agent_session_new(int fd, bool serial)
{
	agent_session *s = calloc(1, sizeof(*s));
	uint8_t *rbuf = malloc(SVA_MAX_FRAME);
	if (!s || !rbuf) {
		free(s);
		free(rbuf);
		return NULL;
	}
	s->fd = fd;
	s->serial = serial;
	s->rbuf = rbuf;
	sva_reader_init(&s->rd, rbuf, SVA_MAX_FRAME);
	if (serial)
		sva_reader_hunt(&s->rd);
	return s;
}

static void channel_free(agent_channel *c)
{
	if (c->kind == SVA_EXEC)
		agent_exec_cancel(c);
	else
		agent_file_cancel(c);
}

/* Frees ended channels whose work is done. */
void agent_session_reap(agent_session *s)
{
	for (agent_channel **pp = &s->channels; *pp;) {
		agent_channel *c = *pp;
		bool done = c->ended;
		if (done && c->kind == SVA_EXEC)
			done = agent_exec_release(c);
		else if (done)
			agent_file_release(c);
		if (done) {
			*pp = c->next;
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

/* Ends every channel; they are freed by agent_session_reap (the poll loop
 * may still hold pointers to them until its turn ends). */
static void end_all_channels(agent_session *s)
{
	for (agent_channel *c = s->channels; c; c = c->next)
		if (!c->ended) {
			channel_free(c);
			c->ended = true;
		}
}

void agent_session_restart(agent_session *s)
{
	end_all_channels(s);
	s->hello_done = false;
	sva_queue_clear(&s->out);
	sva_reader_reset(&s->rd);
	sva_reader_hunt(&s->rd);
}

void agent_session_free(agent_session *s)
{
	if (!s)
		return;
	end_all_channels(s);
	agent_session_reap(s);
	/* Channels whose process is still running were SIGKILLed: wait for
	 * them here rather than leave zombies to a session that is gone. */
	long long until = agent_now_ms() + 2000;
	for (agent_channel *c = s->channels, *next; c; c = next) {
		next = c->next;
		while (!agent_exec_release(c) && agent_now_ms() < until)
			poll(NULL, 0, 10);
		free(c);
	}
	if (s->fd >= 0)
		close(s->fd);
	sva_queue_free(&s->out);
	free(s->rbuf);
	free(s);
}

/* ---- the out queue ---- */

static uint8_t *reserve(agent_session *s, size_t n)
{
	uint8_t *p = sva_queue_reserve(&s->out, n);
	if (!p)
		s->closing = true;
	return p;
}

bool agent_send(agent_session *s, uint8_t type, uint32_t channel, const void *payload, size_t len)
{
	uint8_t *p = len <= SVA_MAX_PAYLOAD ? reserve(s, SVA_HEADER_SIZE + len) : NULL;
	if (!p)
		return false;
	sva_header_put(p, type, channel, (uint32_t)len);
	if (len)
		memcpy(p + SVA_HEADER_SIZE, payload, len);
	sva_queue_commit(&s->out, SVA_HEADER_SIZE + len);
	return true;
}

bool agent_send_msg(agent_session *s, sva_msg *m)
{
	long n = sva_msg_end(m);
	if (n < 0)
		return false;
	sva_frame f;
	sva_header_get(m->buf, &f);
	return agent_send(s, f.type, f.channel, m->buf + SVA_HEADER_SIZE, f.length);
}

uint8_t *agent_reserve_data(agent_session *s, size_t max)
{
	uint8_t *p = reserve(s, SVA_HEADER_SIZE + max);
	return p ? p + SVA_HEADER_SIZE : NULL;
}

void agent_commit_data(agent_session *s, uint8_t type, uint32_t channel, size_t n)
{
	sva_header_put(s->out.data + s->out.len, type, channel, (uint32_t)n);
	sva_queue_commit(&s->out, SVA_HEADER_SIZE + n);
}

void agent_send_error(agent_session *s, uint32_t channel, int e, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		text[0] = '\0';
	uint8_t buf[SVA_HEADER_SIZE + 1100];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_ERROR, channel);
	sva_msg_u32(&m, 1, (uint32_t)e);
	sva_msg_str(&m, 2, text);
	agent_send_msg(s, &m);
	for (agent_channel *c = s->channels; channel && c; c = c->next)
		if (c->id == channel)
			c->ended = true;
}

void agent_send_ok(agent_channel *c)
{
	agent_send(c->s, SVA_OK, c->id, NULL, 0);
	c->ended = true;
}

void agent_channel_consumed(agent_channel *c, size_t n)
{
	uint32_t grant = sva_recv_consumed(&c->recv, n);
	if (!grant)
		return;
	uint8_t buf[SVA_HEADER_SIZE + 10];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_WINDOW, c->id);
	sva_msg_u32(&m, 1, grant);
	agent_send_msg(c->s, &m);
}

bool agent_session_can_produce(const agent_session *s)
{
	return !s->closing && sva_queue_pending(&s->out) < AGENT_OUTQ_HIGH;
}

int agent_session_flush(agent_session *s) { return sva_queue_flush(&s->out, s->fd); }

/* ---- handling frames ---- */

static int protocol_error(agent_session *s, const char *what)
{
	agent_log("protocol error: %s", what);
	if (!s->serial)
		return -1;
	agent_session_restart(s);
	return 0;
}

static agent_channel *find_channel(agent_session *s, uint32_t id)
{
	for (agent_channel *c = s->channels; c; c = c->next)
		if (c->id == id && !c->ended)
			return c;
	return NULL;
}

static int handle_hello(agent_session *s, const sva_frame *f)
{
	sva_field v[SVA_F_HELLO_N];
	if (sva_tlv_parse(f->payload, f->length, sva_spec_hello, sva_spec_hello_n, v) != 0)
		return protocol_error(s, "HELLO does not parse");
	/* A HELLO starts the stream afresh (a new host on virtio-serial). */
	if (s->hello_done)
		end_all_channels(s);
	uint32_t vmin = v[SVA_F_HELLO_VMIN].present ? (uint32_t)v[SVA_F_HELLO_VMIN].num : 1;
	uint32_t vmax = v[SVA_F_HELLO_VMAX].present ? (uint32_t)v[SVA_F_HELLO_VMAX].num : vmin;
	if (vmin > SVA_VERSION || vmax < SVA_VERSION) {
		agent_send_error(s, 0, EPROTONOSUPPORT,
				 "no common protocol version: the host speaks %u..%u, "
				 "this agent %u",
				 vmin, vmax, SVA_VERSION);
		if (!s->serial)
			s->closing = true;
		return 0;
	}
	s->hello_done = true;
	s->window = SVA_DEFAULT_WINDOW;
	uint8_t buf[SVA_HEADER_SIZE + 128];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_HELLO_OK, 0);
	sva_msg_u32(&m, 1, SVA_VERSION);
	sva_msg_str(&m, 4, agent_version);
	sva_msg_u32(&m, 5, s->window);
	sva_msg_u32(&m, 6, SVA_FEATURE_MOUNT);
	agent_send_msg(s, &m);
	return 0;
}

static int open_channel(agent_session *s, const sva_frame *f)
{
	if (f->channel == 0)
		return protocol_error(s, "a channel opened as channel 0");
	if (find_channel(s, f->channel))
		return protocol_error(s, "a channel opened twice");
	size_t n = 0;
	const sva_spec *spec = sva_spec_for(f->type, &n);
	sva_field v[SVA_F_EXEC_N];
	if (sva_tlv_parse(f->payload, f->length, spec, n, v) != 0)
		return protocol_error(s, "a request does not parse");
	agent_channel *c = calloc(1, sizeof(*c));
	if (!c) {
		agent_send_error(s, f->channel, ENOMEM, "out of memory");
		return 0;
	}
	c->id = f->channel;
	c->kind = f->type;
	c->s = s;
	c->send.credit = s->window;
	sva_recv_init(&c->recv, s->window);
	c->next = s->channels;
	s->channels = c;
	if (f->type == SVA_EXEC)
		agent_exec_open(c, v, f->payload, f->length);
	else
		agent_file_open(c, f, v);
	return 0;
}

static int channel_frame(agent_session *s, const sva_frame *f)
{
	agent_channel *c = find_channel(s, f->channel);
	if (!c)
		return 0;	    /* in flight when the channel ended */
	if (f->type == SVA_ERROR) { /* the host cancels */
		channel_free(c);
		c->ended = true;
		return 0;
	}
	if (f->type == SVA_WINDOW) {
		sva_field v[SVA_F_WINDOW_N];
		if (sva_tlv_parse(f->payload, f->length, sva_spec_window, sva_spec_window_n, v) != 0 ||
		    !v[0].present || sva_send_grant(&c->send, (uint32_t)v[0].num) != 0)
			return protocol_error(s, "a WINDOW that does not parse or grants too much");
		return 0;
	}
	if (sva_type_is_data(f->type) && sva_recv_arrived(&c->recv, f->length) != 0)
		return protocol_error(s, "data beyond the window");
	if (c->kind == SVA_EXEC)
		agent_exec_frame(c, f);
	else
		agent_file_frame(c, f);
	return 0;
}

static int handle_frame(agent_session *s, const sva_frame *f)
{
	if (f->type == SVA_HELLO)
		return f->channel ? protocol_error(s, "HELLO on a channel") : handle_hello(s, f);
	if (!s->hello_done)
		return protocol_error(s, "a frame before HELLO");
	if (f->channel == 0) {
		switch (f->type) {
		case SVA_PING:
			if (f->length > SVA_PING_MAX)
				return protocol_error(s, "PING too long");
			agent_send(s, SVA_PONG, 0, f->payload, f->length);
			return 0;
		case SVA_PONG:
		case SVA_ERROR:
			return 0;
		default:
			if (sva_type_opens_channel(f->type))
				return protocol_error(s, "a channel opened as channel 0");
			return protocol_error(s, "an unknown message on channel 0");
		}
	}
	if (sva_type_opens_channel(f->type))
		return open_channel(s, f);
	if (!sva_type_name(f->type)) {
		agent_channel *c = find_channel(s, f->channel);
		if (c) {
			channel_free(c);
			agent_send_error(s, c->id, EPROTO, "unknown message type 0x%02x", f->type);
		}
		return 0;
	}
	return channel_frame(s, f);
}

int agent_session_read(agent_session *s)
{
	if (sva_queue_pending(&s->out) > AGENT_OUTQ_MAX)
		return 0;
	size_t avail;
	uint8_t *space = sva_reader_space(&s->rd, &avail);
	ssize_t n = avail ? read(s->fd, space, avail) : 0;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0 && avail)
		return -1;
	sva_reader_commit(&s->rd, (size_t)n);
	sva_frame f;
	int rc;
	while ((rc = sva_reader_next(&s->rd, &f)) == 1) {
		if (handle_frame(s, &f) != 0)
			return -1;
		if (s->closing)
			break;
	}
	if (rc < 0 && protocol_error(s, "a frame header that is not valid") != 0)
		return -1;
	return 0;
}
