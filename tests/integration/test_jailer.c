/* The jailer path against the fake jailer + fake Firecracker: the jail's
 * layout and ownership, the cgroups (v2 and v1 host layouts), the
 * unprivileged VMM, jail paths in the VMM's config, live operations through
 * the jail, and cleanup of the jail and cgroup — plus the refusals and the
 * attacks: links planted by the jail's uid, a chroot base owned or swapped
 * by another user, colliding jail ids, concurrent starts of one jail id.
 * Needs root (chown, setuid); skips otherwise. */
#include "svtest.h"
#include "fcmgrfixture.h"

#include "util/error.h"
#include "util/file.h"
#include "util/spawn.h"
#include "vm/vm_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pthread.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define JAIL_UID 64123
#define JAIL_GID 64124
#define NOBODY 65534

typedef struct {
	svt_fcmgr m;
	char *base, *cgroups;
} fixture;

static const char *fake_jailer(void)
{
	const char *p = getenv("SMARTVM_FAKE_JAILER");
	assert_non_null(p);
	return p;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	svt_fcmgr_init(&f->m);
	f->base = sv_path_join(f->m.dir, "jail");
	f->cgroups = sv_path_join(f->m.dir, "cgroup");
	sv_mkdir_p(f->cgroups, 0755);
	free(svt_write(f->cgroups, "cgroup.controllers", "cpuset cpu io memory pids\n")); /* a v2 host */
	setenv("FAKE_JAILER_CGROUP_ROOT", f->cgroups, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	svt_fcmgr_close(&f->m);
	svt_assert_no_processes_with(f->base);
	char *jails = sv_path_join(f->base, "fake-firecracker"), *cgs = sv_path_join(f->cgroups, "fake-firecracker");
	assert_int_equal(svt_dir_entries(jails), 0); /* no jail left */
	assert_int_equal(svt_dir_entries(cgs), 0);   /* no cgroup left */
	free(jails);
	free(cgs);
	unsetenv("FAKE_JAILER_CGROUP_ROOT");
	struct stat st;
	assert_int_equal(stat(f->m.rootfs, &st), 0);
	assert_int_equal(st.st_uid, 0); /* the caller's files keep their owner */
	free(f->base);
	free(f->cgroups);
	svt_fcmgr_free(&f->m);
	free(f);
	return 0;
}

static sv_vm *create(fixture *f, const char *id)
{
	static sv_drive_config drives[2];
	drives[0] = (sv_drive_config){ .drive_id = "rootfs", .path_on_host = f->m.rootfs, .is_root_device = true,
				       .is_read_only = true };
	drives[1] = (sv_drive_config){ .drive_id = "scratch", .path_on_host = f->m.scratch };
	sv_metrics_config met = { .metrics_path = f->m.metrics };
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,  .id = id, .boot_source = { .kernel_image_path = f->m.kernel },
			     .machine_config = { .vcpu_count = 1, .mem_size_mib = 8 }, .drives = drives, .n_drives = 2,
			     .metrics = &met };
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, f->m.mgr, &cfg), 0);
	return vm;
}

static unsigned proc_uid(pid_t pid)
{
	char path[64], *text = NULL;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	assert_int_equal(sv_read_file(path, 1 << 16, &text, NULL), 0);
	unsigned uid = 0;
	char *l = strstr(text, "\nUid:");
	assert_non_null(l);
	sscanf(l + 5, "%u", &uid);
	free(text);
	return uid;
}

static void test_jailed_vm_runs_unprivileged_in_its_jail_and_cleans_up(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "the jailer needs root (chown, setuid)");
	sv_vm *vm = create(f, "jailed_1");
	sv_jail_options jo = {.version = SV_JAIL_OPTIONS_VERSION,
			      .jailer_binary = fake_jailer(),
			      .uid = JAIL_UID,
			      .gid = JAIL_GID,
			      .chroot_base_dir = f->base,
			      .cgroup_root = f->cgroups,
			      .cgroup_cpu_max = "50000 100000",
			      .cgroup_memory_max = "268435456"};
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	if (sv_vm_start(vm))
		fail_msg("start: %s", sv_last_error());
	char *root = NULL, *cg = NULL;
	assert_true(asprintf(&root, "%s/fake-firecracker/jailed-u1/root", f->base) > 0);
	assert_true(asprintf(&cg, "%s/fake-firecracker/jailed-u1", f->cgroups) > 0);
	assert_int_equal(proc_uid(sv_vm_pid(vm)), JAIL_UID);

	struct stat st;
	char *p = sv_path_join(root, "drives/scratch-scratch.img");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, JAIL_UID);
	assert_int_equal(st.st_nlink, 2); /* our staged copy, hard-linked */
	free(p);
	p = sv_path_join(root, "drives/rootfs-rootfs.ext4");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 0);	       /* the caller's file, copied: root's, */
	assert_int_equal(st.st_gid, JAIL_GID); /* readable by the jail's group only */
	assert_int_equal(st.st_mode & 07777, 0440);
	assert_int_equal(st.st_nlink, 1);
	free(p);
	p = sv_path_join(root, "metrics.json");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, JAIL_UID); /* the VMM writes it */
	free(p);
	p = sv_path_join(root, "drives");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, 0); /* the jail's uid can't replace what is in it */
	free(p);
	/* It booted from its config file, which the VMM reads inside its jail
	 * (its own and nobody else's: the boot args may hold secrets). */
	p = sv_path_join(root, SV_VM_VMM_CONFIG_FILE);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, JAIL_UID);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(p);
	p = sv_path_join(sv_vm_dir(vm), SV_VM_LAUNCH_FILE);
	json_t *launch = json_load_file(p, 0, NULL), *argv = json_object_get(launch, "argv");
	const char *config_arg = NULL;
	for (size_t i = 0; i + 1 < json_array_size(argv); i++)
		if (!strcmp(json_string_value(json_array_get(argv, i)), "--config-file"))
			config_arg = json_string_value(json_array_get(argv, i + 1));
	assert_non_null(config_arg);
	assert_string_equal(config_arg, "/" SV_VM_VMM_CONFIG_FILE); /* the VMM's view, after its chroot */
	json_decref(launch);
	free(p);
	const char *in_root[] = { "fake-firecracker", "vmlinux", "firecracker.sock", "metrics.json" };
	for (size_t i = 0; i < 4; i++) {
		p = sv_path_join(root, in_root[i]);
		if (!sv_path_exists(p))
			fail_msg("%s is missing in the jail", in_root[i]);
		free(p);
	}
	p = sv_path_join(cg, "cpu.max");
	char *text = NULL;
	assert_int_equal(sv_read_file(p, 100, &text, NULL), 0);
	assert_string_equal(text, "50000 100000");
	free(text);
	free(p);

	char *cfg = NULL;
	assert_int_equal(sv_vm_running_config(vm, &cfg), 0);
	svt_assert_contains(cfg, "\"path_on_host\":\"/drives/scratch-scratch.img\"");
	svt_assert_contains(cfg, "\"kernel_image_path\":\"/vmlinux\"");
	free(cfg);
	char *metrics = NULL;
	assert_int_equal(sv_vm_metrics(vm, true, &metrics, NULL), 0);
	free(metrics);
	if (sv_vm_drive_update(vm, "scratch", f->m.scratch, NULL))
		fail_msg("drive update: %s", sv_last_error());

	assert_int_equal(sv_vm_stop(vm, -1), 0);
	assert_false(sv_path_exists(root));
	assert_false(sv_path_exists(cg));
	free(root);
	free(cg);
}

static sv_jail_options jail_opts(fixture *f, unsigned uid)
{
	return (sv_jail_options){.version = SV_JAIL_OPTIONS_VERSION,
				 .jailer_binary = fake_jailer(),
				 .uid = uid,
				 .gid = uid == NOBODY ? NOBODY : JAIL_GID,
				 .chroot_base_dir = f->base,
				 .cgroup_root = f->cgroups};
}

/* As the jail's uid: waits (at most 10 s) for the jail root to appear and
 * plants metrics.json -> victim and drives -> decoy in it, as soon as it
 * can write there. */
static pid_t plant_as_jail_uid(const char *root, const char *victim, const char *decoy)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0)
		return pid;
	if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
		_exit(2);
	char *metrics = sv_path_join(root, "metrics.json"), *drives = sv_path_join(root, "drives");
	bool m = false, d = false;
	for (long long end = sv_now_ms() + 10000; (!m || !d) && sv_now_ms() < end;) {
		if (!m && (symlink(victim, metrics) == 0 || errno == EEXIST))
			m = true;
		if (!d && (symlink(decoy, drives) == 0 || errno == EEXIST))
			d = true;
	}
	_exit(0);
}

/* Issue 11.1: the jail is built as root and handed over last; links the
 * jail's uid plants are never followed. */
static void test_links_planted_by_the_jail_uid_are_never_followed(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root");
	/* The attacker can reach the jail (a base others may traverse). */
	assert_int_equal(chmod(f->m.dir, 0755), 0);
	assert_int_equal(mkdir(f->base, 0755), 0);
	char *victim = svt_write(f->m.dir, "victim", "root's file");
	assert_int_equal(chmod(victim, 0600), 0);
	char *decoy = sv_path_join(f->m.dir, "decoy");
	assert_int_equal(mkdir(decoy, 0777), 0);
	/* A root filesystem that takes a moment to copy into the jail. */
	int fd = open(f->m.rootfs, O_WRONLY | O_TRUNC | O_CLOEXEC);
	static char block[1 << 16];
	memset(block, 'r', sizeof(block));
	for (int i = 0; i < 512; i++)
		assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
	close(fd);
	char *root = NULL;
	assert_true(asprintf(&root, "%s/fake-firecracker/planted/root", f->base) > 0);
	pid_t child = plant_as_jail_uid(root, victim, decoy);

	sv_vm *vm = create(f, "planted");
	sv_jail_options jo = jail_opts(f, NOBODY);
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	int rc = sv_vm_start(vm);
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct stat st;
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_uid, 0);		     /* never chowned to the jail's uid */
	assert_int_equal(svt_dir_entries(decoy), 0); /* nothing copied through drives -> decoy */
	if (rc)
		fail_msg("start: %s", sv_last_error());
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	assert_int_equal(stat(victim, &st), 0);
	free(root);
	free(decoy);
	free(victim);
}

/* Issue 11.2: a chroot base another user owns is refused. */
static void test_chroot_base_owned_by_another_user_is_refused(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root");
	assert_int_equal(mkdir(f->base, 0755), 0);
	assert_int_equal(chown(f->base, NOBODY, NOBODY), 0);
	sv_vm *vm = create(f, "foreign");
	sv_jail_options jo = jail_opts(f, JAIL_UID);
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	assert_int_equal(sv_vm_start(vm), SV_EUNSAFE);
	char *want = NULL;
	assert_true(
	    asprintf(&want,
		     "starting VM \"foreign\": jail: jail chroot base %s: it is owned by uid 65534, not "
		     "by uid 0; remove %s or choose another directory",
		     f->base, f->base) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
}

/* Issue 11.2: another user who owns the base swaps <exec> for a symlink
 * after the start; stop must not delete the directory it points to. */
/* Without a chroot base the jail goes under <runtime_dir>/.jail: inside
 * smartvm's own checked directory (the old <runtime_dir>/../jail became
 * /run/jail with the FHS defaults), never taken for a VM (ids have no '.'). */
static void test_default_chroot_base_is_inside_the_runtime_dir(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "the jailer needs root (chown, setuid)");
	sv_vm *vm = create(f, "deflt");
	sv_jail_options jo = jail_opts(f, JAIL_UID);
	jo.chroot_base_dir = NULL;
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	if (sv_vm_start(vm))
		fail_msg("start: %s", sv_last_error());
	char *root = NULL, *base = sv_path_join(f->m.runtime, ".jail");
	assert_true(asprintf(&root, "%s/fake-firecracker/deflt/root", base) > 0);
	assert_true(sv_path_exists(root));
	char **ids = NULL;
	assert_int_equal(sv_manager_list_vm_ids(f->m.mgr, &ids), 0);
	assert_string_equal(ids[0], "deflt");
	assert_null(ids[1]);
	sv_strv_free(ids);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	assert_false(sv_path_exists(root));
	assert_int_equal(sv_rm_rf(base), 0); /* the base itself stays, as a chroot base does */
	free(root);
	free(base);
}

static void test_stop_never_follows_a_swapped_exec_dir(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root");
	sv_vm *vm = create(f, "swapped");
	sv_jail_options jo = jail_opts(f, JAIL_UID);
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	if (sv_vm_start(vm))
		fail_msg("start: %s", sv_last_error());
	char *exec = sv_path_join(f->base, "fake-firecracker"), *moved = sv_path_join(f->base, "moved");
	char *precious = sv_path_join(f->m.dir, "precious"), *victim = NULL;
	assert_true(asprintf(&victim, "%s/swapped/root", precious) > 0);
	assert_int_equal(sv_mkdir_p(victim, 0700), 0);
	free(svt_write(victim, "keep", "root-only data"));
	assert_int_equal(rename(exec, moved), 0);
	assert_int_equal(symlink(precious, exec), 0);
	assert_int_equal(chown(f->base, NOBODY, NOBODY), 0);

	/* The replay (the supervisor's, as the VMM ends) refuses the jail entry;
	 * whether stop reports it is the ledger's business (kept for gc). */
	sv_vm_stop(vm, -1);
	assert_true(sv_path_exists(victim)); /* the root-only directory elsewhere survives */
	char *real = NULL;
	assert_true(asprintf(&real, "%s/swapped/root", moved) > 0);
	assert_true(sv_path_exists(real)); /* and the real jail is left for a retry */
	free(real);
	/* As root with the base ours again, a symlinked <exec> is still refused. */
	assert_int_equal(chown(f->base, 0, 0), 0);
	char *token = NULL, *rest = NULL, *marker = NULL;
	assert_true(asprintf(&marker, "%s/swapped/" SV_JAIL_OWNER_FILE, moved) > 0);
	assert_int_equal(sv_read_file(marker, 64, &token, NULL), 0);
	assert_true(asprintf(&rest, "fake-firecracker/swapped/%s", token) > 0);
	free(svt_write(precious, "swapped/" SV_JAIL_OWNER_FILE, token));
	assert_int_equal(sv_vm__undo_jail(f->base, rest), SV_EUNSAFE);
	char *want = NULL;
	assert_true(
	    asprintf(&want,
		     "removing jail %s/fake-firecracker/swapped: %s/fake-firecracker is a symlink or not "
		     "a directory; left alone",
		     f->base, f->base) > 0);
	assert_string_equal(sv_last_error(), want);
	assert_true(sv_path_exists(victim));
	/* Put the real jail back: the entry the replay kept is retried by gc,
	 * which removes the jail and then the VM's directory. */
	assert_int_equal(unlink(exec), 0);
	assert_int_equal(rename(moved, exec), 0);
	size_t removed = 0;
	if (sv_manager_gc(f->m.mgr, &removed))
		fail_msg("gc: %s", sv_last_error());
	assert_int_equal(removed, 1);
	char *jail = sv_path_join(exec, "swapped");
	assert_false(sv_path_exists(jail));
	free(jail);
	free(want);
	free(marker);
	free(rest);
	free(token);
	free(victim);
	free(precious);
	free(moved);
	free(exec);
}

/* Issues 11.3 / 10.18: VM ids that differ only in '-' and '_' get jails of
 * their own. */
static void test_jail_ids_are_injective(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root");
	const char *ids[] = {"a_b", "a-b", "r_1", "r-1", "a--b", "a-ub"};
	const char *jail_ids[] = {"a-ub", "a--b", "r-u1", "r--1", "a----b", "a--ub"};
	sv_vm *vms[6];
	for (size_t i = 0; i < 6; i++) {
		vms[i] = create(f, ids[i]);
		sv_jail_options jo = jail_opts(f, JAIL_UID);
		assert_int_equal(sv_vm_set_jail(vms[i], &jo), 0);
		if (sv_vm_start(vms[i]))
			fail_msg("start %s: %s", ids[i], sv_last_error());
		char *root = NULL;
		assert_true(asprintf(&root, "%s/fake-firecracker/%s/root", f->base, jail_ids[i]) > 0);
		assert_true(sv_path_exists(root));
		free(root);
	}
	char *jails = sv_path_join(f->base, "fake-firecracker");
	assert_int_equal(svt_dir_entries(jails), 6);
	free(jails);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(sv_vm_stop(vms[i], -1), 0);
}

typedef struct {
	sv_manager *mgr;
	sv_vm *vm;
	pthread_barrier_t *go;
	int rc;
	char error[512];
} racer;

static void *start_racer(void *arg)
{
	racer *r = arg;
	pthread_barrier_wait(r->go);
	r->rc = sv_vm_start(r->vm);
	snprintf(r->error, sizeof(r->error), "%s", sv_last_error());
	sv_err_clear(); /* the thread's message dies with it */
	return NULL;
}

/* Issue 11.3: two VMs with one jail id (two runtime dirs, one chroot base)
 * started at the same moment: one wins, the other is refused, and the
 * loser's cleanup leaves the winner's jail alone. */
static void test_concurrent_starts_of_one_jail_id_leave_the_winner_running(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root");
	char *rt2 = sv_path_join(f->m.dir, "runtime2");
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = f->m.data,
				.runtime_dir = rt2,
				.firecracker_binary_path = svt_fake_firecracker(),
				.stop_timeout_ms = 3000};
	sv_manager *m2 = NULL;
	assert_int_equal(sv_manager_new(&m2, &o), 0);
	char *jail = NULL;
	assert_true(asprintf(&jail, "%s/fake-firecracker/race/root", f->base) > 0);
	for (int round = 0; round < 6; round++) {
		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, 2);
		racer r[2] = {{.mgr = f->m.mgr, .go = &go}, {.mgr = m2, .go = &go}};
		pthread_t t[2];
		for (int i = 0; i < 2; i++) {
			sv_drive_config d = {.drive_id = "rootfs",
					     .path_on_host = f->m.rootfs,
					     .is_root_device = true,
					     .is_read_only = true};
			sv_metrics_config met = {.metrics_path = f->m.metrics};
			sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION, .id = "race",
					    .boot_source = {.kernel_image_path = f->m.kernel},
					    .machine_config = {.vcpu_count = 1, .mem_size_mib = 8},
					    .drives = &d,
					    .n_drives = 1,
					    .metrics = &met};
			assert_int_equal(sv_manager_create_vm(&r[i].vm, r[i].mgr, &cfg), 0);
			sv_jail_options jo = jail_opts(f, JAIL_UID);
			assert_int_equal(sv_vm_set_jail(r[i].vm, &jo), 0);
			assert_int_equal(pthread_create(&t[i], NULL, start_racer, &r[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&go);
		int winners = (r[0].rc == 0) + (r[1].rc == 0);
		if (winners != 1)
			fail_msg("round %d: %d of 2 starts succeeded (%s | %s)", round, winners, r[0].error,
				 r[1].error);
		racer *w = r[0].rc == 0 ? &r[0] : &r[1], *l = r[0].rc == 0 ? &r[1] : &r[0];
		assert_int_equal(l->rc, SV_EEXISTS);
		svt_assert_contains(l->error, "/fake-firecracker/race already exists (another VM's jail");
		assert_true(sv_path_exists(jail)); /* the loser's cleanup left it */
		char *info = NULL;
		if (sv_vm_instance_info(w->vm, &info))
			fail_msg("round %d: the winner lost its jail: %s", round, sv_last_error());
		free(info);
		assert_int_equal(sv_vm_stop(w->vm, -1), 0);
		assert_false(sv_path_exists(jail));
		sv_vm_free(r[0].vm);
		sv_vm_free(r[1].vm);
	}
	sv_manager_free(m2);
	assert_int_equal(svt_dir_entries(rt2), 0);
	free(jail);
	free(rt2);
}

/* Issue 11.4: on a cgroup v1 (or hybrid) host the limits are passed as v1
 * files with --cgroup-version 1, and the v1 cgroups are removed after. */
static void test_cgroup_limits_on_a_v1_host(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root");
	char *p = sv_path_join(f->cgroups, "cgroup.controllers");
	assert_int_equal(unlink(p), 0);
	free(p);
	/* Hybrid: a v2 mount beside the v1 hierarchies, holding no controller. */
	assert_int_equal(sv_mkdir_p(f->cgroups, 0755), 0);
	char *unified = sv_path_join(f->cgroups, "unified");
	assert_int_equal(mkdir(unified, 0755), 0);
	free(svt_write(unified, "cgroup.controllers", "\n"));
	const char *ctrls[] = {"cpu", "memory"};
	for (size_t i = 0; i < 2; i++) {
		char *d = sv_path_join(f->cgroups, ctrls[i]);
		assert_int_equal(mkdir(d, 0755), 0);
		free(svt_write(d, "tasks", ""));
		free(d);
	}
	sv_vm *vm = create(f, "v1");
	sv_jail_options jo = jail_opts(f, JAIL_UID);
	jo.cgroup_cpu_max = "25000 50000";
	jo.cgroup_memory_max = "268435456";
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	if (sv_vm_start(vm))
		fail_msg("start: %s", sv_last_error());
	struct {
		const char *file, *value;
	} want[] = {{"cpu/fake-firecracker/v1/cpu.cfs_quota_us", "25000"},
		    {"cpu/fake-firecracker/v1/cpu.cfs_period_us", "50000"},
		    {"memory/fake-firecracker/v1/memory.limit_in_bytes", "268435456"}};
	for (size_t i = 0; i < 3; i++) {
		char *path = sv_path_join(f->cgroups, want[i].file), *text = NULL;
		assert_int_equal(sv_read_file(path, 100, &text, NULL), 0);
		assert_string_equal(text, want[i].value);
		free(text);
		free(path);
	}
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	for (size_t i = 0; i < 2; i++) {
		char *d = NULL;
		assert_true(asprintf(&d, "%s/%s/fake-firecracker/v1", f->cgroups, ctrls[i]) > 0);
		assert_false(sv_path_exists(d));
		free(d);
	}
	/* The teardown looks for v2 leftovers at <root>/fake-firecracker. */
	free(unified);
}

static void test_unusable_cgroup_limits_are_refused(void **state)
{
	fixture *f = *state;
	sv_vm *vm = create(f, "nocg");
	sv_jail_options jo = jail_opts(f, JAIL_UID);
	jo.cgroup_cpu_max = "half";
	assert_int_equal(sv_vm_set_jail(vm, &jo), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "jail.cgroup_cpu_max: \"half\": must be \"QUOTA PERIOD\" in microseconds "
			    "(e.g. \"50000 100000\"), QUOTA may be \"max\"");
	char *p = sv_path_join(f->cgroups, "cgroup.controllers");
	assert_int_equal(unlink(p), 0);
	free(p);
	jo.cgroup_cpu_max = "50000 100000";
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	assert_int_equal(sv_vm_start(vm), SV_ENOTFOUND);
	char *want = NULL;
	assert_true(
	    asprintf(&want,
		     "starting VM \"nocg\": jail: cgroup controller \"cpu\": neither listed in "
		     "%s/cgroup.controllers (cgroup v2) nor mounted as a cgroup v1 hierarchy at %s/cpu",
		     f->cgroups, f->cgroups) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
}

/* A read-only pmem file is copied into the jail like a read-only drive; a
 * writable one would be written in place by a uid that does not own it, and
 * is refused before anything is made. */
static void test_jailed_pmem(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "the jailer needs root (chown, setuid)");
	char *pmem_file = svt_write(f->m.dir, "pmem.img", "persistent memory");
	sv_pmem_config pmem = { .id = "pm0", .path_on_host = pmem_file, .read_only = true };
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,  .id = "pmem_1", .boot_source = { .kernel_image_path = f->m.kernel },
			     .machine_config = { .vcpu_count = 1, .mem_size_mib = 8 }, .pmem = &pmem, .n_pmem = 1 };
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, f->m.mgr, &cfg), 0);
	sv_jail_options jo = jail_opts(f, JAIL_UID);
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	if (sv_vm_start(vm))
		fail_msg("start: %s", sv_last_error());
	char *running = NULL;
	assert_int_equal(sv_vm_running_config(vm, &running), 0);
	svt_assert_contains(running, "\"path_on_host\":\"/drives/pmem-pm0-pmem.img\"");
	free(running);
	assert_int_equal(sv_vm_stop(vm, -1), 0);

	pmem.read_only = false;
	cfg.id = "pmem_2";
	assert_int_equal(sv_manager_create_vm(&vm, f->m.mgr, &cfg), 0);
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	assert_int_equal(sv_vm_start(vm), SV_EUNSUPPORTED);
	svt_assert_contains(sv_last_error(), "jail: pmem[0]: the VMM would write");
	svt_assert_contains(sv_last_error(), "jailed VMs take read_only pmem devices only");
	free(pmem_file);
}

static void test_jail_refusals(void **state)
{
	fixture *f = *state;
	sv_vm *vm = create(f, "refused");
	sv_jail_options jo = {
	    .version = SV_JAIL_OPTIONS_VERSION, .jailer_binary = fake_jailer(), .uid = 0, .gid = 0};
	assert_int_equal(sv_vm_set_jail(vm, &jo), SV_EINVAL);
	assert_string_equal(sv_last_error(), "jail.uid: must not be 0 (the point of the jail is an unprivileged VMM)");
	jo.uid = JAIL_UID;
	assert_int_equal(sv_vm_set_jail(vm, &jo), SV_EINVAL); /* issue 11.4: --gid 0 like --uid 0 */
	assert_string_equal(sv_last_error(),
			    "jail.gid: must not be 0 (group root could read and write what root's "
			    "group can; give the VMM a group of its own)");
	jo.gid = JAIL_GID;
	jo.new_pid_ns = true;
	assert_int_equal(sv_vm_set_jail(vm, &jo), SV_EUNSUPPORTED);
	svt_assert_contains(sv_last_error(), "jail.new_pid_ns: under --new-pid-ns the jailer's parent exits at once");
	jo.new_pid_ns = false;
	jo.jailer_binary = "/nonexistent/jailer";
	assert_int_equal(sv_vm_set_jail(vm, &jo), SV_ENOTFOUND);
	assert_string_equal(sv_last_error(), "jail.jailer_binary: /nonexistent/jailer: No such file or directory");
}

static void test_fake_jailer_enforces_its_argument_contract(void **state)
{
	fixture *f = *state;
	struct {
		const char *argv[16];
		const char *message;
	} cases[] = {
		{ { fake_jailer(), "--exec-file", svt_fake_firecracker(), "--uid", "1", "--gid", "1", NULL },
		  "Jailer error: Arguments parsing error: Missing mandatory argument: id" },
		{ { fake_jailer(), "--id", "bad_id", "--exec-file", svt_fake_firecracker(), "--uid", "1", "--gid", "1", NULL },
		  "Jailer error: Invalid instance ID: Invalid char (_) at position 3" },
		{ { fake_jailer(), "--id", "x", "--exec-file", "/bin/true", "--uid", "1", "--gid", "1", NULL },
		  "Jailer error: Invalid filename. The filename of `--exec-file` option must contain \"firecracker\": true" },
		{ { fake_jailer(), "--id", "x", "--exec-file", svt_fake_firecracker(), "--uid", "x", "--gid", "1", NULL },
		  "Jailer error: Invalid uid: x" },
		{ { fake_jailer(), "--id", "x", "--exec-file", svt_fake_firecracker(), "--uid", "1", "--gid", "1",
		    "--chroot-base-dir", "rel", NULL },
		  "Jailer error: Invalid chroot base dir: rel: must be an absolute path" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = 0;
		char *out = NULL, *err = NULL;
		assert_int_equal(sv_run(cases[i].argv, NULL, 5000, &code, &out, &err), 0);
		assert_int_equal(code, 1);
		svt_assert_contains(err, cases[i].message);
		free(out);
		free(err);
	}
	(void)f;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_jailed_vm_runs_unprivileged_in_its_jail_and_cleans_up, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_jailed_pmem, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jail_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_links_planted_by_the_jail_uid_are_never_followed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_chroot_base_owned_by_another_user_is_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stop_never_follows_a_swapped_exec_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_chroot_base_is_inside_the_runtime_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jail_ids_are_injective, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_starts_of_one_jail_id_leave_the_winner_running,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cgroup_limits_on_a_v1_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unusable_cgroup_limits_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fake_jailer_enforces_its_argument_contract, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
