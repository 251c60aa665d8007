/* util/state_dirs: where smartvm keeps its state by default. root gets the
 * FHS places (/run/smartvm, /var/lib/smartvm), other users their XDG
 * directories, with a per-uid directory under /tmp (tmux's way) when
 * XDG_RUNTIME_DIR is unset; the option, then the environment variable, win
 * over any default. Never a place every local user can write. */
#include "svtest.h"

#include "util/state_dirs.h"
#include <stdlib.h>
#include <string.h>

static void clear_env(void)
{
	unsetenv("SMARTVM_DATA_DIR");
	unsetenv("SMARTVM_RUNTIME_DIR");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_DATA_HOME");
	setenv("HOME", "/home/u", 1);
}

static void assert_default(sv_state_kind kind, uid_t uid, const char *expected)
{
	char *got = sv_state_dir_default(kind, uid);
	assert_non_null(got);
	assert_string_equal(got, expected);
	free(got);
}

static void test_root_uses_run_and_var_lib(void **state)
{
	(void)state;
	clear_env();
	/* A root shell reached through sudo keeps the user's XDG variables:
	 * they must not move root's state into the user's directories. */
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	setenv("XDG_DATA_HOME", "/home/u/.data", 1);
	assert_default(SV_STATE_RUNTIME, 0, "/run/smartvm");
	assert_default(SV_STATE_DATA, 0, "/var/lib/smartvm");
}

static void test_other_users_use_their_xdg_dirs(void **state)
{
	(void)state;
	clear_env();
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	setenv("XDG_DATA_HOME", "/home/u/.data", 1);
	assert_default(SV_STATE_RUNTIME, 1000, "/run/user/1000/smartvm");
	assert_default(SV_STATE_DATA, 1000, "/home/u/.data/smartvm");
}

static void test_data_defaults_to_home_local_share(void **state)
{
	(void)state;
	clear_env();
	assert_default(SV_STATE_DATA, 1000, "/home/u/.local/share/smartvm");
	/* The XDG spec: a relative value is invalid and ignored. */
	setenv("XDG_DATA_HOME", "relative/data", 1);
	assert_default(SV_STATE_DATA, 1000, "/home/u/.local/share/smartvm");
}

static void test_runtime_without_xdg_is_a_per_uid_dir_under_tmp(void **state)
{
	(void)state;
	clear_env();
	assert_default(SV_STATE_RUNTIME, 1000, "/tmp/smartvm-1000/runtime");
	setenv("XDG_RUNTIME_DIR", "", 1);
	assert_default(SV_STATE_RUNTIME, 1000, "/tmp/smartvm-1000/runtime");
	setenv("XDG_RUNTIME_DIR", "run/user/1000", 1);
	assert_default(SV_STATE_RUNTIME, 1000, "/tmp/smartvm-1000/runtime");
}

static void test_option_then_environment_win(void **state)
{
	(void)state;
	clear_env();
	setenv("SMARTVM_DATA_DIR", "/srv/sv-data", 1);
	setenv("SMARTVM_RUNTIME_DIR", "/srv/sv-run", 1);
	char *d = sv_state_dir(SV_STATE_DATA, NULL), *r = sv_state_dir(SV_STATE_RUNTIME, "");
	assert_string_equal(d, "/srv/sv-data");
	assert_string_equal(r, "/srv/sv-run");
	free(d);
	free(r);
	/* The seed's old places stay reachable by option. */
	d = sv_state_dir(SV_STATE_DATA, "/tmp/.smartvm");
	r = sv_state_dir(SV_STATE_RUNTIME, "/dev/shm/.smartvm/runtime");
	assert_string_equal(d, "/tmp/.smartvm");
	assert_string_equal(r, "/dev/shm/.smartvm/runtime");
	free(d);
	free(r);
}

static void test_no_default_is_world_writable_seed_place(void **state)
{
	(void)state;
	clear_env();
	uid_t uids[] = {0, 1000};
	for (size_t i = 0; i < 2; i++) {
		for (int k = SV_STATE_DATA; k <= SV_STATE_RUNTIME; k++) {
			char *p = sv_state_dir_default((sv_state_kind)k, uids[i]);
			assert_null(strstr(p, "/dev/shm"));
			assert_null(strstr(p, "/tmp/.smartvm"));
			free(p);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root_uses_run_and_var_lib),
	    cmocka_unit_test(test_other_users_use_their_xdg_dirs),
	    cmocka_unit_test(test_data_defaults_to_home_local_share),
	    cmocka_unit_test(test_runtime_without_xdg_is_a_per_uid_dir_under_tmp),
	    cmocka_unit_test(test_option_then_environment_win),
	    cmocka_unit_test(test_no_default_is_world_writable_seed_place),
	};
	return svt_run_group(tests, NULL, NULL);
}
