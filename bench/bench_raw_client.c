/* The hand-rolled baseline client (see bench_raw_client.h). This is the one
 * place in smartvm that writes HTTP by hand, on purpose: it IS the baseline
 * that libsmartvm's libcurl client is measured against. It must stay minimal
 * (no retries, no pipelining, no caching) and must never be used by anything
 * but the benchmarks. */
#include "bench_raw_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int raw_connect(raw_conn *c, const char *socket_path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, socket_path);
	c->timeout_ms = timeout_ms;
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return -1;
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		close(c->fd);
		c->fd = -1;
		if (now_ms() > deadline)
			return -1;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
}

static int send_all(raw_conn *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Appends whatever arrives to buf[*len..]; -1 on EOF, error or timeout. */
static int recv_some(raw_conn *c, size_t *len)
{
	if (*len + 1 >= sizeof(c->buf))
		return -1;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (poll(&p, 1, c->timeout_ms) <= 0)
		return -1;
	ssize_t n = recv(c->fd, c->buf + *len, sizeof(c->buf) - 1 - *len, 0);
	if (n <= 0)
		return -1;
	*len += (size_t)n;
	c->buf[*len] = '\0';
	return 0;
}

int raw_request(raw_conn *c, const char *method, const char *path, const char *body)
{
	char head[512];
	size_t blen = body ? strlen(body) : 0;
	int hlen = body ? snprintf(head, sizeof(head),
				   "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
				   "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
				   method, path, blen)
			: snprintf(head, sizeof(head),
				   "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
				   method, path);
	if (hlen < 0 || (size_t)hlen >= sizeof(head) || send_all(c, head, (size_t)hlen) ||
	    (blen && send_all(c, body, blen)))
		return -1;

	size_t len = 0;
	char *end;
	c->buf[0] = '\0';
	while (!(end = strstr(c->buf, "\r\n\r\n"))) {
		if (recv_some(c, &len))
			return -1;
	}
	int status = 0;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	size_t content_length = 0;
	for (char *line = strstr(c->buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
		if (!strncasecmp(line + 2, "Content-Length:", 15))
			content_length = strtoul(line + 17, NULL, 10);
	}
	size_t header_len = (size_t)(end + 4 - c->buf);
	while (len < header_len + content_length) {
		if (recv_some(c, &len))
			return -1;
	}
	/* One request in flight at a time: nothing arrives beyond this response. */
	return status;
}

void raw_close(raw_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
