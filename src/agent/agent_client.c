/* One connection to a VM's agent (agent_client.h). Sends are queued and
 * go out while pumping, which also reads: a caller that waits for a
 * WINDOW never stops the frames that would bring it. What the guest sends
 * is parsed with bounded lengths and quoted escaped in messages. */
#include "agent/agent_client.h"

#include "util/error.h"
#include "vm/vm_agent.h"
#include <errno.h>
#include <poll.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sva_escape(const uint8_t *s, size_t len, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 5 < size; i++) {
		uint8_t ch = s[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
	}
	if (size)
		out[o < size ? o : size - 1] = '\0';
}

void sva_client_guest_error(const sva_frame *f, char *buf, size_t size, int *errno_out)
{
	sva_field v[SVA_F_ERROR_N];
	char msg[600] = "";
	int e = 0;
	if (sva_tlv_parse(f->payload, f->length, sva_spec_error, sva_spec_error_n, v) == 0) {
		e = (int)v[SVA_F_ERROR_ERRNO].num;
		sva_escape(v[SVA_F_ERROR_MESSAGE].bytes, v[SVA_F_ERROR_MESSAGE].len, msg, sizeof(msg));
	}
	if (errno_out)
		*errno_out = e;
	snprintf(buf, size, "%s (guest errno %d)", *msg ? msg : "an error without a message", e);
}

int sva_client_lost(const sva_client *c, const char *what)
{
	return sv_err(SV_EPROCESS,
		      "VM \"%s\": %s: the connection to the agent was lost (the VM ended or its agent died)",
		      c->vm_id, what);
}

uint32_t sva_client_channel(sva_client *c)
{
	if (++c->next_channel == 0)
		c->next_channel = 1;
	return c->next_channel;
}

int sva_client_send(sva_client *c, uint8_t type, uint32_t channel, const void *payload, size_t len)
{
	uint8_t *p = sva_queue_reserve(&c->out, SVA_HEADER_SIZE + len);
	if (!p)
		return sv_err(SV_ENOMEM, "out of memory");
	sva_header_put(p, type, channel, (uint32_t)len);
	if (len)
		memcpy(p + SVA_HEADER_SIZE, payload, len);
	sva_queue_commit(&c->out, SVA_HEADER_SIZE + len);
	return 0;
}

int sva_client_send_msg(sva_client *c, sva_msg *m)
{
	long n = sva_msg_end(m);
	if (n < 0)
		return sv_err(SV_EINVAL, "a request too big for one frame (64 KiB)");
	sva_frame f;
	sva_header_get(m->buf, &f);
	return sva_client_send(c, f.type, f.channel, m->buf + SVA_HEADER_SIZE, f.length);
}

int sva_client_grant(sva_client *c, uint32_t channel, uint32_t bytes)
{
	if (!bytes)
		return 0;
	uint8_t buf[SVA_HEADER_SIZE + 10];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_WINDOW, channel);
	sva_msg_u32(&m, 1, bytes);
	return sva_client_send_msg(c, &m);
}

int sva_client_next(sva_client *c, sva_frame *f)
{
	int rc = sva_reader_next(&c->rd, f);
	if (rc < 0)
		return sv_err(SV_EIO, "VM \"%s\": the agent sent a frame that is not valid", c->vm_id);
	return rc;
}

static int flush(sva_client *c)
{
	if (sva_queue_flush(&c->out, c->fd) == 0)
		return 0;
	c->eof = true;
	return SV_EPROCESS;
}

int sva_client_pump(sva_client *c, int timeout_ms, int extra_fd, short extra_events, short *extra_revents)
{
	if (extra_revents)
		*extra_revents = 0;
	if (c->eof)
		return SV_EPROCESS;
	if (flush(c))
		return SV_EPROCESS;
	size_t avail;
	uint8_t *space = sva_reader_space(&c->rd, &avail);
	struct pollfd p[2] = {
	    {.fd = c->fd,
	     .events = (short)((avail ? POLLIN : 0) | (sva_queue_pending(&c->out) ? POLLOUT : 0))},
	    {.fd = extra_fd, .events = extra_events},
	};
	int n = poll(p, extra_fd >= 0 ? 2 : 1, timeout_ms);
	if (n < 0 && errno != EINTR)
		return sv_err_errno(SV_EIO, errno, "VM \"%s\": waiting for the agent", c->vm_id);
	if (n <= 0)
		return SV_ETIMEOUT;
	if (extra_revents && extra_fd >= 0)
		*extra_revents = p[1].revents;
	if (p[0].revents & POLLOUT && flush(c))
		return SV_EPROCESS;
	if (avail && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t r = recv(c->fd, space, avail, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			c->eof = true;
			return SV_EPROCESS;
		}
		if (r > 0)
			sva_reader_commit(&c->rd, (size_t)r);
	}
	return 0;
}

int sva_client_recv(sva_client *c, int timeout_ms, sva_frame *f)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		int rc = sva_client_next(c, f);
		if (rc)
			return rc < 0 ? rc : 0;
		long long left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return SV_ETIMEOUT;
		rc = sva_client_pump(c, (int)left, -1, 0, NULL);
		if (rc && rc != SV_ETIMEOUT)
			return rc;
	}
}

int sva_client_open(sva_client *c, sv_vm *vm, const char *what, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->vm_id = strdup(sv_vm_id(vm));
	c->rbuf = malloc(SVA_MAX_FRAME);
	if (!c->vm_id || !c->rbuf) {
		sva_client_close(c);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	sva_reader_init(&c->rd, c->rbuf, SVA_MAX_FRAME);
	int rc = sv_vm__agent_socket(vm, what, &c->fd);
	if (rc) {
		sva_client_close(c);
		return rc;
	}
	uint8_t buf[SVA_HEADER_SIZE + 64];
	sva_msg m;
	sva_msg_hello(&m, buf, sizeof(buf), "libsmartvm");
	sva_frame f;
	if ((rc = sva_client_send_msg(c, &m)) || (rc = sva_client_recv(c, timeout_ms, &f))) {
		if (rc == SV_ETIMEOUT)
			rc = sv_err(
			    SV_ETIMEOUT,
			    "VM \"%s\": no agent answered within %d ms (the image has no smartvm-agent?)",
			    c->vm_id, timeout_ms);
		else if (rc == SV_EPROCESS)
			rc = sva_client_lost(c, what);
		sva_client_close(c);
		return rc;
	}
	sva_field v[SVA_F_HELLO_OK_N];
	if (f.type == SVA_ERROR) {
		char text[700];
		sva_client_guest_error(&f, text, sizeof(text), NULL);
		rc = sv_err(SV_EUNSUPPORTED, "VM \"%s\": %s: %s", c->vm_id, what, text);
	} else if (f.type != SVA_HELLO_OK ||
		   sva_tlv_parse(f.payload, f.length, sva_spec_hello_ok, sva_spec_hello_ok_n, v) != 0 ||
		   v[SVA_F_HELLO_OK_VERSION].num != SVA_VERSION || !v[SVA_F_HELLO_OK_WINDOW].present ||
		   v[SVA_F_HELLO_OK_WINDOW].num == 0 || v[SVA_F_HELLO_OK_WINDOW].num > SVA_MAX_WINDOW) {
		rc = sv_err(SV_EIO, "VM \"%s\": %s: the agent's HELLO_OK is not valid", c->vm_id, what);
	} else {
		c->window = (uint32_t)v[SVA_F_HELLO_OK_WINDOW].num;
		c->features = (uint32_t)v[SVA_F_HELLO_OK_FEATURES].num;
		c->agent_version =
		    strndup((const char *)v[SVA_F_HELLO_OK_AGENT].bytes, v[SVA_F_HELLO_OK_AGENT].len);
		if (!c->agent_version)
			rc = sv_err(SV_ENOMEM, "out of memory");
	}
	if (rc)
		sva_client_close(c);
	return rc;
}

void sva_client_close(sva_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->rbuf);
	sva_queue_free(&c->out);
	free(c->vm_id);
	free(c->agent_version);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}
