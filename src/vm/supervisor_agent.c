/* The supervisor's relay for the guest agent (docs/agent-protocol.md §1).
 *
 * It owns the one connection to the agent (QEMU's virtio-serial socket, or
 * Firecracker's hybrid vsock with its CONNECT handshake), made when the
 * first client says HELLO and retried while the agent is not up yet. Any
 * number of clients connect to <vm dir>/agent.sock and speak the protocol
 * as if the supervisor were the agent: it answers their HELLO with the
 * agent's, gives each of their channels a number of its own on the agent
 * side, and routes frames both ways, PONGs by the order of PINGs.
 *
 * Invariants:
 *  - Nothing runs, and nothing is allocated beyond the listening socket and
 *    an epoll fd, until a client connects.
 *  - Memory stays bounded whatever the peers do: data frames fit in the
 *    windows the two ends grant each other end to end; beyond that, the
 *    relay stops reading the agent while a client's queue is above
 *    QUEUE_MAX, and stops reading clients while the agent's queue is.
 *  - A client never sees another's channels; frames for a channel that is
 *    not open (in flight when it ended) are dropped. A client that leaves
 *    cancels its channels (ERROR to the agent: its processes are killed).
 *  - Losing the agent's connection disconnects every client: their calls
 *    fail with "connection lost" instead of waiting.
 * Agent channel numbers are never reused within a connection (a 32-bit
 * counter), so a late frame cannot reach a newer channel.
 */
#include "vm/supervisor_agent.h"

#include "agent_proto.h"
#include "agent_queue.h"
#include "util/array.h"
#include "util/error.h"
#include "util/log.h"
#include "vm/vm_agent.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#define QUEUE_MAX (1u << 20)
#define RETRY_MS 100
#define MAX_PENDING_PINGS 4096
#define VSOCK_LINE_MAX 64

typedef struct client client;

typedef struct {
	uint32_t agent_id;
	uint32_t client_id;
	client *owner;
	uint8_t kind;
} channel;

struct client {
	int fd;
	sva_reader rd;
	uint8_t *rbuf;
	sva_queue out;
	bool hello_pending, hello_done, closing;
	client *next;
};

typedef enum { T_DOWN, T_VSOCK_LINE, T_HELLO, T_UP } tstate;

struct sv_agent_relay {
	int dir_fd, listen_fd, epfd, timer_fd;
	char *vm_dir;
	sv_agent_transport transport;
	bool transport_known;
	/* the agent */
	int tfd;
	tstate state;
	sva_reader trd;
	uint8_t *trbuf;
	sva_queue tout;
	char vsock_line[VSOCK_LINE_MAX];
	size_t vsock_len;
	char *agent_version;
	uint32_t features; /* the agent's HELLO_OK features, passed on to clients */
	uint32_t window;
	bool t_reading; /* EPOLLIN on tfd */
	/* clients and channels */
	client *clients;
	channel *channels;
	size_t n_channels, cap_channels;
	uint32_t next_id;
	/* FIFO of whom each PONG goes to; allocated at the first PING. Kept
	 * out of the struct, which is calloc'd: zeroing 32 KiB cost a forked
	 * supervisor eight page faults whether its VM is pinged or not. */
	client **pings;
	size_t ping_head, ping_len;
};

/* ---- queues and epoll interest ---- */

static void interest(sv_agent_relay *r, int fd, void *tag, bool in, bool out, bool add)
{
	struct epoll_event ev = {.events = (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0), .data.ptr = tag};
	if (epoll_ctl(r->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0)
		sv_debug("agent relay: epoll_ctl: %s", strerror(errno));
}

/* Tags for the fixed fds (clients are tagged with their struct). */
static char tag_listen, tag_timer, tag_transport;

static bool any_client_full(const sv_agent_relay *r)
{
	for (const client *c = r->clients; c; c = c->next)
		if (sva_queue_pending(&c->out) > QUEUE_MAX)
			return true;
	return false;
}

/* Re-derives what to wait for on the transport and every client. */
static void update_interest(sv_agent_relay *r)
{
	if (r->tfd >= 0) {
		r->t_reading = !any_client_full(r);
		interest(r, r->tfd, &tag_transport, r->t_reading, sva_queue_pending(&r->tout) > 0, false);
	}
	bool read_clients = sva_queue_pending(&r->tout) <= QUEUE_MAX;
	for (client *c = r->clients; c; c = c->next)
		interest(r, c->fd, c, read_clients && !c->closing, sva_queue_pending(&c->out) > 0, false);
}

/* ---- frames out ---- */

static void send_frame(sva_queue *q, bool *failed, uint8_t type, uint32_t channel, const uint8_t *payload,
		       uint32_t len)
{
	uint8_t h[SVA_HEADER_SIZE];
	sva_header_put(h, type, channel, len);
	if (sva_queue_add(q, h, sizeof(h)) < 0 || (len && sva_queue_add(q, payload, len) < 0))
		*failed = true;
}

static void to_client(client *c, uint8_t type, uint32_t channel, const uint8_t *payload, uint32_t len)
{
	send_frame(&c->out, &c->closing, type, channel, payload, len);
}

static void to_agent(sv_agent_relay *r, uint8_t type, uint32_t channel, const uint8_t *payload, uint32_t len)
{
	bool failed = false;
	send_frame(&r->tout, &failed, type, channel, payload, len);
	if (failed)
		sv_warn("agent relay: out of memory queueing for the agent");
}

static void client_error(client *c, uint32_t channel, int e, const char *text)
{
	uint8_t buf[SVA_HEADER_SIZE + 600];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_ERROR, channel);
	sva_msg_u32(&m, 1, (uint32_t)e);
	sva_msg_str(&m, 2, text);
	long n = sva_msg_end(&m);
	if (n > 0)
		to_client(c, SVA_ERROR, channel, buf + SVA_HEADER_SIZE, (uint32_t)(n - SVA_HEADER_SIZE));
}

static void agent_cancel(sv_agent_relay *r, uint32_t agent_id)
{
	uint8_t buf[SVA_HEADER_SIZE + 16];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_ERROR, agent_id);
	sva_msg_u32(&m, 1, ECANCELED);
	long n = sva_msg_end(&m);
	if (n > 0)
		to_agent(r, SVA_ERROR, agent_id, buf + SVA_HEADER_SIZE, (uint32_t)(n - SVA_HEADER_SIZE));
}

static void answer_hello(sv_agent_relay *r, client *c)
{
	uint8_t buf[SVA_HEADER_SIZE + 200];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_HELLO_OK, 0);
	sva_msg_u32(&m, 1, SVA_VERSION);
	sva_msg_str(&m, 4, r->agent_version ? r->agent_version : "");
	sva_msg_u32(&m, 5, r->window);
	sva_msg_u32(&m, 6, r->features);
	long n = sva_msg_end(&m);
	if (n > 0)
		to_client(c, SVA_HELLO_OK, 0, buf + SVA_HEADER_SIZE, (uint32_t)(n - SVA_HEADER_SIZE));
	c->hello_pending = false;
	c->hello_done = true;
}

/* ---- channels ---- */

static channel *by_agent_id(sv_agent_relay *r, uint32_t id)
{
	for (size_t i = 0; i < r->n_channels; i++)
		if (r->channels[i].agent_id == id)
			return &r->channels[i];
	return NULL;
}

static channel *by_client_id(sv_agent_relay *r, const client *c, uint32_t id)
{
	for (size_t i = 0; i < r->n_channels; i++)
		if (r->channels[i].owner == c && r->channels[i].client_id == id)
			return &r->channels[i];
	return NULL;
}

static void drop_channel(sv_agent_relay *r, channel *ch) { *ch = r->channels[--r->n_channels]; }

static channel *new_channel(sv_agent_relay *r, client *c, uint32_t client_id, uint8_t kind)
{
	channel *grown = sv_array_grow(r->channels, &r->cap_channels, r->n_channels, sizeof(*grown), 16);
	if (!grown)
		return NULL;
	r->channels = grown;
	if (++r->next_id == 0)
		r->next_id = 1;
	channel *ch = &r->channels[r->n_channels++];
	*ch = (channel){.agent_id = r->next_id, .client_id = client_id, .owner = c, .kind = kind};
	return ch;
}

/* True when this frame from the agent is the last of its channel. */
static bool ends_channel(uint8_t kind, uint8_t type)
{
	switch (type) {
	case SVA_EXIT:
	case SVA_OK:
	case SVA_ERROR:
		return true;
	case SVA_FILE_END:
		return kind == SVA_GET;
	case SVA_FILE_INFO:
		return kind == SVA_STAT;
	default:
		return false;
	}
}

/* ---- the transport ---- */

static void transport_close(sv_agent_relay *r, const char *why)
{
	if (r->tfd >= 0) {
		sv_debug("agent relay: connection to the agent closed: %s", why);
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->tfd, NULL);
		close(r->tfd);
	}
	r->tfd = -1;
	r->state = T_DOWN;
	sva_queue_free(&r->tout);
	r->n_channels = 0;
	r->ping_len = 0;
	/* Everyone that was talking to the agent through it is cut off. */
	for (client *c = r->clients; c; c = c->next)
		if (c->hello_done)
			c->closing = true;
}

static void send_hello(sv_agent_relay *r)
{
	uint8_t buf[SVA_HEADER_SIZE + 64];
	sva_msg m;
	sva_msg_hello(&m, buf, sizeof(buf), "smartvm-supervisor");
	long n = sva_msg_end(&m);
	to_agent(r, SVA_HELLO, 0, buf + SVA_HEADER_SIZE, (uint32_t)(n - SVA_HEADER_SIZE));
	r->state = T_HELLO;
}

static void arm_retry(sv_agent_relay *r)
{
	struct itimerspec its = {.it_value = {.tv_nsec = RETRY_MS * 1000000L}};
	timerfd_settime(r->timer_fd, 0, &its, NULL);
}

static bool clients_waiting(const sv_agent_relay *r)
{
	for (const client *c = r->clients; c; c = c->next)
		if (c->hello_pending)
			return true;
	return false;
}

/* Connects (again) while clients wait for the agent. */
static void transport_connect(sv_agent_relay *r)
{
	if (r->tfd >= 0 || !clients_waiting(r))
		return;
	if (!r->transport_known) {
		if (sv_agent_transport_read(r->dir_fd, r->vm_dir, &r->transport) != 0) {
			for (client *c = r->clients; c; c = c->next)
				if (c->hello_pending) {
					client_error(c, 0, ENOTSUP,
						     "this VM has no channel to a guest agent");
					c->closing = true;
				}
			return;
		}
		r->transport_known = true;
	}
	int fd = sv_agent_unix_connect(r->transport.path, true);
	if (fd < 0) {
		arm_retry(r);
		return;
	}
	if (!r->trbuf && !(r->trbuf = malloc(SVA_MAX_FRAME))) {
		close(fd);
		return;
	}
	r->tfd = fd;
	sva_reader_init(&r->trd, r->trbuf, SVA_MAX_FRAME);
	r->next_id = 0;
	interest(r, fd, &tag_transport, true, false, true);
	if (r->transport.kind != SV_AGENT_VSOCK) {
		send_hello(r);
		return;
	}
	char line[32];
	int n = snprintf(line, sizeof(line), "CONNECT %u\n", r->transport.port);
	if (sva_queue_add(&r->tout, (const uint8_t *)line, (size_t)n) < 0) {
		transport_close(r, "out of memory");
		return;
	}
	r->vsock_len = 0;
	r->state = T_VSOCK_LINE;
}

/* Firecracker answers CONNECT with one line, "OK <port>\n". */
static void read_vsock_line(sv_agent_relay *r)
{
	while (r->vsock_len < VSOCK_LINE_MAX - 1) {
		ssize_t n = read(r->tfd, r->vsock_line + r->vsock_len, 1);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* The guest does not listen (yet): Firecracker closes. */
			transport_close(r, "vsock connection refused");
			arm_retry(r);
			return;
		}
		if (r->vsock_line[r->vsock_len++] == '\n')
			break;
	}
	r->vsock_line[r->vsock_len] = '\0';
	if (strncmp(r->vsock_line, "OK ", 3) != 0 || r->vsock_line[r->vsock_len - 1] != '\n') {
		transport_close(r, "vsock handshake refused");
		arm_retry(r);
		return;
	}
	send_hello(r);
}

static void from_agent_control(sv_agent_relay *r, const sva_frame *f)
{
	switch (f->type) {
	case SVA_HELLO_OK: {
		if (r->state != T_HELLO)
			return;
		sva_field v[SVA_F_HELLO_OK_N];
		if (sva_tlv_parse(f->payload, f->length, sva_spec_hello_ok, sva_spec_hello_ok_n, v) != 0 ||
		    v[SVA_F_HELLO_OK_VERSION].num != SVA_VERSION || !v[SVA_F_HELLO_OK_WINDOW].present ||
		    v[SVA_F_HELLO_OK_WINDOW].num == 0 || v[SVA_F_HELLO_OK_WINDOW].num > SVA_MAX_WINDOW) {
			transport_close(r, "HELLO_OK does not parse");
			return;
		}
		free(r->agent_version);
		r->agent_version =
		    strndup((const char *)v[SVA_F_HELLO_OK_AGENT].bytes, v[SVA_F_HELLO_OK_AGENT].len);
		r->window = (uint32_t)v[SVA_F_HELLO_OK_WINDOW].num;
		r->features = (uint32_t)v[SVA_F_HELLO_OK_FEATURES].num; /* 0 from an older agent */
		r->state = T_UP;
		for (client *c = r->clients; c; c = c->next)
			if (c->hello_pending)
				answer_hello(r, c);
		return;
	}
	case SVA_PING:
		to_agent(r, SVA_PONG, 0, f->payload, f->length);
		return;
	case SVA_PONG:
		if (r->ping_len) {
			client *c = r->pings[r->ping_head];
			r->ping_head = (r->ping_head + 1) % MAX_PENDING_PINGS;
			r->ping_len--;
			if (c)
				to_client(c, SVA_PONG, 0, f->payload, f->length);
		}
		return;
	case SVA_ERROR:
		if (r->state == T_HELLO)
			transport_close(r, "the agent refused the HELLO");
		return;
	default:
		return;
	}
}

static void from_agent(sv_agent_relay *r, const sva_frame *f)
{
	if (f->channel == 0) {
		from_agent_control(r, f);
		return;
	}
	channel *ch = by_agent_id(r, f->channel);
	if (!ch)
		return;
	to_client(ch->owner, f->type, ch->client_id, f->payload, f->length);
	if (ends_channel(ch->kind, f->type))
		drop_channel(r, ch);
}

static void transport_read(sv_agent_relay *r)
{
	if (r->state == T_VSOCK_LINE) {
		read_vsock_line(r);
		return;
	}
	size_t avail;
	uint8_t *space = sva_reader_space(&r->trd, &avail);
	ssize_t n = avail ? read(r->tfd, space, avail) : 0;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 && avail) {
		transport_close(r, n < 0 ? strerror(errno) : "end of stream");
		if (r->state == T_DOWN && clients_waiting(r))
			arm_retry(r);
		return;
	}
	sva_reader_commit(&r->trd, (size_t)n);
	sva_frame f;
	int rc = 0;
	while (r->tfd >= 0 && (rc = sva_reader_next(&r->trd, &f)) == 1)
		from_agent(r, &f);
	if (r->tfd >= 0 && rc < 0)
		transport_close(r, "a frame header that is not valid");
}

/* ---- clients ---- */

static void client_free(sv_agent_relay *r, client *c)
{
	for (size_t i = 0; i < r->n_channels;) {
		if (r->channels[i].owner == c) {
			if (r->tfd >= 0)
				agent_cancel(r, r->channels[i].agent_id);
			drop_channel(r, &r->channels[i]);
		} else {
			i++;
		}
	}
	for (size_t i = 0; i < r->ping_len; i++)
		if (r->pings[(r->ping_head + i) % MAX_PENDING_PINGS] == c)
			r->pings[(r->ping_head + i) % MAX_PENDING_PINGS] = NULL;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	sva_queue_free(&c->out);
	free(c->rbuf);
	free(c);
}

static void client_hello(sv_agent_relay *r, client *c, const sva_frame *f)
{
	sva_field v[SVA_F_HELLO_N];
	if (c->hello_done || c->hello_pending ||
	    sva_tlv_parse(f->payload, f->length, sva_spec_hello, sva_spec_hello_n, v) != 0) {
		c->closing = true;
		return;
	}
	uint32_t vmin = v[SVA_F_HELLO_VMIN].present ? (uint32_t)v[SVA_F_HELLO_VMIN].num : 1;
	uint32_t vmax = v[SVA_F_HELLO_VMAX].present ? (uint32_t)v[SVA_F_HELLO_VMAX].num : vmin;
	if (vmin > SVA_VERSION || vmax < SVA_VERSION) {
		client_error(c, 0, EPROTONOSUPPORT, "no common protocol version");
		c->closing = true;
		return;
	}
	c->hello_pending = true;
	if (r->state == T_UP)
		answer_hello(r, c);
	else
		transport_connect(r);
}

static void from_client(sv_agent_relay *r, client *c, const sva_frame *f)
{
	if (f->type == SVA_HELLO && f->channel == 0) {
		client_hello(r, c, f);
		return;
	}
	if (!c->hello_done || r->state != T_UP) {
		c->closing = true;
		return;
	}
	if (f->channel == 0) {
		if (f->type == SVA_PING && !r->pings)
			r->pings = malloc(MAX_PENDING_PINGS * sizeof(*r->pings)); /* NULL: answered below */
		if (f->type == SVA_PING && f->length <= SVA_PING_MAX && r->pings && r->ping_len < MAX_PENDING_PINGS) {
			r->pings[(r->ping_head + r->ping_len++) % MAX_PENDING_PINGS] = c;
			to_agent(r, SVA_PING, 0, f->payload, f->length);
		} else if (f->type == SVA_PING && f->length <= SVA_PING_MAX) {
			to_client(c, SVA_PONG, 0, f->payload, f->length); /* never more in flight than this */
		} else if (f->type != SVA_PONG && f->type != SVA_ERROR) {
			c->closing = true;
		}
		return;
	}
	channel *ch = by_client_id(r, c, f->channel);
	if (sva_type_opens_channel(f->type)) {
		if (ch || !(ch = new_channel(r, c, f->channel, f->type))) {
			c->closing = true;
			return;
		}
	} else if (!ch) {
		return; /* ended meanwhile */
	}
	uint32_t agent_id = ch->agent_id;
	if (f->type == SVA_ERROR) /* the client cancels: nothing more will reach it */
		drop_channel(r, ch);
	to_agent(r, f->type, agent_id, f->payload, f->length);
}

static void client_read(sv_agent_relay *r, client *c)
{
	size_t avail;
	uint8_t *space = sva_reader_space(&c->rd, &avail);
	ssize_t n = avail ? read(c->fd, space, avail) : 0;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 && avail) {
		c->closing = true;
		return;
	}
	sva_reader_commit(&c->rd, (size_t)n);
	sva_frame f;
	int rc = 0;
	while (!c->closing && (rc = sva_reader_next(&c->rd, &f)) == 1)
		from_client(r, c, &f);
	if (rc < 0)
		c->closing = true;
}

static void accept_clients(sv_agent_relay *r)
{
	for (;;) {
		int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		client *c = calloc(1, sizeof(*c));
		uint8_t *rbuf = c ? malloc(SVA_MAX_FRAME) : NULL;
		if (!rbuf) {
			free(c);
			close(fd);
			return;
		}
		c->fd = fd;
		c->rbuf = rbuf;
		sva_reader_init(&c->rd, rbuf, SVA_MAX_FRAME);
		c->next = r->clients;
		r->clients = c;
		interest(r, fd, c, true, false, true);
	}
}

/* ---- the relay ---- */

int sv_agent_relay_open(sv_agent_relay **out, const char *vm_dir)
{
	*out = NULL;
	sv_agent_relay *r = calloc(1, sizeof(*r));
	if (!r || !(r->vm_dir = strdup(vm_dir))) {
		free(r);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	r->tfd = r->listen_fd = r->epfd = r->timer_fd = -1;
	int rc = 0;
	r->dir_fd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->dir_fd < 0) {
		rc = sv_err_errno(SV_EIO, errno, "opening %s", vm_dir);
		goto fail;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", r->dir_fd, SV_VM_AGENT_SOCKET);
	r->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlinkat(r->dir_fd, SV_VM_AGENT_SOCKET, 0);
	/* 0600 from the start: no moment where another user could connect. */
	mode_t old = umask(0177);
	bool bound = r->listen_fd >= 0 && bind(r->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	umask(old);
	if (!bound || listen(r->listen_fd, 64) < 0) {
		rc = sv_err_errno(SV_EIO, errno, "listening on %s/%s", vm_dir, SV_VM_AGENT_SOCKET);
		goto fail;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->epfd < 0 || r->timer_fd < 0) {
		rc = sv_err_errno(SV_EIO, errno, "creating the agent relay's epoll/timer fds");
		goto fail;
	}
	interest(r, r->listen_fd, &tag_listen, true, false, true);
	interest(r, r->timer_fd, &tag_timer, true, false, true);
	*out = r;
	return 0;
fail:
	sv_agent_relay_free(r);
	return rc;
}

int sv_agent_relay_fd(const sv_agent_relay *r) { return r ? r->epfd : -1; }

void sv_agent_relay_run(sv_agent_relay *r)
{
	struct epoll_event ev[32];
	int n = epoll_wait(r->epfd, ev, 32, 0);
	for (int i = 0; i < n; i++) {
		void *tag = ev[i].data.ptr;
		if (tag == &tag_listen) {
			accept_clients(r);
		} else if (tag == &tag_timer) {
			uint64_t expirations;
			if (read(r->timer_fd, &expirations, sizeof(expirations)) < 0)
				sv_debug("agent relay: timer: %s", strerror(errno));
			transport_connect(r);
		} else if (tag == &tag_transport) {
			if (r->tfd < 0)
				continue;
			if ((ev[i].events & EPOLLOUT) && sva_queue_flush(&r->tout, r->tfd) < 0)
				transport_close(r, strerror(errno));
			if (r->tfd >= 0 && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				transport_read(r);
		} else {
			/* A client freed earlier in this batch has no events here:
			 * clients are freed only below, after the batch. */
			client *c = tag;
			if ((ev[i].events & EPOLLOUT) && sva_queue_flush(&c->out, c->fd) < 0)
				c->closing = true;
			if (!c->closing && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				client_read(r, c);
		}
	}
	/* Flush right away what the batch queued; then drop closed clients. */
	if (r->tfd >= 0 && sva_queue_pending(&r->tout) && sva_queue_flush(&r->tout, r->tfd) < 0)
		transport_close(r, strerror(errno));
	for (client **pp = &r->clients; *pp;) {
		client *c = *pp;
		if (!c->closing && sva_queue_pending(&c->out) && sva_queue_flush(&c->out, c->fd) < 0)
			c->closing = true;
		if (c->closing) {
			sva_queue_flush(&c->out, c->fd); /* a last ERROR, if it fits */
			*pp = c->next;
			client_free(r, c);
		} else {
			pp = &c->next;
		}
	}
	if (r->tfd >= 0 && sva_queue_pending(&r->tout) && sva_queue_flush(&r->tout, r->tfd) < 0)
		transport_close(r, strerror(errno));
	update_interest(r);
}

void sv_agent_relay_free(sv_agent_relay *r)
{
	if (!r)
		return;
	while (r->clients) {
		client *c = r->clients;
		r->clients = c->next;
		client_free(r, c);
	}
	if (r->tfd >= 0)
		close(r->tfd);
	int fds[] = {r->listen_fd, r->epfd, r->timer_fd};
	for (size_t i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (r->dir_fd >= 0) {
		unlinkat(r->dir_fd, SV_VM_AGENT_SOCKET, 0);
		close(r->dir_fd);
	}
	sva_queue_free(&r->tout);
	sv_agent_transport_clear(&r->transport);
	free(r->trbuf);
	free(r->channels);
	free(r->pings);
	free(r->agent_version);
	free(r->vm_dir);
	free(r);
}
