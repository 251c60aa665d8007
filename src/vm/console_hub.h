/* The supervisor's end of `smartvm attach` (console_hub.c): <vm dir>/console.sock
 * and the VMM's stdin. Driven by the console relay (vmm_output.c), in the supervisor's poll loop. */
#ifndef SV_VM_CONSOLE_HUB_H
#define SV_VM_CONSOLE_HUB_H

#include <poll.h>
#include <stddef.h>

/* The first line the hub writes to a client that connects; then raw bytes
 * both ways. The busy line ends the connection. */
#define SV_CONSOLE_HELLO_OK "smartvm-console 1 ok\n"
#define SV_CONSOLE_HELLO_BUSY "smartvm-console 1 busy" /* + " <pid of the attached client>\n" */
#define SV_CONSOLE_HELLO_MAX 64

/* Output queued for a client beyond this means it cannot keep up: it is
 * disconnected (the VMM and the logs never wait for it). */
#define SV_CONSOLE_CLIENT_QUEUE_MAX (256 * 1024)

/* How many pollfds sv_console_hub_poll_prepare fills. */
#define SV_CONSOLE_HUB_POLLFDS 3

typedef struct sv_console_hub sv_console_hub;

/* Listens on <vm_dir>/console.sock (0600, made through the directory's fd,
 * never over an existing entry but a dead socket). vmm_stdin: the write end
 * of the VMM's stdin pipe (owned by the hub, also on failure; made
 * non-blocking). */
int sv_console_hub_open(sv_console_hub **out, const char *vm_dir, int vmm_stdin);

/* Fills p[0..SV_CONSOLE_HUB_POLLFDS) with what the hub waits for (fd -1 for
 * nothing); after poll, sv_console_hub_poll_done does what is ready without
 * blocking. */
void sv_console_hub_poll_prepare(sv_console_hub *h, struct pollfd *p);
void sv_console_hub_poll_done(sv_console_hub *h, const struct pollfd *p);

/* The console's next bytes: queued for the attached client, if any. */
void sv_console_hub_output(sv_console_hub *h, const char *data, size_t len);

/* Hands the client what is queued (one non-blocking try), disconnects it,
 * closes the VMM's stdin and removes the socket if it is still the one the
 * hub made. NULL is fine. */
void sv_console_hub_free(sv_console_hub *h);

#endif
