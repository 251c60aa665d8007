/** @file
 * Running one command in a VM booted from the minimal image
 * (smartvm/minimal_image.h), whose init runs the command it finds on the
 * kernel command line.
 *
 * The command travels there as
 * `smartvm.cmd=<base64url of each argument followed by a NUL>`; the guest's
 * init runs it and writes, on the serial console:
 *
 *     === smartvm: command start ===\n
 *     <the command's output, exactly>\n
 *     === smartvm: exit status N ===\n
 *
 * then powers the VM off. N is the exit code, 128+signal when a signal ended
 * it, 127 when it could not be run (or the encoded command was refused, in
 * which case no start line comes). The first exit line after the start line
 * ends the output: a command that prints such a line itself ends it early.
 *
 * This header has the host side: putting a command into a VM's boot args and
 * reading (output, status) back from the console, all at once or as it
 * streams.
 *
 * Thread safety: the sv_vm_* calls follow the rule of smartvm/manager.h (a
 * manager and its VMs are used by one thread at a time); an
 * sv_command_console is used by one thread at a time; sv_command_boot_arg
 * and sv_command_parse_console may be called from any thread.
 */
#ifndef SMARTVM_COMMAND_H
#define SMARTVM_COMMAND_H

#include <smartvm/common.h>
#include <smartvm/manager.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The x86 kernel's command line limit (COMMAND_LINE_SIZE), bytes with the NUL. */
#define SV_COMMAND_LINE_MAX 2048

/** "smartvm.cmd=<encoded argv>" (argv NULL-terminated, at least one element),
 * malloc'd. SV_EINVAL "command: ..." for an empty argv or one whose encoding
 * alone would not fit on a kernel command line. */
SV_EXTERN int sv_command_boot_arg(char **out, const char *const *argv);

/* ---- a VM that runs a command ---- */

/** The VM runs argv: at start its smartvm.cmd= is appended to the boot args
 * it boots with (the config's, or the VMM's default when the config sets
 * none; an earlier smartvm.cmd= there is removed), and its console is read
 * from then on by the calls below. argv is copied; NULL clears it. Only in
 * state created. sv_vm_start fails with SV_EINVAL when the whole kernel
 * command line would exceed SV_COMMAND_LINE_MAX. */
SV_EXTERN int sv_vm_set_command(sv_vm *vm, const char *const *argv);

/** The command's output that arrived since the last call (streaming): reads
 * the console without blocking. *output (not NUL-terminated) stays valid
 * until the next call on this VM. Needs sv_vm_set_command and a started VM;
 * works after the VM ended, too (the console stays open). */
SV_EXTERN int sv_vm_command_output(sv_vm *vm, const char **output, size_t *output_len);

/** True once the exit line has been read; *status (may be NULL) gets N. */
SV_EXTERN bool sv_vm_command_finished(const sv_vm *vm, int *status);

/** Waits at most timeout_ms (< 0 = forever) until the command finished and
 * the VM ended (and was cleaned up). *output (malloc'd, NUL-terminated, may
 * be NULL) gets the output not yet taken by sv_vm_command_output, *status
 * the exit status. SV_ETIMEOUT if that did not happen in time (the VM keeps
 * running); SV_EPROCESS "VM \"ID\" ended before its command finished: ..."
 * when the VM ended without an exit line. */
SV_EXTERN int sv_vm_wait_command(sv_vm *vm, int timeout_ms, char **output, size_t *output_len, int *status);

/* ---- reading a console ---- */

/** A streaming reader of a console: feed it the console's bytes in order, in
 * chunks of any size, and it hands back the command's output as soon as it
 * is certain not to be the beginning of the exit line. */
typedef struct sv_command_console sv_command_console;

SV_EXTERN int sv_command_console_new(sv_command_console **out);
SV_EXTERN void sv_command_console_free(sv_command_console *c);

/** Feeds len bytes. *output / *output_len get the output bytes this chunk
 * completed (possibly none); they stay valid until the next call. Bytes
 * after the exit line are ignored. */
SV_EXTERN int sv_command_console_feed(sv_command_console *c, const void *data, size_t len,
				      const char **output, size_t *output_len);

/** True once the start line was seen. */
SV_EXTERN bool sv_command_console_started(const sv_command_console *c);

/** True once the exit line was seen; *status (may be NULL) gets N. */
SV_EXTERN bool sv_command_console_finished(const sv_command_console *c, int *status);

/** Reads a whole console log: *output (malloc'd, NUL-terminated; may be NULL)
 * gets the command's output exactly and *output_len (may be NULL) its length,
 * *status (may be NULL) the exit status. SV_ENOTFOUND "no command exit line
 * in the console" when the command has not finished (or never ran); *output
 * then holds what it printed so far. */
SV_EXTERN int sv_command_parse_console(const char *text, size_t len, char **output, size_t *output_len,
				       int *status);

#ifdef __cplusplus
}
#endif
#endif
