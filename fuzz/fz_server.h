/* A unix-socket peer for the harnesses of protocol clients (QMP, the
 * Firecracker API): a thread that answers every connection with the bytes
 * of the current input, so the real client code -- sockets, buffering,
 * framing, parsing -- reads data an attacker chose. */
#ifndef SV_FUZZ_SERVER_H
#define SV_FUZZ_SERVER_H

#include "vmm/vmm.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	/* Writes the reply as soon as a client connects (QMP: the greeting and
	 * every answer after it are one stream). */
	FZ_SERVE_STREAM,
	/* Reads a request (up to its blank line), then writes the reply (HTTP). */
	FZ_SERVE_AFTER_REQUEST,
} fz_serve_mode;

typedef struct fz_server fz_server;

/* Starts listening on a socket in a fresh temporary directory. Each
 * connection: (read a request,) write the reply, shut down writing, read
 * until the client closes. Removed at exit. */
fz_server *fz_server_start(const char *name, fz_serve_mode mode);
const char *fz_server_socket(const fz_server *s);
/* The bytes every following connection gets (copied). */
void fz_server_set_reply(fz_server *s, const uint8_t *data, size_t size);

/* Serves data and connects the backend ops to it; NULL when it refused. */
sv_vmm *fz_vmm_connect(fz_server *s, const sv_vmm_ops *ops, const uint8_t *data, size_t size);
/* Calls a backend operation that hands back malloc'd text and checks that a
 * success did (and that the text is JSON when json is true). Returns its
 * result. */
int fz_vmm_get(sv_vmm *vmm, int (*get)(sv_vmm *vmm, char **out), bool json);

#endif
