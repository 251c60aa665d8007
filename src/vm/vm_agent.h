/* The guest agent's files in a VM directory and the VM-side glue the
 * supervisor (supervisor_agent.c) and the library (src/agent/) share. */
#ifndef SV_VM_VM_AGENT_H
#define SV_VM_VM_AGENT_H

#include <stdbool.h>
#include <stdint.h>

/* Clients connect here (unix stream, 0600); the supervisor relays. */
#define SV_VM_AGENT_SOCKET "agent.sock"
/* How the supervisor reaches the agent, written before the VMM starts:
 * {"transport": "serial"|"vsock", "path": host path, "port": n}. */
#define SV_VM_AGENT_FILE "agent.json"
/* The Firecracker vsock every VM gets when its config has none. */
#define SV_VM_AGENT_VSOCK "vsock.sock"
#define SV_VM_AGENT_GUEST_CID 3

typedef enum { SV_AGENT_SERIAL = 1, SV_AGENT_VSOCK } sv_agent_transport_kind;

typedef struct {
	sv_agent_transport_kind kind;
	char *path;    /* the unix socket to connect to */
	uint32_t port; /* vsock: the port in CONNECT */
} sv_agent_transport;

/* Reads agent.json through the VM dir's fd. SV_ENOTFOUND when there is
 * none (a VM started before the agent existed). */
int sv_agent_transport_read(int dir_fd, const char *vm_dir, sv_agent_transport *t);
void sv_agent_transport_clear(sv_agent_transport *t);

/* Connects a unix stream socket to name inside the directory dir_fd
 * (through /proc/self/fd, so neither a long path nor a swapped parent
 * matters). Non-blocking when nonblock. Returns the fd or -errno. */
int sv_agent_unix_connect_at(int dir_fd, const char *name, bool nonblock);
/* The same for an absolute path. */
int sv_agent_unix_connect(const char *path, bool nonblock);

/* ---- the VM side (vm_agent.c; src/vm and src/agent only) ---- */
struct sv_vm;
/* At boot, after the backend is chosen: smartvm.exec=agent in the staged
 * boot args when asked for, and a vsock for a Firecracker VM whose config
 * has none (vm_agent.c says why, also on a restore). */
int sv_vm__agent_apply(struct sv_vm *vm);
/* Right before launch, once every path is final (jail, restore): writes
 * agent.json for the supervisor. */
int sv_vm__agent_record(struct sv_vm *vm);
/* A connection to the VM's agent.sock (blocking, close-on-exec); the VM
 * must be running or paused. what names the operation in errors. */
int sv_vm__agent_socket(struct sv_vm *vm, const char *what, int *fd_out);

#endif
