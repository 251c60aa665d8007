/* The incremental frame reader (agent_proto.h): bytes in, whole frames out,
 * in a buffer the caller owns. It never holds more than one frame plus the
 * bytes fed beyond it, and it rejects a header before waiting for a payload
 * it announces: a bad length can never make it wait for (or allocate)
 * more than SVA_MAX_FRAME. */
#include "agent_proto.h"

#include <string.h>

/* A HELLO carries three small fields; anything longer is not a HELLO. */
#define HUNT_MAX_HELLO 4096

void sva_reader_init(sva_reader *r, uint8_t *buf, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->cap = cap;
}

void sva_reader_reset(sva_reader *r)
{
	r->start = r->end = 0;
	r->hunting = false;
}

void sva_reader_hunt(sva_reader *r) { r->hunting = true; }

/* Moves the unread bytes to the front once the tail has no room left. */
static void compact(sva_reader *r)
{
	if (r->start == 0)
		return;
	memmove(r->buf, r->buf + r->start, r->end - r->start);
	r->end -= r->start;
	r->start = 0;
}

uint8_t *sva_reader_space(sva_reader *r, size_t *avail)
{
	if (r->end == r->cap)
		compact(r);
	*avail = r->cap - r->end;
	return r->buf + r->end;
}

void sva_reader_commit(sva_reader *r, size_t n)
{
	if (n > r->cap - r->end)
		n = r->cap - r->end;
	r->end += n;
}

size_t sva_reader_feed(sva_reader *r, const void *data, size_t len)
{
	size_t avail;
	uint8_t *dst = sva_reader_space(r, &avail);
	size_t n = len < avail ? len : avail;
	if (n)
		memcpy(dst, data, n);
	r->end += n;
	return n;
}

static bool plausible_hello(const uint8_t *h)
{
	sva_frame f;
	return sva_header_get(h, &f) == 0 && f.type == SVA_HELLO && f.channel == 0 &&
	       f.length <= HUNT_MAX_HELLO;
}

/* Skips to the first plausible HELLO header; false when the buffer holds
 * none yet (keeping the last bytes, which may start one). */
static bool hunt(sva_reader *r)
{
	while (r->end - r->start >= SVA_HEADER_SIZE) {
		if (plausible_hello(r->buf + r->start)) {
			r->hunting = false;
			return true;
		}
		r->start++;
		r->discarded++;
	}
	return false;
}

int sva_reader_next(sva_reader *r, sva_frame *f)
{
	if (r->hunting && !hunt(r))
		return 0;
	size_t have = r->end - r->start;
	if (have < SVA_HEADER_SIZE)
		return 0;
	if (sva_header_get(r->buf + r->start, f) != 0)
		return -1;
	if (have - SVA_HEADER_SIZE < f->length) {
		/* Make room for the whole frame behind the header. */
		if (r->cap - r->start < SVA_HEADER_SIZE + (size_t)f->length)
			compact(r);
		return 0;
	}
	f->payload = r->buf + r->start + SVA_HEADER_SIZE;
	r->start += SVA_HEADER_SIZE + f->length;
	if (r->start == r->end)
		r->start = r->end = 0;
	return 1;
}
