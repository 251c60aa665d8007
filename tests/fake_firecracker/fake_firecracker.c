/* fake-firecracker: a strict stand-in for Firecracker v1.16.1's API process,
 * for tests on machines where Firecracker cannot run.
 *
 * This file owns the process: the command line (`--api-sock PATH --id ID`,
 * `--version`), fault injection read from the environment, the API socket
 * (created atomically: bound and listening under a temporary name, then
 * renamed into place, so a client that sees the file can connect), one
 * poll loop driving HTTP, signals and the guest's timers, and the exits:
 * SIGTERM/SIGINT and guest power-off exit 0 after removing the socket.
 *
 * Environment:
 *   FAKE_FC_RECORD_DIR=dir           append each request to dir/<id>.jsonl
 *   FAKE_FC_EXIT_BEFORE_SOCKET=code  print an error, exit with code, no socket
 *   FAKE_FC_NO_SOCKET=1              never create the socket; sleep until killed
 *   FAKE_FC_CRASH_AFTER_START_MS=ms  panic and abort() ms after InstanceStart
 *   FAKE_FC_IGNORE_CTRL_ALT_DEL=1    the guest ignores SendCtrlAltDel
 *   FAKE_FC_GUEST_EXIT=N             a guest whose init runs a command: when the
 *                                    boot args carry smartvm.cmd=, it prints the
 *                                    command protocol's start line, a line of
 *                                    output and "exit status N" on the console
 *                                    FAKE_FC_GUEST_EXIT_MS (default 100) ms after
 *                                    InstanceStart, then powers off (exit 0)
 *   FAKE_FC_STALL_PATH=/path         requests to /path are never answered
 *   FAKE_FC_LISTEN_DELAY_MS=ms       bind the API socket at its path (as the real
 *                                    Firecracker does), then wait ms before
 *                                    listen(): meanwhile connections are refused
 *   FAKE_FC_VSOCK_AGENT=path         the vsock's CONNECT 1024 reaches the agent
 *                                    listening at this unix socket (fc_vsock.c)
 *   FAKE_FC_DIE_ON_PATH=/path        a request to /path: two lines on stderr
 *                                    (one with a terminal escape), exit 1
 *   FAKE_FC_JAILED=1                 set by the fake jailer: the process runs in
 *                                    its jail root (the cwd) and absolute API
 *                                    paths resolve under it, as after chroot
 *
 * The guest's serial console is stdin/stdout (fc_serial.c: it echoes input).
 *
 * Under the (fake) jailer it also takes the arguments the real jailer adds:
 * `--start-time-us N --start-time-cpu-us N --parent-cpu-time-us N`.
 */
#include "fake_fc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <microhttpd.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct MHD_Daemon *daemon_;
static int listen_fd = -1;

long long fc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fc_log(fake_fc *fc, const char *thread, const char *f, ...)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[64];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);

	char *msg = NULL;
	va_list ap;
	va_start(ap, f);
	if (vasprintf(&msg, f, ap) < 0)
		msg = NULL;
	va_end(ap);
	char *line = NULL;
	int n = asprintf(&line, "%s.%09ld [%s:%s] %s\n", when, ts.tv_nsec, fc->id, thread, msg ? msg : "");
	free(msg);
	if (n < 0)
		return;
	int fd = fc->log_fd >= 0 ? fc->log_fd : STDOUT_FILENO;
	if (write(fd, line, (size_t)n) < 0) {
		/* Nowhere better to say it. */
	}
	free(line);
}

char *fc_host_path(fake_fc *fc, const char *path)
{
	if (!path)
		return NULL;
	if (fc->jailed && path[0] == '/') {
		char *p = NULL;
		return asprintf(&p, ".%s", path) < 0 ? NULL : p;
	}
	return strdup(path);
}

const char *fc_os_error(int e)
{
	static char buf[160];
	snprintf(buf, sizeof(buf), "%s (os error %d)", strerror(e), e);
	return buf;
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "Arguments parsing error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\nFor more information try --help\n");
	exit(1);
}

/* Firecracker's rule for --id: 1 to 64 characters, alphanumeric or '-'. */
static void check_instance_id(const char *id)
{
	size_t len = strlen(id);
	if (len < 1 || len > 64) {
		fprintf(stderr, "Invalid instance ID: Invalid len (%zu);  the length must be between 1 and 64\n", len);
		exit(1);
	}
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
		if (!ok) {
			fprintf(stderr, "Invalid instance ID: Invalid char (%c) at position %zu\n", c, i);
			exit(1);
		}
	}
}

static long long env_ms(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return -1;
	char *end;
	long long n = strtoll(v, &end, 10);
	if (*end || n < 0) {
		fprintf(stderr, "fake-firecracker: %s=%s is not a number of milliseconds\n", name, v);
		exit(1);
	}
	return n;
}

static bool env_flag(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0");
}

/* Bind + listen under a temporary name next to path, then rename: the file
 * appears only once connect() can succeed. With a listen delay, bind at path
 * and pause before listen(), like a slow real Firecracker. */
static int open_api_socket(const char *path, long long listen_delay_ms, int sig_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path)];
	char *dir_copy = strdup(path);
	int n = snprintf(tmp, sizeof(tmp), "%s/.fc-%d.sock", dirname(dir_copy), (int)getpid());
	free(dir_copy);
	if (strlen(path) >= sizeof(sa.sun_path) || n < 0 || (size_t)n >= sizeof(tmp)) {
		fprintf(stderr, "Failed to open the API socket at: %s. The path is too long.\n", path);
		exit(1);
	}
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "Failed to open the API socket at: %s. Check that it is not already used.\n", path);
		exit(1);
	}
	bool delayed = listen_delay_ms >= 0;
	strcpy(sa.sun_path, delayed ? path : tmp);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (ok && delayed) {
		/* SIGTERM still ends us meanwhile. */
		struct pollfd p = {.fd = sig_fd, .events = POLLIN};
		long long until = fc_now_ms() + listen_delay_ms;
		for (long long left = listen_delay_ms; left > 0; left = until - fc_now_ms()) {
			if (poll(&p, 1, (int)(left > 1000 ? 1000 : left)) > 0) {
				unlink(path);
				exit(0);
			}
		}
	}
	ok = ok && listen(fd, 64) == 0 && (delayed || rename(tmp, path) == 0);
	if (!ok) {
		fprintf(stderr, "Failed to open the API socket at: %s: %s\n", path, strerror(errno));
		unlink(sa.sun_path);
		exit(1);
	}
	return fd;
}

static int open_record_file(const char *id)
{
	const char *dir = getenv("FAKE_FC_RECORD_DIR");
	if (!dir || !*dir)
		return -1;
	char *path = NULL;
	if (asprintf(&path, "%s/%s.jsonl", dir, id) < 0)
		exit(1);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "fake-firecracker: opening %s: %s\n", path, strerror(errno));
		exit(1);
	}
	free(path);
	return fd;
}

void fc_exit(fake_fc *fc, int code)
{
	fc_log(fc, "main", "Firecracker exiting successfully. exit_code=%d", code);
	if (daemon_)
		fc_router_stop(daemon_);
	daemon_ = NULL;
	char *sock = fc_host_path(fc, fc->api_sock);
	if (sock)
		unlink(sock);
	free(sock);
	if (listen_fd >= 0)
		close(listen_fd);
	int fds[] = { fc->log_fd, fc->metrics_fd, fc->vsock_fd, fc->record_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	json_t **resources[] = { &fc->boot_source, &fc->machine_config, &fc->drives, &fc->net_ifaces,
				 &fc->vsock, &fc->balloon, &fc->mmds_config, &fc->logger, &fc->metrics,
				 &fc->entropy, &fc->mmds_data, &fc->pmem, &fc->memory_hotplug, &fc->cpu_config, &fc->serial };
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
		json_decref(*resources[i]);
		*resources[i] = NULL;
	}
	exit(code);
}

int main(int argc, char **argv)
{
	const char *api_sock = "/run/firecracker.socket";
	const char *id = "anonymous-instance";
	const char *config_file = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("Firecracker v%s\n", FAKE_FC_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--start-time-us") || !strcmp(argv[i], "--start-time-cpu-us") ||
			   !strcmp(argv[i], "--parent-cpu-time-us")) {
			char *end = NULL;
			if (i + 1 >= argc || (strtoull(argv[i + 1], &end, 10), *end) || !argv[i + 1][0])
				usage_error("The argument '%s' requires a number", argv[i]);
			i++;
		} else if (!strcmp(argv[i], "--api-sock") || !strcmp(argv[i], "--id") ||
			   !strcmp(argv[i], "--config-file")) {
			if (i + 1 >= argc)
				usage_error("The argument '%s' requires a value but none was supplied", argv[i]);
			if (!strcmp(argv[i], "--api-sock"))
				api_sock = argv[++i];
			else if (!strcmp(argv[i], "--id"))
				id = argv[++i];
			else
				config_file = argv[++i];
		} else {
			usage_error("Found argument '%s' which wasn't expected, or isn't valid in this context.",
				    argv[i]);
		}
	}
	check_instance_id(id);

	fake_fc fc = {
		.id = id,
		.api_sock = api_sock,
		.log_fd = -1,
		.metrics_fd = -1,
		.vsock_fd = -1,
		.poweroff_at_ms = -1,
		.crash_at_ms = -1,
		.crash_after_ms = env_ms("FAKE_FC_CRASH_AFTER_START_MS"),
		.guest_exit = env_ms("FAKE_FC_GUEST_EXIT"),
		.command_at_ms = -1,
		.ignore_ctrl_alt_del = env_flag("FAKE_FC_IGNORE_CTRL_ALT_DEL"),
		.stall_path = getenv("FAKE_FC_STALL_PATH"),
		.die_path = getenv("FAKE_FC_DIE_ON_PATH"),
		.exit_at_ms = -1,
		.jailed = env_flag("FAKE_FC_JAILED"),
	};
	fc_log(&fc, "main", "Running Firecracker v%s", FAKE_FC_VERSION);

	long long exit_code = env_ms("FAKE_FC_EXIT_BEFORE_SOCKET");
	if (exit_code >= 0) {
		fprintf(stderr, "Error: injected failure before the API socket (FAKE_FC_EXIT_BEFORE_SOCKET=%lld)\n",
			exit_code);
		fflush(NULL);
		_exit((int)exit_code); /* like a VMM dying at start-up: no exit handlers */
	}
	if (env_flag("FAKE_FC_NO_SOCKET")) {
		for (;;)
			pause();
	}

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);

	fc.machine_config = json_pack("{s:i, s:i, s:b, s:b, s:s}", "vcpu_count", 1, "mem_size_mib", 128, "smt", 0,
				      "track_dirty_pages", 0, "huge_pages", "None");
	fc.drives = json_array();
	fc.net_ifaces = json_array();
	fc.pmem = json_array();
	fc.record_fd = open_record_file(id);
	char *sock_path = fc_host_path(&fc, api_sock);
	listen_fd = open_api_socket(sock_path, env_ms("FAKE_FC_LISTEN_DELAY_MS"), sig_fd);
	daemon_ = fc_router_start(&fc, listen_fd);
	if (!daemon_) {
		fprintf(stderr, "Failed to start the API server on %s\n", api_sock);
		unlink(sock_path);
		free(sock_path);
		return 1;
	}
	free(sock_path);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
	int mhd_fd = info ? info->epoll_fd : -1;
	fc_log(&fc, "main", "Listening on API socket (\"%s\").", api_sock);
	if (config_file) {
		fc.from_file = true;
		fc_boot_from_file(&fc, config_file);
	}

	for (;;) {
		int timeout = fc_guest_next_timeout(&fc);
		MHD_UNSIGNED_LONG_LONG mhd_to;
		if (MHD_get_timeout(daemon_, &mhd_to) == MHD_YES && (timeout < 0 || (long long)mhd_to < timeout))
			timeout = (int)mhd_to;
		struct pollfd p[4] = { { .fd = mhd_fd, .events = POLLIN }, { .fd = sig_fd, .events = POLLIN },
				       { .fd = fc.vsock_fd, .events = POLLIN }, { .fd = fc_serial_fd(), .events = POLLIN } };
		if (poll(p, 4, timeout < 0 || timeout > 1000 ? 1000 : timeout) < 0 && errno != EINTR) {
			fprintf(stderr, "fake-firecracker: poll: %s\n", strerror(errno));
			fc_exit(&fc, 1);
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				fc_log(&fc, "main", "Received signal %u, exiting.", si.ssi_signo);
				close(sig_fd);
				fc_exit(&fc, 0);
			}
		}
		if (p[2].revents & POLLIN)
			fc_vsock_accept(&fc);
		if (p[3].revents)
			fc_serial_read(&fc);
		fc_vsock_reap();
		MHD_run(daemon_);
		fc_guest_tick(&fc);
	}
}
