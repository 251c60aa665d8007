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
 * which case no start line comes).
 *
 * The console is entirely the guest's: anything in it can print a line like
 * the exit line. So an exit line counts only if it is final — followed by at
 * most SV_COMMAND_TRAILER_MAX bytes (the kernel's power-off message) and no
 * other exit line before the console ends — and the VM then powered off on
 * its own (not a kernel panic, a crash or a kill). An exit line followed by
 * more output was output; the last exit line wins. The status is the guest's
 * word (a guest that powers itself off after printing an exit line chose its
 * status); what smartvm guarantees is that it is never decided before the VM
 * has ended, and that nothing the guest does keeps the host waiting: a VM
 * that prints an exit line and does not power off is killed after
 * SV_COMMAND_POWEROFF_GRACE_MS, and sv_command_options.timeout_ms bounds the
 * whole run.
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

/** How much may follow a final exit line (the kernel's "reboot: Power down"). */
#define SV_COMMAND_TRAILER_MAX 256

/** How long a VM may take to power off after its exit line; the init does at
 * once. A VM still running then is killed and its command failed. */
#define SV_COMMAND_POWEROFF_GRACE_MS 10000

/** "smartvm.cmd=<encoded argv>" (argv NULL-terminated, at least one element),
 * malloc'd. SV_EINVAL "command: ..." for an empty argv or one whose encoding
 * alone would not fit on a kernel command line. */
SV_EXTERN int sv_command_boot_arg(char **out, const char *const *argv);

/* ---- a VM that runs a command ---- */

/** Options of sv_vm_set_command_options; start from SV_COMMAND_OPTIONS_INIT. */
typedef struct {
	unsigned int version; /**< SV_COMMAND_OPTIONS_VERSION */
	/** Wall-clock limit in ms for the whole run, from sv_vm_start through
	 * boot, the command and power-off; 0 = none. When it passes, the VM's
	 * supervisor kills the VMM (whether or not anyone is reading) and the
	 * calls below fail with SV_ETIMEOUT "VM \"ID\": its command did not
	 * finish within N s (timeout); the VM was killed". */
	int timeout_ms;
	/** Version 2: the command gets the serial console as its terminal
	 * (stdin, stdout and stderr on ttyS0, its controlling terminal, with
	 * the usual line discipline: echo, CR-LF) instead of /dev/null for
	 * stdin and a pipe the init copies to the console, so that
	 * sv_vm_console_attach (`smartvm attach`) reaches an interactive
	 * command such as a shell. Boots with smartvm.console=tty (the minimal
	 * image's init knows it; others ignore it). The console then also
	 * carries what is typed and the terminal's CR-LF: the output the calls
	 * below read is no longer the command's bytes exactly. Default false. */
	bool console_terminal;
} sv_command_options;

/** The sv_command_options layout this header describes. */
#define SV_COMMAND_OPTIONS_VERSION 2
/** sv_command_options with its version set and every option at its default. */
#define SV_COMMAND_OPTIONS_INIT                                                                              \
	{                                                                                                    \
		SV_COMMAND_OPTIONS_VERSION, 0, false                                                         \
	}

/** The VM runs argv: at start its smartvm.cmd= is appended to the boot args
 * it boots with (the config's, or the VMM's default when the config sets
 * none; an earlier smartvm.cmd= there is removed), and its console comes to
 * this process on a pipe from then on, read by the calls below. argv and
 * opts are copied; argv NULL clears the command; opts NULL = defaults. Only
 * in state created. SV_EINVAL for a negative timeout. sv_vm_start fails with
 * SV_EINVAL when the whole kernel command line would exceed
 * SV_COMMAND_LINE_MAX. */
SV_EXTERN int sv_vm_set_command_options(sv_vm *vm, const char *const *argv, const sv_command_options *opts);

/** sv_vm_set_command_options(vm, argv, NULL). */
SV_EXTERN int sv_vm_set_command(sv_vm *vm, const char *const *argv);

/** The command's output that arrived since the last call, waiting at most
 * wait_ms (0: not at all, < 0: as long as it takes) for some to arrive or
 * for the command's end. *output (not NUL-terminated) stays valid until the
 * next call on this VM. Needs sv_vm_set_command and a started VM.
 *
 * Returns 0 while the command runs and once it finished
 * (sv_vm_command_finished). Once it cannot finish, every call returns why
 * (after handing out the last output):
 *   SV_EPROCESS "VM \"ID\" ended before its command finished: REASON" (no
 *               final exit line: a kernel panic, a reset, a crash, a kill;
 *               REASON quotes the VMM's last messages and console lines,
 *               escaped);
 *   SV_EPROCESS "VM \"ID\" ended in error after its command's exit line: ...";
 *   SV_EPROCESS "VM \"ID\": its command printed an exit line but the VM did
 *               not power off within 10 s; the VM was killed";
 *   SV_ETIMEOUT the command's timeout (sv_command_options).
 *
 * The console is a pipe (about 1 MiB): while nobody reads it the guest's
 * console waits, like a child process writing to a full stdout. Keep calling
 * this (or sv_vm_wait_command) while the VM runs. */
SV_EXTERN int sv_vm_command_read(sv_vm *vm, int wait_ms, const char **output, size_t *output_len);

/** sv_vm_command_read(vm, 0, ...): never blocks. */
SV_EXTERN int sv_vm_command_output(sv_vm *vm, const char **output, size_t *output_len);

/** True once the command finished: its exit line was final and the VM then
 * powered off (on its own or after sv_vm_stop). *status (may be NULL) gets N. */
SV_EXTERN bool sv_vm_command_finished(const sv_vm *vm, int *status);

/** Waits at most timeout_ms (< 0 = forever) until the command finished and
 * the VM ended (and was cleaned up). *output (malloc'd, NUL-terminated, may
 * be NULL) gets the output not yet taken by sv_vm_command_read, *status the
 * exit status. SV_ETIMEOUT "VM \"ID\": its command did not finish within N
 * ms" if that did not happen in time (the VM keeps running); otherwise the
 * errors of sv_vm_command_read. */
SV_EXTERN int sv_vm_wait_command(sv_vm *vm, int timeout_ms, char **output, size_t *output_len, int *status);

/* ---- reading a console ---- */

/** A streaming reader of a console: feed it the console's bytes in order, in
 * chunks of any size, and it hands back the command's output as soon as it
 * is certain not to be the beginning of the exit line. */
typedef struct sv_command_console sv_command_console;

SV_EXTERN int sv_command_console_new(sv_command_console **out);
SV_EXTERN void sv_command_console_free(sv_command_console *c);

/** Feeds len bytes. *output / *output_len get the output bytes this chunk
 * completed (possibly none); they stay valid until the next call. */
SV_EXTERN int sv_command_console_feed(sv_command_console *c, const void *data, size_t len,
				      const char **output, size_t *output_len);

/** The console ended (the VM is gone): what was held back as a possible exit
 * line is output after all (in *output, valid until the next call), and a
 * candidate exit line becomes final. Bytes fed after this are ignored. */
SV_EXTERN int sv_command_console_end(sv_command_console *c, const char **output, size_t *output_len);

/** True once the start line was seen. */
SV_EXTERN bool sv_command_console_started(const sv_command_console *c);

/** True while the last thing read is a candidate exit line (plus a short
 * trailer): the guest says the command is done and should power off now.
 * *status (may be NULL) gets its N. */
SV_EXTERN bool sv_command_console_exited(const sv_command_console *c, int *status);

/** True once the console ended with a final exit line; *status (may be NULL)
 * gets N. */
SV_EXTERN bool sv_command_console_finished(const sv_command_console *c, int *status);

/** Reads a whole console log (feed, then end): *output (malloc'd,
 * NUL-terminated; may be NULL) gets the command's output exactly and
 * *output_len (may be NULL) its length, *status (may be NULL) the exit
 * status. SV_ENOTFOUND "no command exit line in the console" when there is
 * no final exit line (the command has not finished, or never ran); *output
 * then holds what it printed. */
SV_EXTERN int sv_command_parse_console(const char *text, size_t len, char **output, size_t *output_len,
				       int *status);

#ifdef __cplusplus
}
#endif
#endif
