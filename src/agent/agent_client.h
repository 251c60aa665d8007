/* One connection to a VM's agent (through its supervisor's agent.sock):
 * the handshake, frames in and out without ever blocking on one direction
 * while the other is stuck, and the messages errors are made of. Used by
 * every call of include/smartvm/agent.h; each call opens its own. */
#ifndef SV_AGENT_AGENT_CLIENT_H
#define SV_AGENT_AGENT_CLIENT_H

#include "agent_proto.h"
#include "agent_queue.h"
#include <smartvm/vm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	int fd;
	char *vm_id;
	sva_reader rd;
	uint8_t *rbuf;
	sva_queue out; /* queued for the supervisor */
	uint32_t window;
	char *agent_version;
	uint32_t features; /* SVA_FEATURE_* the agent has */
	uint32_t next_channel;
	bool eof;
} sva_client;

/* Connects and says HELLO; waits at most timeout_ms (< 0 = forever) for
 * the agent. what names the operation in errors ("exec \"ls\""). The
 * timeout's message is `VM "x": no agent answered within N ms (the image
 * has no smartvm-agent?)` (SV_ETIMEOUT). */
int sva_client_open(sva_client *c, sv_vm *vm, const char *what, int timeout_ms);
void sva_client_close(sva_client *c);

/* A fresh channel number. */
uint32_t sva_client_channel(sva_client *c);

/* Queues a frame (never blocks; sva_client_pump sends). */
int sva_client_send(sva_client *c, uint8_t type, uint32_t channel, const void *payload, size_t len);
int sva_client_send_msg(sva_client *c, sva_msg *m);
/* A WINDOW granting bytes on channel (nothing when bytes is 0). */
int sva_client_grant(sva_client *c, uint32_t channel, uint32_t bytes);

/* The next frame already read (1, *f valid until the next call on c), 0
 * when none. SV_EIO ("not valid") on a header that does not parse. */
int sva_client_next(sva_client *c, sva_frame *f);

/* Sends what is queued and reads what arrives, waiting at most timeout_ms
 * (< 0 = forever) for anything to happen, and also for extra_fd (may be
 * -1; *extra_revents gets its revents). Returns 0, SV_ETIMEOUT when
 * nothing happened, SV_EPROCESS when the connection ended (c->eof). */
int sva_client_pump(sva_client *c, int timeout_ms, int extra_fd, short extra_events, short *extra_revents);

/* The next frame, pumping for it at most timeout_ms. */
int sva_client_recv(sva_client *c, int timeout_ms, sva_frame *f);

/* The guest's ERROR as "<message> (guest errno N)" into buf; *errno_out
 * (may be NULL) the errno. */
void sva_client_guest_error(const sva_frame *f, char *buf, size_t size, int *errno_out);

/* The error for a connection that ended: SV_EPROCESS `VM "x": <what>: the
 * connection to the agent was lost (the VM ended or its agent died)`. */
int sva_client_lost(const sva_client *c, const char *what);

/* Copies at most max bytes of a guest string for a message, with
 * everything but printable ASCII escaped (the guest chose it). */
void sva_escape(const uint8_t *s, size_t len, char *out, size_t size);

#endif
