/* The command the minimal guest runs, as it travels on the kernel command line.
 *
 * Encoding: each argument followed by one NUL byte, the whole byte string in
 * base64url (RFC 4648 §5: A-Z a-z 0-9 - _) without padding, as the value of
 * smartvm.cmd=. Nothing in it needs quoting on the kernel command line, and any
 * argument (spaces, quotes, newlines, empty strings) survives exactly.
 * Example: {"sh", "-c", "echo a b"} -> smartvm.cmd=c2gALWMAZWNobyBhIGIA
 *
 * Used by the host (to build the boot args) and by guest/init.c (to decode),
 * so it depends on libc only and never allocates more than one block per call.
 */
#ifndef SV_GUEST_CMD_H
#define SV_GUEST_CMD_H

#include <stddef.h>

#define SV_GUEST_CMD_KEY "smartvm.cmd="
/* With this word the init gives the command the serial console as its
 * terminal (stdin, stdout, stderr, controlling tty) instead of /dev/null and
 * a pipe: `smartvm attach` then reaches it. */
#define SV_GUEST_CONSOLE_TTY "smartvm.console=tty"

/* The encoded value for argv (NULL-terminated, at least one element), malloc'd;
 * NULL on OOM or an empty argv. */
char *sv_guest_cmd_encode(const char *const *argv);

/* Decodes the value into a NULL-terminated argv; the vector and the strings
 * live in one malloc'd block (free(*argv_out) releases everything). Returns 0,
 * or -1 when the text is not valid base64url, does not end with a NUL, or
 * holds no argument. */
int sv_guest_cmd_decode(const char *text, char ***argv_out);

#endif
