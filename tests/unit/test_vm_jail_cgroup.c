/* Which cgroup version the jailer gets (issue 11.4): detected from the
 * cgroup root's layout — v2, v1, hybrid (v1 hierarchies with a v2 mount
 * beside them that holds none of the controllers, as on our CI hosts) — on
 * fixture directories and on this host's /sys/fs/cgroup; and the jailer's
 * --cgroup values and cgroup directories in each version. */
#include "svtest.h"

#include "util/file.h"
#include "vm/vm_jail_cgroup.h"
#include <linux/magic.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

static const char *const cpu_mem[] = {"cpu", "memory", NULL};

static void v1_hierarchy(const char *root, const char *ctrl)
{
	char *d = sv_path_join(root, ctrl);
	assert_int_equal(sv_mkdir_p(d, 0755), 0);
	free(svt_write(d, "tasks", ""));
	free(d);
}

static void test_detects_v2_v1_and_hybrid_layouts(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *v2 = sv_path_join(dir, "v2"), *v1 = sv_path_join(dir, "v1"), *hy = sv_path_join(dir, "hybrid");
	assert_int_equal(sv_mkdir_p(v2, 0755), 0);
	free(svt_write(v2, "cgroup.controllers", "cpuset cpu io memory pids\n"));
	v1_hierarchy(v1, "cpu");
	v1_hierarchy(v1, "memory");
	v1_hierarchy(hy, "cpu");
	v1_hierarchy(hy, "memory");
	char *unified = sv_path_join(hy, "unified");
	assert_int_equal(sv_mkdir_p(unified, 0755), 0);
	free(svt_write(unified, "cgroup.controllers", "hugetlb\n"));
	int v = 0;
	assert_int_equal(sv_cgroup_detect_version(v2, cpu_mem, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(sv_cgroup_detect_version(v1, cpu_mem, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(sv_cgroup_detect_version(hy, cpu_mem, &v), 0);
	assert_int_equal(v, 1);
	/* No limits: the root's own version. */
	assert_int_equal(sv_cgroup_detect_version(v2, NULL, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(sv_cgroup_detect_version(hy, NULL, &v), 0);
	assert_int_equal(v, 1);
	/* cpu in v2, memory only in v1: the jailer can't do both. */
	free(svt_write(hy, "cgroup.controllers", "cpu\n"));
	assert_int_equal(sv_cgroup_detect_version(hy, cpu_mem, &v), SV_EUNSUPPORTED);
	char *want = NULL;
	assert_true(
	    asprintf(&want,
		     "cgroup controllers \"cpu\" (cgroup v2) and \"memory\" (cgroup v1) are in different "
		     "cgroup versions under %s; the jailer uses one",
		     hy) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
	const char *const pids[] = {"pids", NULL};
	assert_int_equal(sv_cgroup_detect_version(v1, pids, &v), SV_ENOTFOUND);
	free(unified);
	free(v2);
	free(v1);
	free(hy);
	svt_rm_tmpdir(dir);
}

/* What this host has: v2 when /sys/fs/cgroup is a cgroup2 mount, v1 when
 * cpu and memory are v1 hierarchies there (these CI hosts: hybrid). */
static void test_detects_this_hosts_layout(void **state)
{
	(void)state;
	struct statfs root, cpu, mem;
	if (statfs("/sys/fs/cgroup", &root) != 0)
		svt_skip(SVT_NEED_HOST, "this host has no /sys/fs/cgroup");
	int want = 0;
	if (root.f_type == CGROUP2_SUPER_MAGIC)
		want = 2;
	else if (statfs("/sys/fs/cgroup/cpu", &cpu) == 0 && cpu.f_type == CGROUP_SUPER_MAGIC &&
		 statfs("/sys/fs/cgroup/memory", &mem) == 0 && mem.f_type == CGROUP_SUPER_MAGIC)
		want = 1;
	else
		svt_skip(SVT_NEED_HOST, "this host's cgroup layout is neither v1 nor v2");
	int v = 0;
	if (sv_cgroup_detect_version("/sys/fs/cgroup", cpu_mem, &v))
		fail_msg("%s", sv_last_error());
	print_message("this host: cgroup v%d for cpu and memory\n", v);
	assert_int_equal(v, want);
}

static void test_limits_in_each_versions_files(void **state)
{
	(void)state;
	char *dir = svt_tmpdir();
	char *v1 = sv_path_join(dir, "v1"), *v2 = sv_path_join(dir, "v2");
	v1_hierarchy(v1, "cpu");
	v1_hierarchy(v1, "memory");
	assert_int_equal(sv_mkdir_p(v2, 0755), 0);
	free(svt_write(v2, "cgroup.controllers", "cpu memory\n"));
	sv_jail_cgroups c;
	assert_int_equal(sv_jail_cgroups_build(&c, v1, "max", "max", "firecracker", "x"), 0);
	assert_int_equal(c.version, 1);
	assert_string_equal(c.args[0], "cpu.cfs_period_us=100000");
	assert_string_equal(c.args[1], "cpu.cfs_quota_us=-1");
	assert_string_equal(c.args[2], "memory.limit_in_bytes=-1");
	assert_null(c.args[3]);
	char *d = NULL;
	assert_true(asprintf(&d, "%s/memory/firecracker/x", v1) > 0);
	assert_string_equal(c.dirs[1], d);
	free(d);
	sv_jail_cgroups_free(&c);
	assert_int_equal(sv_jail_cgroups_build(&c, v2, "50000 100000", NULL, "firecracker", "x"), 0);
	assert_int_equal(c.version, 2);
	assert_string_equal(c.args[0], "cpu.max=50000 100000");
	assert_null(c.args[1]);
	assert_true(asprintf(&d, "%s/firecracker/x", v2) > 0);
	assert_string_equal(c.dirs[0], d);
	assert_null(c.dirs[1]);
	free(d);
	sv_jail_cgroups_free(&c);
	/* No limits: no cgroup is made, nothing to record. */
	assert_int_equal(sv_jail_cgroups_build(&c, v1, NULL, NULL, "firecracker", "x"), 0);
	assert_null(c.args[0]);
	assert_null(c.dirs[0]);
	sv_jail_cgroups_free(&c);
	assert_int_equal(sv_jail_cgroups_build(&c, v2, NULL, "lots", "firecracker", "x"), SV_EINVAL);
	assert_string_equal(sv_last_error(),
			    "jail.cgroup_memory_max: \"lots\": must be a number of bytes or \"max\"");
	free(v1);
	free(v2);
	svt_rm_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detects_v2_v1_and_hybrid_layouts),
	    cmocka_unit_test(test_detects_this_hosts_layout),
	    cmocka_unit_test(test_limits_in_each_versions_files),
	};
	return svt_run_group(tests, NULL, NULL);
}
