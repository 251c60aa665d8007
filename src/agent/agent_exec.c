/* sv_exec (include/smartvm/agent.h): a command in a VM through its agent.
 *
 * One connection and one channel per exec. Output is handed on (written
 * to the caller's fd, or given to its callback) before the window for it
 * is granted back, so a reader that does not keep up slows the command
 * down instead of growing memory; stdin is read from the caller's fd only
 * while the agent's window has room. Start failures are results (status
 * 127 or 126, with the guest's reason), like a shell's. */
#include "agent/agent_client.h"
#include "agent/agent_exec_encode.h"

#include "util/error.h"
#include <errno.h>
#include <poll.h>
#include <smartvm/agent.h>
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sv_exec {
	sva_client c;
	uint32_t ch;
	char what[160]; /* "exec \"ls\"" for messages */
	int stdin_fd, stdout_fd, stderr_fd;
	sv_exec_output_fn on_output;
	void *ctx;
	bool tty;
	sva_send_window stdin_credit;
	sva_recv_window out_window;
	bool stdin_done; /* STDIN_EOF queued (or no stdin) */
	bool ended;
	int pid;
	int status, exit_code, term_signal;
	bool timed_out;
	char *start_error;
	int cb_error;	    /* what a callback returned */
	uint8_t *stdin_buf; /* SVA_MAX_PAYLOAD, once stdin is read */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int build_exec(sv_exec *e, const char *const *argv, const sv_exec_options *o)
{
	/* On the heap: thread-local buffers would be copied into every thread
	 * of every program linking the library. */
	uint8_t *buf = malloc(SVA_MAX_FRAME);
	if (!buf)
		return sv_err(SV_ENOMEM, "out of memory");
	sva_msg m;
	sva_msg_begin(&m, buf, SVA_MAX_FRAME, SVA_EXEC, e->ch);
	int rc = sva_exec_encode(&m, argv, o);
	if (rc)
		sv_err_prefix("VM \"%s\": %s", e->c.vm_id, e->what);
	else
		rc = sva_client_send_msg(&e->c, &m);
	free(buf);
	return rc;
}

/* Status as a shell reports a command that could not run. */
static int start_failure(sv_exec *e, const sva_frame *f)
{
	char text[700];
	int guest_errno = 0;
	sva_client_guest_error(f, text, sizeof(text), &guest_errno);
	free(e->start_error);
	e->start_error = strdup(text);
	e->ended = true;
	e->exit_code = e->status = guest_errno == ENOENT ? 127 : 126;
	return e->start_error ? 0 : sv_err(SV_ENOMEM, "out of memory");
}

int sv_exec_start(sv_exec **out, sv_vm *vm, const char *const *argv, const sv_exec_options *given)
{
	sv_err_clear();
	*out = NULL;
	if (!argv || !argv[0])
		return sv_err(SV_EINVAL, "VM \"%s\": exec: no command", sv_vm_id(vm));
	sv_exec_options o;
	if (sva_exec_read_options(&o, given))
		return sv_err_prefix("VM \"%s\": exec", sv_vm_id(vm));
	if (o.stdin_fd < -2)
		return sv_err(SV_EINVAL,
			      "VM \"%s\": exec: stdin_fd %d is not an fd, -1 or SV_EXEC_STDIN_CALLS",
			      sv_vm_id(vm), o.stdin_fd);
	sv_exec *e = calloc(1, sizeof(*e));
	if (!e)
		return sv_err(SV_ENOMEM, "out of memory");
	char name[100];
	sva_escape((const uint8_t *)argv[0], strlen(argv[0]), name, sizeof(name));
	snprintf(e->what, sizeof(e->what), "exec \"%s\"", name);
	e->stdin_fd = o.stdin_fd;
	e->stdout_fd = o.stdout_fd;
	e->stderr_fd = o.stderr_fd;
	e->on_output = o.on_output;
	e->ctx = o.ctx;
	e->tty = o.tty;
	e->stdin_done = o.stdin_fd == -1;
	e->exit_code = -1;
	int timeout = o.agent_timeout_ms ? o.agent_timeout_ms : SV_AGENT_DEFAULT_TIMEOUT_MS;
	int rc = sva_client_open(&e->c, vm, e->what, timeout);
	if (rc) {
		free(e);
		return rc;
	}
	e->ch = sva_client_channel(&e->c);
	e->stdin_credit.credit = e->c.window;
	sva_recv_init(&e->out_window, e->c.window);
	sva_frame f;
	if ((rc = build_exec(e, argv, &o)) || (rc = sva_client_recv(&e->c, timeout, &f)))
		goto fail;
	if (f.channel != e->ch || (f.type != SVA_STARTED && f.type != SVA_ERROR)) {
		rc = sv_err(SV_EIO, "VM \"%s\": %s: the agent answered %s instead of STARTED", e->c.vm_id,
			    e->what, sva_type_name(f.type) ? sva_type_name(f.type) : "an unknown message");
		goto fail;
	}
	if (f.type == SVA_ERROR) {
		if ((rc = start_failure(e, &f)))
			goto fail;
	} else {
		sva_field v[SVA_F_STARTED_N];
		if (sva_tlv_parse(f.payload, f.length, sva_spec_started, sva_spec_started_n, v) == 0)
			e->pid = (int)v[SVA_F_STARTED_PID].num;
	}
	*out = e;
	return 0;
fail:
	if (rc == SV_ETIMEOUT)
		rc = sv_err(SV_ETIMEOUT, "VM \"%s\": %s: the agent did not start it within %d ms", e->c.vm_id,
			    e->what, timeout);
	else if (rc == SV_EPROCESS)
		rc = sva_client_lost(&e->c, e->what);
	sv_exec_free(e);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			poll(&pf, 1, -1);
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Hands output on, then grants the window for it. */
static int deliver(sv_exec *e, int stream, const sva_frame *f)
{
	if (sva_recv_arrived(&e->out_window, f->length) != 0)
		return sv_err(SV_EIO, "VM \"%s\": %s: the agent sent more output than the window allows",
			      e->c.vm_id, e->what);
	if (e->on_output) {
		int r = e->on_output(e->ctx, stream, f->payload, f->length);
		if (r) {
			e->cb_error = r;
			return r < 0 ? r : SV_EIO;
		}
	} else {
		int *fd = stream == 1 ? &e->stdout_fd : &e->stderr_fd;
		/* A reader that went away (EPIPE) must not stop the command: the
		 * rest of that stream is discarded. */
		if (*fd >= 0 && write_all(*fd, f->payload, f->length) < 0)
			*fd = -1;
	}
	return sva_client_grant(&e->c, e->ch, sva_recv_consumed(&e->out_window, f->length));
}

static int on_exit_frame(sv_exec *e, const sva_frame *f)
{
	sva_field v[SVA_F_EXIT_N];
	if (sva_tlv_parse(f->payload, f->length, sva_spec_exit, sva_spec_exit_n, v) != 0 ||
	    v[SVA_F_EXIT_CODE].present == v[SVA_F_EXIT_SIGNAL].present)
		return sv_err(SV_EIO, "VM \"%s\": %s: the agent's EXIT is not valid", e->c.vm_id, e->what);
	e->ended = true;
	e->timed_out = v[SVA_F_EXIT_TIMED_OUT].num != 0;
	if (v[SVA_F_EXIT_CODE].present) {
		e->exit_code = (int)(v[SVA_F_EXIT_CODE].num & 0xff);
		e->status = e->exit_code;
	} else {
		e->term_signal = (int)(v[SVA_F_EXIT_SIGNAL].num & 0x7f);
		e->status = 128 + e->term_signal;
	}
	return 0;
}

static int handle(sv_exec *e, const sva_frame *f)
{
	if (f->channel != e->ch)
		return 0;
	switch (f->type) {
	case SVA_STDOUT:
		return deliver(e, 1, f);
	case SVA_STDERR:
		return deliver(e, 2, f);
	case SVA_WINDOW: {
		sva_field v[SVA_F_WINDOW_N];
		if (sva_tlv_parse(f->payload, f->length, sva_spec_window, sva_spec_window_n, v) != 0 ||
		    sva_send_grant(&e->stdin_credit, (uint32_t)v[0].num) != 0)
			return sv_err(SV_EIO, "VM \"%s\": %s: the agent's WINDOW is not valid", e->c.vm_id,
				      e->what);
		return 0;
	}
	case SVA_EXIT:
		return on_exit_frame(e, f);
	case SVA_ERROR: {
		char text[700];
		sva_client_guest_error(f, text, sizeof(text), NULL);
		e->ended = true;
		return sv_err(SV_EIO, "VM \"%s\": %s: %s", e->c.vm_id, e->what, text);
	}
	default:
		return 0;
	}
}

/* Reads stdin_fd into STDIN frames while the window has room. */
static int forward_stdin(sv_exec *e)
{
	size_t want =
	    e->stdin_credit.credit < SVA_MAX_PAYLOAD ? (size_t)e->stdin_credit.credit : SVA_MAX_PAYLOAD;
	if (!want)
		return 0;
	if (!e->stdin_buf && !(e->stdin_buf = malloc(SVA_MAX_PAYLOAD)))
		return sv_err(SV_ENOMEM, "out of memory");
	uint8_t *buf = e->stdin_buf;
	ssize_t n = read(e->stdin_fd, buf, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return sv_exec_close_stdin(e);
	sva_send_take(&e->stdin_credit, (size_t)n);
	return sva_client_send(&e->c, SVA_STDIN, e->ch, buf, (size_t)n);
}

/* One round: frames already read, then stdin, then wait for either. */
static int step(sv_exec *e, int timeout_ms)
{
	sva_frame f;
	int rc;
	while ((rc = sva_client_next(&e->c, &f)) == 1)
		if ((rc = handle(e, &f)))
			return rc;
	if (rc < 0)
		return rc;
	if (e->ended)
		return 0;
	bool read_stdin = e->stdin_fd >= 0 && !e->stdin_done && e->stdin_credit.credit > 0;
	short revents = 0;
	rc = sva_client_pump(&e->c, timeout_ms, read_stdin ? e->stdin_fd : -1, POLLIN, &revents);
	if (rc == SV_EPROCESS)
		return sva_client_lost(&e->c, e->what);
	if (rc && rc != SV_ETIMEOUT)
		return rc;
	if (read_stdin && revents)
		return forward_stdin(e);
	return rc;
}

int sv_exec_wait(sv_exec *e, int timeout_ms, int *status)
{
	sv_err_clear();
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	while (!e->ended) {
		long long left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left < 0)
			left = 0;
		int rc = step(e, (int)left);
		if (rc == SV_ETIMEOUT && deadline >= 0 && now_ms() >= deadline)
			return sv_err(SV_ETIMEOUT, "VM \"%s\": %s: still running after %d ms", e->c.vm_id,
				      e->what, timeout_ms);
		if (rc && rc != SV_ETIMEOUT)
			return rc;
	}
	if (status)
		*status = e->status;
	return 0;
}

int sv_exec_exit_code(const sv_exec *e) { return e->exit_code; }
int sv_exec_term_signal(const sv_exec *e) { return e->term_signal; }
bool sv_exec_timed_out(const sv_exec *e) { return e->timed_out; }
const char *sv_exec_start_error(const sv_exec *e) { return e->start_error; }
int sv_exec_guest_pid(const sv_exec *e) { return e->pid; }
int sv_exec_poll_fd(const sv_exec *e) { return e->c.fd; }

static int send_now(sv_exec *e, sva_msg *m)
{
	sv_err_clear();
	if (e->ended)
		return 0;
	int rc = sva_client_send_msg(&e->c, m);
	if (!rc && (rc = sva_client_pump(&e->c, 0, -1, 0, NULL)) == SV_ETIMEOUT)
		rc = 0;
	return rc == SV_EPROCESS ? sva_client_lost(&e->c, e->what) : rc;
}

int sv_exec_signal(sv_exec *e, int sig)
{
	uint8_t buf[SVA_HEADER_SIZE + 16];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_SIGNAL, e->ch);
	sva_msg_u32(&m, 1, (uint32_t)sig);
	return send_now(e, &m);
}

int sv_exec_resize(sv_exec *e, uint32_t rows, uint32_t cols)
{
	if (!e->tty)
		return sv_err(SV_EINVAL, "VM \"%s\": %s: resize: not a tty exec", e->c.vm_id, e->what);
	uint8_t buf[SVA_HEADER_SIZE + 24];
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_RESIZE, e->ch);
	sva_msg_u32(&m, 1, rows);
	sva_msg_u32(&m, 2, cols);
	return send_now(e, &m);
}

int sv_exec_write_stdin(sv_exec *e, const void *data, size_t len, int timeout_ms, size_t *written)
{
	sv_err_clear();
	if (written)
		*written = 0;
	if (e->stdin_fd != SV_EXEC_STDIN_CALLS || e->stdin_done)
		return sv_err(SV_EINVAL, "VM \"%s\": %s: stdin is not open for sv_exec_write_stdin",
			      e->c.vm_id, e->what);
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	size_t done = 0;
	while (done < len) {
		if (e->ended)
			break; /* the command is gone: what it did not read is dropped */
		size_t n = sva_send_take(&e->stdin_credit,
					 len - done < SVA_MAX_PAYLOAD ? len - done : SVA_MAX_PAYLOAD);
		if (n) {
			int rc = sva_client_send(&e->c, SVA_STDIN, e->ch, (const uint8_t *)data + done, n);
			if (rc)
				return rc;
			done += n;
			if (written)
				*written = done;
			continue;
		}
		long long left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return sv_err(SV_ETIMEOUT,
				      "VM \"%s\": %s: the command did not take its stdin within %d ms",
				      e->c.vm_id, e->what, timeout_ms);
		int rc = step(e, (int)left);
		if (rc && rc != SV_ETIMEOUT)
			return rc;
	}
	int rc = sva_client_pump(&e->c, 0, -1, 0, NULL);
	return rc == SV_EPROCESS ? sva_client_lost(&e->c, e->what) : 0;
}

int sv_exec_close_stdin(sv_exec *e)
{
	sv_err_clear();
	if (e->stdin_done)
		return 0;
	e->stdin_done = true;
	if (e->ended)
		return 0;
	int rc = sva_client_send(&e->c, SVA_STDIN_EOF, e->ch, NULL, 0);
	if (!rc && (rc = sva_client_pump(&e->c, 0, -1, 0, NULL)) == SV_ETIMEOUT)
		rc = 0;
	return rc == SV_EPROCESS ? sva_client_lost(&e->c, e->what) : rc;
}

void sv_exec_free(sv_exec *e)
{
	if (!e)
		return;
	/* Closing the connection ends the channel: the supervisor cancels it
	 * and the agent kills what still runs. */
	sva_client_close(&e->c);
	free(e->start_error);
	free(e->stdin_buf);
	free(e);
}

int sv_vm_exec(sv_vm *vm, const char *const *argv, const sv_exec_options *opts, int timeout_ms, int *status)
{
	sv_exec *e = NULL;
	int rc = sv_exec_start(&e, vm, argv, opts);
	if (rc)
		return rc;
	rc = sv_exec_wait(e, timeout_ms, status);
	sv_exec_free(e);
	return rc;
}
