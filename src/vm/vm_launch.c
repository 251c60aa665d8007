/* The VMM process, seen from the orchestrator: starting the per-VM
 * supervisor (which spawns the VMM and outlives us; forked by the manager's
 * fork server, vm_fork_server.h, or spawned), waiting for the API
 * socket, following the supervisor's status pipe, and stopping the VMM with
 * escalating signals. The supervisor's side of the protocol is supervisor.c.
 *
 * Status lines from the supervisor: "sup PID START", "pid PID START",
 * "exit stopped|error DESCRIPTION" (with the VMM's last messages and console
 * lines, escaped and indented by the supervisor), then EOF. */
#include "vm/vm_internal.h"

#include "sv_build_config.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fault.h"
#include "util/file.h"
#include "util/inotify_once.h"
#include "util/ledger.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/trace.h"
#include "util/vm_alive.h"
#include "vm/vm_fork_server.h"
#include "vm/vm_net.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define TERM_WAIT_MS 3000
#define KILL_WAIT_MS 3000
#define SUPERVISOR_WAIT_MS 10000
/* The longest a wait for the API socket sleeps without a wake-up. */
#define MAX_SOCKET_WAKE_MS 50
/* How often a VM of another process is looked at while waiting for its end. */
#define LOCK_POLL_MS 50

/* The installed supervisor, or the one next to the running program (build
 * tree), or $SMARTVM_SUPERVISOR (absolute: it runs from "/"). */
static char *supervisor_path(void)
{
	const char *env = getenv("SMARTVM_SUPERVISOR");
	if (env && *env)
		return sv_path_absolute(env, NULL);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *beside = sv_path_join(dirname(exe), "smartvm-supervisor");
		if (beside && access(beside, X_OK) == 0)
			return beside;
		free(beside);
	}
	return strdup(SV_LIBEXECDIR "/smartvm-supervisor");
}

/* launch.json: what the supervisor runs. "then_exe": the program argv[0]
 * execs under the same pid, for the ledger's pid entry: the jailer runs the
 * copy of the VMM it put in the jail's root. */
static int write_launch_file(sv_vm *vm, char **argv, const char *binary)
{
	json_t *args = json_array();
	for (size_t i = 0; args && argv[i]; i++)
		json_array_append_new(args, json_string(argv[i]));
	const char *name = strrchr(binary, '/');
	char *then_exe = vm->jail_root ? sv_path_join(vm->jail_root, name ? name + 1 : binary) : NULL;
	json_t *o =
	    json_pack("{s:o, s:s, s:s, s:I, s:s?, s:O?}", "argv", args, "console", vm->console_path, "vmm",
		      vm->backend->name, "deadline_ms", (json_int_t)sv_vm__command_deadline(vm), "then_exe",
		      then_exe, "command", sv_vm__command_argv(vm));
	free(then_exe);
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	int rc =
	    text ? sv_write_file_atomic_at(vm->dir_fd, vm->dir, SV_VM_LAUNCH_FILE, text, strlen(text), 0600)
		 : sv_err(SV_ENOMEM, "out of memory");
	free(text);
	return rc;
}

/* The unjailed VMM's config file, in the VM directory; *path_out its path. */
static int put_vmm_config(sv_vm *vm, const char *text, char **path_out)
{
	int rc = sv_write_file_atomic_at(vm->dir_fd, vm->dir, SV_VM_VMM_CONFIG_FILE, text, strlen(text), 0600);
	if (!rc && !(*path_out = sv_path_join(vm->dir, SV_VM_VMM_CONFIG_FILE)))
		rc = sv_err(SV_ENOMEM, "out of memory");
	return rc;
}

/* A fresh VM whose backend can take its whole configuration as one file
 * (not a restore) gets it written here: in the VM directory, or, jailed, in
 * the jail's root, where the VMM will find it after its chroot (the jail's
 * cleanup removes it there). *path_out, the VMM's view of it, stays NULL
 * otherwise. The file is the VMM's to read once. */
static int write_vmm_config(sv_vm *vm, const sv_vmm_launch *launch, char **path_out)
{
	*path_out = NULL;
	if (launch->incoming || !vm->backend->config_document)
		return 0;
	char *text = NULL;
	int rc = vm->backend->config_document(vm->staged, &text);
	if (rc || !text)
		return rc;
	if (!(rc = SV_FAULT_POINT("launch.config_file")))
		rc = vm->jail ? sv_vm__jail_put_vmm_config(vm, text, path_out) : put_vmm_config(vm, text, path_out);
	free(text);
	if (rc)
		return rc;
	vm->booting_from_file = true;
	return 0;
}

static void mark_ended(sv_vm *vm, bool error, const char *reason)
{
	vm->state = error ? SV_VM_ERROR : SV_VM_STOPPED;
	free(vm->end_reason);
	vm->end_reason = strdup(reason ? reason : "");
	/* The report's last line ends with a newline; the reason goes into messages. */
	for (size_t n = vm->end_reason ? strlen(vm->end_reason) : 0; n && vm->end_reason[n - 1] == '\n';)
		vm->end_reason[--n] = '\0';
	if (vm->vmm) {
		vm->backend->disconnect(vm->vmm);
		vm->vmm = NULL;
	}
	if (vm->status_fd >= 0)
		close(vm->status_fd);
	if (vm->control_fd >= 0)
		close(vm->control_fd);
	if (vm->supervisor_pidfd >= 0)
		close(vm->supervisor_pidfd);
	vm->status_fd = vm->control_fd = vm->supervisor_pidfd = -1;
}

/* Handles complete lines; returns 1 once the "exit" record and EOF arrived. */
static void parse_status_lines(sv_vm *vm, bool eof)
{
	char *buf = vm->status.data;
	if (!buf) { /* not a line: it died before its first */
		if (eof)
			mark_ended(vm, true, "the supervisor ended without a report");
		return;
	}
	char *exit_line = strstr(buf, "exit ");
	if (exit_line && exit_line != buf && exit_line[-1] != '\n')
		exit_line = NULL;
	for (char *line = buf; line && *line && line != exit_line;) {
		char *nl = strchr(line, '\n');
		if (!nl)
			break;
		long pid = 0;
		unsigned long long start = 0;
		if (sscanf(line, "sup %ld %llu", &pid, &start) == 2) {
			vm->supervisor_pid = (pid_t)pid;
			vm->supervisor_start_time = start;
			if (vm->supervisor_pidfd < 0)
				vm->supervisor_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		} else if (sscanf(line, "pid %ld %llu", &pid, &start) == 2) {
			vm->vmm_pid = (pid_t)pid;
			vm->vmm_start_time = start;
		}
		line = nl + 1;
	}
	if (eof) {
		if (exit_line) {
			bool error = !strncmp(exit_line, "exit error ", 11);
			mark_ended(vm, error, exit_line + (error ? 11 : 13));
		} else {
			mark_ended(vm, true, "the supervisor ended without a report");
		}
	}
}

/* Reads what the supervisor wrote, waiting at most timeout_ms for something.
 * Returns 1 at EOF. */
static int read_status(sv_vm *vm, int timeout_ms)
{
	struct pollfd p = {.fd = vm->status_fd, .events = POLLIN};
	int n = poll(&p, 1, timeout_ms);
	if (n <= 0)
		return 0;
	char chunk[4096];
	ssize_t r = read(vm->status_fd, chunk, sizeof(chunk));
	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (r == 0)
		return 1;
	if (sv_buf_append(&vm->status, chunk, (size_t)r) != 0)
		return 0;
	parse_status_lines(vm, false);
	return 0;
}

/* A supervisor killed before it could clean up (SIGKILL, the OOM killer)
 * leaves the VM directory behind. Its VMM died with it (the parent-death
 * signal) or, if it got away (a jailer that changed credentials), is killed
 * here through the ledger's pid entry. Only with the directory lock, which a
 * live supervisor holds. */
static void clean_after_supervisor(const sv_vm *vm)
{
	if (vm->dir_fd < 0)
		return;
	sv_err_saved saved;
	sv_err_save(&saved);
	int rc = sv_vm__cleanup_if_dead(vm->dir_fd, vm->dir);
	if (rc < 0)
		sv_warn("VM \"%s\": cleaning up after its supervisor: %s", vm->id, sv_last_error());
	else if (rc == 1)
		sv_debug("VM \"%s\": its supervisor left its directory behind; cleaned up", vm->id);
	sv_err_restore(&saved);
}

/* vm->supervisor_pidfd for the supervisor state.json names, if it still
 * runs (its start time checked once the pidfd pins it); -1 otherwise. */
static void open_supervisor_pidfd(sv_vm *vm)
{
	if (vm->supervisor_pidfd >= 0 || vm->supervisor_pid <= 0)
		return;
	int fd = (int)syscall(SYS_pidfd_open, vm->supervisor_pid, 0);
	if (fd >= 0 && !sv_process_alive(vm->supervisor_pid, vm->supervisor_start_time)) {
		close(fd);
		fd = -1;
	}
	vm->supervisor_pidfd = fd;
}

int sv_vm__poll_supervisor(sv_vm *vm, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : sv_now_ms() + timeout_ms;
	if (vm->status_fd >= 0) {
		for (;;) {
			int left = deadline < 0 ? -1 : (int)(deadline - sv_now_ms());
			if (deadline >= 0 && left < 0)
				left = 0;
			if (read_status(vm, left) == 1) {
				/* EOF comes just before the supervisor exits; let it finish. */
				sv_trace_span st;
				sv_trace_begin(&st);
				if (vm->supervisor_pidfd >= 0)
					sv_pidfd_wait_exit(vm->supervisor_pidfd, SUPERVISOR_WAIT_MS);
				sv_trace_end(&st, "stop:supervisor_exit_wait");
				sv_trace_begin(&st);
				parse_status_lines(vm, true);
				clean_after_supervisor(vm);
				sv_vm__load_end_record(vm);
				sv_trace_end(&st, "stop:report_parse+end_record");
				return 1;
			}
			if (deadline >= 0 && sv_now_ms() >= deadline)
				return 0;
		}
	}
	/* A VM another process started: it lives while its directory's lock is
	 * held (by the process starting it, then by its supervisor, until it
	 * exits, after its cleanup). Probed on the lock file found at attach:
	 * the cleanup unlinks it before the supervisor has exited. */
	if (vm->dir_fd >= 0) {
		/* Looked at again when the supervisor state.json names exits (its
		 * pidfd), or after a nap from 1 ms doubling to LOCK_POLL_MS: the lock
		 * may be another process's (the one starting the VM), and a
		 * supervisor's end after its VMM's takes about a millisecond, which
		 * `smartvm stop` of a detached VM overslept by up to a nap. */
		open_supervisor_pidfd(vm);
		struct pollfd exit_of = {.fd = vm->supervisor_pidfd, .events = POLLIN};
		int nap_ms = 1;
		for (;;) {
			int held = vm->lock_fd >= 0 ? sv_vm_lock_fd_held(vm->lock_fd)
						    : sv_vm_lock_held_at(vm->dir_fd);
			if (held <= 0)
				break;
			long long left = deadline < 0 ? nap_ms : deadline - sv_now_ms();
			if (left <= 0)
				return 0;
			if (poll(&exit_of, 1, (int)(left < nap_ms ? left : nap_ms)) > 0)
				exit_of.fd = -1; /* it has exited: naps from now on */
			nap_ms = nap_ms * 2 > LOCK_POLL_MS ? LOCK_POLL_MS : nap_ms * 2;
		}
		sv_err_clear();
	} else {
		open_supervisor_pidfd(vm);
		if (vm->supervisor_pidfd >= 0 &&
		    sv_pidfd_wait_exit(vm->supervisor_pidfd, timeout_ms) == SV_ETIMEOUT)
			return 0;
	}
	sv_vm__load_end_record(vm);
	bool leftovers = !vm->end_record && sv_path_exists(vm->dir);
	mark_ended(vm, leftovers, leftovers ? "the supervisor is gone and left its VM directory behind" : "");
	sv_vm__load_end_record(vm); /* its reason, which mark_ended replaced */
	return 1;
}

/* 0 once something listens on the unix socket at path, else the errno of
 * connect(): a VMM that has bound its socket but not yet called listen()
 * refuses (ECONNREFUSED) although the file is already there. */
static int probe_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	close(fd);
	return e;
}

/* Waits until the API socket accepts connections, the VMM ends, or the
 * timeout passes. Until the supervisor's pid line (the VMM spawned) only the
 * status pipe is waited on: the supervisor's own files in the VM directory
 * would wake us for nothing. Then the directory is watched (inotify), so the
 * socket's creation wakes us at once; between bind and listen we retry after
 * a short back-off. The inotify instance belongs to the manager: closing one
 * costs the kernel an RCU grace period (10-20 ms), far more than the wait. */
static int wait_for_socket(sv_vm *vm, const char *socket_path, int timeout_ms)
{
	int ino = sv_inotify_once_fd(vm->host->inotify), wd = -1;
	long long deadline = sv_now_ms() + timeout_ms, backoff_us = 100;
	int rc = 0, refused = 0; /* connect's errno once the file exists */
	for (;;) {
		if (vm->vmm_pid > 0 && ino >= 0 && wd < 0) {
			/* Before the stat below: a socket made in between wakes us. */
			char *dir = strdup(socket_path);
			wd = dir ? inotify_add_watch(ino, dirname(dir), IN_CREATE | IN_MOVED_TO) : -1;
			free(dir);
			if (wd < 0)
				ino = -1; /* fall back to short polls */
		}
		struct stat st;
		if (vm->vmm_pid > 0 && stat(socket_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    (refused = probe_connect(socket_path)) == 0)
			break;
		long long left = deadline - sv_now_ms();
		if (left < 0) {
			if (refused)
				rc = sv_err_errno(SV_ETIMEOUT, refused,
						  "%s did not accept connections on its API socket %s within "
						  "%d ms: connect",
						  vm->backend->name, socket_path, timeout_ms);
			else
				rc = sv_err(SV_ETIMEOUT, "%s did not create its API socket %s within %d ms",
					    vm->backend->name, socket_path, timeout_ms);
			break;
		}
		struct pollfd p[2] = {{.fd = vm->status_fd, .events = POLLIN},
				      {.fd = wd >= 0 ? ino : -1, .events = POLLIN}};
		/* Each wake-up has a cause: the status pipe (the pid line; the
		 * end) or the directory (a file created). Only a socket bound
		 * but not yet listening, or a VMM without inotify, is looked at
		 * again unasked: after a back-off from 0.1 ms (listen follows
		 * bind at once) doubling to 5 ms. The inotify instance is shared
		 * by the threads starting VMs: one of them may take our event
		 * between our stat and our poll, so no wait is longer than
		 * MAX_SOCKET_WAKE_MS. */
		bool recheck = refused || (vm->vmm_pid > 0 && ino < 0);
		long long wait_us =
		    recheck ? backoff_us : (left < MAX_SOCKET_WAKE_MS ? left : MAX_SOCKET_WAKE_MS) * 1000;
		if (recheck)
			backoff_us = backoff_us * 2 > 5000 ? 5000 : backoff_us * 2;
		struct timespec ts = {.tv_sec = wait_us / 1000000, .tv_nsec = (wait_us % 1000000) * 1000};
		if (ppoll(p, 2, &ts, NULL) < 0 && errno != EINTR)
			continue;
		/* One read takes every queued event (they are only a wake-up). */
		if (p[1].revents) {
			char drain[4096];
			(void)!read(ino, drain, sizeof(drain));
		}
		if (p[0].revents && read_status(vm, 0) == 1) {
			if (vm->supervisor_pidfd >= 0)
				sv_pidfd_wait_exit(vm->supervisor_pidfd, SUPERVISOR_WAIT_MS);
			parse_status_lines(vm, true);
			rc = sv_err(SV_EPROCESS, "%s ended before its API socket appeared: %s",
				    vm->backend->name, vm->end_reason);
			break;
		}
	}
	if (wd >= 0) {
		/* Taken now, the IN_IGNORED this queues does not wake the next wait. */
		char drain[4096];
		inotify_rm_watch(ino, wd);
		(void)!read(ino, drain, sizeof(drain));
	}
	return rc;
}

/* The exec path: spawn smartvm-supervisor, which forks once so that it is
 * nobody's child but init's; its first process exits at once and is reaped
 * here. Also the path of a VM whose supervisor starts in another network
 * namespace (sv_vm_net_spawn), which the fork server cannot enter. */
/* While the supervisor's exec and the VMM's start keep it waiting: a
 * process's first start would otherwise load the API client's libraries
 * after them (`smartvm run` pays it every time). A failure is left to the
 * connection to report. */
static void load_api_client(const sv_vm *vm)
{
	if (!vm->backend->client_load)
		return;
	sv_trace_span step;
	sv_trace_begin(&step);
	sv_err_saved saved;
	sv_err_save(&saved);
	vm->backend->client_load();
	sv_err_restore(&saved);
	sv_trace_end(&step, "start:api_client_load");
}

static int spawn_supervisor(sv_vm *vm, const char *sup, const int status[2], const int control[2],
			    int console, int lock_fd, int log_fd)
{
	sv_trace_span step;
	sv_trace_begin(&step);
	char sfd[16], cfd[16], lfd[16], kfd[16];
	snprintf(sfd, sizeof(sfd), "%d", status[1]);
	snprintf(cfd, sizeof(cfd), "%d", control[0]);
	snprintf(lfd, sizeof(lfd), "%d", lock_fd);
	snprintf(kfd, sizeof(kfd), "%d", console);
	const char *sargv[] = {sup, "--status-fd",  sfd, "--control-fd", cfd, "--lock-fd",
			       lfd, "--console-fd", kfd, vm->dir,	 NULL};
	if (console < 0)
		memmove(&sargv[7], &sargv[9], 2 * sizeof(*sargv));
	const int keep[] = {status[1], control[0], lock_fd, console};
	sv_spawn_opts so = {.argv = sargv,
			    .stdin_fd = -1,
			    .stdout_fd = -1,
			    .stderr_fd = log_fd,
			    .keep_fds = keep,
			    .n_keep_fds = console >= 0 ? 4 : 3,
			    .new_session = true,
			    .cwd = SV_SUPERVISOR_CWD};
	pid_t first;
	int rc = sv_vm_net_spawn(vm->staged, &so, &first);
	if (rc)
		return rc;
	load_api_client(vm);
	int first_status = 0;
	sv_reap(first, 5000, &first_status);
	sv_trace_end(&step, "start:supervisor_spawn+first_half");
	return 0;
}

/* After the fork server died holding our request: did it fork the
 * supervisor first? That supervisor holds the status pipe's write end and
 * says "sup" at once; without one the pipe reads EOF once ours is closed.
 * 1: it runs (what it said is in vm->status); 0: it does not, and the
 * pipes are new ones for another try. */
static int supervisor_forked_before_loss(sv_vm *vm, int status[2], int control[2])
{
	close(status[1]);
	status[1] = -1;
	struct pollfd p = {.fd = status[0], .events = POLLIN};
	int n;
	while ((n = poll(&p, 1, SUPERVISOR_WAIT_MS)) < 0 && errno == EINTR)
		;
	char chunk[512];
	ssize_t r = n == 1 ? read(status[0], chunk, sizeof(chunk)) : -1;
	if (r > 0) {
		if (sv_buf_append(&vm->status, chunk, (size_t)r) != 0)
			return sv_err(SV_ENOMEM, "out of memory");
		parse_status_lines(vm, false);
		return 1;
	}
	if (r < 0)
		return sv_err(SV_EPROCESS,
			      "the supervisor fork server died starting the supervisor, "
			      "which has not answered in %d ms",
			      SUPERVISOR_WAIT_MS);
	for (int i = 0; i < 2; i++) {
		if (status[i] >= 0)
			close(status[i]);
		close(control[i]);
		status[i] = control[i] = -1;
	}
	if (pipe2(status, O_CLOEXEC) || pipe2(control, O_CLOEXEC))
		return sv_err_errno(SV_EIO, errno, "creating supervisor pipes");
	return 0;
}

/* Starts the VM's supervisor with the write end of status, the read end of
 * control, the lock, the console pipe (-1: none) and log_fd as its stderr:
 * forked by the manager's fork server, or (where the server cannot stand in
 * for an exec: another network namespace; a process other than the one that
 * started the server, other credentials, namespaces or cgroup; a server
 * that cannot start) spawned. On return status[1] may be -1 (already
 * closed). */
static int start_supervisor(sv_vm *vm, const char *sup, int status[2], int control[2], int console,
			    int lock_fd, int log_fd)
{
	const sv_vm_net_options *net = vm->staged->net;
	bool in_netns = net && net->version >= 1 && net->netns_path;
	if (!in_netns && vm->host->fork_server && log_fd >= 0) {
		sv_trace_span step;
		sv_trace_begin(&step);
		int fds[SV_FORK_FDS] = {[SV_FORK_FD_STATUS] = status[1],
					[SV_FORK_FD_CONTROL] = control[0],
					[SV_FORK_FD_LOCK] = lock_fd,
					[SV_FORK_FD_LOG] = log_fd,
					[SV_FORK_FD_CONSOLE] = console};
		sv_fork_outcome outcome;
		pid_t pid = 0;
		unsigned long long start = 0;
		int rc = sv_fork_server_start_supervisor(vm->host->fork_server, sup, fds, vm->dir, &outcome,
							 &pid, &start);
		if (rc)
			return rc;
		if (outcome == SV_FORK_STARTED) {
			vm->supervisor_pid = pid;
			vm->supervisor_start_time = start;
			sv_trace_end(&step, "start:supervisor_fork_request");
			return 0;
		}
		if (outcome == SV_FORK_LOST && (rc = supervisor_forked_before_loss(vm, status, control)) != 0)
			return rc < 0 ? rc : 0;
	}
	return spawn_supervisor(vm, sup, status, control, console, lock_fd, log_fd);
}

int sv_vm__launch(sv_vm *vm, const char *binary, const char *qemu_accel, int lock_fd, int socket_timeout_ms)
{
	char **argv = NULL, *sup = NULL, *socket_path = NULL, *vmm_log = NULL, *vmm_config = NULL;
	int status[2] = {-1, -1}, control[2] = {-1, -1}, console = -1;
	sv_vmm_launch launch = {.vm_id = vm->id,
				.vm_dir = vm->dir,
				.binary = binary,
				.cfg = vm->staged,
				.qemu_accel = qemu_accel,
				.incoming = vm->restore_backend != NULL};
	sv_vmm_jail jail;
	sv_trace_span step;
	sv_trace_begin(&step);
	if (vm->jail)
		sv_vm__jail_launch(vm, &launch, &jail);
	int rc = write_vmm_config(vm, &launch, &vmm_config);
	launch.config_file = vmm_config;
	if (!rc)
		rc = vm->backend->build_argv(&launch, &argv);
	if (rc || (rc = write_launch_file(vm, argv, binary)))
		goto out;
	sv_trace_end(&step, "start:launch_file");
	if (pipe2(status, O_CLOEXEC) || pipe2(control, O_CLOEXEC)) {
		rc = sv_err_errno(SV_EIO, errno, "creating supervisor pipes");
		goto out;
	}
	/* A VM running a command: its console also comes to us on a pipe. */
	if ((rc = sv_vm__command_console_pipe(vm, &console)))
		goto out;
	sup = supervisor_path();
	/* The supervisor outlives us (detached VMs): its diagnostics go to the
	 * VMM log, never to our stderr, which may be a pipe our caller reads to
	 * EOF, nor to the guest's console. */
	vmm_log = sv_path_join(vm->dir, SV_VM_VMM_LOG_FILE);
	int sup_err =
	    vmm_log ? open(vmm_log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0644) : -1;
	rc = sup ? SV_FAULT_POINT("launch.supervisor") : sv_err(SV_ENOMEM, "out of memory");
	if (!rc)
		rc = start_supervisor(vm, sup, status, control, console, lock_fd, sup_err);
	if (sup_err >= 0)
		close(sup_err);
	if (rc) {
		rc = sv_err_prefix("starting the supervisor");
		goto out;
	}
	if (status[1] >= 0)
		close(status[1]);
	close(control[0]);
	if (console >= 0)
		close(console);
	status[1] = control[0] = console = -1;
	vm->status_fd = status[0];
	vm->control_fd = control[1];
	status[0] = control[1] = -1;

	socket_path = sv_vm__api_socket_path(vm);
	load_api_client(vm); /* loaded already on the exec path, before its reap */
	sv_trace_begin(&step);
	if (!(rc = SV_FAULT_POINT("launch.api_socket")))
		rc = wait_for_socket(vm, socket_path, socket_timeout_ms);
	sv_trace_end(&step, "start:api_socket_wait");
out:
	for (int i = 0; i < 2; i++) {
		if (status[i] >= 0)
			close(status[i]);
		if (control[i] >= 0)
			close(control[i]);
	}
	if (console >= 0)
		close(console);
	sv_strv_free(argv);
	free(sup);
	free(socket_path);
	free(vmm_log);
	free(vmm_config);
	return rc;
}

static void touch_stop_marker(sv_vm *vm)
{
	/* Through the VM directory's fd, never through a planted link. */
	int fd = openat(vm->dir_fd, SV_VM_STOP_MARKER, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

/* Waits for the VMM to exit; true if it did (or was never ours to see). */
static bool wait_vmm_exit(int pidfd, int timeout_ms)
{
	return pidfd < 0 || sv_pidfd_wait_exit(pidfd, timeout_ms) == 0;
}

int sv_vm__terminate(sv_vm *vm, bool graceful, int timeout_ms)
{
	sv_trace_span step;
	sv_trace_begin(&step);
	touch_stop_marker(vm);
	/* A VM another process is still starting (we know no VMM of it): a VMM
	 * spawned already is in its ledger, killed here, so that the start
	 * fails and cleans up; one not spawned yet never runs, since its
	 * supervisor looks for the marker once its pid is in the ledger
	 * (supervisor.c, record_vmm_pid). */
	if (vm->vmm_pid <= 0 && vm->status_fd < 0 && vm->control_fd < 0 && vm->dir_fd >= 0)
		sv_ledger_kill_processes_at(vm->dir_fd);
	/* A supervisor we started but have not heard from yet (a launch that
	 * failed at once) is told through its control pipe: closed without a
	 * detach, it kills the VMM itself, then cleans up and ends. */
	if (vm->vmm_pid <= 0 && vm->control_fd >= 0) {
		close(vm->control_fd);
		vm->control_fd = -1;
	}
	int pidfd = -1;
	if (sv_process_alive(vm->vmm_pid, vm->vmm_start_time))
		pidfd = (int)syscall(SYS_pidfd_open, vm->vmm_pid, 0);
	bool gone = pidfd < 0;
	/* A paused guest never sees a shutdown request: resume it first, so it
	 * can shut down cleanly, or (if that fails) go straight to signals. */
	if (!gone && graceful && vm->vmm && vm->state == SV_VM_PAUSED && vm->backend->resume(vm->vmm) != 0) {
		sv_debug("VM \"%s\": resuming to shut down failed: %s", vm->id, sv_last_error());
		graceful = false;
	}
	if (!gone && graceful && vm->vmm) {
		if (SV_FAULT_POINT("stop.request") == 0 && vm->backend->request_shutdown(vm->vmm) == 0)
			gone = wait_vmm_exit(pidfd, timeout_ms);
		else
			sv_debug("VM \"%s\": shutdown request failed: %s", vm->id, sv_last_error());
	}
	if (!gone) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
		gone = wait_vmm_exit(pidfd, TERM_WAIT_MS);
	}
	if (!gone) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		gone = wait_vmm_exit(pidfd, KILL_WAIT_MS);
	}
	if (pidfd >= 0)
		close(pidfd);
	sv_trace_end(&step, "stop:shutdown_request+vmm_exit");
	sv_trace_begin(&step);
	if ((vm->supervisor_pid > 0 || vm->status_fd >= 0 || vm->lock_fd >= 0) &&
	    sv_vm__poll_supervisor(vm, SUPERVISOR_WAIT_MS) == 0) {
		if (vm->supervisor_pid > 0) {
			sv_warn("VM \"%s\": supervisor %d did not finish; killing it", vm->id,
				(int)vm->supervisor_pid);
			if (sv_process_alive(vm->supervisor_pid, vm->supervisor_start_time))
				kill(vm->supervisor_pid, SIGKILL);
			sv_vm__poll_supervisor(vm, 2000);
		} else { /* an attached VM another process is still starting */
			sv_warn("VM \"%s\": the process starting it still holds its lock", vm->id);
		}
	}
	sv_trace_end(&step, "stop:supervisor_report+replay");
	if (!gone)
		return sv_err(SV_EPROCESS, "%s (pid %d) survived SIGKILL", vm->backend->name,
			      (int)vm->vmm_pid);
	return 0;
}
