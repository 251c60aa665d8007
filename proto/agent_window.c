/* Flow-control windows (§5 of docs/agent-protocol.md). The sender counts
 * down what it may still send; the receiver checks that the peer stays
 * within what it was allowed and grants credit back as it hands data on,
 * in batches of a quarter window so that a stream of small writes does not
 * cost a WINDOW frame each. Neither side ever holds more than one window
 * of a channel's data. */
#include "agent_proto.h"

size_t sva_send_take(sva_send_window *w, size_t want)
{
	size_t n = want < w->credit ? want : (size_t)w->credit;
	w->credit -= n;
	return n;
}

int sva_send_grant(sva_send_window *w, uint32_t bytes)
{
	if (w->credit + bytes > SVA_MAX_WINDOW)
		return -1;
	w->credit += bytes;
	return 0;
}

void sva_recv_init(sva_recv_window *w, uint32_t window)
{
	w->allowed = window;
	w->consumed = 0;
	w->window = window;
}

int sva_recv_arrived(sva_recv_window *w, size_t n)
{
	if (n > w->allowed)
		return -1;
	w->allowed -= n;
	return 0;
}

uint32_t sva_recv_consumed(sva_recv_window *w, size_t n)
{
	w->consumed += n;
	uint32_t batch = w->window / 4 ? w->window / 4 : 1;
	if (w->consumed < batch)
		return 0;
	uint32_t grant = (uint32_t)w->consumed;
	w->consumed = 0;
	w->allowed += grant;
	return grant;
}
