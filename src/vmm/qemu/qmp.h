/* A QMP client: JSON commands over QEMU's monitor unix socket.
 *
 * One connection (made again after sv_qmp_release), one command in flight.
 * Every read and write is bounded by the connection's timeout; asynchronous
 * events that arrive while a reply is awaited are skipped (the backend polls
 * state instead of relying on them).
 */
#ifndef SV_VMM_QEMU_QMP_H
#define SV_VMM_QEMU_QMP_H

#include <jansson.h>

typedef struct sv_qmp sv_qmp;

/* Connects to the socket, reads the greeting and negotiates capabilities
 * (qmp_capabilities). */
int sv_qmp_connect(sv_qmp **out, const char *socket_path, int timeout_ms);
void sv_qmp_close(sv_qmp *qmp);
/* Disconnects until the next command, which connects again (greeting and
 * capabilities): QEMU serves one monitor client at a time, so a connection
 * held between operations would shut every other process out. */
void sv_qmp_release(sv_qmp *qmp);

/* The "version" object from QEMU's greeting (borrowed). */
const json_t *sv_qmp_greeting_version(const sv_qmp *qmp);

/* Runs command with arguments (may be NULL; borrowed). On success *ret_out
 * (may be NULL) gets a new reference to "return". A QMP "error" reply is
 * SV_EVMM with "<command>: <class>: <desc>". If pass_fd >= 0 it travels with
 * the command as SCM_RIGHTS (for getfd). */
int sv_qmp_execute(sv_qmp *qmp, const char *command, json_t *arguments, json_t **ret_out);
int sv_qmp_execute_with_fd(sv_qmp *qmp, const char *command, json_t *arguments, int pass_fd,
			   json_t **ret_out);

/* The pid of the QEMU on the other end (SO_PEERCRED), 0 if unknown. */
int sv_qmp_peer_pid(const sv_qmp *qmp);

#endif
