/* The output queue (agent_queue.h). */
#include "agent_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A queue that held more than this after a burst gives it back once
 * empty. */
#define KEEP_BYTES (4u << 20)

uint8_t *sva_queue_reserve(sva_queue *q, size_t n)
{
	if (q->off && q->off == q->len)
		q->off = q->len = 0;
	if (q->cap - q->len >= n)
		return q->data + q->len;
	if (q->off) { /* reuse the sent prefix before growing */
		memmove(q->data, q->data + q->off, q->len - q->off);
		q->len -= q->off;
		q->off = 0;
		if (q->cap - q->len >= n)
			return q->data + q->len;
	}
	size_t cap = q->cap ? q->cap : 65536;
	while (cap - q->len < n)
		cap *= 2;
	uint8_t *grown = realloc(q->data, cap);
	if (!grown)
		return NULL;
	q->data = grown;
	q->cap = cap;
	return q->data + q->len;
}

void sva_queue_commit(sva_queue *q, size_t n) { q->len += n; }

int sva_queue_add(sva_queue *q, const void *data, size_t len)
{
	uint8_t *p = sva_queue_reserve(q, len);
	if (!p)
		return -1;
	if (len)
		memcpy(p, data, len);
	q->len += len;
	return 0;
}

size_t sva_queue_pending(const sva_queue *q) { return q->len - q->off; }

int sva_queue_flush(sva_queue *q, int fd)
{
	while (q->off < q->len) {
		ssize_t n = -1;
		if (!q->not_socket)
			n = send(fd, q->data + q->off, q->len - q->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (q->not_socket || (n < 0 && errno == ENOTSOCK)) { /* a virtio-serial port */
			q->not_socket = 1;
			n = write(fd, q->data + q->off, q->len - q->off);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		q->off += (size_t)n;
	}
	q->off = q->len = 0;
	if (q->cap > KEEP_BYTES) {
		free(q->data);
		q->data = NULL;
		q->cap = 0;
	}
	return 0;
}

void sva_queue_clear(sva_queue *q) { q->off = q->len = 0; }

void sva_queue_free(sva_queue *q)
{
	free(q->data);
	memset(q, 0, sizeof(*q));
}
