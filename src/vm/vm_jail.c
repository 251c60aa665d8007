/* Launching the VMM through Firecracker's jailer (docs/jailer.md).
 *
 * The jail is <chroot_base>/<exec file name>/<id>/root, the layout the jailer
 * itself uses. Before the jailer runs, smartvm creates that directory and
 * puts in it everything the VMM will open: the kernel and initrd, every
 * drive, the metrics and log files. Our own private copies (staged drives)
 * are hard-linked and handed to the jail's uid/gid; the caller's files
 * (kernel, initrd, read-only drives) are copied instead (a reflink where the
 * filesystem can), because chown on a hard link would change the caller's
 * file too. The staged config is rewritten to the paths the jailed VMM sees
 * ("/vmlinux", "/drives/<name>", ...), and the API socket is looked for at
 * <root>/<socket name>.
 *
 * Ledger: the jail directory (<base>/<exec name>/<id>) and the cgroup the
 * jailer makes (<cgroup root>/<exec name>/<id>) are recorded before either
 * exists; replay removes both after the VMM is gone.
 *
 * Never changes the ownership or contents of a file the caller gave. */
#include "vm/vm_internal.h"

#include "manager/manager_internal.h"
#include "util/error.h"
#include "util/file.h"
#include "util/ledger.h"
#include <errno.h>
#include <libgen.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define API_SOCKET_IN_JAIL "/" /* + the backend's socket name */

struct sv_vm_jail {
	sv_jail_options o;   /* strings below are owned copies */
	char *strings[7];
	char *jail_id;
	char *jail_dir;      /* <base>/<exec name>/<id> */
	char *cgroup_dir;
	sv_vmm_jail launch;
	char *api_socket;    /* as the VMM sees it */
};

void sv_vm__jail_free(struct sv_vm_jail *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < sizeof(j->strings) / sizeof(j->strings[0]); i++)
		free(j->strings[i]);
	free(j->jail_id);
	free(j->jail_dir);
	free(j->cgroup_dir);
	free(j->api_socket);
	free(j);
}

static const char *own(struct sv_vm_jail *j, int slot, const char *s)
{
	if (!s)
		return NULL;
	j->strings[slot] = strdup(s);
	return j->strings[slot];
}

/* The jailer's --id: [A-Za-z0-9-], 1-64 characters (the VM id with '_' -> '-'). */
static char *jail_id_of(const char *vm_id)
{
	char *id = strdup(vm_id);
	for (char *p = id; p && *p; p++)
		if (*p == '_')
			*p = '-';
	return id;
}

int sv_vm_set_jail(sv_vm *vm, const sv_jail_options *in)
{
	sv_err_clear();
	int rc = sv_vm__require_state(vm, "set jail", 1u << SV_VM_CREATED);
	if (rc)
		return rc;
	if (!in || !in->jailer_binary || !*in->jailer_binary)
		return sv_err(SV_EINVAL, "jail.jailer_binary: required");
	if (access(in->jailer_binary, X_OK) != 0)
		return sv_err_errno(SV_ENOTFOUND, errno, "jail.jailer_binary: %s", in->jailer_binary);
	if (in->uid == 0)
		return sv_err(SV_EINVAL, "jail.uid: must not be 0 (the point of the jail is an unprivileged VMM)");
	if (in->new_pid_ns)
		return sv_err(SV_EUNSUPPORTED, "jail.new_pid_ns: under --new-pid-ns the jailer's parent exits at once; "
					       "following the VMM through its pid file is not built in yet");
	if (in->chroot_base_dir && in->chroot_base_dir[0] != '/')
		return sv_err(SV_EINVAL, "jail.chroot_base_dir: must be an absolute path");
	if (in->netns && access(in->netns, F_OK) != 0)
		return sv_err_errno(SV_ENOTFOUND, errno, "jail.netns: %s", in->netns);
	struct sv_vm_jail *j = calloc(1, sizeof(*j));
	if (!j)
		return sv_err(SV_ENOMEM, "out of memory");
	j->o = *in;
	/* Default: next to the runtime dir (<runtime_dir>/../jail), not inside
	 * a VM directory, so the jail path is the jailer's usual layout. */
	char *rt = strdup(sv_manager__opts(vm->mgr)->runtime_dir);
	char *base = in->chroot_base_dir || !rt ? NULL : sv_path_join(dirname(rt), "jail");
	free(rt);
	j->o.jailer_binary = own(j, 0, in->jailer_binary);
	j->o.chroot_base_dir = own(j, 1, in->chroot_base_dir ? in->chroot_base_dir : base);
	j->o.cgroup_cpu_max = own(j, 2, in->cgroup_cpu_max);
	j->o.cgroup_memory_max = own(j, 3, in->cgroup_memory_max);
	j->o.cgroup_root = own(j, 4, in->cgroup_root ? in->cgroup_root : "/sys/fs/cgroup");
	j->o.netns = own(j, 5, in->netns);
	free(base);
	j->jail_id = jail_id_of(vm->id);
	if (!j->o.jailer_binary || !j->o.chroot_base_dir || !j->o.cgroup_root || !j->jail_id) {
		sv_vm__jail_free(j);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	sv_vm__jail_free(vm->jail);
	vm->jail = j;
	return 0;
}

static const char *exec_name(const sv_vm *vm, const char *binary)
{
	(void)vm;
	const char *s = strrchr(binary, '/');
	return s ? s + 1 : binary;
}

static int chown_path(const sv_vm *vm, const char *path)
{
	if (chown(path, vm->jail->o.uid, vm->jail->o.gid) != 0)
		return sv_err_errno(SV_EIO, errno, "jail: chown %s to %u:%u", path, vm->jail->o.uid, vm->jail->o.gid);
	return 0;
}

int sv_vm__jail_link(sv_vm *vm, sv_ledger *ledger, const char *host_path, const char *jail_path)
{
	(void)ledger; /* everything in the jail goes with the jail directory */
	char *dst = sv_path_join(vm->jail_root, jail_path + 1);
	char *parent = dst ? strdup(dst) : NULL;
	int rc = (dst && parent) ? sv_mkdir_p(dirname(parent), 0755) : sv_err(SV_ENOMEM, "out of memory");
	/* Ours (inside the VM dir): hard link; the caller's: a copy. */
	bool ours = !strncmp(host_path, vm->dir, strlen(vm->dir)) && host_path[strlen(vm->dir)] == '/';
	if (!rc) {
		if (ours && link(host_path, dst) == 0)
			rc = 0;
		else if (ours && errno != EXDEV)
			rc = sv_err_errno(SV_EIO, errno, "jail: linking %s to %s", host_path, dst);
		else
			rc = sv_copy_sparse(host_path, dst); /* the caller's file, or across filesystems */
	}
	if (!rc)
		rc = chown_path(vm, dst);
	free(dst);
	free(parent);
	return rc;
}

/* A staged path as the host sees it, before the jail exists. */
static char *unjailed_host_path(const sv_vm *vm, const char *path)
{
	return path[0] == '/' ? strdup(path) : sv_path_join(vm->dir, path);
}

/* "/<prefix><basename>", malloc'd. */
static char *jail_name(const char *prefix, const char *path)
{
	char *out = NULL;
	const char *b = strrchr(path, '/');
	return asprintf(&out, "/%s%s", prefix, b ? b + 1 : path) < 0 ? NULL : out;
}

/* Puts the file at *slot (a staged config path) into the jail and points
 * *slot at the jail's view of it. */
static int place(sv_vm *vm, sv_ledger *ledger, const char **slot, const char *prefix)
{
	char *host = unjailed_host_path(vm, *slot);
	char *jp = jail_name(prefix, *slot);
	if (*slot[0] != '/' && jp) { /* a staged copy: keep its relative name */
		free(jp);
		jp = NULL;
		if (asprintf(&jp, "/%s", *slot) < 0)
			jp = NULL;
	}
	int rc = (host && jp) ? sv_vm__jail_link(vm, ledger, host, jp) : sv_err(SV_ENOMEM, "out of memory");
	if (!rc) {
		free((void *)*slot);
		*slot = jp;
		jp = NULL;
	}
	free(host);
	free(jp);
	return rc;
}

/* An output file (metrics, log) or socket the VMM creates or opens at
 * "/<basename>" in the jail. */
static int place_output(sv_vm *vm, const char **slot, bool create)
{
	char *jp = jail_name("", *slot);
	char *host = jp ? sv_path_join(vm->jail_root, jp + 1) : NULL;
	int rc = host ? 0 : sv_err(SV_ENOMEM, "out of memory");
	if (!rc && create) {
		FILE *f = fopen(host, "ae");
		if (!f)
			rc = sv_err_errno(SV_EIO, errno, "jail: creating %s", host);
		else
			fclose(f);
		if (!rc)
			rc = chown_path(vm, host);
	}
	if (!rc) {
		free((void *)*slot);
		*slot = jp;
		jp = NULL;
	}
	free(jp);
	free(host);
	return rc;
}

int sv_vm__jail_prepare(sv_vm *vm, sv_ledger *ledger)
{
	struct sv_vm_jail *j = vm->jail;
	if (strcmp(vm->backend->name, "firecracker"))
		return sv_err(SV_EUNSUPPORTED, "jail: not supported by the %s backend", vm->backend->name);
	char *binary = NULL, *accel = NULL;
	int rc = sv_vm__pick_backend(vm, &binary, &accel);
	free(accel);
	if (rc)
		return rc;
	const char *name = exec_name(vm, binary);
	if (asprintf(&j->jail_dir, "%s/%s/%s", j->o.chroot_base_dir, name, j->jail_id) < 0 ||
	    asprintf(&j->cgroup_dir, "%s/%s/%s", j->o.cgroup_root, name, j->jail_id) < 0 ||
	    asprintf(&j->api_socket, "/%s", vm->backend->api_socket_name) < 0) {
		free(binary);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	free(binary);
	vm->jail_root = sv_path_join(j->jail_dir, "root");
	if (!vm->jail_root)
		return sv_err(SV_ENOMEM, "out of memory");
	if (sv_path_exists(j->jail_dir))
		return sv_err(SV_EEXISTS, "jail: %s already exists", j->jail_dir);
	if ((rc = sv_ledger_record(ledger, "dir", j->jail_dir, NULL)) ||
	    (rc = sv_ledger_record(ledger, "cgroup", j->cgroup_dir, NULL)) ||
	    (rc = sv_mkdir_p(vm->jail_root, 0755)) || (rc = chown_path(vm, vm->jail_root)))
		return sv_err_prefix("jail");
	sv_vm_config *s = vm->staged;
	if ((rc = place(vm, ledger, &s->boot_source.kernel_image_path, "")))
		return sv_err_prefix("jail: boot_source.kernel_image_path");
	if (s->boot_source.initrd_path && (rc = place(vm, ledger, &s->boot_source.initrd_path, "")))
		return sv_err_prefix("jail: boot_source.initrd_path");
	for (size_t i = 0; i < s->n_drives; i++) {
		sv_drive_config *d = (sv_drive_config *)&s->drives[i];
		char prefix[80];
		snprintf(prefix, sizeof(prefix), "drives/%s-", d->drive_id);
		if (d->path_on_host && (rc = place(vm, ledger, &d->path_on_host, prefix)))
			return sv_err_prefix("jail: drives[%zu]", i);
	}
	if (s->metrics && (rc = place_output(vm, &((sv_metrics_config *)s->metrics)->metrics_path, true)))
		return rc;
	if (s->logger && (rc = place_output(vm, &((sv_logger_config *)s->logger)->log_path, true)))
		return rc;
	if (s->vsock && (rc = place_output(vm, &((sv_vsock_config *)s->vsock)->uds_path, false)))
		return rc;
	return 0;
}

void sv_vm__jail_launch(const sv_vm *vm, sv_vmm_launch *launch, sv_vmm_jail *out)
{
	const struct sv_vm_jail *j = vm->jail;
	*out = (sv_vmm_jail){
		.jailer = j->o.jailer_binary,
		.id = j->jail_id,
		.chroot_base = j->o.chroot_base_dir,
		.uid = j->o.uid,
		.gid = j->o.gid,
		.cgroup_cpu_max = j->o.cgroup_cpu_max,
		.cgroup_memory_max = j->o.cgroup_memory_max,
		.netns = j->o.netns,
		.new_pid_ns = j->o.new_pid_ns,
		.daemonize = j->o.daemonize,
	};
	launch->jail = out;
	launch->api_socket = j->api_socket;
}
