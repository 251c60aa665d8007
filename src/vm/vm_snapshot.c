/* Snapshots, restores and clones (include/smartvm/live.h), one format and
 * one code path for every backend.
 *
 * A snapshot is a directory: the VMM's state file (vmstate), the guest memory
 * (memory; absent for a backend whose state file holds the memory, such as
 * QEMU's migration stream: snapshot_memory_in_state), copies of the writable
 * drives as they were at the pause (drives/), and snapshot.json, our
 * manifest: the VM config, the VMM's name and version, the host
 * architecture, the creation time, for each drive the path the VMM had it
 * at, and the SHA-256 of every file. A snapshot restores only on the backend
 * that took it (the manifest's vmm), and only with that VMM version.
 *
 * Why restores work: the VMM stores drive paths in its state and re-opens
 * them on load (Firecracker 1.16 has no drive override). smartvm gives the
 * VMM staged drives as paths relative to the VM directory, which is the
 * VMM's working directory (vm_stage.c, supervisor.c). A restore recreates
 * each drive at the same relative path inside the new VM directory, so every
 * restored VM and every clone opens its own private copy. Read-only drives
 * that were not staged keep their absolute path and are shared, read-only.
 * A writable drive the VMM opened by absolute path (ephemeral = no) can't be
 * given a private copy that way, so such VMs are refused at snapshot time.
 * (QEMU opens drives by the same relative paths, so the same holds there.)
 *
 * A restore is a boot (vm.c, sv_vm__boot) on the snapshot's backend
 * (vm->restore_backend), with two steps replaced: drives are staged from the
 * snapshot instead of from the config, and the fresh VMM -- launched waiting
 * for a snapshot (sv_vmm_launch.incoming) -- gets the backend's
 * snapshot_load (Firecracker: PUT /snapshot/load with network_overrides for
 * the TAPs the networking layer set up and a vsock_override into the new VM
 * directory; QEMU: the migration stream, its TAPs already on its command
 * line) instead of the pre-boot configuration and start. Everything is in the
 * ledger first, as for a boot. Refusals (checksums, architecture, backend,
 * memory backend) happen before anything is created; the VMM version is
 * checked on the fresh VMM.
 *
 * Trust: the checksums are written by whoever wrote the directory, so they
 * detect damage, not tampering, and the VMM's state file names host paths
 * the VMM will open. A snapshot directory is therefore trusted like a
 * config file: create and restore require it to pass the trusted-directory
 * checks (util/trusted_dir.h: ours, not writable by others, no foreign
 * links on the way), and restore reads only regular files inside it,
 * relative to its fd without following links, each one's size checked (the
 * memory file against the config's memory size) before it is hashed, so a
 * FIFO, a device or a huge sparse file is refused at once. A read-only drive
 * that was not staged stays the caller's file, named by absolute path; on
 * restore it is checked as a config's drive is (it exists, a regular file
 * or block device) and must be the config's own path for that drive. A Diff
 * snapshot holds only the pages written since the previous snapshot and is
 * refused: it cannot be restored alone.
 *
 * Live operations are serialised per VM (vm_live.c's lock): a snapshot
 * holds it from the pause to the resume, and state.json says paused while
 * the VM is. */
#include "config/config_internal.h"
#include "vm/vm_internal.h"

#include "util/error.h"
#include "util/options_version.h"
#include "util/fault.h"
#include "util/file.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/trace.h"
#include "util/spawn.h"
#include "util/timestamp.h"
#include "util/trusted_dir.h"
#include "util/verified_files.h"
#include "vm/vm_snapshot_manifest.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST SV_SNAPSHOT_MANIFEST
#define STATE_FILE SV_SNAPSHOT_STATE_FILE
#define MEMORY_FILE SV_SNAPSHOT_MEMORY_FILE
#define SNAP_DRIVES_DIR SV_SNAPSHOT_DRIVES_DIR
/* Firecracker's state file is small (devices, vCPUs); QEMU's migration
 * stream also holds the guest memory. */
#define MAX_STATE_BYTES (64ll << 20)

struct sv_vm_restore {
	const char *dir;           /* the snapshot, absolute */
	int dir_fd;		   /* it, checked; everything is read through it */
	json_t *manifest;
	sv_vm_config *cfg;	   /* the manifest's config */
	const sv_vmm_ops *backend; /* the one that took it */
	sv_restore_options opts;
	bool clone;
	const sv_vm_host *host; /* its verified-file cache is kept */
};

/* ---- helpers ---- */

static const char *host_arch(void)
{
	static struct utsname u;
	if (!u.machine[0] && uname(&u) != 0)
		return "unknown";
	return u.machine;
}

/* Opens name (a plain relative path) in the directory dir_fd (shown as dir)
 * for reading: each component without following a link, the file itself
 * without blocking (a FIFO), and only if it is a regular file. */
static int open_member(int dir_fd, const char *dir, const char *name, int *fd_out, struct stat *st)
{
	*fd_out = -1;
	char *copy = strdup(name), *save = NULL;
	if (!copy)
		return sv_err(SV_ENOMEM, "out of memory");
	int fd = dup(dir_fd), rc = 0;
	for (char *c = strtok_r(copy, "/", &save); fd >= 0 && c; c = strtok_r(NULL, "/", &save)) {
		bool last = !save || !*save;
		int next = openat(fd, c,
				  (last ? O_RDONLY | O_NONBLOCK | O_NOCTTY : O_RDONLY | O_DIRECTORY) |
				      O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		fd = next;
		errno = e;
	}
	free(copy);
	if (fd < 0)
		rc = errno == ENOENT ? sv_err(SV_ECHECKSUM, "snapshot %s: %s is missing", dir, name)
		     : errno == ELOOP || errno == ENOTDIR
			 ? sv_err(SV_EUNSAFE,
				  "snapshot %s: %s is a symlink; a snapshot holds only regular files", dir,
				  name)
			 : sv_err_errno(SV_EIO, errno, "snapshot %s: opening %s", dir, name);
	else if (fstat(fd, st) != 0)
		rc = sv_err_errno(SV_EIO, errno, "snapshot %s: %s", dir, name);
	else if (!S_ISREG(st->st_mode))
		rc = sv_err(SV_EINVAL, "snapshot %s: %s is not a regular file", dir, name);
	if (rc) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	/* O_NONBLOCK was only for not hanging on a FIFO. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fd_out = fd;
	return 0;
}

/* "/proc/self/fd/N": the file we opened and checked, for helpers that take
 * a path (sv_copy_sparse). */
static char *fd_path(int fd)
{
	char *p = NULL;
	return asprintf(&p, "/proc/self/fd/%d", fd) < 0 ? NULL : p;
}

/* Points a field of a config the VM owns at a copy of path, which the
 * caller made (NULL: it ran out of memory) and which is freed here. */
static int replace_with(const char **slot, char *path)
{
	int rc = path ? sv_config_replace_string(slot, path) : sv_err(SV_ENOMEM, "out of memory");
	free(path);
	return rc;
}

/* ---- create ---- */

/* "<cwd>/<dir>" for a relative dir (symlinks are the trusted walk's to
 * judge, so they are not resolved here). malloc'd. */
static char *absolute(const char *dir)
{
	if (dir[0] == '/')
		return strdup(dir);
	char *cwd = getcwd(NULL, 0), *abs = cwd ? sv_path_join(cwd, dir) : NULL;
	free(cwd);
	return abs;
}

/* Creates dir (a trusted directory: see the top), refusing a non-empty one;
 * *abs_out is its absolute path. */
static int prepare_dir(const char *dir, char **abs_out)
{
	*abs_out = absolute(dir);
	if (!*abs_out)
		return sv_err(SV_ENOMEM, "out of memory");
	int fd = -1;
	int rc = sv_trusted_dir("snapshot directory", *abs_out, 0700, &fd);
	DIR *d = rc ? NULL : fdopendir(fd);
	if (!rc && !d) {
		close(fd);
		rc = sv_err_errno(SV_EIO, errno, "snapshot directory %s", dir);
	}
	bool empty = true;
	for (struct dirent *de; d && (de = readdir(d));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	if (d)
		closedir(d);
	if (!rc && !empty)
		rc = sv_err(SV_EEXISTS, "snapshot directory %s: exists and is not empty", dir);
	if (rc) {
		free(*abs_out);
		*abs_out = NULL;
	}
	return rc;
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Copies every staged drive (paths from the VMM's own view, GET /vm/config:
 * relative ones are our private copies) and describes every drive for the
 * manifest; a read-only drive used in place is named, not copied. */
static int copy_drives(sv_vm *vm, const char *dir, json_t *running, json_t *drives_out, json_t *files)
{
	json_t *drives = json_object_get(running, "drives"), *d;
	size_t i;
	char *ddir = sv_path_join(dir, SNAP_DRIVES_DIR);
	if (!ddir)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = 0;
	json_array_foreach(drives, i, d) {
		const char *id = json_string_value(json_object_get(d, "drive_id"));
		const char *p = json_string_value(json_object_get(d, "path_on_host"));
		bool ro = json_is_true(json_object_get(d, "is_read_only"));
		if (!id || !p)
			continue; /* vhost-user drives have no file of ours */
		/* The path is the VMM's answer: only our own staged copies
		 * (drives/<name> in the VM dir) are read from the host. */
		if (p[0] == '/' && ro) {
			json_array_append_new(drives_out, json_pack("{s:s, s:s, s:b}", "drive_id", id, "vmm_path", p,
								   "read_only", 1));
			continue;
		}
		if (p[0] != '/' && !sv_snapshot_is_drive_file(p)) {
			rc = sv_err(SV_EVMM, "drive \"%s\": the VMM names %s, which is not a copy smartvm staged", id, p);
			break;
		}
		if (p[0] == '/') {
			rc = sv_err(SV_EUNSUPPORTED,
				    "drive \"%s\": the VMM writes %s in place (ephemeral = no), so a restored VM could not "
				    "get a private copy; snapshots need writable drives staged",
				    id, p);
			break;
		}
		char *name = NULL, *src = sv_vm__host_path(vm, p), *dst = NULL;
		if (asprintf(&name, "%s/%s-%s", SNAP_DRIVES_DIR, id, basename_of(p)) < 0)
			name = NULL;
		dst = name ? sv_path_join(dir, name) : NULL;
		if (!src || !dst)
			rc = sv_err(SV_ENOMEM, "out of memory");
		if (!rc)
			rc = sv_mkdir_p(ddir, 0700);
		if (!rc && (rc = sv_copy_sparse(src, dst)))
			sv_err_prefix("copying drive \"%s\"", id);
		if (!rc) {
			json_array_append_new(drives_out,
					      json_pack("{s:s, s:s, s:s, s:b}", "drive_id", id, "vmm_path", p,
							"file", name, "read_only", ro));
			json_object_set_new(files, name, json_null());
		}
		free(name);
		free(src);
		free(dst);
		if (rc)
			break;
	}
	free(ddir);
	return rc;
}

/* The SHA-256 and size of every file in files (name -> null). */
static int hash_files(const char *dir, json_t *files, json_t *sizes)
{
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return sv_err_errno(SV_EIO, errno, "snapshot directory %s", dir);
	const char *name;
	json_t *v;
	int rc = 0;
	json_object_foreach(files, name, v) {
		int fd = -1;
		struct stat st;
		char hex[65];
		if ((rc = open_member(dir_fd, dir, name, &fd, &st)))
			break;
		rc = sv_sha256_fd(fd, name, hex, NULL);
		close(fd);
		if (rc)
			break;
		json_object_set_new(files, name, json_string(hex));
		json_object_set_new(sizes, name, json_integer((json_int_t)st.st_size));
	}
	close(dir_fd);
	return rc;
}

static json_t *network_json(const sv_vm *vm, json_t *running)
{
	json_t *arr = json_array(), *n;
	size_t i;
	json_array_foreach(json_object_get(running, "network-interfaces"), i, n) {
		const char *id = json_string_value(json_object_get(n, "iface_id"));
		const char *mac = json_string_value(json_object_get(n, "guest_mac"));
		const char *tap = json_string_value(json_object_get(n, "host_dev_name"));
		for (size_t t = 0; !mac && t < vm->n_taps; t++)
			if (id && !strcmp(vm->taps[t].iface_id, id) && vm->taps[t].mac[0])
				mac = vm->taps[t].mac;
		json_array_append_new(arr, json_pack("{s:s?, s:s?, s:s?}", "iface_id", id, "guest_mac", mac,
						     "host_dev_name", tap));
	}
	return arr;
}

static char *utc_now(void)
{
	char buf[SV_TIMESTAMP_LEN];
	sv_utc_timestamp(buf);
	return strdup(buf);
}

/* Everything between the pause and the resume. */
static int take_snapshot(sv_vm *vm, const char *dir, const sv_snapshot_create_options *o)
{
	char *version = NULL, *running_text = NULL, *cfg_text = NULL, *created = NULL;
	bool has_mem = !vm->backend->snapshot_memory_in_state;
	char *state_path = sv_path_join(dir, STATE_FILE), *mem_path = has_mem ? sv_path_join(dir, MEMORY_FILE) : NULL;
	json_t *running = NULL, *manifest = NULL;
	json_t *files = has_mem ? json_pack("{s:n, s:n}", STATE_FILE, MEMORY_FILE) : json_pack("{s:n}", STATE_FILE);
	json_t *drives = json_array(), *sizes = json_object();
	int rc = (state_path && (mem_path || !has_mem) && files && drives && sizes)
		     ? 0
		     : sv_err(SV_ENOMEM, "out of memory");
	if (!rc)
		rc = vm->backend->version(vm->vmm, &version);
	if (!rc)
		rc = vm->backend->running_config(vm->vmm, &running_text);
	if (!rc && !(running = json_loads(running_text, 0, NULL)))
		rc = sv_err(SV_EVMM, "the VMM's running config is not JSON");
	if (!rc && !(rc = SV_FAULT_POINT("snapshot.create"))) {
		sv_vmm_snapshot_create p = { .state_path = state_path, .mem_path = mem_path,
					     .diff = o->type == SV_SNAPSHOT_DIFF };
		rc = vm->backend->snapshot_create(vm->vmm, &p);
	}
	if (!rc && !(rc = SV_FAULT_POINT("snapshot.copy")))
		rc = copy_drives(vm, dir, running, drives, files);
	if (!rc)
		rc = hash_files(dir, files, sizes);
	if (!rc)
		rc = sv_vm_config_to_json(&cfg_text, vm->cfg);
	created = utc_now();
	if (!rc)
		rc = SV_FAULT_POINT("snapshot.manifest");
	if (!rc) {
		manifest = json_pack(
		    "{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:o, s:O, s:O}", "format",
		    SV_SNAPSHOT_FORMAT, "format_version", SV_SNAPSHOT_FORMAT_VERSION, "created",
		    created ? created : "", "source_vm", vm->id, "vmm", vm->backend->name, "vmm_version",
		    version, "arch", host_arch(), "snapshot_type",
		    o->type == SV_SNAPSHOT_DIFF ? "Diff" : "Full", "config", json_loads(cfg_text, 0, NULL),
		    "drives", drives, "network", network_json(vm, running), "files", files, "sizes", sizes);
		char *text = manifest ? json_dumps(manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		char *path = sv_path_join(dir, MANIFEST);
		rc = (text && path) ? sv_write_file_atomic(path, text, strlen(text), 0600)
				    : sv_err(SV_ENOMEM, "out of memory");
		free(text);
		free(path);
	}
	json_decref(manifest);
	json_decref(running);
	json_decref(files);
	json_decref(sizes);
	json_decref(drives);
	free(version);
	free(running_text);
	free(cfg_text);
	free(created);
	free(state_path);
	free(mem_path);
	return rc;
}

SV_DEFINE_OPTIONS_INIT(sv_snapshot_create_options, SV_SNAPSHOT_CREATE_OPTIONS)
SV_DEFINE_OPTIONS_INIT(sv_restore_options, SV_RESTORE_OPTIONS)

static int snapshot_create(sv_vm *vm, const char *dir, const sv_snapshot_create_options *opts)
{
	sv_snapshot_create_options o =
	    opts ? *opts : (sv_snapshot_create_options)SV_SNAPSHOT_CREATE_OPTIONS_INIT;
	sv_err_clear();
	int vrc = SV_CHECK_OPTIONS(opts, sv_snapshot_create_options, SV_SNAPSHOT_CREATE_OPTIONS);
	if (vrc)
		return vrc;
	sv_vm__refresh(vm);
	int rc = sv_vm__require_state(vm, "snapshot", (1u << SV_VM_RUNNING) | (1u << SV_VM_PAUSED));
	if (rc)
		return rc;
	const sv_vmm_ops *b = vm->backend;
	if (!b || !b->snapshot_create || !b->version || !b->running_config)
		return sv_err(SV_EUNSUPPORTED, "VM \"%s\": snapshot: not supported by the %s backend", vm->id,
			      b ? b->name : "unknown");
	if (vm->jail_root)
		return sv_err(SV_EUNSUPPORTED, "VM \"%s\": snapshot: not supported for jailed VMs yet", vm->id);
	int lock = -1;
	if ((rc = sv_vm__live_lock(vm, "snapshot", &lock)))
		return rc;
	char *abs = NULL;
	if ((rc = sv_vm__connect(vm)) || (rc = prepare_dir(dir, &abs))) {
		sv_vm__live_unlock(lock);
		return sv_err_prefix("VM \"%s\": snapshot", vm->id);
	}
	sv_vm__reconcile_state(vm); /* another process may have paused it */
	bool was_running = vm->state == SV_VM_RUNNING;
	if (was_running && ((rc = SV_FAULT_POINT("snapshot.pause")) ||
			    (rc = sv_vm__change_vmm_state(vm, SV_VM_PAUSED, b->pause)))) {
		sv_rm_rf(abs);
		free(abs);
		sv_vm__live_unlock(lock);
		return sv_err_prefix("VM \"%s\": snapshot: pausing", vm->id);
	}
	rc = take_snapshot(vm, abs, &o);
	sv_err_saved saved;
	sv_err_save(&saved);
	if (rc)
		sv_rm_rf(abs);
	int rrc = 0;
	if (was_running && !o.keep_paused && !(rrc = SV_FAULT_POINT("snapshot.resume")))
		rrc = sv_vm__change_vmm_state(vm, SV_VM_RUNNING, b->resume);
	if (!rc && rrc) {
		free(saved.message);
		sv_err_save(&saved);
	}
	sv_err_restore(&saved);
	sv_vm__live_unlock(lock);
	free(abs);
	if (rc || rrc)
		return sv_err_prefix("VM \"%s\": snapshot%s", vm->id, rc ? "" : ": resuming");
	return 0;
}

int sv_vm_snapshot_create(sv_vm *vm, const char *dir, const sv_snapshot_create_options *opts)
{
	int rc = snapshot_create(vm, dir, opts);
	sv_vm__release_vmm(vm);
	return rc;
}

/* ---- verify ---- */

static int load_manifest(sv_vm_restore *r)
{
	char *text = NULL, *shown = sv_path_join(r->dir, MANIFEST);
	size_t len = 0;
	int rc =
	    shown ? sv_read_file_at(r->dir_fd, r->dir, MANIFEST, SV_SNAPSHOT_MAX_MANIFEST_BYTES, &text, &len)
		  : sv_err(SV_ENOMEM, "out of memory");
	if (rc == SV_ENOTFOUND)
		rc = sv_err(SV_ENOTFOUND, "%s: no snapshot here (%s)", r->dir, sv_last_error());
	else if (rc)
		sv_err_prefix("snapshot %s", r->dir);
	if (!rc)
		rc = sv_snapshot_manifest_parse(text, len, shown, &r->manifest);
	free(text);
	free(shown);
	if (rc)
		return rc;
	char *cfg_text = json_dumps(json_object_get(r->manifest, "config"), JSON_COMPACT);
	rc = cfg_text ? sv_vm_config_from_json(&r->cfg, SV_VM_CONFIG_VERSION, cfg_text) : sv_err(SV_ENOMEM, "out of memory");
	free(cfg_text);
	return rc ? sv_err_prefix("snapshot %s: its VM config", r->dir) : 0;
}

/* A file's size, before it is read: what the manifest recorded, which for
 * the memory file is the config's memory size and for the state file at
 * most what such a file can hold. */
static int check_size(const sv_vm_restore *r, const sv_vmm_ops *backend, const char *name, off_t actual)
{
	long long recorded = json_integer_value(json_object_get(json_object_get(r->manifest, "sizes"), name));
	long long mem = (long long)r->cfg->machine_config.mem_size_mib << 20;
	long long state_max = backend->snapshot_memory_in_state ? mem + MAX_STATE_BYTES : MAX_STATE_BYTES;
	if (!strcmp(name, MEMORY_FILE) && recorded != mem)
		return sv_err(SV_EINVAL,
			      "snapshot %s: the manifest gives memory %lld bytes, but the VM's memory "
			      "(machine_config.mem_size_mib %u) is %lld",
			      r->dir, recorded, r->cfg->machine_config.mem_size_mib, mem);
	if (!strcmp(name, STATE_FILE) && recorded > state_max)
		return sv_err(SV_EINVAL,
			      "snapshot %s: the manifest gives %s %lld bytes, more than a %s state file "
			      "of this VM can hold (%lld)",
			      r->dir, name, recorded, backend->name, state_max);
	if ((long long)actual != recorded)
		return sv_err(SV_ECHECKSUM,
			      "snapshot %s: %s is %lld bytes, the snapshot recorded %lld; the file changed "
			      "after the snapshot was taken",
			      r->dir, name, (long long)actual, recorded);
	return 0;
}

static int verify_file(const sv_vm_restore *r, const sv_vmm_ops *backend, const char *name, const char *want)
{
	int fd = -1;
	struct stat st;
	char hex[65];
	int rc = open_member(r->dir_fd, r->dir, name, &fd, &st);
	if (!rc && !(rc = check_size(r, backend, name, st.st_size)) &&
	    sv_verified_files_has(r->host->verified, &st, want)) {
		close(fd);
		return 0;
	}
	if (!rc && (rc = sv_sha256_fd(fd, name, hex, NULL)))
		sv_err_prefix("snapshot %s", r->dir);
	if (fd >= 0)
		close(fd);
	if (!rc && strcmp(hex, want))
		rc = sv_err(
		    SV_ECHECKSUM,
		    "snapshot %s: %s: SHA-256 mismatch (expected %s, found %s); the file changed after "
		    "the snapshot was taken",
		    r->dir, name, want, hex);
	else if (!rc)
		sv_verified_files_add(r->host->verified, &st, want);
	return rc;
}

static json_t *manifest_drive(json_t *m, const char *id)
{
	json_t *d;
	size_t i;
	json_array_foreach(json_object_get(m, "drives"), i, d)
	{
		const char *did = json_string_value(json_object_get(d, "drive_id"));
		if (did && !strcmp(did, id))
			return d;
	}
	return NULL;
}

/* The manifest's drives and its config's are the same drives; a read-only
 * drive used in place is checked as a config's drive is at boot, and the
 * manifest must name the config's own path for it. */
static int check_drives(const sv_vm_restore *r)
{
	json_t *drives = json_object_get(r->manifest, "drives"), *d;
	size_t i;
	for (size_t c = 0; c < r->cfg->n_drives; c++)
		if (!manifest_drive(r->manifest, r->cfg->drives[c].drive_id))
			return sv_err(
			    SV_EINVAL,
			    "snapshot %s: drive \"%s\" of its config is not in the manifest's drives", r->dir,
			    r->cfg->drives[c].drive_id);
	json_array_foreach(drives, i, d)
	{
		const char *id = json_string_value(json_object_get(d, "drive_id"));
		const char *vp = json_string_value(json_object_get(d, "vmm_path"));
		const sv_drive_config *c = sv_vm__config_drive(r->cfg, id);
		if (!c)
			return sv_err(SV_EINVAL, "snapshot %s: drive \"%s\" is not in its config", r->dir,
				      id);
		if (json_object_get(d, "file"))
			continue; /* a copy in the snapshot, checked with the files */
		struct stat st;
		if (!c->path_on_host || strcmp(c->path_on_host, vp))
			return sv_err(SV_EINVAL,
				      "snapshot %s: drive \"%s\": the manifest names %s, its config %s",
				      r->dir, id, vp, c->path_on_host ? c->path_on_host : "no file");
		if (stat(vp, &st) != 0)
			return errno == ENOENT || errno == ENOTDIR
				   ? sv_err(SV_ENOTFOUND, "snapshot %s: drive \"%s\": %s: no such file",
					    r->dir, id, vp)
				   : sv_err_errno(SV_EIO, errno, "snapshot %s: drive \"%s\": %s", r->dir, id,
						  vp);
		if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
			return sv_err(SV_EINVAL,
				      "snapshot %s: drive \"%s\": %s: not a regular file or block device",
				      r->dir, id, vp);
	}
	return 0;
}

/* Refusals before anything is created: the host architecture, the backend,
 * the snapshot type, the drives, every file's size and checksum. (The VMM
 * version is checked on the fresh VMM.) */
static int verify_snapshot(sv_vm_restore *r)
{
	json_t *m = r->manifest;
	const char *dir = r->dir;
	const char *arch = json_string_value(json_object_get(m, "arch"));
	if (strcmp(arch, host_arch()))
		return sv_err(SV_EUNSUPPORTED, "snapshot %s: taken on %s, this host is %s", dir, arch,
			      host_arch());
	const char *vmm = json_string_value(json_object_get(m, "vmm"));
	const sv_vmm_ops *backend = sv_vm__backend_by_name(vmm);
	if (!backend)
		return sv_err(SV_EUNSUPPORTED,
			      "snapshot %s: taken with VMM \"%s\", which this smartvm has no backend for",
			      dir, vmm);
	if (!strcmp(json_string_value(json_object_get(m, "snapshot_type")), "Diff"))
		return sv_err(SV_EUNSUPPORTED,
			      "snapshot %s: a Diff snapshot holds only the memory written since the "
			      "snapshot before it and cannot be restored alone; restore a Full snapshot",
			      dir);
	json_t *files = json_object_get(m, "files"), *v;
	const char *name;
	if (!backend->snapshot_memory_in_state && !json_object_get(files, MEMORY_FILE))
		return sv_err(SV_EINVAL, "snapshot %s: the manifest lists no %s", dir, MEMORY_FILE);
	int rc = check_drives(r);
	json_object_foreach(files, name, v)
	{
		if (rc)
			break;
		rc = verify_file(r, backend, name, json_string_value(v));
	}
	if (!rc)
		r->backend = backend;
	return rc;
}

/* ---- restore ---- */

static const char *manifest_mac(json_t *m, const char *iface_id)
{
	json_t *n;
	size_t i;
	json_array_foreach(json_object_get(m, "network"), i, n) {
		const char *id = json_string_value(json_object_get(n, "iface_id"));
		if (id && !strcmp(id, iface_id))
			return json_string_value(json_object_get(n, "guest_mac"));
	}
	return NULL;
}

/* The restored VM's own paths and devices in its config (as given). */
static int adapt_config(sv_vm *vm, const sv_vm_restore *r)
{
	sv_vm_config *c = vm->cfg;
	int rc = 0;
	for (size_t i = 0; !rc && i < c->n_drives; i++) {
		sv_drive_config *d = (sv_drive_config *)&c->drives[i];
		json_t *md = manifest_drive(r->manifest, d->drive_id);
		const char *file = json_string_value(json_object_get(md, "file"));
		if (file) /* its contents come from the snapshot */
			rc = replace_with(&d->path_on_host, sv_path_join(r->dir, file));
	}
	for (size_t i = 0; !rc && i < c->n_network_interfaces; i++) {
		sv_net_iface_config *n = (sv_net_iface_config *)&c->network_interfaces[i];
		/* The guest keeps the MAC it had: the new TAP must serve that MAC. */
		const char *mac = manifest_mac(r->manifest, n->iface_id);
		if (!n->guest_mac && mac)
			rc = sv_config_replace_string(&n->guest_mac, mac);
		if (!rc && r->clone)
			rc = sv_config_replace_string(&n->host_dev_name, NULL);
		for (size_t o = 0; !rc && o < r->opts.n_network_overrides; o++)
			if (!strcmp(r->opts.network_overrides[o].iface_id, n->iface_id))
				rc = sv_config_replace_string(&n->host_dev_name,
							      r->opts.network_overrides[o].host_dev_name);
	}
	if (rc)
		return rc;
	for (size_t o = 0; o < r->opts.n_network_overrides; o++) {
		bool found = false;
		for (size_t i = 0; i < c->n_network_interfaces; i++)
			found |= !strcmp(r->opts.network_overrides[o].iface_id, c->network_interfaces[i].iface_id);
		if (!found)
			return sv_err(SV_EINVAL, "network_overrides[%zu].iface_id: the snapshot has no interface \"%s\"", o,
				      r->opts.network_overrides[o].iface_id);
	}
	/* Each restored VM has its own vsock socket, metrics and log files. */
	if (c->vsock)
		rc = replace_with(&((sv_vsock_config *)c->vsock)->uds_path,
				  r->opts.vsock_uds_path ? strdup(r->opts.vsock_uds_path)
							 : sv_path_join(vm->dir, "vsock.sock"));
	if (!rc && c->metrics)
		rc = replace_with(&((sv_metrics_config *)c->metrics)->metrics_path,
				  sv_path_join(vm->dir, "metrics.json"));
	if (!rc && c->logger)
		rc = replace_with(&((sv_logger_config *)c->logger)->log_path, sv_path_join(vm->dir, "firecracker.log"));
	return rc;
}

int sv_vm__restore_stage(sv_vm *vm, sv_ledger *ledger, const sv_vm_restore *r)
{
	sv_vm_config *s = vm->staged;
	for (size_t i = 0; i < s->n_drives; i++) {
		sv_drive_config *d = (sv_drive_config *)&s->drives[i];
		json_t *md = manifest_drive(r->manifest, d->drive_id);
		const char *file = json_string_value(json_object_get(md, "file"));
		const char *vp = json_string_value(json_object_get(md, "vmm_path"));
		if (!file || !vp)
			continue;
		/* Same relative path as in the snapshotted VM, in our directory,
		 * copied from the file we verified. */
		int fd = -1;
		struct stat st;
		char *src = NULL, *dst = sv_path_join(vm->dir, vp);
		char *parent = dst ? strdup(dst) : NULL;
		int rc = (dst && parent) ? open_member(r->dir_fd, r->dir, file, &fd, &st)
					 : sv_err(SV_ENOMEM, "out of memory");
		if (!rc && !(src = fd_path(fd)))
			rc = sv_err(SV_ENOMEM, "out of memory");
		if (!rc)
			rc = sv_mkdir_p(dirname(parent), 0700);
		if (!rc)
			rc = sv_ledger_record(ledger, "file", dst, NULL);
		if (!rc)
			rc = SV_FAULT_POINT("restore.stage_drive");
		if (!rc)
			rc = sv_copy_sparse(src, dst);
		if (fd >= 0)
			close(fd);
		free(src);
		free(dst);
		free(parent);
		if (!rc)
			rc = sv_config_replace_string(&d->path_on_host, vp);
		if (rc)
			return sv_err_prefix("staging drive \"%s\" from the snapshot", d->drive_id);
	}
	if (s->vsock && strncmp(s->vsock->uds_path, vm->dir, strlen(vm->dir)) != 0) {
		/* Outside the VM directory: Firecracker leaves its socket behind. A
		 * `file` entry may only name files inside the VM directory. */
		int rc = sv_ledger_record(ledger, "socket", s->vsock->uds_path, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

bool sv_vm__restore_resumes(const sv_vm_restore *r)
{
	return r->opts.resume != SV_NO;
}

int sv_vm__restore_load(sv_vm *vm, const sv_vm_restore *r)
{
	const sv_vmm_ops *b = vm->backend; /* r->backend: sv_vm__pick_backend saw to it */
	if (!b->snapshot_load || !b->version)
		return sv_err(SV_EUNSUPPORTED, "snapshot restore: not supported by the %s backend", b->name);
	char *version = NULL;
	int rc = b->version(vm->vmm, &version);
	if (rc)
		return rc;
	const char *want = json_string_value(json_object_get(r->manifest, "vmm_version"));
	if (!want || strcmp(want, version)) {
		rc = sv_err(SV_EUNSUPPORTED, "snapshot %s: taken with %s %s, this VMM is %s %s", r->dir, b->name,
			    want ? want : "(unknown version)", b->name, version);
		free(version);
		return rc;
	}
	free(version);
	sv_vmm_net_override *ov = calloc(vm->n_taps ? vm->n_taps : 1, sizeof(*ov));
	if (!ov)
		return sv_err(SV_ENOMEM, "out of memory");
	for (size_t i = 0; i < vm->n_taps; i++)
		ov[i] = (sv_vmm_net_override){ .iface_id = vm->taps[i].iface_id, .host_dev_name = vm->taps[i].tap_name };
	bool has_mem = !b->snapshot_memory_in_state;
	char *state = sv_path_join(r->dir, STATE_FILE), *mem = has_mem ? sv_path_join(r->dir, MEMORY_FILE) : NULL;
	bool uffd = r->opts.mem_backend == SV_MEM_BACKEND_UFFD;
	sv_vmm_snapshot_load p = {
		.state_path = state,
		.mem_path = uffd ? r->opts.uffd_socket_path : mem,
		.uffd = uffd,
		.track_dirty_pages = r->opts.track_dirty_pages,
		.resume = r->opts.resume != SV_NO,
		.net_overrides = ov,
		.n_net_overrides = vm->n_taps,
		.vsock_uds_path = vm->staged->vsock ? vm->staged->vsock->uds_path : NULL,
		.clock_realtime = r->opts.clock_realtime,
		.outputs = vm->staged,
	};
	rc = (state && (mem || !has_mem)) ? SV_FAULT_POINT("restore.load")
					  : sv_err(SV_ENOMEM, "out of memory");
	if (!rc)
		rc = b->snapshot_load(vm->vmm, &p);
	free(ov);
	free(state);
	free(mem);
	return rc;
}

static int check_options(const sv_restore_options *o, size_t count)
{
	if (o->mem_backend == SV_MEM_BACKEND_UFFD && (!o->uffd_socket_path || !*o->uffd_socket_path))
		return sv_err(SV_EINVAL, "uffd_socket_path: required with the Uffd memory backend");
	if (o->mem_backend != SV_MEM_BACKEND_UFFD && o->uffd_socket_path)
		return sv_err(SV_EINVAL, "uffd_socket_path: only meaningful with the Uffd memory backend");
	if (count > 1 && o->n_network_overrides)
		return sv_err(SV_EINVAL, "network_overrides: one host device cannot serve %zu clones; leave them out and "
					 "each clone gets its own",
			      count);
	if (count > 1 && o->vsock_uds_path)
		return sv_err(SV_EINVAL, "vsock_uds_path: one socket cannot serve %zu clones; leave it out and each "
					 "clone gets its own",
			      count);
	return 0;
}

int sv_vm__restore_new(sv_vm **out, const sv_vm_restore *r, const char *id)
{
	*out = NULL;
	sv_vm *vm = NULL;
	int rc = sv_vm__new(&vm, r->host, r->cfg, id);
	if (!rc && (rc = adapt_config(vm, r)))
		sv_vm__free(vm);
	else if (!rc)
		*out = vm;
	return rc;
}

int sv_vm__restore_boot(sv_vm *vm, const sv_vm_restore *r)
{
	vm->restore_backend = r->backend;
	return sv_vm__boot(vm, r);
}

/* What the manager and the options ask of the snapshot's backend. */
static int check_backend(const sv_vm_restore *r)
{
	char *what = NULL;
	if (asprintf(&what, "snapshot %s", r->dir) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = sv_vm__backend_allowed(r->host->opts, r->backend, what);
	free(what);
	if (rc)
		return rc;
	/* Uffd serves guest memory from the memory file; there is none. */
	if (r->opts.mem_backend == SV_MEM_BACKEND_UFFD && r->backend->snapshot_memory_in_state)
		return sv_err(SV_EUNSUPPORTED, "mem_backend Uffd: not supported by the %s backend", r->backend->name);
	return 0;
}

int sv_vm__restore_begin(sv_vm_restore **out, const sv_vm_host *host, const char *dir,
			 const sv_restore_options *opts, size_t count)
{
	sv_vm_restore *r = calloc(1, sizeof(*r));
	if (!(*out = r))
		return sv_err(SV_ENOMEM, "out of memory");
	*r = (sv_vm_restore){.opts = opts ? *opts : (sv_restore_options)SV_RESTORE_OPTIONS_INIT,
			     .clone = count > 1,
			     .dir_fd = -1,
			     .host = host};
	int rc = check_options(&r->opts, count);
	if (rc)
		return rc;
	if (!(r->dir = absolute(dir)))
		return sv_err(SV_ENOMEM, "out of memory");
	sv_trace_span step;
	sv_trace_begin(&step);
	if ((rc = sv_trusted_dir_existing("snapshot directory", r->dir, &r->dir_fd)) ||
	    (rc = load_manifest(r)) || (rc = verify_snapshot(r)))
		return rc;
	sv_trace_end(&step, "restore:manifest+sha256_checks");
	return check_backend(r);
}

const char *sv_vm__restore_id(const sv_vm_restore *r) { return r->opts.id; }

void sv_vm__restore_end(sv_vm_restore *r)
{
	if (!r)
		return;
	if (r->dir_fd >= 0)
		close(r->dir_fd);
	json_decref(r->manifest);
	sv_vm_config_free(r->cfg);
	free((void *)r->dir);
	free(r);
}
