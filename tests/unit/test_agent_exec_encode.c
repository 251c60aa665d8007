/* sv_exec_options -> EXEC (src/agent/agent_exec_encode.c): every option
 * reaches its field, invalid rlimits are refused by index, and a
 * version-1 caller's shorter struct is read only as far as it goes. */
#include "svtest.h"

#include "agent/agent_exec_encode.h"
#include <smartvm/error.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[SVA_MAX_FRAME];
static const char *const argv_sh[] = {"sh", "-c", "ulimit -n", NULL};

/* Encodes o; the payload's fields into v. */
static int encode(const sv_exec_options *o, sva_field *v, const uint8_t **payload, size_t *len)
{
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_EXEC, 3);
	int rc = sva_exec_encode(&m, argv_sh, o);
	if (rc)
		return rc;
	sva_frame f;
	assert_int_equal(sva_header_get(buf, &f), 0);
	*payload = buf + SVA_HEADER_SIZE;
	*len = f.length;
	assert_int_equal(sva_tlv_parse(*payload, *len, sva_spec_exec, sva_spec_exec_n, v), 0);
	return 0;
}

static void test_version_2_options_reach_their_fields(void **state)
{
	(void)state;
	sv_exec_rlimit lim[] = {{.resource = 7, .soft = 64, .hard = 128},
				{.resource = 6, .soft = SV_RLIM_INFINITY, .hard = SV_RLIM_INFINITY}};
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.rlimits = lim;
	o.n_rlimits = 2;
	o.no_new_privs = true;
	o.root = "/ctr";
	o.hostname = "box";
	sva_field v[SVA_F_EXEC_N];
	const uint8_t *p;
	size_t len;
	assert_int_equal(encode(&o, v, &p, &len), 0);
	assert_int_equal(v[SVA_F_EXEC_ARG].count, 3);
	assert_int_equal(v[SVA_F_EXEC_NO_NEW_PRIVS].num, 1);
	assert_int_equal(v[SVA_F_EXEC_ROOT].len, 4);
	assert_memory_equal(v[SVA_F_EXEC_ROOT].bytes, "/ctr", 4);
	assert_int_equal(v[SVA_F_EXEC_HOSTNAME].len, 3);
	assert_memory_equal(v[SVA_F_EXEC_HOSTNAME].bytes, "box", 3);
	assert_int_equal(v[SVA_F_EXEC_RLIMIT].count, 2);
	size_t pos = 0;
	const uint8_t *val;
	uint32_t vlen;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sva_tlv_next(p, len, SVA_T_EXEC_RLIMIT, &pos, &val, &vlen), 1);
		assert_int_equal(vlen, 20);
		assert_int_equal(sva_get_u32(val), (uint32_t)lim[i].resource);
		assert_true(sva_get_u64(val + 4) == lim[i].soft);
		assert_true(sva_get_u64(val + 12) == lim[i].hard);
	}
	/* stdin -1 (the default) is /dev/null: no stdin field. */
	assert_false(v[SVA_F_EXEC_STDIN].present);
}

static void test_defaults_send_none_of_the_version_2_fields(void **state)
{
	(void)state;
	sv_exec_options o;
	assert_int_equal(sva_exec_read_options(&o, NULL), 0);
	sva_field v[SVA_F_EXEC_N];
	const uint8_t *p;
	size_t len;
	assert_int_equal(encode(&o, v, &p, &len), 0);
	assert_false(v[SVA_F_EXEC_RLIMIT].present);
	assert_false(v[SVA_F_EXEC_NO_NEW_PRIVS].present);
	assert_false(v[SVA_F_EXEC_ROOT].present);
	assert_false(v[SVA_F_EXEC_HOSTNAME].present);
}

/* The struct as a program built against the version-1 header has it. */
typedef struct {
	unsigned int version;
	const char *const *env;
	const char *cwd;
	uint32_t uid, gid;
	const uint32_t *groups;
	size_t n_groups;
	bool tty;
	uint32_t tty_rows, tty_cols;
	uint32_t timeout_ms;
	int stdin_fd;
	int stdout_fd, stderr_fd;
	sv_exec_output_fn on_output;
	void *ctx;
	int agent_timeout_ms;
} exec_options_v1;

static void test_a_version_1_caller_is_read_only_as_far_as_its_struct_goes(void **state)
{
	(void)state;
	assert_int_equal(sizeof(exec_options_v1), offsetof(sv_exec_options, rlimits));
	/* Exactly its size on the heap, followed by garbage that would be read
	 * as rlimits and hostname if the library read on (ASan flags the read
	 * itself). */
	unsigned char *mem = malloc(sizeof(exec_options_v1) + sizeof(sv_exec_options));
	assert_non_null(mem);
	memset(mem, 0xA5, sizeof(exec_options_v1) + sizeof(sv_exec_options));
	exec_options_v1 *old = (exec_options_v1 *)mem;
	*old = (exec_options_v1){.version = 1, .cwd = "/srv", .uid = 1000, .gid = 100,
				 .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .agent_timeout_ms = 5};
	sv_exec_options o;
	assert_int_equal(sva_exec_read_options(&o, (const sv_exec_options *)old), 0);
	assert_string_equal(o.cwd, "/srv");
	assert_int_equal(o.uid, 1000);
	assert_int_equal(o.gid, 100);
	assert_int_equal(o.agent_timeout_ms, 5);
	assert_null(o.rlimits);
	assert_int_equal(o.n_rlimits, 0);
	assert_false(o.no_new_privs);
	assert_null(o.root);
	assert_null(o.hostname);
	sva_field v[SVA_F_EXEC_N];
	const uint8_t *p;
	size_t len;
	assert_int_equal(encode(&o, v, &p, &len), 0);
	assert_false(v[SVA_F_EXEC_RLIMIT].present);
	assert_int_equal(v[SVA_F_EXEC_UID].num, 1000);
	free(mem);
}

static void test_unknown_versions_are_refused_by_name(void **state)
{
	(void)state;
	sv_exec_options given = SV_EXEC_OPTIONS_INIT, o;
	given.version = SV_EXEC_OPTIONS_VERSION + 1;
	assert_int_equal(sva_exec_read_options(&o, &given), SV_EINVAL);
	assert_non_null(strstr(sv_last_error(), "sv_exec_options.version is 3"));
	given.version = 0;
	assert_int_equal(sva_exec_read_options(&o, &given), SV_EINVAL);
}

static void expect_refused(const sv_exec_options *o, const char *msg)
{
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_EXEC, 3);
	assert_int_equal(sva_exec_encode(&m, argv_sh, o), SV_EINVAL);
	assert_string_equal(sv_last_error(), msg);
}

static void test_invalid_rlimits_are_refused_by_index(void **state)
{
	(void)state;
	sv_exec_rlimit lim[SV_EXEC_MAX_RLIMITS + 1];
	for (int i = 0; i <= SV_EXEC_MAX_RLIMITS; i++)
		lim[i] = (sv_exec_rlimit){.resource = i, .soft = 1, .hard = 2};
	sv_exec_options o = SV_EXEC_OPTIONS_INIT;
	o.rlimits = lim;
	o.n_rlimits = SV_EXEC_MAX_RLIMITS + 1;
	expect_refused(&o, "17 rlimits: at most 16 (one per resource)");
	o.n_rlimits = SV_EXEC_MAX_RLIMITS; /* all 16: fine */
	sva_msg m;
	sva_msg_begin(&m, buf, sizeof(buf), SVA_EXEC, 3);
	assert_int_equal(sva_exec_encode(&m, argv_sh, &o), 0);
	lim[1].resource = 16;
	expect_refused(&o, "rlimits[1]: resource 16 is not a Linux RLIMIT_* number");
	lim[1].resource = -1;
	expect_refused(&o, "rlimits[1]: resource -1 is not a Linux RLIMIT_* number");
	lim[1].resource = 0;
	expect_refused(&o, "rlimits[1]: resource 0 is also rlimits[0]");
	lim[1].resource = 1;
	lim[2].soft = 3;
	expect_refused(&o, "rlimits[2]: soft limit 3 is above the hard limit 2");
	o.rlimits = NULL;
	expect_refused(&o, "rlimits is NULL with n_rlimits 16");
	o.n_rlimits = 0;
	o.hostname = "";
	expect_refused(&o, "hostname is empty (NULL leaves it alone)");
}

static void test_rlimit_names_are_ulimit_and_oci_names(void **state)
{
	(void)state;
	assert_int_equal(sv_rlimit_by_name("nofile"), 7);
	assert_int_equal(sv_rlimit_by_name("RLIMIT_NOFILE"), 7);
	assert_int_equal(sv_rlimit_by_name("rlimit_nproc"), 6);
	assert_int_equal(sv_rlimit_by_name("CPU"), 0);
	assert_int_equal(sv_rlimit_by_name("RTTIME"), 15);
	assert_int_equal(sv_rlimit_by_name("RLIMIT_"), -1);
	assert_int_equal(sv_rlimit_by_name("nofiles"), -1);
	assert_int_equal(sv_rlimit_by_name(""), -1);
	assert_int_equal(sv_rlimit_by_name(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_2_options_reach_their_fields),
	    cmocka_unit_test(test_defaults_send_none_of_the_version_2_fields),
	    cmocka_unit_test(test_a_version_1_caller_is_read_only_as_far_as_its_struct_goes),
	    cmocka_unit_test(test_unknown_versions_are_refused_by_name),
	    cmocka_unit_test(test_invalid_rlimits_are_refused_by_index),
	    cmocka_unit_test(test_rlimit_names_are_ulimit_and_oci_names),
	};
	return svt_run_group(tests, NULL, NULL);
}
