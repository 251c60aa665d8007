/* Printing a VM's console log (`smartvm logs`, `smartvm run` in the
 * foreground): from one fd that outlives the VM directory, across the log's
 * rotation (console.log becomes console.log.1 when full), and escaped when
 * stdout is a terminal (the bytes are the guest's: smartvm/escape.h). */
#ifndef SMARTVM_CLI_CONSOLE_H
#define SMARTVM_CLI_CONSOLE_H

#include <stdbool.h>
#include <smartvm/escape.h>
#include <sys/types.h>

typedef struct {
	const char *path; /* the VM's console.log (borrowed) */
	int fd;		  /* -1 until it could be opened */
	ino_t ino;
	sv_escaper *escaper; /* NULL: stdout is not a terminal, bytes go out as they are */
} cli_console;

/* Starts following path (it may not exist yet). */
void cli_console_init(cli_console *c, const char *path);

/* Prints what the log gained since the last call; when the log was rotated,
 * the rest of the old one first. With from_previous, a first call starts at
 * the previous generation (console.log.1), if any. -1 when stdout is gone. */
int cli_console_pump(cli_console *c, bool from_previous);

/* Before the first pump: prints the last `lines` lines that are in the log
 * now (from console.log.1 too when console.log has fewer), so that the
 * pumps go on from there. -1 when stdout is gone. */
int cli_console_tail(cli_console *c, unsigned lines);

/* True once the log could be opened. */
bool cli_console_opened(const cli_console *c);

void cli_console_close(cli_console *c);

#endif
