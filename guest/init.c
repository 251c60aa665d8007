/* smartvm-init: PID 1 of the minimal guest image (a static binary in the
 * initramfs, next to busybox).
 *
 * What it does, in order:
 *   1. mounts /proc, /sys and /dev (devtmpfs);
 *   2. loads the kernel modules from /lib/modules in this order: virtio_ring,
 *      virtio, virtio_mmio, virtio_blk, failover, net_failover, virtio_net
 *      (Debian's cloud kernel has virtio as modules), then the optional
 *      virtio_balloon, virtio-rng, button and evdev;
 *   3. applies ip=<client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf>
 *      from the kernel command line itself (the kernel has no CONFIG_IP_PNP);
 *   4. with root=/dev/vdX mounts that drive (read-only with "ro"; rootfstype=,
 *      default ext4) at /newroot and runs the command chrooted into it;
 *   4b. starts the guest agent (init_agent.c) when the agent's port or vsock
 *      exists, unless smartvm.agent=off; with smartvm.exec=agent it then
 *      runs no command itself and stays up until powered off;
 *   5. runs the command from smartvm.cmd= (see proto/guest_cmd.h for the encoding;
 *      default "uname -a") with stdin /dev/null and stdout+stderr through a pipe
 *      that this init copies to the console (with smartvm.console=tty: on the
 *      console itself as its terminal, for `smartvm attach`), between two
 *      markers:
 *          === smartvm: command start ===\n
 *          <output, byte for byte>\n
 *          === smartvm: exit status N ===\n
 *      N is the exit code, or 128+signal. The output is everything between the
 *      start marker line and the "\n" before the end marker;
 *   6. an ACPI power-button press (QEMU's system_powerdown) sends SIGTERM to the
 *      command's process group, SIGKILL 3 s later;
 *   7. kills what is left *before* writing the exit line, so that nothing of
 *      the command can print after it (the host takes an exit line as the end
 *      only if it is the last thing on the console), then syncs, unmounts,
 *      and powers off.
 * The console's output post-processing (ONLCR) is switched off so the bytes on
 * the host are exactly the command's; kernel console messages are limited to
 * emergencies while the command runs so they don't interleave.
 *
 * Must never return (PID 1 exiting panics the kernel) and never wait without a
 * bound except on the command itself.
 */
#include "guest_cmd.h"
#include "init_agent.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define NEWROOT "/newroot"
#define MAX_EVDEV 8

static const char *const required_modules[] = {
	"virtio_ring", "virtio", "virtio_mmio", "virtio_blk", "failover", "net_failover", "virtio_net",
};
/* pvpanic(-mmio): a kernel panic tells QEMU, which then exits at once. */
static const char *const optional_modules[] = { "virtio_balloon", "virtio-rng", "button", "evdev", "pvpanic",
						"pvpanic-mmio" };

static char cmdline[4096];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) < 0)
		return;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* The value of key ("root=") on the command line, copied into buf; NULL if absent. */
static const char *param(const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	for (const char *p = cmdline; *p;) {
		while (*p == ' ' || *p == '\n')
			p++;
		const char *end = p;
		while (*end && *end != ' ' && *end != '\n')
			end++;
		if ((size_t)(end - p) >= klen && strncmp(p, key, klen) == 0) {
			size_t n = (size_t)(end - p) - klen;
			if (n >= size)
				n = size - 1;
			memcpy(buf, p + klen, n);
			buf[n] = '\0';
			return buf;
		}
		p = end;
	}
	return NULL;
}

bool init_boot_flag(const char *word)
{
	size_t wlen = strlen(word);
	for (const char *p = cmdline; *p;) {
		while (*p == ' ' || *p == '\n')
			p++;
		const char *end = p;
		while (*end && *end != ' ' && *end != '\n')
			end++;
		if ((size_t)(end - p) == wlen && strncmp(p, word, wlen) == 0)
			return true;
		p = end;
	}
	return false;
}

static void mount_basics(void)
{
	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
}

static void read_cmdline(void)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	cmdline[n > 0 ? n : 0] = '\0';
}

int init_load_module(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "/lib/modules/%s.ko", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = (int)syscall(SYS_finit_module, fd, "", 0);
	int e = errno;
	close(fd);
	return rc == 0 || e == EEXIST ? 0 : -e;
}

static void load_modules(void)
{
	for (size_t i = 0; i < sizeof(required_modules) / sizeof(*required_modules); i++) {
		int rc = init_load_module(required_modules[i]);
		if (rc)
			say("smartvm-init: loading %s: %s\n", required_modules[i], strerror(-rc));
	}
	for (size_t i = 0; i < sizeof(optional_modules) / sizeof(*optional_modules); i++)
		init_load_module(optional_modules[i]);
}

static bool wait_for_path(const char *path, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct stat st;
	while (stat(path, &st) != 0) {
		if (now_ms() >= deadline)
			return false;
		sleep_ms(10);
	}
	return true;
}

/* The n-th (0-based) colon-separated field of s, copied into buf ("" if absent). */
static const char *field(const char *s, int n, char *buf, size_t size)
{
	for (int i = 0; i < n && s; i++) {
		s = strchr(s, ':');
		if (s)
			s++;
	}
	buf[0] = '\0';
	if (!s)
		return buf;
	size_t len = strcspn(s, ":");
	if (len >= size)
		len = size - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

static int set_addr(int sock, const char *dev, unsigned long req, const char *addr)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	return ioctl(sock, req, &ifr);
}

static int link_up(int sock, const char *dev)
{
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

static int add_default_route(int sock, const char *dev, const char *gw)
{
	struct rtentry rt = { 0 };
	struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
	struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;
	struct sockaddr_in *gate = (struct sockaddr_in *)&rt.rt_gateway;
	dst->sin_family = mask->sin_family = gate->sin_family = AF_INET;
	if (inet_pton(AF_INET, gw, &gate->sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = (char *)dev;
	return ioctl(sock, SIOCADDRT, &rt);
}

/* ip=<client>:<server>:<gw>:<netmask>:<hostname>:<device>:<autoconf>:<dns0>:<dns1> */
static void configure_network(void)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return;
	link_up(sock, "lo");
	char ip[512], client[64], gw[64], mask[64], host[65], dev[IFNAMSIZ];
	if (!param("ip=", ip, sizeof(ip)) || strcmp(ip, "off") == 0 || strcmp(ip, "none") == 0) {
		close(sock);
		return;
	}
	field(ip, 0, client, sizeof(client));
	field(ip, 2, gw, sizeof(gw));
	field(ip, 3, mask, sizeof(mask));
	field(ip, 4, host, sizeof(host));
	field(ip, 5, dev, sizeof(dev));
	if (!dev[0])
		snprintf(dev, sizeof(dev), "eth0");
	if (!client[0] || strchr(ip, ':') == NULL) {
		say("smartvm-init: ip=%s: only static addresses are supported\n", ip);
		close(sock);
		return;
	}
	long long deadline = now_ms() + 3000;
	while (if_nametoindex(dev) == 0 && now_ms() < deadline)
		sleep_ms(10);
	if (host[0])
		sethostname(host, strlen(host));
	if (set_addr(sock, dev, SIOCSIFADDR, client) < 0)
		say("smartvm-init: ip=: address %s on %s: %s\n", client, dev, strerror(errno));
	else if (mask[0] && set_addr(sock, dev, SIOCSIFNETMASK, mask) < 0)
		say("smartvm-init: ip=: netmask %s on %s: %s\n", mask, dev, strerror(errno));
	if (link_up(sock, dev) < 0)
		say("smartvm-init: ip=: bringing %s up: %s\n", dev, strerror(errno));
	if (gw[0] && add_default_route(sock, dev, gw) < 0)
		say("smartvm-init: ip=: default route via %s: %s\n", gw, strerror(errno));
	close(sock);
}

/* Mounts root= at NEWROOT with proc, sys and dev inside. True if mounted. */
static bool mount_root(void)
{
	char root[256], fstype[32];
	if (!param("root=", root, sizeof(root)))
		return false;
	if (strncmp(root, "/dev/", 5) != 0) {
		say("smartvm-init: root=%s: only /dev/ paths are supported\n", root);
		return false;
	}
	if (!param("rootfstype=", fstype, sizeof(fstype)))
		snprintf(fstype, sizeof(fstype), "ext4");
	if (!wait_for_path(root, 3000)) {
		say("smartvm-init: root=%s: no such device\n", root);
		return false;
	}
	mkdir(NEWROOT, 0755);
	unsigned long flags = init_boot_flag("ro") ? MS_RDONLY : 0;
	if (mount(root, NEWROOT, fstype, flags, NULL) < 0) {
		say("smartvm-init: mounting %s (%s) on " NEWROOT ": %s\n", root, fstype, strerror(errno));
		return false;
	}
	mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", NEWROOT "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("devtmpfs", NEWROOT "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	return true;
}

/* Raw output on the console: the host sees the command's bytes unchanged. */
static void console_raw_output(void)
{
	struct termios t;
	if (tcgetattr(STDOUT_FILENO, &t) == 0) {
		t.c_oflag &= ~(tcflag_t)OPOST;
		tcsetattr(STDOUT_FILENO, TCSANOW, &t);
	}
}

int init_open_power_buttons(int *fds)
{
	int n = 0;
	DIR *d = opendir("/dev/input");
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < MAX_EVDEV) {
		if (strncmp(de->d_name, "event", 5) != 0)
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

bool init_power_pressed(int fd)
{
	struct input_event ev[16];
	ssize_t n;
	bool pressed = false;
	while ((n = read(fd, ev, sizeof(ev))) > 0)
		for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
			if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1)
				pressed = true;
	return pressed;
}

/* In the command's process, with smartvm.console=tty: a session of its own
 * whose controlling terminal is the serial console, in the usual cooked
 * mode (echo, line editing, signals, CR-LF), as stdin, stdout and stderr. */
static void take_console_terminal(void)
{
	setsid();
	int fd = open("/dev/ttyS0", O_RDWR);
	if (fd < 0)
		fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		return;
	ioctl(fd, TIOCSCTTY, 1);
	struct termios t;
	if (tcgetattr(fd, &t) == 0) {
		t.c_iflag |= ICRNL;
		t.c_oflag |= OPOST | ONLCR;
		t.c_lflag |= ICANON | ECHO | ECHOE | ECHOK | ISIG | IEXTEN;
		tcsetattr(fd, TCSANOW, &t);
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* out_fd < 0: the console is the command's terminal. */
static pid_t spawn_command(char **argv, bool in_root, int out_fd)
{
	pid_t pid = fork();
	if (pid != 0) {
		/* Both sides set the group, so a power-button press right after the
		 * fork still finds it. */
		if (pid > 0)
			setpgid(pid, pid);
		return pid;
	}
	if (out_fd < 0) {
		take_console_terminal();
	} else {
		setpgid(0, 0);
		int null_fd = open("/dev/null", O_RDONLY);
		if (null_fd >= 0)
			dup2(null_fd, STDIN_FILENO);
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
	}
	if (in_root && (chroot(NEWROOT) < 0 || chdir("/") < 0)) {
		dprintf(STDERR_FILENO, "smartvm-init: chroot " NEWROOT ": %s\n", strerror(errno));
		_exit(127);
	}
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "smartvm-init: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Copies whatever the pipe holds to the console; false at EOF. */
static bool copy_output(int fd, bool *ended_with_newline)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR);
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
		if (w <= 0)
			break;
		off += w;
	}
	*ended_with_newline = buf[n - 1] == '\n';
	return true;
}

/* Runs argv with its output copied to the console; returns the exit status
 * as a shell would (128+signal). */
static int run_command(char **argv, bool in_root, bool on_terminal)
{
	int pipefd[2] = { -1, -1 };
	if (!on_terminal && pipe2(pipefd, O_CLOEXEC) < 0) {
		say("smartvm-init: pipe: %s\n", strerror(errno));
		return 127;
	}
	int evdev[MAX_EVDEV];
	int n_evdev = init_open_power_buttons(evdev);
	say("=== smartvm: command start ===\n");
	pid_t child = spawn_command(argv, in_root, pipefd[1]);
	if (!on_terminal) {
		close(pipefd[1]);
		fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	}
	int status = -1;
	bool output_open = !on_terminal, ended_with_newline = true;
	long long kill_at = -1, drain_until = -1;
	while (child > 0 && (status < 0 || output_open)) {
		struct pollfd p[MAX_EVDEV + 1];
		int np = 0;
		p[np++] = (struct pollfd){ .fd = output_open ? pipefd[0] : -1, .events = POLLIN };
		for (int i = 0; i < n_evdev; i++)
			p[np++] = (struct pollfd){ .fd = evdev[i], .events = POLLIN };
		poll(p, (nfds_t)np, 50);
		if (output_open && p[0].revents)
			output_open = copy_output(pipefd[0], &ended_with_newline);
		for (int i = 1; i < np; i++)
			if (p[i].revents && init_power_pressed(p[i].fd) && kill_at < 0 && status < 0) {
				kill(-child, SIGTERM);
				kill_at = now_ms() + 3000;
			}
		if (kill_at >= 0 && now_ms() >= kill_at && status < 0) {
			kill(-child, SIGKILL);
			kill_at = now_ms() + 1000000;
		}
		/* PID 1 reaps every orphan; the command's own status is kept. */
		int st;
		pid_t r;
		while ((r = waitpid(-1, &st, WNOHANG)) > 0)
			if (r == child) {
				status = st;
				drain_until = now_ms() + 1000;
			}
		/* A background process may hold the pipe open forever. */
		if (status >= 0 && drain_until >= 0 && now_ms() >= drain_until)
			output_open = false;
	}
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	for (int i = 0; i < n_evdev; i++)
		close(evdev[i]);
	return child < 0 ? 127
	       : WIFEXITED(status) ? WEXITSTATUS(status)
	       : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

/* Every process but us, SIGKILLed and reaped (at most 2 s: one stuck in the
 * kernel must not keep the VM up). */
static void kill_everything(void)
{
	kill(-1, SIGKILL);
	long long deadline = now_ms() + 2000;
	while (now_ms() < deadline) {
		pid_t r = waitpid(-1, NULL, WNOHANG);
		if (r < 0 && errno == ECHILD)
			return;
		if (r <= 0)
			sleep_ms(5);
	}
}

static void unmount_all(void)
{
	/* Deepest first: the reverse of /proc/self/mounts. */
	char *paths[64];
	int n = 0;
	FILE *f = fopen("/proc/self/mounts", "re");
	if (f) {
		char dev[256], dir[256];
		while (n < 64 && fscanf(f, "%255s %255s %*s %*s %*d %*d", dev, dir) == 2)
			if (strcmp(dir, "/") != 0)
				paths[n++] = strdup(dir);
		fclose(f);
	}
	for (int i = n - 1; i >= 0; i--) {
		if (paths[i] && umount2(paths[i], 0) < 0 && strcmp(paths[i], "/proc") != 0 &&
		    strcmp(paths[i], "/dev") != 0 && strcmp(paths[i], "/sys") != 0)
			mount(NULL, paths[i], NULL, MS_REMOUNT | MS_RDONLY, NULL);
		free(paths[i]);
	}
}

static void power_off(void)
{
	kill_everything();
	sync();
	unmount_all();
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(void)
{
	mount_basics();
	read_cmdline();
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/root", 1);
	setenv("TERM", "linux", 1);
	load_modules();
	configure_network();
	bool in_root = mount_root();
	/* The guest agent (init_agent.c); with smartvm.exec=agent the host runs
	 * the commands through it and this init runs none of its own. */
	pid_t agent = init_agent_start(in_root);
	if (agent > 0 && init_boot_flag(SV_INIT_EXEC_AGENT)) {
		init_agent_serve(agent, in_root);
		power_off();
	}

	static char *default_argv[] = { "uname", "-a", NULL };
	char **argv = default_argv;
	char *decoded_block = NULL;
	char encoded[sizeof(cmdline)];
	if (param(SV_GUEST_CMD_KEY, encoded, sizeof(encoded))) {
		char **decoded = NULL;
		if (sv_guest_cmd_decode(encoded, &decoded) == 0) {
			argv = decoded;
			decoded_block = (char *)decoded;
		} else {
			say("smartvm-init: " SV_GUEST_CMD_KEY ": not a valid encoded command\n");
			say("=== smartvm: exit status 127 ===\n");
			power_off();
		}
	}
	bool on_terminal = init_boot_flag(SV_GUEST_CONSOLE_TTY);
	if (!on_terminal)
		console_raw_output();
	klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 1);
	int code = run_command(argv, in_root, on_terminal);
	/* The exit line goes out as it is, whatever the command left the
	 * terminal in. */
	if (on_terminal)
		console_raw_output();
	kill_everything();
	say("\n=== smartvm: exit status %d ===\n", code);
	free(decoded_block);
	power_off();
	return 0;
}
