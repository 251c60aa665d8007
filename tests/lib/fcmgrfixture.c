/* The fake-Firecracker manager fixture (see fcmgrfixture.h). Owns the
 * fixture's directory and manager; never touches anything outside the
 * directory it made. */
#include "svtest.h"
#include "fcmgrfixture.h"

#include "util/file.h"
#include <stdlib.h>
#include <string.h>

void svt_fcmgr_init(svt_fcmgr *m)
{
	memset(m, 0, sizeof(*m));
	m->dir = svt_tmpdir();
	m->runtime = sv_path_join(m->dir, "runtime");
	m->data = sv_path_join(m->dir, "data");
	m->kernel = svt_write(m->dir, "vmlinux", "kernel image");
	m->rootfs = svt_write(m->dir, "rootfs.ext4", "root filesystem");
	m->scratch = svt_write(m->dir, "scratch.img", "scratch data");
	m->metrics = sv_path_join(m->dir, "metrics.json");
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = m->data,
				.runtime_dir = m->runtime,
				.firecracker_binary_path = svt_fake_firecracker(),
				.stop_timeout_ms = 3000};
	assert_int_equal(sv_manager_new(&m->mgr, &o), 0);
}

void svt_fcmgr_close(svt_fcmgr *m)
{
	sv_manager_free(m->mgr);
	m->mgr = NULL;
	assert_int_equal(svt_vm_dirs_left(m->runtime), 0);
	svt_assert_no_processes_with(m->runtime);
}

void svt_fcmgr_free(svt_fcmgr *m)
{
	char *paths[] = { m->kernel, m->rootfs, m->scratch, m->metrics, m->runtime, m->data };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		free(paths[i]);
	svt_rm_tmpdir(m->dir);
	memset(m, 0, sizeof(*m));
}
