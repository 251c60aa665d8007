/* Pre-boot resources: what Firecracker checks on each PUT after the body has
 * deserialised, and what it keeps for GET /vm/config.
 *
 * Every handler here refuses once the microVM started, with Firecracker's
 * message. Host-side effects Firecracker has at PUT time are modelled where a
 * client could trip over them: backing files and kernels are opened (so a
 * missing file fails here, not at start), the logger and metrics files must
 * already exist (Firecracker opens, never creates them; its docs say to
 * create them first), and the vsock's Unix socket is bound at uds_path.
 * TAP devices are not opened: host_dev_name is taken as given.
 */
#include "fake_fc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static bool refuse_after_start(fake_fc *fc, fc_reply *r)
{
	if (fc->state == VM_NOT_STARTED)
		return false;
	fc_fail(r, FC_MSG_NOT_AFTER_START);
	return true;
}

/* The field's string value, NULL when absent or null. */
static const char *opt_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static bool opt_bool(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

/* Replaces *slot with a copy of body minus null members (serde reads
 * null as None, and None is not serialised back). */
static void keep(json_t **slot, json_t *body)
{
	json_t *copy = json_deep_copy(body);
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(copy, tmp, key, v) {
		if (json_is_null(v))
			json_object_del(copy, key);
	}
	json_decref(*slot);
	*slot = copy;
}

#define os_error fc_os_error

static int can_open(fake_fc *fc, const char *path, int flags)
{
	char *p = fc_host_path(fc, path);
	int fd = p ? open(p, flags | O_CLOEXEC) : -1;
	int e = fd < 0 ? (p ? errno : ENOMEM) : 0;
	free(p);
	if (fd >= 0)
		close(fd);
	return e;
}

void fc_put_boot_source(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	int e = can_open(fc, opt_str(body, "kernel_image_path"), O_RDONLY);
	if (e) {
		fc_fail(r, "The kernel file cannot be opened: %s", os_error(e));
		return;
	}
	const char *initrd = opt_str(body, "initrd_path");
	if (initrd && (e = can_open(fc, initrd, O_RDONLY))) {
		fc_fail(r, "The initrd file cannot be opened due to invalid path or invalid permissions. %s",
			os_error(e));
		return;
	}
	keep(&fc->boot_source, body);
	fc->boot_configured = true;
}

void fc_get_machine_config(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	(void)body;
	fc_ok_json(r, json_deep_copy(fc->machine_config));
}

void fc_put_machine_config(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	long long vcpus = json_integer_value(json_object_get(body, "vcpu_count"));
	long long mem = json_integer_value(json_object_get(body, "mem_size_mib"));
	bool smt = opt_bool(body, "smt");
	const char *huge = opt_str(body, "huge_pages");
	if (vcpus < 1 || vcpus > 32 || (smt && vcpus > 1 && vcpus % 2)) {
		fc_fail(r, "The vCPU number is invalid! The vCPU number can only be 1 or an even number when SMT is enabled.");
		return;
	}
	if (mem == 0) {
		fc_fail(r, "The memory size (MiB) is invalid.");
		return;
	}
	if (huge && !strcmp(huge, "2M") && mem % 2) {
		fc_fail(r, "The memory size (MiB) is either 0, or not a multiple of the configured page size.");
		return;
	}
	/* A PUT resets every optional field it does not name to its default. */
	json_t *mc = json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count", (json_int_t)vcpus, "mem_size_mib",
			       (json_int_t)mem, "smt", smt, "track_dirty_pages", opt_bool(body, "track_dirty_pages"),
			       "huge_pages", huge ? huge : "None");
	const char *tmpl = opt_str(body, "cpu_template");
	if (mc && tmpl && strcmp(tmpl, "None"))
		json_object_set_new(mc, "cpu_template", json_string(tmpl));
	json_decref(fc->machine_config);
	fc->machine_config = mc;
	fc->boot_configured = true;
}

/* Index of the array member whose key equals id, or -1. */
static long find_by(json_t *arr, const char *key, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *s = opt_str(v, key);
		if (s && id && !strcmp(s, id))
			return (long)i;
	}
	return -1;
}

void fc_put_drive(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	if (strcmp(opt_str(body, "drive_id"), id)) {
		fc_fail(r, "The id from the path does not match the id from the body!");
		return;
	}
	if (refuse_after_start(fc, r))
		return;
	const char *path = opt_str(body, "path_on_host");
	const char *sock = opt_str(body, "socket");
	if (!path == !sock) {
		fc_fail(r, "Unable to create the block device: exactly one of path_on_host (virtio-block) "
			   "and socket (vhost-user-block) must be set.");
		return;
	}
	if (path) {
		int e = can_open(fc, path, opt_bool(body, "is_read_only") ? O_RDONLY : O_RDWR);
		if (e) {
			fc_fail(r, "Unable to open the block device backing file: %s: %s", path, os_error(e));
			return;
		}
	}
	bool root = opt_bool(body, "is_root_device");
	size_t i;
	json_t *d;
	json_array_foreach(fc->drives, i, d) {
		if (root && opt_bool(d, "is_root_device") && strcmp(opt_str(d, "drive_id"), id)) {
			fc_fail(r, "A root block device already exists!");
			return;
		}
	}
	json_t *kept = NULL;
	keep(&kept, body);
	long at = find_by(fc->drives, "drive_id", id);
	if (at >= 0)
		json_array_remove(fc->drives, (size_t)at);
	/* Firecracker keeps the root device first in its list. */
	if (root)
		json_array_insert_new(fc->drives, 0, kept);
	else if (at >= 0)
		json_array_insert_new(fc->drives, (size_t)at, kept);
	else
		json_array_append_new(fc->drives, kept);
	fc->boot_configured = true;
}

static bool valid_mac(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		char c = s[i];
		bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		if (i % 3 == 2 ? c != ':' : !hex)
			return false;
	}
	return true;
}

void fc_put_net_iface(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	if (strcmp(opt_str(body, "iface_id"), id)) {
		fc_fail(r, "The id from the path does not match the id from the body!");
		return;
	}
	const char *mac = opt_str(body, "guest_mac");
	if (mac && !valid_mac(mac)) {
		fc_fail(r, "An error occurred when deserializing the json body of a request: guest_mac: "
			   "invalid value: string \"%s\", expected a MAC address", mac);
		return;
	}
	if (refuse_after_start(fc, r))
		return;
	const char *dev = opt_str(body, "host_dev_name");
	size_t i;
	json_t *n;
	json_array_foreach(fc->net_ifaces, i, n) {
		if (!strcmp(opt_str(n, "iface_id"), id))
			continue;
		if (!strcmp(opt_str(n, "host_dev_name"), dev)) {
			fc_fail(r, "The host device name %s is already in use.", dev);
			return;
		}
		const char *other = opt_str(n, "guest_mac");
		if (mac && other && !strcasecmp(mac, other)) {
			fc_fail(r, "The MAC address is already in use: %s", mac);
			return;
		}
	}
	json_t *kept = NULL;
	keep(&kept, body);
	long at = find_by(fc->net_ifaces, "iface_id", id);
	if (at >= 0)
		json_array_set_new(fc->net_ifaces, (size_t)at, kept);
	else
		json_array_append_new(fc->net_ifaces, kept);
	fc->boot_configured = true;
}

/* Firecracker binds the vsock's host socket when the device is configured. */
static int bind_unix(const char *path, int *fd_out);

int fc_bind_unix(fake_fc *fc, const char *api_path, int *fd_out)
{
	char *path = fc_host_path(fc, api_path);
	if (!path)
		return ENOMEM;
	int e = bind_unix(path, fd_out);
	free(path);
	return e;
}

static int bind_unix(const char *path, int *fd_out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		close(fd);
		return e;
	}
	*fd_out = fd;
	return 0;
}

void fc_put_vsock(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	/* Replacing the device releases the old socket first. */
	if (fc->vsock_fd >= 0) {
		close(fc->vsock_fd);
		fc->vsock_fd = -1;
		char *old = fc_host_path(fc, opt_str(fc->vsock, "uds_path"));
		if (old)
			unlink(old);
		free(old);
	}
	int e = fc_bind_unix(fc, opt_str(body, "uds_path"), &fc->vsock_fd);
	if (e) {
		fc_fail(r, "Cannot create backend for vsock device: Error binding to the host-side Unix socket: %s",
			os_error(e));
		json_decref(fc->vsock);
		fc->vsock = NULL;
		return;
	}
	keep(&fc->vsock, body);
	fc->boot_configured = true;
}

void fc_put_balloon(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	keep(&fc->balloon, body);
	fc->boot_configured = true;
}

void fc_put_mmds_config(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	json_t *ifaces = json_object_get(body, "network_interfaces");
	if (json_array_size(ifaces) == 0) {
		fc_fail(r, "The list of network interface IDs that allow forwarding MMDS requests is empty.");
		return;
	}
	size_t i;
	json_t *v;
	json_array_foreach(ifaces, i, v) {
		if (find_by(fc->net_ifaces, "iface_id", json_string_value(v)) < 0) {
			fc_fail(r, "The list of network interface IDs provided contains at least one ID that does "
				   "not correspond to any existing network interface.");
			return;
		}
	}
	const char *addr = opt_str(body, "ipv4_address");
	if (addr) {
		struct in_addr a;
		if (inet_pton(AF_INET, addr, &a) != 1) {
			fc_fail(r, "An error occurred when deserializing the json body of a request: ipv4_address: "
				   "invalid value: string \"%s\", expected an IPv4 address", addr);
			return;
		}
		uint32_t h = ntohl(a.s_addr);
		/* 169.254.0.0/16 minus the first and last /24 (the spec's pattern). */
		if ((h >> 16) != 0xA9FE || ((h >> 8) & 0xFF) == 0 || ((h >> 8) & 0xFF) == 255) {
			fc_fail(r, "The MMDS IPv4 address is not link local.");
			return;
		}
	}
	json_t *kept = NULL;
	keep(&kept, body);
	if (!json_object_get(kept, "version"))
		json_object_set_new(kept, "version", json_string("V1"));
	if (!json_object_get(kept, "ipv4_address"))
		json_object_set_new(kept, "ipv4_address", json_string("169.254.169.254"));
	json_decref(fc->mmds_config);
	fc->mmds_config = kept;
	fc->boot_configured = true;
}

/* Firecracker opens (never creates) log and metrics destinations: a file or
 * a named pipe the user made. O_NONBLOCK so a pipe without reader can't hang. */
static int open_destination(fake_fc *fc, const char *api_path, int *fd_out)
{
	char *path = fc_host_path(fc, api_path);
	int fd = path ? open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC) : -1;
	int e = fd < 0 ? (path ? errno : ENOMEM) : 0;
	free(path);
	if (fd < 0)
		return e;
	*fd_out = fd;
	return 0;
}

void fc_put_logger(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	const char *path = opt_str(body, "log_path");
	int fd = -1;
	if (path) {
		int e = open_destination(fc, path, &fd);
		if (e) {
			fc_fail(r, "Logger error: Failed to open target file: %s", os_error(e));
			return;
		}
	}
	if (fc->log_fd >= 0)
		close(fc->log_fd);
	fc->log_fd = fd;
	keep(&fc->logger, body);
	fc_log(fc, "fc_api", "Logger configured (level %s).", opt_str(body, "level") ? opt_str(body, "level") : "Info");
}

void fc_put_metrics(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	if (fc->metrics) {
		fc_fail(r, "Cannot initialize the metrics system due to bad user input: Reinitialization of metrics not allowed.");
		return;
	}
	int e = open_destination(fc, opt_str(body, "metrics_path"), &fc->metrics_fd);
	if (e) {
		fc_fail(r, "Cannot initialize the metrics system due to bad user input: %s", os_error(e));
		return;
	}
	keep(&fc->metrics, body);
}

void fc_put_entropy(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	keep(&fc->entropy, body);
	fc->boot_configured = true;
}

void fc_put_pmem(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	if (strcmp(opt_str(body, "id"), id)) {
		fc_fail(r, "The id from the path does not match the id from the body!");
		return;
	}
	if (refuse_after_start(fc, r))
		return;
	const char *path = opt_str(body, "path_on_host");
	int e = can_open(fc, path, opt_bool(body, "read_only") ? O_RDONLY : O_RDWR);
	if (e) {
		fc_fail(r, "Unable to open the pmem backing file: %s: %s", path, os_error(e));
		return;
	}
	bool root = opt_bool(body, "root_device");
	size_t i;
	json_t *d;
	json_array_foreach(fc->drives, i, d) {
		if (root && opt_bool(d, "is_root_device")) {
			fc_fail(r, "A root block device already exists!");
			return;
		}
	}
	json_t *kept = NULL;
	keep(&kept, body);
	long at = find_by(fc->pmem, "id", id);
	if (at >= 0)
		json_array_set_new(fc->pmem, (size_t)at, kept);
	else
		json_array_append_new(fc->pmem, kept);
	fc->boot_configured = true;
}

void fc_put_memory_hotplug(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	keep(&fc->memory_hotplug, body);
}

/* The serial console's output file: the VMM must be able to create or open
 * it for appending (a file or a named pipe). */
void fc_put_serial(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	const char *path = json_string_value(json_object_get(body, "serial_out_path"));
	char *host = path ? fc_host_path(fc, path) : NULL;
	int fd = host ? open(host, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0600) : -1;
	int e = path && fd < 0 ? (host ? errno : ENOMEM) : 0;
	free(host);
	if (fd >= 0)
		close(fd);
	if (e) {
		fc_fail(r, "Unable to open the serial output file: %s: %s", path, os_error(e));
		return;
	}
	keep(&fc->serial, body);
}

void fc_put_cpu_config(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (refuse_after_start(fc, r))
		return;
	keep(&fc->cpu_config, body);
}
