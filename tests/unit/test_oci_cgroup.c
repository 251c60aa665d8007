/* smartvm-oci's reading of linux.cgroupsPath and linux.resources
 * (oci/oci_cgroup.c): the path every form becomes, systemd's included, and
 * the refusals, each naming the field. Nothing here touches /sys/fs/cgroup
 * (test_oci_cni applies them on a real VMM). */
#include "svtest.h"

#include "oci_cgroup.h"
#include <smartvm/error.h>
#include <stdlib.h>
#include <string.h>

static oci_cgroup parse_ok(const char *path, const char *resources, bool systemd)
{
	oci_bundle b = {.cgroups_path = (char *)path, .resources_json = (char *)resources};
	oci_cgroup c;
	int rc = oci_cgroup_parse(&c, &b, systemd, "ctr1");
	if (rc)
		fail_msg("%s: %s", path ? path : "(none)", sv_last_error());
	return c;
}

static void assert_path(const char *path, bool systemd, const char *want)
{
	oci_cgroup c = parse_ok(path, NULL, systemd);
	assert_non_null(c.path);
	assert_string_equal(c.path, want);
	oci_cgroup_free(&c);
}

static void assert_refused(const char *path, const char *resources, bool systemd, const char *want)
{
	oci_bundle b = {.cgroups_path = (char *)path, .resources_json = (char *)resources};
	oci_cgroup c;
	assert_int_equal(oci_cgroup_parse(&c, &b, systemd, "ctr1"), SV_EINVAL);
	assert_string_equal(sv_last_error(), want);
	assert_null(c.path);
}

static void test_paths_are_put_below_the_hierarchy_root(void **state)
{
	(void)state;
	assert_path("/a/b", false, "a/b");
	assert_path("a/b", false, "a/b");
	assert_path("//libpod_parent/libpod-x", false, "libpod_parent/libpod-x");
	oci_cgroup none = parse_ok(NULL, NULL, false);
	assert_null(none.path);
	oci_cgroup dflt = parse_ok(NULL, "{\"pids\":{\"limit\":10}}", false);
	assert_string_equal(dflt.path, "smartvm-oci/ctr1");
	assert_true(dflt.has_pids);
	assert_int_equal(dflt.pids_limit, 10);
	oci_cgroup_free(&dflt);
	/* Resources without any limit smartvm-oci applies: no cgroup. */
	oci_cgroup other = parse_ok(NULL, "{\"devices\":[]}", false);
	assert_null(other.path);
}

static void test_systemd_paths_are_systemds(void **state)
{
	(void)state;
	assert_path("machine.slice:libpod:abc", true, "machine.slice/libpod-abc.scope");
	assert_path("a-b-c.slice:p:n", true, "a.slice/a-b.slice/a-b-c.slice/p-n.scope");
	assert_path(":cri-containerd:id1", true, "system.slice/cri-containerd-id1.scope");
	assert_path("user.slice:p:x.slice", true, "user.slice/x.slice");
	assert_refused(
	    "/a/b", NULL, true,
	    "config.json: linux.cgroupsPath: \"/a/b\" is not slice:prefix:name (--systemd-cgroup)");
	assert_refused("machine:p:n", NULL, true,
		       "config.json: linux.cgroupsPath: \"machine\" is not a slice name (NAME.slice)");
	assert_refused("-x.slice:p:n", NULL, true,
		       "config.json: linux.cgroupsPath: \"-x.slice\" is not a slice name (NAME.slice)");
	/* A name cannot climb out of its slice. */
	assert_refused(
	    "a.slice:p:x/../../../y", NULL, true,
	    "config.json: linux.cgroupsPath: \"a.slice/p-x/../../../y.scope\": a component is empty, "
	    "\".\", \"..\" or too long");
}

static void test_bad_paths_and_resources_are_refused_naming_the_field(void **state)
{
	(void)state;
	assert_refused(
	    "/a/../b", NULL, false,
	    "config.json: linux.cgroupsPath: \"a/../b\": a component is empty, \".\", \"..\" or too long");
	assert_refused(
	    "/a//b", NULL, false,
	    "config.json: linux.cgroupsPath: \"a//b\": a component is empty, \".\", \"..\" or too long");
	assert_refused("/", NULL, false, "config.json: linux.cgroupsPath: \"\": names the root cgroup");
	assert_refused("/a/\x01", NULL, false, "config.json: linux.cgroupsPath: a control character");
	assert_refused(NULL, "{\"memory\":{\"limit\":\"1G\"}}", false,
		       "config.json: linux.resources.memory.limit: expected an integer");
	assert_refused(NULL, "{\"memory\":{\"limit\":-5}}", false,
		       "config.json: linux.resources.memory.limit: -5 (bytes, or -1)");
	assert_refused(NULL, "{\"cpu\":{\"shares\":-1}}", false,
		       "config.json: linux.resources.cpu.shares: must not be negative");
	assert_refused(NULL, "{\"cpu\":[]}", false, "config.json: linux.resources.cpu: expected an object");
	oci_cgroup c =
	    parse_ok("/x", "{\"memory\":{\"limit\":-1},\"cpu\":{\"quota\":-1,\"period\":100000}}", false);
	assert_true(c.has_memory && c.memory_limit == -1 && c.has_quota && c.cpu_quota == -1 && c.has_period);
	assert_false(c.has_shares || c.has_pids);
	oci_cgroup_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths_are_put_below_the_hierarchy_root),
	    cmocka_unit_test(test_systemd_paths_are_systemds),
	    cmocka_unit_test(test_bad_paths_and_resources_are_refused_naming_the_field),
	};
	return svt_run_group(tests, NULL, NULL);
}
