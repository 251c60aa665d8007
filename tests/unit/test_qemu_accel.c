/* Choosing the QEMU accelerator: auto means KVM only where ordinary guests run. */
#include "svtest.h"

#include "util/file.h"
#include "vmm/qemu/qemu.h"
#include <fcntl.h>
#include <smartvm/error.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool dev_kvm_opens(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void test_tcg_is_taken_as_asked(void **state)
{
	(void)state;
	const char *accel = NULL;
	assert_int_equal(sv_qemu_pick_accel_at("tcg", "/nonexistent", "/nonexistent/kvm", &accel), 0);
	assert_string_equal(accel, "tcg");
}

static void test_auto_picks_tcg_when_kvm_pvm_is_loaded(void **state)
{
	(void)state;
	char *sys = svt_tmpdir();
	char *pvm = sv_path_join(sys, "kvm_pvm");
	assert_int_equal(mkdir(pvm, 0755), 0);
	const char *accel = NULL;
	/* Even with a /dev/kvm that opens, PVM means ordinary guests hang. */
	assert_int_equal(sv_qemu_pick_accel_at("auto", sys, "/dev/kvm", &accel), 0);
	assert_string_equal(accel, "tcg");
	assert_int_equal(sv_qemu_pick_accel_at(NULL, sys, "/dev/kvm", &accel), 0);
	assert_string_equal(accel, "tcg");
	free(pvm);
	svt_rm_tmpdir(sys);
}

static void test_auto_picks_tcg_without_dev_kvm(void **state)
{
	(void)state;
	char *sys = svt_tmpdir();
	const char *accel = NULL;
	assert_int_equal(sv_qemu_pick_accel_at("auto", sys, "/nonexistent/kvm", &accel), 0);
	assert_string_equal(accel, "tcg");
	assert_string_equal(sv_last_error(), "");
	svt_rm_tmpdir(sys);
}

static void test_auto_picks_tcg_when_dev_kvm_is_not_kvm(void **state)
{
	(void)state;
	char *sys = svt_tmpdir();
	const char *accel = NULL;
	/* A device that opens but does not answer KVM_GET_API_VERSION. */
	assert_int_equal(sv_qemu_pick_accel_at("auto", sys, "/dev/null", &accel), 0);
	assert_string_equal(accel, "tcg");
	svt_rm_tmpdir(sys);
}

static void test_auto_picks_kvm_when_usable_and_not_pvm(void **state)
{
	(void)state;
	if (!dev_kvm_opens())
		svt_skip(SVT_NEED_HOST, "/dev/kvm cannot be opened here");
	char *sys = svt_tmpdir();
	const char *accel = NULL;
	assert_int_equal(sv_qemu_pick_accel_at("auto", sys, "/dev/kvm", &accel), 0);
	assert_string_equal(accel, "kvm");
	svt_rm_tmpdir(sys);
}

static void test_kvm_without_device_fails_clearly(void **state)
{
	(void)state;
	const char *accel = NULL;
	assert_int_equal(sv_qemu_pick_accel_at("kvm", "/sys/module", "/nonexistent/kvm", &accel), SV_EUNSUPPORTED);
	assert_null(accel);
	assert_string_equal(sv_last_error(),
			    "qemu_accel: kvm: cannot open /nonexistent/kvm: No such file or directory");
}

static void test_unknown_accel_is_rejected(void **state)
{
	(void)state;
	const char *accel = NULL;
	assert_int_equal(sv_qemu_pick_accel("xen", &accel), SV_EINVAL);
	assert_string_equal(sv_last_error(), "qemu_accel: must be \"kvm\", \"tcg\" or \"auto\", not \"xen\"");
}

static void test_this_host_with_pvm_gets_tcg(void **state)
{
	(void)state;
	struct stat st;
	if (stat("/sys/module/kvm_pvm", &st) != 0)
		svt_skip(SVT_NEED_HOST, "this host has no PVM hypervisor (kvm_pvm)");
	const char *accel = NULL;
	assert_int_equal(sv_qemu_pick_accel("auto", &accel), 0);
	assert_string_equal(accel, "tcg");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcg_is_taken_as_asked),
		cmocka_unit_test(test_auto_picks_tcg_when_kvm_pvm_is_loaded),
		cmocka_unit_test(test_auto_picks_tcg_without_dev_kvm),
		cmocka_unit_test(test_auto_picks_tcg_when_dev_kvm_is_not_kvm),
		cmocka_unit_test(test_auto_picks_kvm_when_usable_and_not_pvm),
		cmocka_unit_test(test_kvm_without_device_fails_clearly),
		cmocka_unit_test(test_unknown_accel_is_rejected),
		cmocka_unit_test(test_this_host_with_pvm_gets_tcg),
	};
	return svt_run_group(tests, NULL, NULL);
}
