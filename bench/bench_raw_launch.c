/* The launch-throughput baseline (see bench_raw_launch.h). Uses the
 * library's spawn and rm helpers only where they are plain process and file
 * handling (fork/exec/pidfd, a recursive remove); the rest is by hand. */
#include "bench_raw_launch.h"

#include "util/file.h"
#include "util/spawn.h"
#include <errno.h>
#include <smartvm/error.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAW_TIMEOUT_MS 5000

/* A persistent TAP named name (persist 1) or its removal (persist 0). */
static int tap_persist(const char *name, int persist)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int rc = ioctl(fd, TUNSETIFF, &ifr) == 0 && ioctl(fd, TUNSETPERSIST, persist) == 0 ? 0 : -1;
	close(fd);
	return rc;
}

int raw_tap_create(const char *name) { return tap_persist(name, 1); }
int raw_tap_delete(const char *name) { return tap_persist(name, 0); }

/* A sparse copy: only the data extents are copied (as smartvm's staging). */
static int copy_sparse(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	struct stat st;
	if (in < 0 || fstat(in, &st) != 0)
		goto out;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0 || ftruncate(out, st.st_size) != 0)
		goto out;
	for (off_t pos = 0; pos < st.st_size;) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0)
			break; /* ENXIO: only a hole is left */
		off_t hole = lseek(in, data, SEEK_HOLE);
		for (off_t at = data; at < hole;) {
			loff_t src = at, dst = at;
			ssize_t n = copy_file_range(in, &src, out, &dst, (size_t)(hole - at), 0);
			if (n <= 0)
				goto out;
			at += n;
		}
		pos = hole;
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

static int put(raw_vm *vm, const char *path, const char *body, char *err, size_t err_size)
{
	int status = raw_request(&vm->conn, "PUT", path, body);
	if (status >= 200 && status <= 299)
		return 0;
	snprintf(err, err_size, "raw client: PUT %s: %d", path, status);
	return -1;
}

int raw_vm_start(const raw_launch_env *env, size_t i, raw_vm *vm, char *err, size_t err_size)
{
	*vm = (raw_vm){.pid = -1, .pidfd = -1, .conn = {.fd = -1}};
	char sock[600], drive[600], console[600], b[1024], id[32];
	snprintf(id, sizeof(id), "raw-%zu", i);
	snprintf(vm->dir, sizeof(vm->dir), "%s/%s", env->dir, id);
	snprintf(vm->tap, sizeof(vm->tap), "rawt%zu", i);
	snprintf(sock, sizeof(sock), "%s/firecracker.sock", vm->dir);
	snprintf(drive, sizeof(drive), "%s/rootfs.img", vm->dir);
	snprintf(console, sizeof(console), "%s/console.log", vm->dir);
	if (mkdir(vm->dir, 0700) != 0 || copy_sparse(env->drive, drive) != 0) {
		snprintf(err, err_size, "raw client: %s: directory or drive copy: %s", id, strerror(errno));
		sv_rm_rf(vm->dir);
		return -1;
	}
	if (tap_persist(vm->tap, 1) != 0) {
		snprintf(err, err_size, "raw client: creating TAP %s: %s", vm->tap, strerror(errno));
		sv_rm_rf(vm->dir);
		vm->tap[0] = '\0';
		return -1;
	}
	int out = open(console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	const char *argv[] = {env->fake_firecracker, "--api-sock", sock, "--id", id, NULL};
	sv_spawn_opts so = {.argv = argv, .stdin_fd = -1, .stdout_fd = out, .stderr_fd = out};
	int rc = out < 0 ? -1 : sv_spawn(&so, &vm->pid, &vm->pidfd);
	if (out >= 0)
		close(out);
	if (rc) {
		snprintf(err, err_size, "raw client: spawning the fake: %s", sv_last_error());
		vm->pid = -1;
		raw_vm_stop(vm, err, 0);
		return -1;
	}
	if (raw_connect(&vm->conn, sock, RAW_TIMEOUT_MS) != 0) {
		snprintf(err, err_size, "raw client: no API socket at %s", sock);
		rc = -1;
	}
	snprintf(b, sizeof(b),
		 "{\"kernel_image_path\":\"%s\",\"boot_args\":\"console=ttyS0 reboot=k panic=1 "
		 "pci=off\"}",
		 env->kernel);
	if (!rc)
		rc = put(vm, "/boot-source", b, err, err_size);
	snprintf(b, sizeof(b),
		 "{\"drive_id\":\"rootfs\",\"path_on_host\":\"%s\",\"is_root_device\":true,"
		 "\"is_read_only\":false}",
		 drive);
	if (!rc)
		rc = put(vm, "/drives/rootfs", b, err, err_size);
	snprintf(b, sizeof(b), "{\"iface_id\":\"eth0\",\"host_dev_name\":\"%s\"}", vm->tap);
	if (!rc)
		rc = put(vm, "/network-interfaces/eth0", b, err, err_size);
	if (!rc)
		rc = put(vm, "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128}", err, err_size);
	if (!rc)
		rc = put(vm, "/actions", "{\"action_type\":\"InstanceStart\"}", err, err_size);
	if (rc) {
		raw_vm_stop(vm, err, 0);
		return -1;
	}
	return 0;
}

int raw_vm_stop(raw_vm *vm, char *err, size_t err_size)
{
	int rc = 0;
	if (vm->pid > 0) {
		if (vm->conn.fd < 0 ||
		    raw_request(&vm->conn, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}") / 100 !=
			2 ||
		    sv_pidfd_wait_exit(vm->pidfd, RAW_TIMEOUT_MS) != 0) {
			kill(vm->pid, SIGKILL);
			rc = -1;
		}
		sv_reap(vm->pid, RAW_TIMEOUT_MS, NULL);
		close(vm->pidfd);
		vm->pid = -1;
	}
	raw_close(&vm->conn);
	if (vm->tap[0] && tap_persist(vm->tap, 0) != 0)
		rc = -1;
	if (sv_rm_rf(vm->dir) != 0)
		rc = -1;
	if (rc && err_size)
		snprintf(err, err_size, "raw client: stopping %s did not go cleanly", vm->dir);
	return rc;
}
