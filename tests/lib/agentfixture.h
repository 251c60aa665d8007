/* A raw protocol peer for tests: speaks docs/agent-protocol.md frame by
 * frame over one stream, either to a smartvm-agent run on the host (the
 * same binary as in the guest) or, with the roles swapped, as a fake agent
 * that the supervisor or the library talks to. Every receive is bounded.
 * Include after svtest.h. */
#ifndef SVTEST_AGENTFIXTURE_H
#define SVTEST_AGENTFIXTURE_H

#include "agent_proto.h"
#include <stdbool.h>
#include <sys/types.h>

typedef struct {
	int fd;
	pid_t pid; /* the agent spawned by sat_spawn_agent; 0 otherwise */
	sva_reader rd;
	uint8_t *rbuf;
	uint8_t *frame; /* the payload of the last frame received (a copy) */
	sva_frame f;	/* the last frame received; f.payload points into frame */
} sat_conn;

/* The smartvm-agent the build made. */
const char *sat_agent_path(void);

/* Runs smartvm-agent --fd on one end of a socketpair (extra args appended,
 * NULL-terminated, may be NULL) and keeps the other. */
void sat_spawn_agent(sat_conn *c, const char *const *extra_args);
/* Adopts a connected stream. */
void sat_adopt(sat_conn *c, int fd);
/* Closes the stream; kills (SIGKILL) and reaps a spawned agent. */
void sat_close(sat_conn *c);

void sat_send(sat_conn *c, uint8_t type, uint32_t channel, const void *payload, size_t len);
/* Sends a message built with sva_msg over buf. */
void sat_send_msg(sat_conn *c, sva_msg *m);
/* Writes raw bytes. */
void sat_send_raw(sat_conn *c, const void *data, size_t len);

/* The next frame within timeout_ms: true with c->f; false at EOF or after
 * the timeout (*eof says which, may be NULL). */
bool sat_recv(sat_conn *c, int timeout_ms, bool *eof);
/* The next frame of the given type, skipping WINDOW frames; fails the
 * test on anything else or after timeout_ms. */
void sat_expect(sat_conn *c, uint8_t type, uint32_t channel, int timeout_ms);
/* True when the stream reaches EOF within timeout_ms (frames before it are
 * skipped). */
bool sat_wait_eof(sat_conn *c, int timeout_ms);

/* HELLO (version 1..1) and the HELLO_OK answer; returns its window. */
uint32_t sat_hello(sat_conn *c);

/* A u32 / bytes field of c->f (parsed with the type's spec); fails the test
 * when absent. */
uint32_t sat_u32(sat_conn *c, size_t field);
uint64_t sat_u64(sat_conn *c, size_t field);
bool sat_has(sat_conn *c, size_t field);
/* A bytes field as a malloc'd NUL-terminated string. */
char *sat_str(sat_conn *c, size_t field);

/* EXEC of argv (NULL-terminated) on channel ch (stdin wanted or not). */
void sat_exec(sat_conn *c, uint32_t ch, const char *const *argv, bool with_stdin);

/* Collects an exec's output until EXIT (granting windows as it reads):
 * stdout and stderr (malloc'd, NUL-terminated; may be NULL) and the EXIT
 * fields. Fails the test after timeout_ms. */
typedef struct {
	char *out, *err;
	size_t out_len, err_len;
	int code;   /* -1 when a signal ended it */
	int signal; /* 0 when it exited */
	bool timed_out;
} sat_result;
void sat_collect(sat_conn *c, uint32_t ch, int timeout_ms, sat_result *r);
void sat_result_free(sat_result *r);

#endif
