/* The orchestrator: resolved options, the registry of VMs this process holds,
 * and cleanup of everything it started. It owns no host resources itself;
 * every resource belongs to one VM and its ledger. */
#include "manager/manager_internal.h"

#include "config/config_paths.h"
#include "util/error.h"
#include "util/file.h"
#include "util/ledger.h"
#include "util/log.h"
#include "vm/vm_internal.h"
#include "vm/vm_net.h"
#include <smartvm/netadmin.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <unistd.h>

struct sv_manager {
	sv_manager_options opts;   /* resolved; strings below are owned */
	char *strings[16];
	int n_strings;
	sv_egress_rule *egress_rules;
	sv_vm **vms;
	size_t n_vms;
	int inotify_fd; /* 0 = not created yet (fd 0 is never ours), -1 = unavailable */
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

static const char *first_set(const char *a, const char *b)
{
	return (a && *a) ? a : (b && *b) ? b : NULL;
}

static char *default_runtime_dir(void)
{
	if (sv_is_writable_dir("/dev/shm"))
		return strdup("/dev/shm/.smartvm/runtime");
	const char *tmp = getenv("TMPDIR");
	return sv_path_join(tmp && *tmp ? tmp : "/tmp", ".smartvm/runtime");
}

static int resolve_options(sv_manager *m, const sv_manager_options *in)
{
	sv_manager_options o = in ? *in : (sv_manager_options){ 0 };
	sv_manager_options *r = &m->opts;
	*r = o;
	r->data_dir = keep(m, first_set(o.data_dir, first_set(getenv("SMARTVM_DATA_DIR"), "/tmp/.smartvm")));
	char *rt = default_runtime_dir();
	r->runtime_dir = keep(m, first_set(o.runtime_dir, first_set(getenv("SMARTVM_RUNTIME_DIR"), rt)));
	free(rt);
	r->ephemeral_writable_drives = o.ephemeral_writable_drives == SV_UNSET ? SV_YES : o.ephemeral_writable_drives;
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
	r->releases_url = keep(m, first_set(o.releases_url, first_set(getenv("SMARTVM_RELEASES_URL"),
		"https://github.com/firecracker-microvm/firecracker/releases")));
	r->ci_bucket_url = keep(m, first_set(o.ci_bucket_url, first_set(getenv("SMARTVM_CI_BUCKET_URL"),
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
			m->egress_rules[i].destination = strdup(o.egress_rules[i].destination ? o.egress_rules[i].destination : "");
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

int sv_manager_new(sv_manager **out, const sv_manager_options *opts)
{
	sv_err_clear();
	*out = NULL;
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
	if (m->inotify_fd > 0)
		close(m->inotify_fd);
	free_strings(m);
	free(m);
}

int sv_manager__inotify_fd(sv_manager *m)
{
	if (m->inotify_fd == 0) {
		m->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (m->inotify_fd == 0) { /* stdin was closed: keep 0 free for "unset" */
			int fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
			close(0);
			m->inotify_fd = fd;
		}
	}
	return m->inotify_fd;
}

const sv_manager_options *sv_manager__opts(const sv_manager *m) { return &m->opts; }
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
	sv_manager *m = vm->mgr;
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

static void generate_id(char out[16])
{
	unsigned char bytes[6] = { 0 };
	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) {
		unsigned long long t = (unsigned long long)getpid() ^ (unsigned long long)(uintptr_t)out;
		memcpy(bytes, &t, sizeof(bytes));
	}
	snprintf(out, 16, "vm-%02x%02x%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
		 bytes[5]);
}

/* An id is taken by a VM of this manager or by a directory in runtime_dir. */
static int check_id_free(sv_manager *m, const char *id)
{
	if (sv_manager_get_vm(m, id))
		return sv_err(SV_EEXISTS, "id: a VM with id \"%s\" already exists", id);
	char *dir = sv_path_join(m->opts.runtime_dir, id);
	bool taken = dir && sv_path_exists(dir);
	free(dir);
	if (taken)
		return sv_err(SV_EEXISTS, "id: a VM with id \"%s\" already exists in %s", id, m->opts.runtime_dir);
	return 0;
}

int sv_manager_create_vm(sv_vm **out, sv_manager *m, const sv_vm_config *cfg)
{
	sv_err_clear();
	*out = NULL;
	char generated[16];
	const char *id = cfg->id;
	if (!id) {
		generate_id(generated);
		id = generated;
	}
	int rc = sv_vm_config_validate(cfg);
	if (rc)
		return rc;
	if ((rc = check_id_free(m, id)))
		return rc;
	sv_vm *vm;
	rc = sv_vm__new(&vm, m, cfg, id);
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
	int rc = sv_vm__open_existing(&vm, m, id);
	if (rc)
		return rc;
	if ((rc = add_vm(m, vm))) {
		sv_vm__free(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

int sv_manager_list_vm_ids(sv_manager *m, char ***ids)
{
	sv_err_clear();
	*ids = NULL;
	size_t n = 0;
	char **list = calloc(1, sizeof(char *));
	if (!list)
		return sv_err(SV_ENOMEM, "out of memory");
	DIR *d = opendir(m->opts.runtime_dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || de->d_type != DT_DIR)
				continue;
			char **nl = realloc(list, (n + 2) * sizeof(char *));
			if (!nl || !(nl[n] = strdup(de->d_name))) {
				list = nl ? nl : list;
				list[n] = NULL;
				closedir(d);
				sv_strv_free(list);
				return sv_err(SV_ENOMEM, "out of memory");
			}
			list = nl;
			list[++n] = NULL;
		}
		closedir(d);
	} else if (errno != ENOENT) {
		sv_strv_free(list);
		return sv_err_errno(SV_EIO, errno, "listing %s", m->opts.runtime_dir);
	}
	qsort(list, n, sizeof(char *), (int (*)(const void *, const void *))strcmp);
	*ids = list;
	return 0;
}

int sv_manager_cleanup(sv_manager *m)
{
	int first = 0;
	sv_err_saved saved = { 0 };
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

int sv_manager_gc(sv_manager *m, size_t *n_removed)
{
	sv_err_clear();
	if (n_removed)
		*n_removed = 0;
	char **ids = NULL;
	int rc = sv_manager_list_vm_ids(m, &ids);
	if (rc)
		return rc;
	int first = 0;
	for (char **id = ids; *id; id++) {
		sv_vm *vm = NULL;
		if (sv_manager_get_vm(m, *id))
			continue; /* ours and tracked */
		if (sv_vm__open_existing(&vm, m, *id) != 0)
			continue; /* vanished meanwhile */
		bool live = sv_vm__is_live(vm);
		char *dir = strdup(sv_vm_dir(vm));
		sv_vm__free(vm);
		if (live || !dir) {
			free(dir);
			continue;
		}
		sv_info("gc: cleaning up leftovers of VM \"%s\"", *id);
		int r = sv_vm__cleanup_dir(dir);
		free(dir);
		if (r && !first)
			first = r;
		else if (!r && n_removed)
			(*n_removed)++;
	}
	sv_strv_free(ids);
	return first;
}
