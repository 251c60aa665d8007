/** @file
 * Attaching to a running VM's serial console (`smartvm attach`), and showing
 * it on a terminal without handing the terminal to the guest.
 *
 * Thread safety: sv_vm_console_attach as the calls of smartvm/agent.h (it
 * refreshes the sv_vm's state; the connection it returns is the caller's).
 * An sv_term_filter is used by one thread at a time.
 */
#ifndef SMARTVM_CONSOLE_H
#define SMARTVM_CONSOLE_H

#include <smartvm/common.h>
#include <smartvm/vm.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Connects to the serial console of a running (or paused) VM. *fd_out gets
 * a connected stream socket (blocking, close-on-exec; the caller closes it):
 * reading it gives the console's output from now on (nothing older: the log
 * has that), writing it types into the guest's console (ttyS0; under QEMU
 * and Firecracker alike, the VMM's serial input). Closing it detaches; the
 * VM keeps running. When the VM ends, reads reach end-of-file.
 *
 * One client at a time: SV_EBUSY `VM "x": its console is already attached
 * (by process N)` when another is. A client that does not read is
 * disconnected (end-of-file) once 256 KiB of output wait for it: the guest
 * never waits for a client.
 *
 * SV_EINVALID_STATE when the VM is not running or paused; SV_EUNSUPPORTED
 * when its supervisor offers no console (a VM started before smartvm had
 * attach); SV_EUNSAFE when the VM directory's console.sock is not a socket of this
 * user's or the process listening on it is not the VM's supervisor. */
SV_EXTERN int sv_vm_console_attach(sv_vm *vm, int *fd_out);

/* ---- a guest's console on a terminal ---- */

/** A streaming filter for showing a guest's console on the user's terminal
 * interactively. It keeps what draws (text, UTF-8, colours and other SGR,
 * cursor movement, erasing, scrolling regions, mode switches such as the
 * alternate screen) and drops what would let the guest act through the
 * terminal:
 *  - OSC (ESC ], 0x9d: window title, clipboard, hyperlinks, palette), DCS
 *    (ESC P, 0x90: DECRQSS, XTGETTCAP, sixel), SOS/PM/APC (ESC X, ESC ^,
 *    ESC _ and 0x98/0x9e/0x9f) and screen's/tmux's title (ESC k), each up
 *    to its terminator (BEL, ST, or CAN / SUB), at any length;
 *  - CSI sequences that ask the terminal to answer (its answer would be
 *    typed into the guest) or act outside the screen: DA (c, >c, =c), DSR
 *    and CPR (n, ?n), DECRQM ($p), DECRQPSR ($w), DECRQTSR ($u), window
 *    operations and reports (t), XTVERSION (>q), DECREQTPARM (x), DECRQCRA
 *    (*y), media copy (i), XTSMGRAPHICS (?S), and the keyboard modes that
 *    would outlast the session (kitty's >u <u =u ?u, XTMODKEYS >m, ?m);
 *    all other CSI sequences are kept (at most
 *    SV_TERM_FILTER_SLACK bytes long; longer ones are dropped);
 *  - ESC Z (DECID: identify), ENQ (0x05: answerback), and the C1 controls,
 *    as raw bytes 0x80-0x9f or encoded in UTF-8 as U+0080-U+009F (0xc2
 *    0x80-0x9f, which xterm and VTE decode as controls), the sequence
 *    introducers among them with their sequences. UTF-8 continuation bytes
 *    of other characters are not C1 controls and pass.
 * A sequence may be split across calls; a malformed one is dropped up to
 * where it ends. */
typedef struct sv_term_filter sv_term_filter;

/** A new filter in *out (free with sv_term_filter_free). SV_ENOMEM. */
SV_EXTERN int sv_term_filter_new(sv_term_filter **out);
/** Frees f; NULL is fine. */
SV_EXTERN void sv_term_filter_free(sv_term_filter *f);

/** The most bytes of an unfinished sequence a filter holds back between
 * calls (and so the most a call's output can exceed its input). */
#define SV_TERM_FILTER_SLACK 64

/** Filters the stream's next len bytes into out, which must have room for
 * len + SV_TERM_FILTER_SLACK bytes; returns how many bytes were written to
 * out. */
SV_EXTERN size_t sv_term_filter_feed(sv_term_filter *f, const void *data, size_t len, void *out);

#ifdef __cplusplus
}
#endif
#endif
