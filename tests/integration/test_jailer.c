/* The jailer path against the fake jailer + fake Firecracker: the jail's
 * layout and ownership, the cgroup, the unprivileged VMM, jail paths in the
 * VMM's config, live operations through the jail, and cleanup of the jail and
 * cgroup — plus the refusals. Needs root (chown, setuid); skips otherwise. */
#include "svtest.h"
#include "fcmgrfixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <jansson.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JAIL_UID 64123
#define JAIL_GID 64124

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
	setenv("FAKE_JAILER_CGROUP_ROOT", f->cgroups, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	svt_fcmgr_close(&f->m);
	assert_int_equal(svt_count_processes_with(f->base), 0);
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
	sv_vm_config cfg = { .id = id, .boot_source = { .kernel_image_path = f->m.kernel },
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
	sv_jail_options jo = { .jailer_binary = fake_jailer(), .uid = JAIL_UID, .gid = JAIL_GID,
			       .chroot_base_dir = f->base, .cgroup_root = f->cgroups,
			       .cgroup_cpu_max = "50000 100000", .cgroup_memory_max = "268435456" };
	assert_int_equal(sv_vm_set_jail(vm, &jo), 0);
	if (sv_vm_start(vm))
		fail_msg("start: %s", sv_last_error());
	char *root = NULL, *cg = NULL;
	assert_true(asprintf(&root, "%s/fake-firecracker/jailed-1/root", f->base) > 0);
	assert_true(asprintf(&cg, "%s/fake-firecracker/jailed-1", f->cgroups) > 0);
	assert_int_equal(proc_uid(sv_vm_pid(vm)), JAIL_UID);

	struct stat st;
	char *p = sv_path_join(root, "drives/scratch-scratch.img");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, JAIL_UID);
	assert_int_equal(st.st_nlink, 2); /* our staged copy, hard-linked */
	free(p);
	p = sv_path_join(root, "drives/rootfs-rootfs.ext4");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, JAIL_UID);
	assert_int_equal(st.st_nlink, 1); /* the caller's file, copied */
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
	assert_int_equal(sv_vm_drive_update(vm, "scratch", f->m.scratch, NULL), 0);

	assert_int_equal(sv_vm_stop(vm, -1), 0);
	assert_false(sv_path_exists(root));
	assert_false(sv_path_exists(cg));
	free(root);
	free(cg);
}

static void test_jail_refusals(void **state)
{
	fixture *f = *state;
	sv_vm *vm = create(f, "refused");
	sv_jail_options jo = { .jailer_binary = fake_jailer(), .uid = 0, .gid = 0 };
	assert_int_equal(sv_vm_set_jail(vm, &jo), SV_EINVAL);
	assert_string_equal(sv_last_error(), "jail.uid: must not be 0 (the point of the jail is an unprivileged VMM)");
	jo.uid = JAIL_UID;
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
		cmocka_unit_test_setup_teardown(test_jailed_vm_runs_unprivileged_in_its_jail_and_cleans_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jail_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fake_jailer_enforces_its_argument_contract, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
