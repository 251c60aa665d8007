/* Launching the VMM through Firecracker's jailer (docs/jailer.md).
 *
 * The jail is <chroot_base>/<exec file name>/<jail id>/root, the layout the
 * jailer itself uses. Before the jailer runs, smartvm builds that directory
 * completely, as root, and puts in it everything the VMM will open: the
 * kernel and initrd, every drive and pmem file, the metrics and log files. The staged
 * config is rewritten to the paths the jailed VMM sees ("/vmlinux",
 * "/drives/<name>", ...), and the API socket is looked for at
 * <root>/<socket name>.
 *
 * Invariants, because the jail's root later belongs to the jail's uid (the
 * jailer chowns it), and a process of that uid may plant links in it:
 *   - the chroot base passes the trusted-directory checks (util/trusted_dir.h)
 *     and <exec file name> below it is a real directory of ours: nobody else
 *     can rename or swap anything on the way to a jail;
 *   - the jail directory is claimed with mkdir (it must not exist: the claim
 *     is the check) and marked with a random owner token that the ledger
 *     entry repeats, so cleanup removes only the jail this VM made — never
 *     the jail of another VM that won a race for the same id;
 *   - everything inside is created by us with O_EXCL | O_NOFOLLOW relative to
 *     directory fds and stays root's until the end, when ownership goes to
 *     the jail's uid/gid only for what the VMM writes: our private copies of
 *     writable drives (hard-linked: they are ours) and the metrics and log
 *     files. The caller's files (kernel, initrd, read-only drives) are
 *     copied, root's and readable by the jail's group only;
 *   - jail ids are an injective encoding of VM ids ('-' -> "--", '_' ->
 *     "-u"), so two VMs never share a jail.
 *
 * Ledger: `jail BASE EXEC/ID/TOKEN` (undone by vm_jail_undo.c after
 * re-checking all of the above) and one `cgroup DIR` per cgroup the jailer
 * makes (vm_jail_cgroup.c knows the host's cgroup version), recorded before
 * either exists. Never changes the ownership or contents of a file the
 * caller gave. */
#include "vm/vm_internal.h"

#include "util/error.h"
#include "util/options_version.h"
#include "util/fault.h"
#include "util/file.h"
#include "util/ledger.h"
#include "util/trusted_dir.h"
#include "vm/vm_jail_cgroup.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define JAIL_ID_MAX 64 /* the jailer's limit */

struct sv_vm_jail {
	sv_jail_options o; /* strings below are owned copies */
	char *strings[7];
	char *jail_id;
	char *jail_dir; /* <base>/<exec name>/<id> */
	sv_jail_cgroups cgroups;
	char *api_socket; /* as the VMM sees it */
};

void sv_vm__jail_free(struct sv_vm_jail *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < sizeof(j->strings) / sizeof(j->strings[0]); i++)
		free(j->strings[i]);
	free(j->jail_id);
	free(j->jail_dir);
	sv_jail_cgroups_free(&j->cgroups);
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

/* The jailer's --id allows [A-Za-z0-9-] only; VM ids also hold '_'. '-'
 * escapes: "a-b" -> "a--b", "a_b" -> "a-ub", so distinct VMs never map to
 * one jail. */
static int jail_id_of(const char *vm_id, char **out)
{
	char *id = malloc(2 * strlen(vm_id) + 1), *o = id;
	if (!id)
		return sv_err(SV_ENOMEM, "out of memory");
	for (const char *p = vm_id; *p; p++) {
		if (*p == '-' || *p == '_') {
			*o++ = '-';
			*o++ = *p == '-' ? '-' : 'u';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	if (o - id > JAIL_ID_MAX) {
		int rc = sv_err(
		    SV_EINVAL,
		    "jail: VM id \"%s\" is too long for the jailer: with '-' and '_' escaped its jail id "
		    "\"%s\" has %zu characters, the jailer allows %d",
		    vm_id, id, (size_t)(o - id), JAIL_ID_MAX);
		free(id);
		return rc;
	}
	*out = id;
	return 0;
}

SV_DEFINE_OPTIONS_INIT(sv_jail_options, SV_JAIL_OPTIONS)

int sv_vm_set_jail(sv_vm *vm, const sv_jail_options *in)
{
	sv_err_clear();
	int vrc = SV_CHECK_OPTIONS(in, sv_jail_options, SV_JAIL_OPTIONS);
	if (vrc)
		return vrc;
	int rc = sv_vm__require_state(vm, "set jail", 1u << SV_VM_CREATED);
	if (rc)
		return rc;
	if (!in || !in->jailer_binary || !*in->jailer_binary)
		return sv_err(SV_EINVAL, "jail.jailer_binary: required");
	if (access(in->jailer_binary, X_OK) != 0)
		return sv_err_errno(SV_ENOTFOUND, errno, "jail.jailer_binary: %s", in->jailer_binary);
	if (in->uid == 0)
		return sv_err(SV_EINVAL, "jail.uid: must not be 0 (the point of the jail is an unprivileged VMM)");
	if (in->gid == 0)
		return sv_err(SV_EINVAL,
			      "jail.gid: must not be 0 (group root could read and write what root's "
			      "group can; give the VMM a group of its own)");
	if (in->new_pid_ns)
		return sv_err(SV_EUNSUPPORTED, "jail.new_pid_ns: under --new-pid-ns the jailer's parent exits at once; "
					       "following the VMM through its pid file is not built in yet");
	if (in->chroot_base_dir && in->chroot_base_dir[0] != '/')
		return sv_err(SV_EINVAL, "jail.chroot_base_dir: must be an absolute path");
	if ((rc = sv_jail_cgroup_limits_check(in->cgroup_cpu_max, in->cgroup_memory_max)))
		return rc;
	if (in->netns && access(in->netns, F_OK) != 0)
		return sv_err_errno(SV_ENOTFOUND, errno, "jail.netns: %s", in->netns);
	struct sv_vm_jail *j = calloc(1, sizeof(*j));
	if (!j)
		return sv_err(SV_ENOMEM, "out of memory");
	if ((rc = jail_id_of(vm->id, &j->jail_id))) {
		free(j);
		return rc;
	}
	j->o = *in;
	/* Default: <runtime_dir>/.jail, inside smartvm's own checked directory
	 * (next to it would be /run/jail for root) but not inside a VM
	 * directory; ids contain no '.', so it is never taken for a VM. */
	char *base = in->chroot_base_dir ? NULL : sv_path_join(vm->host->opts->runtime_dir, ".jail");
	j->o.jailer_binary = own(j, 0, in->jailer_binary);
	j->o.chroot_base_dir = own(j, 1, in->chroot_base_dir ? in->chroot_base_dir : base);
	j->o.cgroup_cpu_max = own(j, 2, in->cgroup_cpu_max);
	j->o.cgroup_memory_max = own(j, 3, in->cgroup_memory_max);
	j->o.cgroup_root = own(j, 4, in->cgroup_root ? in->cgroup_root : "/sys/fs/cgroup");
	j->o.netns = own(j, 5, in->netns);
	free(base);
	if (!j->o.jailer_binary || !j->o.chroot_base_dir || !j->o.cgroup_root) {
		sv_vm__jail_free(j);
		return sv_err(SV_ENOMEM, "out of memory");
	}
	sv_vm__jail_free(vm->jail);
	vm->jail = j;
	return 0;
}

/* ---- placing files ---- */

/* "/proc/self/fd/<dirfd>/<name>": a path through the directory we hold, for
 * helpers that take paths (sv_copy_sparse); whatever happens to the
 * directory's own path, this names the directory we checked. */
static char *at_path(int dirfd, const char *name)
{
	char *p = NULL;
	return asprintf(&p, "/proc/self/fd/%d/%s", dirfd, name) < 0 ? NULL : p;
}

/* A basename usable as a file name in the jail. */
static const char *plain_basename(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	return (!*b || !strcmp(b, ".") || !strcmp(b, "..")) ? NULL : b;
}

/* Puts host_path into the directory dirfd (shown as dir_shown) under name:
 * a hard link of our own private copy (it becomes the VMM's), else a copy
 * of the caller's file, root's and readable by the jail's group only. The
 * name must not exist (O_EXCL: nothing planted is ever followed). */
static int put_file(int dirfd, const char *dir_shown, const char *name, const char *host_path, bool ours,
		    gid_t gid)
{
	if (ours && linkat(AT_FDCWD, host_path, dirfd, name, 0) == 0)
		return 0;
	if (ours && errno != EXDEV)
		return sv_err_errno(SV_EIO, errno, "linking %s to %s/%s", host_path, dir_shown, name);
	char *dst = at_path(dirfd, name);
	int rc = dst ? sv_copy_sparse(host_path, dst) : sv_err(SV_ENOMEM, "out of memory");
	free(dst);
	if (rc)
		return sv_err_prefix("placing %s at %s/%s", host_path, dir_shown, name);
	if (ours) /* our copy across filesystems: still the VMM's to write */
		return 0;
	if (fchownat(dirfd, name, 0, gid, AT_SYMLINK_NOFOLLOW) != 0 || fchmodat(dirfd, name, 0440, 0) != 0)
		return sv_err_errno(SV_EIO, errno, "%s/%s: setting owner root:%u, mode 0440", dir_shown, name,
				    (unsigned)gid);
	return 0;
}

/* Hands name in dirfd to the jail's uid/gid (never following a link). */
static int hand_over(int dirfd, const char *dir_shown, const char *name, uid_t uid, gid_t gid)
{
	if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
		return sv_err_errno(SV_EIO, errno, "jail: chown %s/%s to %u:%u", dir_shown, name,
				    (unsigned)uid, (unsigned)gid);
	return 0;
}

/* The jail's root of a VM whose jail exists, for live operations, possibly
 * from another process: reached through the jail directory (ours, checked)
 * without following links. The jail's uid owns what is inside. */
static int open_jail_root(const sv_vm *vm, int *root_out, struct stat *root_st)
{
	*root_out = -1;
	char *id_dir = strdup(vm->jail_root);
	if (!id_dir)
		return sv_err(SV_ENOMEM, "out of memory");
	int id_fd = -1;
	int rc = sv_trusted_dir_existing("jail", dirname(id_dir), &id_fd);
	free(id_dir);
	if (rc)
		return rc;
	int root = openat(id_fd, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(id_fd);
	if (root < 0 || fstat(root, root_st) != 0) {
		rc = sv_err_errno(errno == ELOOP || errno == ENOTDIR ? SV_EUNSAFE : SV_EIO, errno, "jail %s",
				  vm->jail_root);
		if (root >= 0)
			close(root);
		return rc;
	}
	*root_out = root;
	return 0;
}

int sv_vm__jail_put_vmm_config(sv_vm *vm, const char *text, char **jail_path_out)
{
	*jail_path_out = NULL;
	int root = -1;
	struct stat st;
	int rc = open_jail_root(vm, &root, &st);
	if (rc)
		return rc;
	/* build() made it and the jailer hands it over when it runs, after this. */
	if (st.st_uid != geteuid())
		rc = sv_err(SV_EUNSAFE, "jail %s: not the directory smartvm made", vm->jail_root);
	if (!rc)
		rc = sv_write_file_atomic_at(root, vm->jail_root, SV_VM_VMM_CONFIG_FILE, text, strlen(text),
					     0600);
	if (!rc)
		rc = hand_over(root, vm->jail_root, SV_VM_VMM_CONFIG_FILE, vm->jail->o.uid, vm->jail->o.gid);
	close(root);
	if (!rc && asprintf(jail_path_out, "/%s", SV_VM_VMM_CONFIG_FILE) < 0) {
		*jail_path_out = NULL;
		rc = sv_err(SV_ENOMEM, "out of memory");
	}
	return rc;
}

int sv_vm__jail_open(const sv_vm *vm, const char *name, int flags, int *fd_out)
{
	*fd_out = -1;
	int root = -1;
	struct stat st;
	int rc = open_jail_root(vm, &root, &st);
	if (rc)
		return rc;
	*fd_out = openat(root, name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (*fd_out < 0)
		rc = sv_err_errno(errno == ELOOP    ? SV_EUNSAFE
				  : errno == ENOENT ? SV_ENOTFOUND
						    : SV_EIO,
				  errno, "%s/%s", vm->jail_root, name);
	close(root);
	return rc;
}

/* The jail's root and its drives/ directory, which must still be the one we
 * made: the jail's uid owns the root and may have replaced it. */
static int open_jail_drives(const sv_vm *vm, int *root_out, int *drives_out, struct stat *root_st)
{
	*drives_out = -1;
	int rc = open_jail_root(vm, root_out, root_st);
	if (rc)
		return rc;
	int drives = openat(*root_out, SV_VM_DRIVES_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (drives < 0 || fstat(drives, &st) != 0 || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		rc = sv_err(SV_EUNSAFE,
			    "jail %s/%s: not the directory smartvm made (replaced from inside the jail?)",
			    vm->jail_root, SV_VM_DRIVES_DIR);
		if (drives >= 0)
			close(drives);
		close(*root_out);
		*root_out = -1;
		return rc;
	}
	*drives_out = drives;
	return 0;
}

int sv_vm__jail_add_drive(sv_vm *vm, const char *host_path, const char *name, bool ours, char **jail_path_out)
{
	*jail_path_out = NULL;
	int root = -1, drives = -1;
	struct stat root_st; /* the jailer gave the root to the jail's uid:gid */
	int rc = open_jail_drives(vm, &root, &drives, &root_st);
	char *shown = rc ? NULL : sv_path_join(vm->jail_root, SV_VM_DRIVES_DIR);
	if (!rc && !shown)
		rc = sv_err(SV_ENOMEM, "out of memory");
	if (!rc)
		rc = put_file(drives, shown, name, host_path, ours, root_st.st_gid);
	if (!rc && ours)
		rc = hand_over(drives, shown, name, root_st.st_uid, root_st.st_gid);
	if (!rc && asprintf(jail_path_out, "/%s/%s", SV_VM_DRIVES_DIR, name) < 0) {
		*jail_path_out = NULL;
		rc = sv_err(SV_ENOMEM, "out of memory");
	}
	if (drives >= 0)
		close(drives);
	if (root >= 0)
		close(root);
	free(shown);
	return rc ? sv_err_prefix("jail") : 0;
}

/* ---- building the jail ---- */

typedef struct {
	sv_vm *vm;
	int root_fd, drives_fd;
	char *drives_shown;
	/* What goes to the jail's uid at the end: names relative to root. */
	char *handover[64];
	size_t n_handover;
} builder;

static int note_handover(builder *b, const char *rel)
{
	if (b->n_handover == sizeof(b->handover) / sizeof(b->handover[0]))
		return sv_err(SV_EINVAL, "jail: too many files for the VMM to own");
	if (!(b->handover[b->n_handover] = strdup(rel)))
		return sv_err(SV_ENOMEM, "out of memory");
	b->n_handover++;
	return 0;
}

/* Puts the file at *slot (a staged config path) into the jail and points
 * *slot at the jail's view of it: "/<basename>" (kernel, initrd) or
 * "/drives/<drive id>-<basename>"; a staged copy keeps its relative name
 * ("drives/<drive id>-<name>"). */
static int place(builder *b, const char **slot, const char *drive_id, bool writable)
{
	sv_vm *vm = b->vm;
	const char *path = *slot;
	bool ours = path[0] != '/'; /* staged: relative to the VM directory */
	if (writable && !ours)
		return sv_err(SV_EUNSUPPORTED,
			      "the VMM would write %s in place (ephemeral = no), which the jail's "
			      "uid does not own; jailed VMs need writable drives staged",
			      path);
	const char *base = plain_basename(path);
	if (!base)
		return sv_err(SV_EINVAL, "%s: not a file name", path);
	char *name = NULL, *host = ours ? sv_path_join(vm->dir, path) : strdup(path), *jail_path = NULL;
	int rc = 0;
	if (ours || drive_id) {
		if (ours ? asprintf(&name, "%s", base) < 0 : asprintf(&name, "%s-%s", drive_id, base) < 0)
			name = NULL;
		if (name && asprintf(&jail_path, "/%s/%s", SV_VM_DRIVES_DIR, name) < 0)
			jail_path = NULL;
		if (!name || !jail_path || !host)
			rc = sv_err(SV_ENOMEM, "out of memory");
		if (!rc)
			rc = put_file(b->drives_fd, b->drives_shown, name, host, ours, vm->jail->o.gid);
	} else {
		if (asprintf(&jail_path, "/%s", base) < 0)
			jail_path = NULL;
		if (!jail_path || !host)
			rc = sv_err(SV_ENOMEM, "out of memory");
		if (!rc)
			rc = put_file(b->root_fd, vm->jail_root, base, host, false, vm->jail->o.gid);
	}
	if (!rc && ours)
		rc = note_handover(b, jail_path + 1);
	if (!rc) {
		free((void *)*slot);
		*slot = jail_path;
		jail_path = NULL;
	}
	free(name);
	free(host);
	free(jail_path);
	return rc;
}

/* An output file (metrics, log) or socket the VMM creates or opens at
 * "/<basename>" in the jail. Files are created here, empty and exclusive. */
static int place_output(builder *b, const char *field, const char **slot, bool create)
{
	const char *base = plain_basename(*slot);
	char *jp = NULL;
	if (!base)
		return sv_err(SV_EINVAL, "jail: %s: %s: not a file name", field, *slot);
	if (asprintf(&jp, "/%s", base) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	int rc = 0;
	if (create) {
		int fd = openat(b->root_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			rc = sv_err_errno(SV_EIO, errno, "jail: %s: creating %s/%s", field, b->vm->jail_root,
					  base);
		else
			close(fd);
		if (!rc)
			rc = note_handover(b, base);
	}
	if (rc) {
		free(jp);
		return rc;
	}
	free((void *)*slot);
	*slot = jp;
	return 0;
}

/* pmem files are never staged (the guest maps them whole): a writable one
 * would be written in place, by a uid that does not own it. */
static int place_pmem(builder *b, sv_vm_config *s)
{
	for (size_t i = 0; i < s->n_pmem; i++) {
		sv_pmem_config *p = (sv_pmem_config *)&s->pmem[i];
		if (!p->read_only)
			return sv_err(SV_EUNSUPPORTED,
				      "jail: pmem[%zu]: the VMM would write %s in place, which the jail's uid does not "
				      "own; jailed VMs take read_only pmem devices only",
				      i, p->path_on_host);
		char *name = NULL;
		if (asprintf(&name, "pmem-%s", p->id) < 0)
			return sv_err(SV_ENOMEM, "out of memory");
		int rc = place(b, &p->path_on_host, name, false);
		free(name);
		if (rc)
			return sv_err_prefix("jail: pmem[%zu]", i);
	}
	return 0;
}

static int place_all(builder *b)
{
	sv_vm_config *s = b->vm->staged;
	int rc;
	if ((rc = place(b, &s->boot_source.kernel_image_path, NULL, false)))
		return sv_err_prefix("jail: boot_source.kernel_image_path");
	if (s->boot_source.initrd_path && (rc = place(b, &s->boot_source.initrd_path, NULL, false)))
		return sv_err_prefix("jail: boot_source.initrd_path");
	for (size_t i = 0; i < s->n_drives; i++) {
		sv_drive_config *d = (sv_drive_config *)&s->drives[i];
		if (d->path_on_host && (rc = place(b, &d->path_on_host, d->drive_id, !d->is_read_only)))
			return sv_err_prefix("jail: drives[%zu]", i);
	}
	if ((rc = place_pmem(b, s)))
		return rc;
	if (s->metrics && (rc = place_output(b, "metrics.metrics_path",
					     &((sv_metrics_config *)s->metrics)->metrics_path, true)))
		return rc;
	if (s->logger &&
	    (rc = place_output(b, "logger.log_path", &((sv_logger_config *)s->logger)->log_path, true)))
		return rc;
	if (s->vsock &&
	    (rc = place_output(b, "vsock.uds_path", &((sv_vsock_config *)s->vsock)->uds_path, false)))
		return rc;
	if (s->serial && s->serial->serial_out_path &&
	    (rc = place_output(b, "serial.serial_out_path", &((sv_serial_config *)s->serial)->serial_out_path, true)))
		return rc;
	return 0;
}

static int random_token(char out[SV_JAIL_TOKEN_LEN + 1])
{
	unsigned char bytes[SV_JAIL_TOKEN_LEN / 2];
	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return sv_err_errno(SV_EIO, errno, "jail: getrandom");
	for (size_t i = 0; i < sizeof(bytes); i++)
		snprintf(out + 2 * i, 3, "%02x", bytes[i]);
	return 0;
}

/* Records, then claims <base>/<exec>/<id> with mkdir — it must not exist —
 * and marks it as ours with the token the ledger entry carries. */
static int claim(sv_vm *vm, sv_ledger *ledger, int exec_fd, const char *exec, int *id_fd)
{
	struct sv_vm_jail *j = vm->jail;
	char token[SV_JAIL_TOKEN_LEN + 1], *rest = NULL;
	int rc = random_token(token);
	if (rc)
		return rc;
	if (asprintf(&rest, "%s/%s/%s", exec, j->jail_id, token) < 0)
		return sv_err(SV_ENOMEM, "out of memory");
	rc = sv_ledger_record(ledger, "jail", j->o.chroot_base_dir, rest);
	free(rest);
	if (rc || (rc = SV_FAULT_POINT("launch.jail")))
		return sv_err_prefix("jail");
	if (mkdirat(exec_fd, j->jail_id, 0755) != 0) {
		if (errno == EEXIST)
			return sv_err(SV_EEXISTS,
				      "jail: %s already exists (another VM's jail, or one a killed smartvm "
				      "left behind: `smartvm gc` removes those)",
				      j->jail_dir);
		return sv_err_errno(SV_EIO, errno, "jail: creating %s", j->jail_dir);
	}
	*id_fd = openat(exec_fd, j->jail_id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*id_fd < 0)
		return sv_err_errno(SV_EIO, errno, "jail: opening %s", j->jail_dir);
	rc = sv_write_file_atomic_at(*id_fd, j->jail_dir, SV_JAIL_OWNER_FILE, token, strlen(token), 0600);
	if (rc) { /* unmarked, cleanup could not tell it is ours: undo the claim now */
		unlinkat(exec_fd, j->jail_id, AT_REMOVEDIR);
		return sv_err_prefix("jail");
	}
	return 0;
}

static int build(sv_vm *vm, sv_ledger *ledger, const char *exec)
{
	struct sv_vm_jail *j = vm->jail;
	const char *base = j->o.chroot_base_dir;
	int base_fd = -1, exec_fd = -1, id_fd = -1;
	builder b = {.vm = vm, .root_fd = -1, .drives_fd = -1};
	int rc = sv_trusted_dir("jail chroot base", base, 0700, &base_fd);
	if (!rc)
		rc = sv_trusted_subdir("jail chroot base", base_fd, base, exec, 0700, &exec_fd);
	if (rc) {
		sv_err_prefix("jail");
		goto out;
	}
	if ((rc = claim(vm, ledger, exec_fd, exec, &id_fd)))
		goto out;
	for (size_t i = 0; j->cgroups.dirs[i]; i++)
		if ((rc = sv_ledger_record(ledger, "cgroup", j->cgroups.dirs[i], NULL)))
			goto out;
	/* The jailer makes the cgroups: the step is that the entries exist first. */
	if ((rc = SV_FAULT_POINT("launch.cgroup")))
		goto out;
	if (mkdirat(id_fd, "root", 0755) != 0 ||
	    (b.root_fd = openat(id_fd, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    mkdirat(b.root_fd, SV_VM_DRIVES_DIR, 0755) != 0 ||
	    (b.drives_fd =
		 openat(b.root_fd, SV_VM_DRIVES_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = sv_err_errno(SV_EIO, errno, "jail: creating %s", vm->jail_root);
		goto out;
	}
	if (!(b.drives_shown = sv_path_join(vm->jail_root, SV_VM_DRIVES_DIR))) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = place_all(&b)))
		goto out;
	/* Last: what the VMM writes becomes its uid's. The root itself is the
	 * jailer's to hand over. */
	for (size_t i = 0; !rc && i < b.n_handover; i++)
		rc = hand_over(b.root_fd, vm->jail_root, b.handover[i], j->o.uid, j->o.gid);
out:
	for (size_t i = 0; i < b.n_handover; i++)
		free(b.handover[i]);
	free(b.drives_shown);
	int fds[] = {base_fd, exec_fd, id_fd, b.root_fd, b.drives_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
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
	const char *exec = plain_basename(binary);
	if (!exec)
		rc = sv_err(SV_EINVAL, "jail: the VMM binary %s has no file name", binary);
	if (!rc && (asprintf(&j->jail_dir, "%s/%s/%s", j->o.chroot_base_dir, exec, j->jail_id) < 0 ||
		    asprintf(&j->api_socket, "/%s", vm->backend->api_socket_name) < 0 ||
		    !(vm->jail_root = sv_path_join(j->jail_dir, "root"))))
		rc = sv_err(SV_ENOMEM, "out of memory");
	if (!rc)
		rc = sv_jail_cgroups_build(&j->cgroups, j->o.cgroup_root, j->o.cgroup_cpu_max,
					   j->o.cgroup_memory_max, exec, j->jail_id);
	if (!rc)
		rc = build(vm, ledger, exec);
	free(binary);
	return rc;
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
	    .cgroup_version = j->cgroups.version,
	    .cgroups = j->cgroups.args,
	    .netns = j->o.netns,
	    .new_pid_ns = j->o.new_pid_ns,
	    .daemonize = j->o.daemonize,
	};
	launch->jail = out;
	launch->api_socket = j->api_socket;
}

int sv_vm__jail_remove_drive(sv_vm *vm, const char *name)
{
	int root = -1, drives = -1;
	struct stat root_st;
	int rc = open_jail_drives(vm, &root, &drives, &root_st);
	if (!rc && unlinkat(drives, name, 0) != 0 && errno != ENOENT)
		rc = sv_err_errno(SV_EIO, errno, "jail: removing %s/%s/%s", vm->jail_root, SV_VM_DRIVES_DIR,
				  name);
	if (drives >= 0)
		close(drives);
	if (root >= 0)
		close(root);
	return rc;
}
