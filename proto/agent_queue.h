/* An output queue of frames for a non-blocking stream, shared by the guest
 * agent, the supervisor's relay and the library's client: bytes are added
 * at the tail and written from the head as the stream takes them. It grows
 * as needed (each user bounds what it queues: windows, and stopping reads
 * above a limit) and gives the memory back once a burst is written. libc
 * only. */
#ifndef SV_AGENT_QUEUE_H
#define SV_AGENT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t *data;
	size_t len, off, cap; /* unsent bytes are data[off..len) */
	int not_socket;	      /* the fd took write(), not send() (virtio-serial) */
} sva_queue;

/* Room for n more bytes at the tail: where to write them (then
 * sva_queue_commit), or NULL when memory ran out. */
uint8_t *sva_queue_reserve(sva_queue *q, size_t n);
void sva_queue_commit(sva_queue *q, size_t n);
/* Copies len bytes in; -1 when memory ran out. */
int sva_queue_add(sva_queue *q, const void *data, size_t len);
size_t sva_queue_pending(const sva_queue *q);
/* Writes what fd takes now (never SIGPIPE). 0, or -1 when the stream
 * failed or closed. */
int sva_queue_flush(sva_queue *q, int fd);
void sva_queue_clear(sva_queue *q);
void sva_queue_free(sva_queue *q);

#endif
