/* The guest agent in the minimal image (the init's part; the agent itself
 * is guest/agent_main.c): loads the modules of its transports, mounts what
 * its exec and put need (devpts for terminals, a tmpfs on /tmp when the
 * root is read-only), starts it, and with smartvm.exec=agent serves:
 * the init runs no command of its own and stays up until powered off.
 *
 * The agent's stdout and stderr go to the kernel log, never the console:
 * the console carries the boot command's output (guest/README.md). */
#include "init_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define AGENT_PATH "/sbin/smartvm-agent"
#define NEWROOT "/newroot"
#define PORT_NAME "org.smartvm.agent.0"
#define MAX_EVDEV 8
#define RESTART_DELAY_MS 1000
#define STOP_GRACE_MS 3000

static const char *const agent_modules[] = {"virtio_console", "vsock", "vmw_vsock_virtio_transport_common",
					    "vmw_vsock_virtio_transport"};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True when a virtio-serial port with our name exists. */
static bool serial_port_exists(void)
{
	for (int dev = 0; dev < 4; dev++)
		for (int port = 0; port < 4; port++) {
			char path[96], name[64] = "";
			snprintf(path, sizeof(path), "/sys/class/virtio-ports/vport%dp%d/name", dev, port);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			ssize_t n = read(fd, name, sizeof(name) - 1);
			close(fd);
			if (n > 0 && !strncmp(name, PORT_NAME, strlen(PORT_NAME)))
				return true;
		}
	return false;
}

/* How long the init waits for the agent's port or vsock to show up. */
#define TRANSPORT_WAIT_MS 1000
#define TRANSPORT_WAIT_EXEC_MS 30000

static bool vsock_usable(void)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = VMADDR_PORT_ANY};
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void mount_for_agent(const char *root)
{
	char pts[64], tmp[64];
	snprintf(pts, sizeof(pts), "%s/dev/pts", root);
	snprintf(tmp, sizeof(tmp), "%s/tmp", root);
	mkdir(pts, 0755);
	mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666");
	/* A read-only root has no room for files copied in. */
	struct statvfs sv;
	if (statvfs(tmp, &sv) == 0 && (sv.f_flag & ST_RDONLY))
		mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

static pid_t spawn_agent(bool in_root)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid < 0 ? 0 : pid;
	setsid();
	int null_fd = open("/dev/null", O_RDWR);
	int log_fd = open("/dev/kmsg", O_WRONLY);
	if (null_fd >= 0)
		dup2(null_fd, 0);
	if (log_fd >= 0) {
		dup2(log_fd, 1);
		dup2(log_fd, 2);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char *const argv[] = {"smartvm-agent", "--chroot", in_root ? NEWROOT : "/", NULL};
	char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	execve(AGENT_PATH, argv, envp);
	_exit(127);
}

pid_t init_agent_start(bool in_root)
{
	/* Loaded either way: with the agent off, a command may use the port. */
	for (size_t i = 0; i < sizeof(agent_modules) / sizeof(*agent_modules); i++)
		init_load_module(agent_modules[i]);
	if (init_boot_flag(SV_INIT_AGENT_OFF) || access(AGENT_PATH, X_OK) != 0)
		return 0;
	/* The drivers name the port (or bind vsock) a moment after the modules
	 * load; a loaded TCG guest took over a second. With smartvm.exec=agent
	 * the host promised a transport, so it is worth waiting for. */
	long long until =
	    mono_ms() + (init_boot_flag(SV_INIT_EXEC_AGENT) ? TRANSPORT_WAIT_EXEC_MS : TRANSPORT_WAIT_MS);
	while (!serial_port_exists() && !vsock_usable()) {
		if (mono_ms() >= until)
			return 0;
		poll(NULL, 0, 10);
	}
	mount_for_agent("");
	if (in_root)
		mount_for_agent(NEWROOT);
	return spawn_agent(in_root);
}

void init_agent_serve(pid_t agent, bool in_root)
{
	sigset_t sigs;
	sigemptyset(&sigs);
	int watched[] = {SIGCHLD, SIGUSR1, SIGUSR2, SIGTERM, SIGINT};
	for (size_t i = 0; i < sizeof(watched) / sizeof(*watched); i++)
		sigaddset(&sigs, watched[i]);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	int evdev[MAX_EVDEV];
	int n_evdev = init_open_power_buttons(evdev);
	long long restart_at = 0, stop_at = 0;
	for (;;) {
		struct pollfd p[MAX_EVDEV + 1];
		int np = 0;
		p[np++] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		for (int i = 0; i < n_evdev; i++)
			p[np++] = (struct pollfd){.fd = evdev[i], .events = POLLIN};
		long long now = mono_ms(), next = stop_at ? stop_at : restart_at;
		poll(p, (nfds_t)np, next ? (int)(next > now ? next - now : 0) : -1);
		bool stop = false;
		struct signalfd_siginfo si;
		while (read(sig_fd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				stop = true;
		for (int i = 1; i < np; i++)
			if (p[i].revents && init_power_pressed(p[i].fd))
				stop = true;
		/* PID 1 reaps every orphan; an agent that died is started again. */
		pid_t r;
		while ((r = waitpid(-1, NULL, WNOHANG)) > 0)
			if (r == agent) {
				agent = 0;
				restart_at = mono_ms() + RESTART_DELAY_MS;
			}
		bool none_left = r < 0 && errno == ECHILD;
		now = mono_ms();
		if (stop && !stop_at) {
			kill(-1, SIGTERM);
			stop_at = now + STOP_GRACE_MS;
			continue;
		}
		if (stop_at && (now >= stop_at || none_left))
			break;
		if (!stop_at && !agent && restart_at && now >= restart_at) {
			agent = spawn_agent(in_root);
			restart_at = agent ? 0 : now + RESTART_DELAY_MS;
		}
	}
	for (int i = 0; i < n_evdev; i++)
		close(evdev[i]);
	close(sig_fd);
}
