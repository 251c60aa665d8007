/* smartvm-agent's parts and the seams between them.
 *
 * agent_main.c     arguments, transports (vsock, virtio-serial port, unix
 *                  listener, one fd), the poll loop, logging.
 * agent_session.c  one byte stream to the host: frames in, frames out
 *                  (bounded out queue), the handshake, the channel table,
 *                  dispatch, resync on virtio-serial.
 * agent_exec.c     EXEC channels: the child process, its pipes or
 *                  pseudo-terminal, signals, resize, timeout, exit.
 * agent_file.c     PUT, GET, STAT, MKDIR, READDIR, SYMLINK channels.
 * agent_mount.c    MOUNT channels.
 * agent_sha256.c   SHA-256 for PUT/GET (the agent is static and libc only).
 *
 * One thread, one poll loop; nothing blocks except short local file and
 * process operations. Every producer (a command's output, a file being
 * read, a directory listing) stops while the channel's send window is
 * used up or the session's out queue is above SVA_OUTQ_HIGH, so neither a
 * command printing without end nor a slow host grows the agent's memory.
 */
#ifndef SV_GUEST_AGENT_H
#define SV_GUEST_AGENT_H

#include "agent_proto.h"
#include "agent_queue.h"
#include "agent_sha256.h"
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Producers pause above this much queued output; the session stops reading
 * the host above AGENT_OUTQ_MAX (its answers would pile up). */
#define AGENT_OUTQ_HIGH (256u << 10)
#define AGENT_OUTQ_MAX (1u << 20)
/* After the main process exits, how long its pipes may stay open without
 * data (a background child holding them) before EXIT is sent, and the most
 * the draining may take in all. */
#define AGENT_DRAIN_IDLE_MS 100
#define AGENT_DRAIN_MAX_MS 2000

typedef struct agent_session agent_session;
typedef struct agent_channel agent_channel;

struct agent_session {
	int fd;
	bool serial;	/* virtio-serial: never closed; a HELLO restarts it */
	bool host_gone; /* serial: no host connected; poll the port again later */
	bool hello_done;
	bool closing; /* fatal error: close once the queue is flushed */
	uint32_t window;
	sva_reader rd;
	uint8_t *rbuf;
	sva_queue out;
	agent_channel *channels;
	agent_session *next;
};

/* The per-kind state lives behind kind_state (agent_exec.c, agent_file.c). */
struct agent_channel {
	uint32_t id;
	uint8_t kind; /* the type that opened it: SVA_EXEC, SVA_PUT, ... */
	agent_session *s;
	sva_send_window send;
	sva_recv_window recv;
	bool ended; /* its last frame was queued (or it was cancelled): free it */
	void *kind_state;
	agent_channel *next;
};

/* ---- agent_main.c ---- */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
long long agent_now_ms(void);
extern const char *agent_version;

/* ---- agent_session.c ---- */
agent_session *agent_session_new(int fd, bool serial);
/* Tears down every channel (their processes get SIGKILL) and frees. */
void agent_session_free(agent_session *s);
/* Forgets the stream: channels ended, reader hunting for a HELLO. */
void agent_session_restart(agent_session *s);
/* Reads what the fd has and handles the frames. -1 when the session is
 * over (EOF or a protocol error on a stream that cannot resync). */
int agent_session_read(agent_session *s);
/* Writes what it can of the out queue; -1 on a write error. */
int agent_session_flush(agent_session *s);
bool agent_session_can_produce(const agent_session *s);
/* Frees the channels that ended and have nothing left to wait for. */
void agent_session_reap(agent_session *s);

/* Queues a frame; false (and the session closing) when out of memory. */
bool agent_send(agent_session *s, uint8_t type, uint32_t channel, const void *payload, size_t len);
/* Queues a built message (sva_msg over buf). */
bool agent_send_msg(agent_session *s, sva_msg *m);
/* Room for a data frame of up to max payload bytes, written in place: the
 * pointer to fill, then agent_commit_data with what was filled. NULL when
 * out of memory. */
uint8_t *agent_reserve_data(agent_session *s, size_t max);
void agent_commit_data(agent_session *s, uint8_t type, uint32_t channel, size_t n);
/* ERROR with errno e and a message, ending the channel (channel 0: none). */
void agent_send_error(agent_session *s, uint32_t channel, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void agent_send_ok(agent_channel *c);
/* A WINDOW for what was handed on, when due. */
void agent_channel_consumed(agent_channel *c, size_t n);

/* ---- per-kind handlers: a frame for a channel of that kind ---- */
/* Opening frames: fills c->kind_state or sends an ERROR and ends c. */
void agent_exec_open(agent_channel *c, const sva_field *v, const uint8_t *payload, size_t len);
void agent_exec_frame(agent_channel *c, const sva_frame *f);
void agent_file_open(agent_channel *c, const sva_frame *f, const sva_field *v);
void agent_file_frame(agent_channel *c, const sva_frame *f);
/* MOUNT (agent_mount.c): answers OK or ERROR at once; the channel ends. */
void agent_mount(agent_channel *c, const sva_field *v);
/* The host ended the channel (ERROR) or the session ended: stop its work
 * without sending anything. */
void agent_exec_cancel(agent_channel *c);
void agent_file_cancel(agent_channel *c);
/* Frees what kind_state holds. A channel whose process is still to be
 * reaped is not freed yet (returns false). */
bool agent_exec_release(agent_channel *c);
void agent_file_release(agent_channel *c);

/* Poll set contributions and progress: add fds (return how many), then
 * act on their revents; next_deadline lowers *deadline_ms (monotonic). */
int agent_exec_pollfds(agent_channel *c, struct pollfd *p, int max);
void agent_exec_progress(agent_channel *c, const struct pollfd *p, int n, long long now_ms);
void agent_exec_deadline(const agent_channel *c, long long *deadline_ms);
/* Files have no fds to wait on: true when a producer could go on now. */
bool agent_file_progress(agent_channel *c);

/* A path field as a NUL-terminated string (malloc'd), or NULL with errno
 * EINVAL (empty or with a NUL) / ENOMEM. */
char *agent_path(const sva_field *f);

#endif
