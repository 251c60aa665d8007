/* Snapshots: PUT /snapshot/create writes the microVM state file and the
 * guest memory file; PUT /snapshot/load reads them back into a fresh process.
 *
 * The state file is the fake's own format (Firecracker's is a versioned
 * binary blob): JSON with the Firecracker version, the architecture and every
 * VM resource, so a load restores exactly what was configured. The memory
 * file is mem_size_mib MiB and sparse; a Full snapshot holds a header page
 * naming the VM, a Diff one only the pages "dirtied" since the last snapshot
 * (modelled as the header page too), as Firecracker writes diffs into sparse
 * files.
 *
 * Load follows Firecracker's rules: only before any boot-specific resource
 * (logger and metrics are allowed), exactly one of mem_file_path /
 * mem_backend, drives re-opened at the paths stored in the state (relative
 * paths resolve against the process's working directory, which is how
 * clones get their own copies), network_overrides and vsock_override applied,
 * track_dirty_pages not restored from the snapshot but taken from the
 * request, and the VM left Paused unless resume_vm. A load that fails after
 * the request was accepted is fatal: the process answers and then exits 1,
 * as Firecracker does. The MMDS data store is not part of a snapshot.
 *
 * $FAKE_FC_SNAPSHOT_DELAY_MS makes each snapshot create take that long (a
 * large VM's), so tests can act while one is in progress. */
#include "fake_fc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define STATE_FORMAT "fake-firecracker-snapshot"
#define FATAL_EXIT_DELAY_MS 50

#if defined(__x86_64__)
#define FAKE_ARCH "x86_64"
#elif defined(__aarch64__)
#define FAKE_ARCH "aarch64"
#else
#define FAKE_ARCH "unknown"
#endif

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *copy_or_null(json_t *v)
{
	return v ? json_deep_copy(v) : json_null();
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return errno ? errno : EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates (truncating) path and writes text; errno or 0. */
static int write_state(fake_fc *fc, const char *api_path, const char *text)
{
	char *path = fc_host_path(fc, api_path);
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	int e = fd < 0 ? (path ? errno : ENOMEM) : write_all(fd, text, strlen(text));
	if (fd >= 0 && !e && fsync(fd) != 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	free(path);
	return e;
}

/* mem_mib MiB, sparse, with one header page at the start. */
static int write_memory(fake_fc *fc, const char *api_path, long long mem_mib, const char *type)
{
	char *path = fc_host_path(fc, api_path);
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	int e = fd < 0 ? (path ? errno : ENOMEM) : 0;
	free(path);
	if (e)
		return e;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char header[4096] = { 0 };
	snprintf(header, sizeof(header), "fake-firecracker guest memory of %s (%s snapshot at %lld.%09ld)\n", fc->id,
		 type, (long long)ts.tv_sec, ts.tv_nsec);
	e = write_all(fd, header, sizeof(header));
	if (!e && ftruncate(fd, (off_t)mem_mib << 20) != 0)
		e = errno;
	if (!e && fsync(fd) != 0)
		e = errno;
	close(fd);
	return e;
}

void fc_put_snapshot_create(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (fc->state == VM_NOT_STARTED) {
		fc_fail(r, FC_MSG_NOT_BEFORE_START);
		return;
	}
	if (fc->state != VM_PAUSED) {
		fc_fail(r, "Cannot create a snapshot: the microVM must be paused first.");
		return;
	}
	const char *type = str(body, "snapshot_type") ? str(body, "snapshot_type") : "Full";
	if (!strcmp(type, "Diff") && !json_is_true(json_object_get(fc->machine_config, "track_dirty_pages"))) {
		fc_fail(r, "Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
		return;
	}
	json_t *state = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:o, s:O, s:O, s:o, s:o, s:o, s:o}", "format",
				  STATE_FORMAT, "firecracker_version", FAKE_FC_VERSION, "arch", FAKE_ARCH,
				  "snapshot_type", type, "instance_id", fc->id, "machine_config",
				  fc->machine_config, "boot_source", copy_or_null(fc->boot_source), "drives",
				  fc->drives, "net_ifaces", fc->net_ifaces, "vsock", copy_or_null(fc->vsock),
				  "balloon", copy_or_null(fc->balloon), "mmds_config",
				  copy_or_null(fc->mmds_config), "entropy", copy_or_null(fc->entropy));
	char *text = state ? json_dumps(state, JSON_INDENT(2)) : NULL;
	json_decref(state);
	if (!text) {
		fc_fail(r, "Cannot create a snapshot: out of memory");
		return;
	}
	int e = write_state(fc, str(body, "snapshot_path"), text);
	free(text);
	if (e) {
		fc_fail(r, "Cannot save the microVM state: Cannot open the snapshot file: %s", fc_os_error(e));
		return;
	}
	long long mem = json_integer_value(json_object_get(fc->machine_config, "mem_size_mib"));
	if ((e = write_memory(fc, str(body, "mem_file_path"), mem, type))) {
		fc_fail(r, "Cannot create a snapshot: Cannot write the memory file: %s", fc_os_error(e));
		return;
	}
	const char *delay = getenv("FAKE_FC_SNAPSHOT_DELAY_MS");
	if (delay && atoi(delay) > 0)
		usleep((useconds_t)atoi(delay) * 1000);
	fc_log(fc, "fc_api", "%s snapshot created.", type);
}

/* ---- load ---- */

/* A refusal after which Firecracker's process is in an unknown state: it
 * answers, then exits. */
static void fatal(fake_fc *fc, fc_reply *r, const char *fmt_detail, const char *a, const char *b)
{
	char detail[1024];
	snprintf(detail, sizeof(detail), fmt_detail, a ? a : "", b ? b : "");
	fc_fail(r, "Failed to restore from snapshot: %s", detail);
	fc->exit_at_ms = fc_now_ms() + FATAL_EXIT_DELAY_MS;
}

static json_t *read_state(fake_fc *fc, const char *api_path, fc_reply *r)
{
	char *path = fc_host_path(fc, api_path);
	json_error_t jerr;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	free(path);
	if (fd < 0) {
		fatal(fc, r, "Failed to open the snapshot file: %s%s", fc_os_error(errno), NULL);
		return NULL;
	}
	json_t *state = json_loadfd(fd, 0, &jerr);
	close(fd);
	if (!state || strcmp(str(state, "format") ? str(state, "format") : "", STATE_FORMAT)) {
		json_decref(state);
		fatal(fc, r, "Failed to get snapshot state from file: the file is not a microVM state (%s)%s",
		      state ? "unknown format" : jerr.text, NULL);
		return NULL;
	}
	if (strcmp(str(state, "firecracker_version") ? str(state, "firecracker_version") : "", FAKE_FC_VERSION)) {
		fatal(fc, r, "Failed to get snapshot state from file: the snapshot was created by Firecracker v%s, this is v%s",
		      str(state, "firecracker_version"), FAKE_FC_VERSION);
		json_decref(state);
		return NULL;
	}
	if (strcmp(str(state, "arch") ? str(state, "arch") : "", FAKE_ARCH)) {
		fatal(fc, r, "Failed to get snapshot state from file: the snapshot is for %s, this host is %s",
		      str(state, "arch"), FAKE_ARCH);
		json_decref(state);
		return NULL;
	}
	return state;
}

static bool check_memory_file(fake_fc *fc, const char *api_path, long long mem_mib, fc_reply *r)
{
	char *path = fc_host_path(fc, api_path);
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	free(path);
	if (fd < 0) {
		fatal(fc, r, "Failed to load guest memory: Cannot open the memory file: %s%s", fc_os_error(errno), NULL);
		return false;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	close(fd);
	if (size != (off_t)mem_mib << 20) {
		char want[32];
		snprintf(want, sizeof(want), "%lld", mem_mib << 20);
		fatal(fc, r, "Failed to load guest memory: the memory file's size does not match the snapshot "
			     "(expected %s bytes)%s", want, NULL);
		return false;
	}
	return true;
}

/* The Uffd handshake: Firecracker connects to the handler's socket and sends
 * the guest memory mappings as JSON (with the userfaultfd as SCM_RIGHTS,
 * which the fake cannot produce: it sends the JSON alone). */
static bool send_uffd_mappings(fake_fc *fc, const char *api_path, long long mem_mib, fc_reply *r)
{
	char *path = fc_host_path(fc, api_path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int e = 0;
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		e = ENAMETOOLONG;
	else if (fd < 0)
		e = errno;
	else {
		strcpy(sa.sun_path, path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			e = errno;
	}
	free(path);
	if (!e) {
		json_t *m = json_pack("[{s:I, s:I, s:i, s:i}]", "base_host_virt_addr", (json_int_t)0x7f0000000000LL,
				      "size", (json_int_t)(mem_mib << 20), "offset", 0, "page_size", 4096);
		char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
		json_decref(m);
		e = text ? write_all(fd, text, strlen(text)) : ENOMEM;
		free(text);
	}
	if (fd >= 0)
		close(fd);
	if (e) {
		fatal(fc, r, "Failed to load guest memory: Cannot connect to UDS in order to send information on "
			     "handling guest memory page-faults due to: %s%s", fc_os_error(e), NULL);
		return false;
	}
	return true;
}

static bool reopen_drives(fake_fc *fc, json_t *drives, fc_reply *r)
{
	size_t i;
	json_t *d;
	json_array_foreach(drives, i, d) {
		const char *p = str(d, "path_on_host");
		if (!p)
			continue;
		char *host = fc_host_path(fc, p);
		int fd = host ? open(host, (json_is_true(json_object_get(d, "is_read_only")) ? O_RDONLY : O_RDWR) | O_CLOEXEC) : -1;
		int e = errno;
		free(host);
		if (fd < 0) {
			fatal(fc, r, "Failed to build microVM from snapshot: Cannot restore devices: Block: Unable to open "
				     "the block device backing file %s: %s", p, fc_os_error(e));
			return false;
		}
		close(fd);
	}
	return true;
}

static bool apply_network_overrides(fake_fc *fc, json_t *ifaces, json_t *overrides, fc_reply *r)
{
	size_t i, j;
	json_t *o, *n;
	json_array_foreach(overrides, i, o) {
		bool found = false;
		json_array_foreach(ifaces, j, n) {
			if (!strcmp(str(n, "iface_id"), str(o, "iface_id"))) {
				json_object_set(n, "host_dev_name", json_object_get(o, "host_dev_name"));
				found = true;
			}
		}
		if (!found) {
			fatal(fc, r, "Invalid network override: the snapshot has no network interface \"%s\"%s",
			      str(o, "iface_id"), NULL);
			return false;
		}
	}
	return true;
}

static bool restore_vsock(fake_fc *fc, json_t *vsock, json_t *override, fc_reply *r)
{
	if (!vsock || json_is_null(vsock)) {
		if (override && !json_is_null(override)) {
			fatal(fc, r, "Vsock override was provided but the snapshot has no vsock device%s%s", NULL, NULL);
			return false;
		}
		return true;
	}
	if (override && !json_is_null(override))
		json_object_set(vsock, "uds_path", json_object_get(override, "uds_path"));
	int e = fc_bind_unix(fc, str(vsock, "uds_path"), &fc->vsock_fd);
	if (e) {
		fatal(fc, r, "Failed to build microVM from snapshot: Cannot restore devices: Vsock: Error binding to "
			     "the host-side Unix socket %s: %s", str(vsock, "uds_path"), fc_os_error(e));
		return false;
	}
	return true;
}

static json_t *non_null(json_t *v)
{
	return v && !json_is_null(v) ? json_incref(v) : NULL;
}

void fc_put_snapshot_load(fake_fc *fc, const char *id, json_t *body, fc_reply *r)
{
	(void)id;
	if (fc->state != VM_NOT_STARTED) {
		fc_fail(r, FC_MSG_NOT_AFTER_START);
		return;
	}
	if (fc->boot_configured) {
		fc_fail(r, "Loading a microVM snapshot not allowed after configuring boot-specific resources.");
		return;
	}
	json_t *mem_file = json_object_get(body, "mem_file_path");
	json_t *backend = json_object_get(body, "mem_backend");
	bool has_file = mem_file && !json_is_null(mem_file), has_backend = backend && !json_is_null(backend);
	if (has_file == has_backend) {
		fc_fail(r, has_file ? "An error occurred when deserializing the json body of a request: too many fields: "
				      "either `mem_backend` or `mem_file_path` exclusively is required."
				    : "An error occurred when deserializing the json body of a request: missing field: "
				      "either `mem_backend` or `mem_file_path` is required.");
		return;
	}
	json_t *state = read_state(fc, str(body, "snapshot_path"), r);
	if (!state)
		return;
	long long mem = json_integer_value(json_object_get(json_object_get(state, "machine_config"), "mem_size_mib"));
	bool uffd = has_backend && !strcmp(str(backend, "backend_type"), "Uffd");
	const char *mem_path = has_file ? json_string_value(mem_file) : str(backend, "backend_path");
	json_t *drives = json_deep_copy(json_object_get(state, "drives"));
	json_t *ifaces = json_deep_copy(json_object_get(state, "net_ifaces"));
	json_t *vsock = json_deep_copy(json_object_get(state, "vsock"));
	bool ok = (uffd ? send_uffd_mappings(fc, mem_path, mem, r) : check_memory_file(fc, mem_path, mem, r)) &&
		  reopen_drives(fc, drives, r) &&
		  apply_network_overrides(fc, ifaces, json_object_get(body, "network_overrides"), r) &&
		  restore_vsock(fc, vsock, json_object_get(body, "vsock_override"), r);
	if (!ok) {
		json_decref(drives);
		json_decref(ifaces);
		json_decref(vsock);
		json_decref(state);
		return;
	}
	json_decref(fc->machine_config);
	fc->machine_config = json_deep_copy(json_object_get(state, "machine_config"));
	/* Dirty page tracking is not saved in snapshots: the load request decides. */
	bool track = json_is_true(json_object_get(body, "track_dirty_pages")) ||
		     json_is_true(json_object_get(body, "enable_diff_snapshots"));
	json_object_set_new(fc->machine_config, "track_dirty_pages", json_boolean(track));
	json_decref(fc->drives);
	fc->drives = drives;
	json_decref(fc->net_ifaces);
	fc->net_ifaces = ifaces;
	json_decref(fc->vsock);
	fc->vsock = vsock && !json_is_null(vsock) ? vsock : NULL;
	if (!fc->vsock)
		json_decref(vsock);
	json_decref(fc->boot_source);
	fc->boot_source = non_null(json_object_get(state, "boot_source"));
	json_decref(fc->balloon);
	fc->balloon = non_null(json_object_get(state, "balloon"));
	json_decref(fc->mmds_config);
	fc->mmds_config = non_null(json_object_get(state, "mmds_config"));
	json_decref(fc->entropy);
	fc->entropy = non_null(json_object_get(state, "entropy"));
	json_decref(state);
	fc->boot_configured = true;
	fc->state = json_is_true(json_object_get(body, "resume_vm")) ? VM_RUNNING : VM_PAUSED;
	fc->stats_updated_ms = fc_now_ms();
	fc_log(fc, "fc_api", "Snapshot loaded (%s memory backend); the microVM is %s.", uffd ? "Uffd" : "File",
	       fc->state == VM_RUNNING ? "running" : "paused");
}
