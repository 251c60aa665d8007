/* What a VMM prints, relayed by its supervisor (see vmm_output.h).
 *
 * The VMM's stdout is the guest's serial console: the guest decides what and
 * how much, so it never goes straight into a file in the runtime dir (RAM by
 * default). The relay writes it to console.log, at most SV_VMM_LOG_MAX_BYTES,
 * then rotates it to console.log.1. The VMM's stderr holds its own messages
 * ("cannot set up guest memory", "terminating on signal 15"): they go to
 * vmm.log under the same cap and never into the console, so they can neither
 * end up in a command's output nor be lost with the console.
 *
 * For a VM that runs a command the console also goes down the console pipe to
 * the orchestrator, byte for byte. While that pipe is full the relay stops
 * reading the console (the guest's serial port waits; nothing is dropped) but
 * keeps reading stderr. A failed log write (a full runtime fs) drops that
 * chunk from the log only: the command's output and exit line travel on the
 * pipe. The last few KiB of each stream are kept in memory for the exit
 * report, which must not depend on the runtime fs either.
 *
 * No thread of its own: the supervisor's one poll loop drives it (with the
 * VMM's pidfd, the control pipe and the agent relay), then, once the VMM has
 * ended, finish drains what is left. A thread cost every VM its creation
 * on the start's path and a join on the stop's, and the exit of a process
 * with two threads. */
#include "vm/vmm_output.h"

#include "util/error.h"
#include "util/escape.h"
#include "util/spawn.h"
#include "vm/console_hub.h"
#include "vm/vm_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 65536
/* A serial port under emulation hands its bytes over one write at a time:
 * after a short read, the console is not read for this long so the next read
 * takes many at once (measured: 5 MB of console cost the relay 7-12 s of CPU
 * without it); the other fds are served meanwhile. */
#define COALESCE_MS 2
#define SHORT_READ 4096
#define TAIL_KEEP 16384
#define TAIL_LINES 20
#define TAIL_QUOTE_BYTES 2048
#define TAIL_INDENT "  | "

/* A log file in the VM directory (opened relative to its fd, never through
 * a link) that never grows past SV_VMM_LOG_MAX_BYTES: when full it is
 * renamed to <name>.1 and a new one is started. */
typedef struct {
	int dir_fd; /* borrowed */
	char *name, *old_name;
	int fd;
	off_t size;
} capped_log;

/* The last TAIL_KEEP bytes of a stream. Its storage is malloc'd apart from
 * the struct, which is calloc'd: zeroing it inline cost a forked supervisor a
 * page fault per 4 KiB (10-13 us each here) for bytes it may never write. */
typedef struct {
	char *data;
	size_t len;
} tail;

struct sv_vmm_output {
	bool finishing; /* draining after the VMM ended: no more pauses */
	long long console_resumes_at; /* monotonic ms: end of a coalescing pause; 0 = none */
	int out_fd, err_fd, pipe_fd;
	int dir_fd; /* the VM directory */
	capped_log console, vmm_log;
	tail console_tail, err_tail;
	sv_console_hub *hub; /* `smartvm attach`; NULL = none */
	char *chunk;	     /* the console chunk being handed to the pipe */
	size_t chunk_len, chunk_off;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int log_init(capped_log *l, int dir_fd, const char *name)
{
	l->fd = -1;
	l->dir_fd = dir_fd;
	l->name = strdup(name);
	if (l->name && asprintf(&l->old_name, "%s.1", name) < 0)
		l->old_name = NULL;
	return l->name && l->old_name ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

static bool log_open(capped_log *l)
{
	if (l->fd >= 0)
		return true;
	l->fd = openat(l->dir_fd, l->name, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644);
	struct stat st;
	l->size = l->fd >= 0 && fstat(l->fd, &st) == 0 ? st.st_size : 0;
	return l->fd >= 0;
}

/* Best effort: what cannot be written (no space, no file) is left out of the
 * log; the next chunk tries again. */
static void log_write(capped_log *l, const char *data, size_t len)
{
	while (len > 0 && log_open(l)) {
		if (l->size >= SV_VMM_LOG_MAX_BYTES) {
			renameat(l->dir_fd, l->name, l->dir_fd, l->old_name);
			close_fd(&l->fd);
			continue;
		}
		size_t room = (size_t)(SV_VMM_LOG_MAX_BYTES - l->size);
		ssize_t w = write(l->fd, data, len < room ? len : room);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		l->size += w;
		data += w;
		len -= (size_t)w;
	}
}

static void log_free(capped_log *l)
{
	close_fd(&l->fd);
	free(l->name);
	free(l->old_name);
}

static void tail_add(tail *t, const char *data, size_t len)
{
	if (len >= TAIL_KEEP) { /* only its last TAIL_KEEP bytes stay */
		data += len - TAIL_KEEP;
		len = TAIL_KEEP;
	}
	if (t->len + len > TAIL_KEEP) {
		size_t drop = t->len + len - TAIL_KEEP;
		memmove(t->data, t->data + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->data + t->len, data, len);
	t->len += len;
}

/* Hands the pending console chunk on without blocking; a reader that went
 * away (a detached VM, a dead orchestrator) just stops getting it. */
static void flush_chunk(sv_vmm_output *o)
{
	while (o->pipe_fd >= 0 && o->chunk_off < o->chunk_len) {
		ssize_t w = write(o->pipe_fd, o->chunk + o->chunk_off, o->chunk_len - o->chunk_off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) {
			close_fd(&o->pipe_fd);
			break;
		}
		o->chunk_off += (size_t)w;
	}
	if (o->pipe_fd < 0 || o->chunk_off == o->chunk_len)
		o->chunk_len = o->chunk_off = 0;
}

/* Returns the bytes read (0 at EOF or on error). */
static size_t read_console(sv_vmm_output *o)
{
	ssize_t n = read(o->out_fd, o->chunk, CHUNK);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		close_fd(&o->out_fd);
		return 0;
	}
	log_write(&o->console, o->chunk, (size_t)n);
	tail_add(&o->console_tail, o->chunk, (size_t)n);
	sv_console_hub_output(o->hub, o->chunk, (size_t)n);
	o->chunk_len = (size_t)n;
	o->chunk_off = 0;
	flush_chunk(o);
	return (size_t)n;
}

static void read_stderr(sv_vmm_output *o)
{
	char buf[4096];
	ssize_t n = read(o->err_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_fd(&o->err_fd);
		return;
	}
	log_write(&o->vmm_log, buf, (size_t)n);
	tail_add(&o->err_tail, buf, (size_t)n);
}

int sv_vmm_output_poll_prepare(sv_vmm_output *o, struct pollfd *p)
{
	bool handing_on = o->chunk_len > 0;
	long long pause_left = o->console_resumes_at ? o->console_resumes_at - sv_now_ms() : 0;
	if (pause_left <= 0 || o->finishing)
		o->console_resumes_at = pause_left = 0;
	p[0] = (struct pollfd){.fd = handing_on || pause_left ? -1 : o->out_fd, .events = POLLIN};
	p[1] = (struct pollfd){.fd = o->err_fd, .events = POLLIN};
	p[2] = (struct pollfd){.fd = handing_on ? o->pipe_fd : -1, .events = POLLOUT};
	if (o->hub)
		sv_console_hub_poll_prepare(o->hub, p + 3);
	else
		for (int i = 0; i < SV_CONSOLE_HUB_POLLFDS; i++)
			p[3 + i] = (struct pollfd){.fd = -1};
	return pause_left > 0 ? (int)pause_left : -1;
}

void sv_vmm_output_poll_done(sv_vmm_output *o, const struct pollfd *p)
{
	if (o->hub)
		sv_console_hub_poll_done(o->hub, p + 3);
	if (p[2].revents)
		flush_chunk(o);
	size_t got = p[0].revents ? read_console(o) : 0;
	if (p[1].revents)
		read_stderr(o);
	if (got && got < SHORT_READ && !o->finishing)
		o->console_resumes_at = sv_now_ms() + COALESCE_MS;
}

int sv_vmm_output_start(sv_vmm_output **out, int stdout_fd, int stderr_fd, int console_pipe,
			sv_console_hub *hub, const char *vm_dir)
{
	*out = NULL;
	sv_vmm_output *o = calloc(1, sizeof(*o));
	int rc = o ? 0 : sv_err(SV_ENOMEM, "out of memory");
	if (o) {
		o->hub = hub;
		o->out_fd = stdout_fd;
		o->err_fd = stderr_fd;
		o->pipe_fd = console_pipe;
		o->console.fd = o->vmm_log.fd = -1;
		o->dir_fd = open(vm_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (o->dir_fd < 0)
			rc = sv_err_errno(SV_EIO, errno, "relaying the VMM's output: opening %s", vm_dir);
	}
	if (!rc && (!(o->chunk = malloc(CHUNK)) || !(o->console_tail.data = malloc(TAIL_KEEP)) ||
		    !(o->err_tail.data = malloc(TAIL_KEEP))))
		rc = sv_err(SV_ENOMEM, "out of memory");
	if (!rc && ((rc = log_init(&o->console, o->dir_fd, SV_VM_CONSOLE_FILE)) ||
		    (rc = log_init(&o->vmm_log, o->dir_fd, SV_VM_VMM_LOG_FILE))))
		rc = sv_err_prefix("relaying the VMM's output");
	if (!rc) {
		if (console_pipe >= 0)
			fcntl(console_pipe, F_SETFL, fcntl(console_pipe, F_GETFL) | O_NONBLOCK);
		log_open(&o->console); /* `smartvm logs` finds the console from the start */
	}
	if (rc) {
		if (!o) {
			int fds[] = {stdout_fd, stderr_fd, console_pipe};
			for (size_t i = 0; i < 3; i++)
				close_fd(&fds[i]);
			sv_console_hub_free(hub);
		}
		sv_vmm_output_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void sv_vmm_output_finish(sv_vmm_output *o, int drain_ms)
{
	if (!o || o->finishing)
		return;
	o->finishing = true;
	long long by = sv_now_ms() + (drain_ms > 0 ? drain_ms : 1);
	while (o->out_fd >= 0 || o->err_fd >= 0 || o->chunk_len > 0) {
		long long left = by - sv_now_ms();
		struct pollfd p[SV_VMM_OUTPUT_POLLFDS];
		sv_vmm_output_poll_prepare(o, p);
		if (left <= 0 || (poll(p, SV_VMM_OUTPUT_POLLFDS, (int)left) < 0 && errno != EINTR))
			break;
		sv_vmm_output_poll_done(o, p);
	}
	close_fd(&o->pipe_fd);
}

static char *quote_tail(const tail *t)
{
	return sv_escape_tail(t->data, t->len, TAIL_LINES, TAIL_QUOTE_BYTES, TAIL_INDENT);
}

char *sv_vmm_output_console_tail(sv_vmm_output *o) { return quote_tail(&o->console_tail); }

char *sv_vmm_output_stderr_tail(sv_vmm_output *o) { return quote_tail(&o->err_tail); }

void sv_vmm_output_free(sv_vmm_output *o)
{
	if (!o)
		return;
	sv_vmm_output_finish(o, 1);
	close_fd(&o->out_fd);
	close_fd(&o->err_fd);
	close_fd(&o->pipe_fd);
	sv_console_hub_free(o->hub);
	log_free(&o->console);
	log_free(&o->vmm_log);
	close_fd(&o->dir_fd);
	free(o->chunk);
	free(o->console_tail.data);
	free(o->err_tail.data);
	free(o);
}
