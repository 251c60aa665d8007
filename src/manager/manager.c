/* The orchestrator: resolved options, the registry of VMs this process holds,
 * and cleanup of everything it started. It owns no host resources itself;
 * every resource belongs to one VM and its ledger. Listing and gc read the
 * runtime dir only after checking it (util/trusted_dir.h) and never create
 * it; a VM is dead when nobody holds its directory's lock. */
#include "manager/manager_internal.h"

#include "config/config_paths.h"
#include "config/config_versions.h"
#include "util/error.h"
#include "util/options_version.h"
#include "util/file.h"
#include "util/inotify_once.h"
#include "util/ledger.h"
#include "util/log.h"
#include "util/state_dirs.h"
#include "util/strv.h"
#include "util/trusted_dir.h"
#include "util/verified_files.h"
#include "util/vm_alive.h"
#include "vm/vm_internal.h"
#include "vm/vm_fork_server.h"
#include "vm/vm_net.h"
#include <smartvm/netadmin.h>
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct sv_manager {
	sv_manager_options opts; /* resolved; strings below are owned */
	char *strings[16];
	int n_strings;
	sv_egress_rule *egress_rules;
	sv_vm **vms;
	size_t n_vms;
	sv_vm_host host; /* handed to every VM; points into this struct */
	sv_inotify_once inotify;
	sv_verified_files verified;
	sv_fork_server fork_server; /* started at the first VM start */
};

static const char *keep(sv_manager *m, const char *s)
{
	if (!s || m->n_strings == (int)(sizeof(m->strings) / sizeof(m->strings[0])))
		return NULL;
	char *copy = strdup(s);
	if (copy)
		m->strings[m->n_strings++] = copy;
	return copy;
}

static const char *first_set(const char *a, const char *b) { return (a && *a) ? a : (b && *b) ? b : NULL; }

static int resolve_options(sv_manager *m, const sv_manager_options *in)
{
	sv_manager_options o = in ? *in : (sv_manager_options)SV_MANAGER_OPTIONS_INIT;
	sv_manager_options *r = &m->opts;
	*r = o;
	/* Option, else environment, else the default for our uid (one place:
	 * util/state_dirs.h). Checked when used, not here. */
	char *data = sv_state_dir(SV_STATE_DATA, o.data_dir),
	     *rt = sv_state_dir(SV_STATE_RUNTIME, o.runtime_dir);
	r->data_dir = keep(m, data);
	r->runtime_dir = keep(m, rt);
	free(data);
	free(rt);
	r->ephemeral_writable_drives =
	    o.ephemeral_writable_drives == SV_UNSET ? SV_YES : o.ephemeral_writable_drives;
	r->firecracker_version = keep(m, first_set(o.firecracker_version, "latest"));
	r->firecracker_binary_path = keep(m, o.firecracker_binary_path);
	r->bridge_name = keep(m, first_set(o.bridge_name, "svbr0"));
	r->subnet = keep(m, first_set(o.subnet, "172.30.0.0/24"));
	char *images = r->data_dir ? sv_path_join(r->data_dir, "base-images") : NULL;
	r->base_image_cache_dir = keep(m, first_set(o.base_image_cache_dir, images));
	free(images);
	r->max_stored_base_images = o.max_stored_base_images ? o.max_stored_base_images : 2;
	r->base_image_manifest_url = keep(m, o.base_image_manifest_url);
	r->base_image_manifest_path = keep(m, o.base_image_manifest_path);
	r->releases_url =
	    keep(m, first_set(o.releases_url,
			      first_set(getenv("SMARTVM_RELEASES_URL"),
					"https://github.com/firecracker-microvm/firecracker/releases")));
	r->ci_bucket_url =
	    keep(m, first_set(o.ci_bucket_url, first_set(getenv("SMARTVM_CI_BUCKET_URL"),
							 "https://s3.amazonaws.com/spec.ccfc.min")));
	r->outbound_interface = keep(m, o.outbound_interface);
	r->qemu_binary = keep(m, first_set(o.qemu_binary, "qemu-system-x86_64"));
	r->qemu_accel = keep(m, first_set(o.qemu_accel, "auto"));
	r->egress_default = o.egress_default == SV_EGRESS_DEFAULT ? SV_EGRESS_ALLOW : o.egress_default;
	r->stop_timeout_ms = o.stop_timeout_ms > 0 ? o.stop_timeout_ms : 10000;
	r->api_timeout_ms = o.api_timeout_ms > 0 ? o.api_timeout_ms : 5000;
	r->socket_timeout_ms = o.socket_timeout_ms > 0 ? o.socket_timeout_ms : 5000;
	if (!r->data_dir || !r->runtime_dir || !r->bridge_name || !r->subnet || !r->base_image_cache_dir)
		return sv_err(SV_ENOMEM, "out of memory");
	if (o.n_egress_rules) {
		m->egress_rules = calloc(o.n_egress_rules, sizeof(*m->egress_rules));
		if (!m->egress_rules)
			return sv_err(SV_ENOMEM, "out of memory");
		for (size_t i = 0; i < o.n_egress_rules; i++) {
			m->egress_rules[i] = o.egress_rules[i];
			m->egress_rules[i].destination =
			    strdup(o.egress_rules[i].destination ? o.egress_rules[i].destination : "");
			if (!m->egress_rules[i].destination)
				return sv_err(SV_ENOMEM, "out of memory");
		}
		r->egress_rules = m->egress_rules;
	}
	if (r->data_dir[0] != '/' || r->runtime_dir[0] != '/')
		return sv_err(SV_EINVAL, "%s: must be an absolute path",
			      r->data_dir[0] != '/' ? "data_dir" : "runtime_dir");
	return 0;
}

static void free_strings(sv_manager *m)
{
	for (int i = 0; i < m->n_strings; i++)
		free(m->strings[i]);
	if (m->egress_rules)
		for (size_t i = 0; i < m->opts.n_egress_rules; i++)
			free((void *)m->egress_rules[i].destination);
	free(m->egress_rules);
}

SV_DEFINE_OPTIONS_INIT(sv_manager_options, SV_MANAGER_OPTIONS)

int sv_manager_new(sv_manager **out, const sv_manager_options *opts)
{
	sv_err_clear();
	*out = NULL;
	int vrc = SV_CHECK_OPTIONS(opts, sv_manager_options, SV_MANAGER_OPTIONS);
	if (vrc)
		return vrc;
	sv_manager *m = calloc(1, sizeof(*m));
	if (!m)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = resolve_options(m, opts);
	if (!rc)
		rc = sv_net_validate_options(&m->opts);
	if (rc) {
		free_strings(m);
		free(m);
		return rc;
	}
	sv_fork_server_init(&m->fork_server);
	m->host = (sv_vm_host){.opts = &m->opts,
			       .inotify = &m->inotify,
			       .verified = &m->verified,
			       .fork_server = &m->fork_server};
	*out = m;
	return 0;
}

void sv_manager_free(sv_manager *m)
{
	if (!m)
		return;
	sv_err_saved saved;
	sv_err_save(&saved);
	sv_manager_cleanup(m);
	sv_err_restore(&saved);
	for (size_t i = 0; i < m->n_vms; i++)
		sv_vm__free(m->vms[i]);
	free(m->vms);
	/* Its supervisors (detached VMs) live on. */
	sv_fork_server_stop(&m->fork_server);
	sv_inotify_once_close(&m->inotify);
	free_strings(m);
	free(m);
}

const sv_vm_host *sv_manager__host(const sv_manager *m) { return &m->host; }
const sv_manager_options *sv_manager_options_get(const sv_manager *m) { return &m->opts; }
const char *sv_manager_data_dir(const sv_manager *m) { return m->opts.data_dir; }
const char *sv_manager_runtime_dir(const sv_manager *m) { return m->opts.runtime_dir; }

sv_vm *sv_manager_get_vm(sv_manager *m, const char *id)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (!strcmp(sv_vm_id(m->vms[i]), id))
			return m->vms[i];
	return NULL;
}

void sv_vm_free(sv_vm *vm)
{
	if (!vm)
		return;
	/* A VM's host is its manager's own member. */
	sv_manager *m = (sv_manager *)((char *)vm->host - offsetof(sv_manager, host));
	sv_err_saved saved;
	sv_err_save(&saved);
	if (!sv_vm__is_detached(vm) && sv_vm__is_live(vm))
		sv_vm_stop(vm, -1);
	sv_err_restore(&saved);
	for (size_t i = 0; i < m->n_vms; i++) {
		if (m->vms[i] == vm) {
			m->vms[i] = m->vms[--m->n_vms];
			break;
		}
	}
	sv_vm__free(vm);
}

static int add_vm(sv_manager *m, sv_vm *vm)
{
	sv_vm **vms = realloc(m->vms, (m->n_vms + 1) * sizeof(*vms));
	if (!vms)
		return sv_err(SV_ENOMEM, "out of memory");
	m->vms = vms;
	m->vms[m->n_vms++] = vm;
	return 0;
}

/* An id is taken by a VM of this manager or by a directory in runtime_dir. */
static int check_id_free(sv_manager *m, const char *id)
{
	if (sv_manager_get_vm(m, id))
		return sv_err(SV_EEXISTS, "id: a VM with id \"%s\" already exists", id);
	char *dir = sv_path_join(m->opts.runtime_dir, id);
	bool taken = dir && sv_path_exists(dir);
	free(dir);
	if (!taken)
		return 0;
	int rtfd = open(m->opts.runtime_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = sv_vm__id_taken(id, rtfd, m->opts.runtime_dir);
	if (rtfd >= 0)
		close(rtfd);
	return rc;
}

/* cfg is of the library's version. */
static int create_vm(sv_vm **out, sv_manager *m, const sv_vm_config *cfg)
{
	char generated[SV_VM_GENERATED_ID_LEN];
	const char *id = cfg->id;
	if (!id) {
		sv_vm__generate_id(generated);
		id = generated;
	}
	int rc = sv_vm_config_validate(cfg);
	if (rc)
		return rc;
	if ((rc = check_id_free(m, id)))
		return rc;
	sv_vm *vm;
	rc = sv_vm__new(&vm, &m->host, cfg, id);
	if (rc)
		return rc;
	/* The VMM runs elsewhere: relative paths mean the caller's cwd now. */
	if ((rc = sv_config_resolve_paths(vm->cfg, NULL)) || (rc = add_vm(m, vm))) {
		sv_vm__free(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

int sv_manager_create_vm(sv_vm **out, sv_manager *m, const sv_vm_config *cfg)
{
	sv_err_clear();
	*out = NULL;
	const sv_vm_config *cur;
	sv_vm_config *converted;
	int rc = sv_config_accept(&cur, &converted, cfg);
	if (!rc)
		rc = create_vm(out, m, cur);
	sv_vm_config_free(converted);
	return rc;
}

int sv_manager__register_vm(sv_manager *m, sv_vm *vm)
{
	int rc = check_id_free(m, sv_vm_id(vm));
	return rc ? rc : add_vm(m, vm);
}

int sv_manager_attach_vm(sv_vm **out, sv_manager *m, const char *id)
{
	sv_err_clear();
	*out = NULL;
	sv_vm *known = sv_manager_get_vm(m, id);
	if (known) {
		*out = known;
		return 0;
	}
	sv_vm *vm;
	int rc = sv_vm__open_existing(&vm, &m->host, id);
	if (rc)
		return rc;
	if ((rc = add_vm(m, vm))) {
		sv_vm__free(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

static int cmp_ids(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The checked runtime dir as a DIR stream; *d NULL when it does not exist. */
static int open_runtime_dir(sv_manager *m, DIR **d)
{
	*d = NULL;
	int fd = -1;
	int rc = sv_trusted_dir_existing("runtime_dir", m->opts.runtime_dir, &fd);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0;
	}
	if (rc)
		return rc;
	if (!(*d = fdopendir(fd))) {
		close(fd);
		return sv_err_errno(SV_EIO, errno, "listing %s", m->opts.runtime_dir);
	}
	return 0;
}

static bool is_dir_entry(DIR *d, const struct dirent *de)
{
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	struct stat st;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int sv_manager_list_vm_ids(sv_manager *m, char ***ids)
{
	sv_err_clear();
	*ids = NULL;
	DIR *d = NULL;
	int rc = open_runtime_dir(m, &d);
	if (rc)
		return rc;
	sv_strv_builder b = {0};
	for (struct dirent *de; d && (de = readdir(d));)
		if (de->d_name[0] != '.' && is_dir_entry(d, de))
			sv_strv_push(&b, de->d_name);
	if (d)
		closedir(d);
	if ((rc = sv_strv_finish(&b, ids)))
		return rc;
	size_t n = 0;
	while ((*ids)[n])
		n++;
	qsort(*ids, n, sizeof(char *), cmp_ids);
	return 0;
}

int sv_manager_cleanup(sv_manager *m)
{
	int first = 0;
	sv_err_saved saved = {0};
	for (size_t i = 0; i < m->n_vms; i++) {
		sv_vm *vm = m->vms[i];
		if (sv_vm__is_detached(vm) || !sv_vm__is_live(vm))
			continue;
		int rc = sv_vm_stop(vm, -1);
		if (rc && !first) {
			first = rc;
			sv_err_save(&saved);
		}
	}
	return first ? sv_err_restore(&saved) : 0;
}

/* Cleans up the VM directory id if its VM is dead. 1 removed, 0 left alone
 * (alive, vanished), < 0 refused or failed (what failed stays: ledger.h). */
static int gc_one(sv_manager *m, const char *id)
{
	int dfd = -1;
	int rc = sv_vm__open_dir(&m->host, id, &dfd);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0; /* vanished meanwhile */
	}
	char *dir = rc ? NULL : sv_path_join(m->opts.runtime_dir, id);
	if (!rc && !dir)
		rc = sv_err(SV_ENOMEM, "out of memory");
	if (!rc && sv_vm__only_end_record(dfd))
		rc = 0; /* an ended VM: stays until sv_vm_remove */
	else if (!rc && (rc = sv_vm__cleanup_if_dead(dfd, dir)) < 0)
		rc = sv_err_prefix("cleaning up VM \"%s\"", id);
	else if (rc == 1)
		sv_info("gc: cleaned up the leftovers of VM \"%s\"", id);
	if (dfd >= 0)
		close(dfd);
	free(dir);
	return rc;
}

/* Directories of starts that died before claiming their id (vm.c names them
 * ".<id>" SV_VM_NEW_DIR_INFIX "<random>"): removed when their lock is free
 * and they are older than UNCLAIMED_GRACE_S. A live start holds the lock
 * from a moment after its mkdir until the rename, well within that; the
 * lock is never created here, which would make that start fail. */
#define UNCLAIMED_GRACE_S 60
static void gc_unclaimed_dirs(sv_manager *m)
{
	DIR *d = NULL;
	if (open_runtime_dir(m, &d) != 0 || !d) {
		sv_err_clear();
		return;
	}
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] != '.' || !strstr(de->d_name, SV_VM_NEW_DIR_INFIX) || !is_dir_entry(d, de))
			continue;
		int dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int lock = dfd < 0 ? -1 : openat(dfd, SV_VM_LOCK_FILE, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		bool old = dfd >= 0 && fstat(dfd, &st) == 0 && time(NULL) - st.st_mtime > UNCLAIMED_GRACE_S;
		bool dead = old && (lock < 0 ? errno == ENOENT : flock(lock, LOCK_EX | LOCK_NB) == 0);
		char *path = dead ? sv_path_join(m->opts.runtime_dir, de->d_name) : NULL;
		if (path && sv_rm_rf(path) != 0)
			sv_warn("gc: %s", sv_last_error());
		if (lock >= 0)
			close(lock);
		if (dfd >= 0)
			close(dfd);
		free(path);
	}
	closedir(d);
	sv_err_clear();
}

int sv_manager_gc(sv_manager *m, size_t *n_removed)
{
	sv_err_clear();
	if (n_removed)
		*n_removed = 0;
	char **ids = NULL;
	int rc = sv_manager_list_vm_ids(m, &ids);
	if (rc)
		return rc;
	gc_unclaimed_dirs(m);
	int first = 0;
	sv_err_saved saved = {0};
	for (char **id = ids; *id; id++) {
		sv_vm *own = sv_manager_get_vm(m, *id);
		if (own && sv_vm__is_live(own))
			continue; /* ours and running; a stopped one whose cleanup failed is retried */
		int r = gc_one(m, *id);
		if (r == 1 && n_removed)
			(*n_removed)++;
		if (r >= 0)
			continue;
		if (!first) {
			first = r;
			sv_err_save(&saved);
		} else {
			sv_warn("gc: %s", sv_last_error());
		}
	}
	sv_strv_free(ids);
	return first ? sv_err_restore(&saved) : 0;
}
