/* Snapshots, restores and clones through the library against the fake
 * Firecracker: the snapshot directory's contents, restores with private drive
 * copies, network and vsock overrides, the Uffd backend, clones, and the
 * refusals (tampered files, other architecture, other VMM version, the
 * other backend's snapshot, bad options). Also measures the orchestration cost of 20 clones. After each
 * test nothing remains in the runtime directory and no process runs. */
#include "svtest.h"
#include "fcmgrfixture.h"

#include "util/file.h"
#include "util/spawn.h"
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <smartvm/smartvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	svt_fcmgr m;
	char *snap;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	svt_fcmgr_init(&f->m);
	f->snap = sv_path_join(f->m.dir, "snap");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	svt_fcmgr_close(&f->m);
	char *text = NULL;
	assert_int_equal(sv_read_file(f->m.scratch, 100, &text, NULL), 0);
	assert_string_equal(text, "scratch data"); /* originals are never written */
	free(text);
	free(f->snap);
	svt_fcmgr_free(&f->m);
	free(f);
	return 0;
}

static sv_vm *boot(fixture *f, const char *id, bool with_net, bool with_vsock, bool track)
{
	sv_drive_config drives[] = {
		{ .drive_id = "rootfs", .path_on_host = f->m.rootfs, .is_root_device = true, .is_read_only = true },
		{ .drive_id = "scratch", .path_on_host = f->m.scratch },
	};
	sv_net_iface_config nets[] = { { .iface_id = "eth0", .host_dev_name = "tap-snap0", .guest_mac = "06:00:ac:10:00:02" } };
	char *uds = sv_path_join(f->m.dir, "orig-vsock.sock");
	sv_vsock_config vsock = { .guest_cid = 3, .uds_path = uds };
	sv_metrics_config met = { .metrics_path = f->m.metrics };
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,
		.id = id,
		.boot_source = { .kernel_image_path = f->m.kernel },
		.machine_config = { .vcpu_count = 1, .mem_size_mib = 8, .track_dirty_pages = track },
		.drives = drives, .n_drives = 2, .network_interfaces = nets, .n_network_interfaces = with_net ? 1 : 0,
		.vsock = with_vsock ? &vsock : NULL, .metrics = &met,
	};
	sv_vm *vm = NULL;
	if (sv_manager_create_vm(&vm, f->m.mgr, &cfg) || sv_vm_start(vm))
		fail_msg("booting %s: %s", id, sv_last_error());
	free(uds);
	return vm;
}

static json_t *manifest(fixture *f)
{
	char *p = sv_path_join(f->snap, "snapshot.json");
	json_t *m = json_load_file(p, 0, NULL);
	free(p);
	assert_non_null(m);
	return m;
}

/* Writes m as f's snapshot.json (m stays the caller's). */
static void write_manifest(fixture *f, json_t *m)
{
	char *p = sv_path_join(f->snap, "snapshot.json");
	assert_int_equal(json_dump_file(m, p, JSON_INDENT(2)), 0);
	free(p);
}

static char *snap_file(fixture *f, const char *name)
{
	return sv_path_join(f->snap, name);
}

static void snapshot_ok(sv_vm *vm, const char *dir, const sv_snapshot_create_options *o)
{
	if (sv_vm_snapshot_create(vm, dir, o))
		fail_msg("snapshot: %s", sv_last_error());
}

static void test_snapshot_writes_state_memory_drives_and_manifest(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "src", true, false, false);
	snapshot_ok(vm, f->snap, NULL);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING); /* resumed afterwards */
	json_t *m = manifest(f);
	assert_string_equal(json_string_value(json_object_get(m, "vmm")), "firecracker");
	assert_string_equal(json_string_value(json_object_get(m, "vmm_version")), "1.16.1");
	assert_string_equal(json_string_value(json_object_get(m, "arch")), "x86_64");
	assert_string_equal(json_string_value(json_object_get(m, "snapshot_type")), "Full");
	json_t *files = json_object_get(m, "files");
	assert_int_equal(json_object_size(files), 3);
	assert_int_equal(strlen(json_string_value(json_object_get(files, "memory"))), 64);
	assert_non_null(json_object_get(files, "drives/scratch-scratch-scratch.img"));
	json_t *d = json_array_get(json_object_get(m, "drives"), 1);
	assert_string_equal(json_string_value(json_object_get(d, "vmm_path")), "drives/scratch-scratch.img");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(m, "network"), 0), "guest_mac")),
			    "06:00:ac:10:00:02");
	json_decref(m);
	char *mem = snap_file(f, "memory"), *drive = snap_file(f, "drives/scratch-scratch-scratch.img");
	struct stat st;
	assert_int_equal(stat(mem, &st), 0);
	assert_int_equal(st.st_size, 8 << 20);
	assert_true(st.st_blocks * 512 < st.st_size); /* sparse */
	char *text = NULL;
	assert_int_equal(sv_read_file(drive, 100, &text, NULL), 0);
	assert_string_equal(text, "scratch data");
	free(text);
	free(mem);
	free(drive);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_snapshot_keep_paused_and_diff_needs_dirty_tracking(void **state)
{
	fixture *f = *state;
	sv_vm *vm = boot(f, "diff", false, false, false);
	sv_snapshot_create_options o = {.version = SV_SNAPSHOT_CREATE_OPTIONS_VERSION,
					.type = SV_SNAPSHOT_DIFF};
	assert_int_equal(sv_vm_snapshot_create(vm, f->snap, &o), SV_EVMM);
	assert_string_equal(sv_last_error(), "VM \"diff\": snapshot: PUT /snapshot/create: 400 Diff snapshots are not "
					     "allowed on uVMs with dirty page tracking disabled.");
	assert_false(sv_path_exists(f->snap)); /* nothing left behind */
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING);
	assert_int_equal(sv_vm_stop(vm, -1), 0);

	vm = boot(f, "diff2", false, false, true);
	o.keep_paused = true;
	snapshot_ok(vm, f->snap, &o);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_PAUSED);
	json_t *m = manifest(f);
	assert_string_equal(json_string_value(json_object_get(m, "snapshot_type")), "Diff");
	json_decref(m);
	assert_int_equal(sv_vm_snapshot_create(vm, f->snap, NULL), SV_EEXISTS);
	svt_assert_contains(sv_last_error(), "exists and is not empty");
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

static void test_restore_gets_private_drives_overrides_and_resumes(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "orig", true, true, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_stop(src, -1), 0);

	sv_net_override ov[] = {{.iface_id = "eth0", .host_dev_name = "tap-restored"}};
	sv_restore_options o = {.version = SV_RESTORE_OPTIONS_VERSION,
				.id = "restored",
				.network_overrides = ov,
				.n_network_overrides = 1,
				.track_dirty_pages = true};
	sv_vm *vm = NULL;
	if (sv_manager_restore_vm(&vm, f->m.mgr, f->snap, &o))
		fail_msg("restore: %s", sv_last_error());
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING);
	char *cfg = NULL;
	assert_int_equal(sv_vm_running_config(vm, &cfg), 0);
	json_t *c = json_loads(cfg, 0, NULL);
	free(cfg);
	json_t *n = json_array_get(json_object_get(c, "network-interfaces"), 0);
	assert_string_equal(json_string_value(json_object_get(n, "host_dev_name")), "tap-restored");
	assert_string_equal(json_string_value(json_object_get(n, "guest_mac")), "06:00:ac:10:00:02");
	char *uds = sv_path_join(sv_vm_dir(vm), "vsock.sock");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "vsock"), "uds_path")), uds);
	assert_true(sv_path_exists(uds));
	free(uds);
	assert_true(json_is_true(json_object_get(json_object_get(c, "machine-config"), "track_dirty_pages")));
	json_decref(c);
	char *copy = sv_path_join(sv_vm_dir(vm), "drives/scratch-scratch.img");
	assert_true(sv_path_exists(copy));
	free(copy);
	/* The recorded requests: only outputs before the load, then the load. */
	char *metrics = NULL;
	assert_int_equal(sv_vm_metrics(vm, true, &metrics, NULL), 0);
	free(metrics);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

/* clock_realtime reaches Firecracker's load request only when asked for
 * (the fake checks the body against the v1.16.1 schema). */
static void test_restore_clock_realtime_is_sent_with_the_load(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "orig", false, false, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_stop(src, -1), 0);
	char *records = sv_path_join(f->m.dir, "records");
	assert_int_equal(sv_mkdir_p(records, 0700), 0);
	setenv("FAKE_FC_RECORD_DIR", records, 1);
	const char *ids[] = { "realtime", "resumed-clock" };
	for (size_t k = 0; k < 2; k++) {
		sv_restore_options o = { .version = SV_RESTORE_OPTIONS_VERSION, .id = ids[k], .clock_realtime = k == 0 };
		sv_vm *vm = NULL;
		if (sv_manager_restore_vm(&vm, f->m.mgr, f->snap, &o))
			fail_msg("restore: %s", sv_last_error());
		assert_int_equal(sv_vm_stop(vm, -1), 0);
		char *path = NULL, *text = NULL;
		assert_true(asprintf(&path, "%s/%s.jsonl", records, ids[k]) > 0);
		assert_int_equal(sv_read_file(path, 1 << 20, &text, NULL), 0);
		char *load = strstr(text, "\"/snapshot/load\"");
		assert_non_null(load);
		char *line_end = strchr(load, '\n');
		if (line_end)
			*line_end = '\0';
		if (k == 0)
			svt_assert_contains(load, "\"clock_realtime\":true");
		else
			assert_null(strstr(load, "clock_realtime"));
		svt_assert_contains(load, "\"status\":204");
		free(text);
		free(path);
	}
	unsetenv("FAKE_FC_RECORD_DIR");
	free(records);
}

static void test_restore_can_stay_paused(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "p", false, false, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_kill(src), 0);
	sv_restore_options o = {.version = SV_RESTORE_OPTIONS_VERSION, .id = "paused", .resume = SV_NO};
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_restore_vm(&vm, f->m.mgr, f->snap, &o), 0);
	assert_int_equal(sv_vm_get_state(vm), SV_VM_PAUSED);
	assert_int_equal(sv_vm_resume(vm), 0);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

/* A page-fault handler stand-in: accepts one connection on path. */
static void test_restore_with_uffd_hands_mappings_to_the_handler(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "u", false, false, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_kill(src), 0);
	char *path = sv_path_join(f->m.dir, "uffd.sock");
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	sv_restore_options o = {.version = SV_RESTORE_OPTIONS_VERSION,
				.id = "uffd",
				.mem_backend = SV_MEM_BACKEND_UFFD,
				.uffd_socket_path = path};
	sv_vm *vm = NULL;
	if (sv_manager_restore_vm(&vm, f->m.mgr, f->snap, &o))
		fail_msg("restore: %s", sv_last_error());
	int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	char buf[512] = { 0 };
	assert_true(read(c, buf, sizeof(buf) - 1) > 0);
	svt_assert_contains(buf, "\"size\":8388608");
	close(c);
	close(lfd);
	unlink(path);
	free(path);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	/* Uffd without a socket is refused before anything is made. */
	o.uffd_socket_path = NULL;
	assert_int_equal(sv_manager_restore_vm(&vm, f->m.mgr, f->snap, &o), SV_EINVAL);
	assert_string_equal(sv_last_error(), "uffd_socket_path: required with the Uffd memory backend");
}

static void test_restore_of_tampered_snapshot_is_refused(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "t", false, false, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_stop(src, -1), 0);
	char *drive = snap_file(f, "drives/scratch-scratch-scratch.img");
	int fd = open(drive, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "S", 1), 1); /* same size, other contents */
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_restore_vm(&vm, f->m.mgr, f->snap, NULL), SV_ECHECKSUM);
	svt_assert_contains(sv_last_error(), ": drives/scratch-scratch-scratch.img: SHA-256 mismatch (expected ");
	svt_assert_contains(sv_last_error(), "); the file changed after the snapshot was taken");
	assert_null(vm);
	assert_int_equal(pwrite(fd, "!", 1, 12), 1); /* another size: refused before hashing */
	close(fd);
	char *want = NULL;
	assert_true(
	    asprintf(&want,
		     "snapshot %s: drives/scratch-scratch-scratch.img is 13 bytes, the snapshot recorded "
		     "12; the file changed after the snapshot was taken",
		     f->snap) > 0);
	assert_int_equal(sv_manager_restore_vm(&vm, f->m.mgr, f->snap, NULL), SV_ECHECKSUM);
	assert_string_equal(sv_last_error(), want);
	free(want);
	free(drive);
	char *mem = snap_file(f, "memory");
	unlink(mem);
	free(mem);
	assert_int_equal(sv_manager_restore_vm(&vm, f->m.mgr, f->snap, NULL), SV_ECHECKSUM);
	svt_assert_contains(sv_last_error(), ": memory is missing");
}

/* A manager skips hashing a snapshot file it verified before, only while
 * the file is unchanged: a write after a good restore is still caught. */
static void test_a_file_changed_after_a_good_restore_is_hashed_and_refused(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "again", false, false, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_stop(src, -1), 0);
	/* Older than the timestamps' granularity, so that the good restore's
	 * hashes are remembered. */
	struct timespec settle = {1, 200000000};
	nanosleep(&settle, NULL);
	sv_vm *vm = NULL;
	sv_restore_options o = {.version = SV_RESTORE_OPTIONS_VERSION, .id = "again-1"};
	if (sv_manager_restore_vm(&vm, f->m.mgr, f->snap, &o))
		fail_msg("restore: %s", sv_last_error());
	assert_int_equal(sv_vm_stop(vm, -1), 0);
	char *mem = snap_file(f, "memory");
	int fd = open(mem, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	char c = 0;
	assert_int_equal(pread(fd, &c, 1, 4096), 1);
	c ^= 0x5a; /* same size, other contents */
	assert_int_equal(pwrite(fd, &c, 1, 4096), 1);
	close(fd);
	o.id = "again-2";
	vm = NULL;
	assert_int_equal(sv_manager_restore_vm(&vm, f->m.mgr, f->snap, &o), SV_ECHECKSUM);
	svt_assert_contains(sv_last_error(), ": memory: SHA-256 mismatch (expected ");
	assert_null(vm);
	free(mem);
}

/* Rewrites one manifest field (the manifest is not itself checksummed:
 * these are the checks that keep a wrong host or VMM out). */
static void set_manifest(fixture *f, const char *key, const char *value)
{
	json_t *m = manifest(f);
	json_object_set_new(m, key, json_string(value));
	write_manifest(f, m);
	json_decref(m);
}

static void test_restore_refuses_other_arch_and_other_vmm_version(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "a", false, false, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_stop(src, -1), 0);
	char *real = realpath(f->snap, NULL);
	set_manifest(f, "arch", "aarch64");
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_restore_vm(&vm, f->m.mgr, f->snap, NULL), SV_EUNSUPPORTED);
	char *want = NULL;
	assert_true(asprintf(&want, "snapshot %s: taken on aarch64, this host is x86_64", real) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
	set_manifest(f, "arch", "x86_64");
	set_manifest(f, "vmm_version", "1.15.0");
	sv_restore_options o = {.version = SV_RESTORE_OPTIONS_VERSION, .id = "oldver"};
	assert_int_equal(sv_manager_restore_vm(&vm, f->m.mgr, f->snap, &o), SV_EUNSUPPORTED);
	assert_true(asprintf(&want, "restoring VM \"oldver\": snapshot %s: taken with firecracker 1.15.0, this VMM is "
				    "firecracker 1.16.1",
			     real) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
	free(real);
	assert_int_equal(sv_vm_get_state(sv_manager_get_vm(f->m.mgr, "oldver")), SV_VM_ERROR);
}

/* A manager whose vmm option is only `runs` refuses f's snapshot, taken on
 * `took`, with the exact message and nothing created. */
static void assert_refused_on(fixture *f, sv_vmm_kind only, const char *took, const char *runs)
{
	sv_manager_options o = {.version = SV_MANAGER_OPTIONS_VERSION,
				.data_dir = f->m.data,
				.runtime_dir = f->m.runtime,
				.vmm = only,
				.firecracker_binary_path = svt_fake_firecracker(),
				.stop_timeout_ms = 3000};
	sv_manager *m = NULL;
	assert_int_equal(sv_manager_new(&m, &o), 0);
	char *real = realpath(f->snap, NULL), *want = NULL;
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_restore_vm(&vm, m, f->snap, NULL), SV_EUNSUPPORTED);
	assert_true(asprintf(&want, "snapshot %s: taken on the %s backend, but this manager runs VMs on %s (the vmm "
				    "option); a snapshot restores only on the backend that took it",
			     real, took, runs) > 0);
	assert_string_equal(sv_last_error(), want);
	assert_null(vm);
	assert_int_equal(svt_dir_entries(f->m.runtime), 0);
	free(want);
	free(real);
	sv_manager_free(m);
}

static void test_restore_on_the_other_backend_is_refused_before_anything_exists(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "cross", false, false, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_stop(src, -1), 0);
	assert_refused_on(f, SV_VMM_QEMU, "firecracker", "qemu");
	/* Labelled as QEMU's (whose snapshots have no memory file). */
	set_manifest(f, "vmm", "qemu");
	assert_refused_on(f, SV_VMM_FIRECRACKER, "qemu", "firecracker");
}

static void test_uffd_restore_of_a_qemu_snapshot_is_not_supported(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "uffdq", false, false, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_stop(src, -1), 0);
	set_manifest(f, "vmm", "qemu");
	sv_restore_options o = {.version = SV_RESTORE_OPTIONS_VERSION,
				.mem_backend = SV_MEM_BACKEND_UFFD,
				.uffd_socket_path = "/run/uffd.sock"};
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_restore_vm(&vm, f->m.mgr, f->snap, &o), SV_EUNSUPPORTED);
	assert_string_equal(sv_last_error(), "mem_backend Uffd: not supported by the qemu backend");
	sv_vm **clones = NULL;
	assert_int_equal(sv_manager_clone_vms(&clones, f->m.mgr, f->snap, 2, &o), SV_EUNSUPPORTED);
	assert_string_equal(sv_last_error(), "mem_backend Uffd: not supported by the qemu backend");
	assert_null(vm);
	assert_null(clones);
	assert_int_equal(svt_dir_entries(f->m.runtime), 0);
}

static void test_snapshot_needs_a_live_vm_and_an_empty_dir(void **state)
{
	fixture *f = *state;
	sv_drive_config d = { .drive_id = "rootfs", .path_on_host = f->m.rootfs, .is_root_device = true };
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,  .id = "never", .boot_source = { .kernel_image_path = f->m.kernel },
			     .machine_config = { .vcpu_count = 1, .mem_size_mib = 8 }, .drives = &d, .n_drives = 1 };
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, f->m.mgr, &cfg), 0);
	assert_int_equal(sv_vm_snapshot_create(vm, f->snap, NULL), SV_EINVALID_STATE);
	assert_string_equal(sv_last_error(), "VM \"never\" is created; snapshot is allowed when running|paused");
	sv_vm *r = NULL;
	assert_int_equal(sv_manager_restore_vm(&r, f->m.mgr, f->m.dir, NULL), SV_ENOTFOUND);
	svt_assert_contains(sv_last_error(), ": no snapshot here (");
}

static void test_snapshot_refuses_writable_drive_used_in_place(void **state)
{
	fixture *f = *state;
	sv_drive_config drives[] = { { .drive_id = "rootfs", .path_on_host = f->m.rootfs, .is_root_device = true,
				       .ephemeral = SV_NO } };
	sv_vm_config cfg = {.version = SV_VM_CONFIG_VERSION,  .id = "inplace", .boot_source = { .kernel_image_path = f->m.kernel },
			     .machine_config = { .vcpu_count = 1, .mem_size_mib = 8 }, .drives = drives, .n_drives = 1 };
	sv_vm *vm = NULL;
	assert_int_equal(sv_manager_create_vm(&vm, f->m.mgr, &cfg), 0);
	assert_int_equal(sv_vm_start(vm), 0);
	assert_int_equal(sv_vm_snapshot_create(vm, f->snap, NULL), SV_EUNSUPPORTED);
	char *want = NULL;
	assert_true(asprintf(&want, "VM \"inplace\": snapshot: drive \"rootfs\": the VMM writes %s in place (ephemeral = "
				    "no), so a restored VM could not get a private copy; snapshots need writable drives staged",
			     f->m.rootfs) > 0);
	assert_string_equal(sv_last_error(), want);
	free(want);
	assert_false(sv_path_exists(f->snap));
	assert_int_equal(sv_vm_get_state(vm), SV_VM_RUNNING);
	assert_int_equal(sv_vm_stop(vm, -1), 0);
}

/* Rewrites the manifest's record of file name after it was replaced: its
 * SHA-256 and size as they are now (what someone who can write the
 * directory can always do: checksums detect damage, not tampering). */
static void rehash(fixture *f, const char *name)
{
	char *path = snap_file(f, name);
	char *args[] = {"sha256sum", path, NULL};
	char *out = NULL;
	int code = -1;
	assert_int_equal(sv_run((const char *const *)args, NULL, 20000, &code, &out, NULL), 0);
	assert_int_equal(code, 0);
	out[64] = '\0';
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	json_t *m = manifest(f);
	json_object_set_new(json_object_get(m, "files"), name, json_string(out));
	json_object_set_new(json_object_get(m, "sizes"), name, json_integer(st.st_size));
	write_manifest(f, m);
	json_decref(m);
	free(out);
	free(path);
}

static void snapshot_stopped(fixture *f, const char *id)
{
	sv_vm *src = boot(f, id, false, false, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_stop(src, -1), 0);
}

/* Restores f's snapshot expecting code and exactly want (%s = the snapshot
 * directory), within a bound: a restore that hangs or hashes for ever is
 * killed by the alarm, failing the test. */
static void assert_restore_refused(fixture *f, int code, const char *want_fmt)
{
	sv_vm *vm = NULL;
	alarm(30);
	long long t0 = sv_now_ms();
	int rc = sv_manager_restore_vm(&vm, f->m.mgr, f->snap, NULL);
	long long elapsed = sv_now_ms() - t0;
	alarm(0);
	char *want = NULL;
	assert_true(asprintf(&want, want_fmt, f->snap) > 0);
	if (rc != code || strcmp(sv_last_error(), want))
		fail_msg("restore: %d \"%s\"\n want: %d \"%s\"", rc, sv_last_error(), code, want);
	assert_true(elapsed < 5000); /* refused before reading much */
	assert_null(vm);
	assert_int_equal(svt_dir_entries(f->m.runtime), 0);
	free(want);
}

/* Issue 11.5: a drive file replaced by a symlink (hashes recomputed) is
 * refused: restore reads only regular files inside the snapshot. */
static void test_restore_refuses_a_symlinked_drive_file(void **state)
{
	fixture *f = *state;
	snapshot_stopped(f, "sym");
	char *secret = svt_write(f->m.dir, "secret", "root's secret");
	char *drive = snap_file(f, "drives/scratch-scratch-scratch.img");
	assert_int_equal(unlink(drive), 0);
	assert_int_equal(symlink(secret, drive), 0);
	rehash(f, "drives/scratch-scratch-scratch.img");
	assert_restore_refused(
	    f, SV_EUNSAFE,
	    "snapshot %s: drives/scratch-scratch-scratch.img is a symlink; a snapshot holds only "
	    "regular files");
	free(drive);
	free(secret);
}

/* Issue 11.5: a snapshot directory another user could have written is
 * refused; its checksums would prove nothing. */
static void test_restore_refuses_a_snapshot_another_user_owns(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root");
	snapshot_stopped(f, "foreign");
	assert_int_equal(chown(f->snap, 65534, 65534), 0);
	assert_restore_refused(
	    f, SV_EUNSAFE,
	    "snapshot directory %1$s: it is owned by uid 65534, not by uid 0; remove %1$s or choose "
	    "another directory");
	assert_int_equal(chown(f->snap, 0, 0), 0);
	assert_int_equal(chmod(f->snap, 0777), 0);
	assert_restore_refused(
	    f, SV_EUNSAFE,
	    "snapshot directory %1$s: it is writable by group or others (mode 0777); run `chmod go-w "
	    "%1$s` or choose another directory");
}

/* Issue 11.5: a read-only drive's path in snapshot.json is the config's
 * own, checked as a config's drive is: editing it to another host file, or
 * to something that is not a file, is refused. */
static void test_restore_checks_read_only_drive_paths(void **state)
{
	fixture *f = *state;
	snapshot_stopped(f, "ro");
	char *other = svt_write(f->m.dir, "other-host-file", "not the rootfs");
	json_t *m = manifest(f);
	json_t *d = json_array_get(json_object_get(m, "drives"), 0);
	json_object_set_new(d, "vmm_path", json_string(other));
	write_manifest(f, m);
	char *want = NULL;
	assert_true(asprintf(&want, "snapshot %%s: drive \"rootfs\": the manifest names %s, its config %s",
			     other, f->m.rootfs) > 0);
	assert_restore_refused(f, SV_EINVAL, want);
	free(want);
	/* Edited consistently (its author's choice, as in their own config),
	 * the path must still be a regular file or a block device. */
	json_t *drives = json_object_get(json_object_get(m, "config"), "drives");
	json_object_set_new(json_array_get(drives, 0), "path_on_host", json_string(f->m.dir));
	json_object_set_new(d, "vmm_path", json_string(f->m.dir));
	write_manifest(f, m);
	assert_true(asprintf(&want, "snapshot %%s: drive \"rootfs\": %s: not a regular file or block device",
			     f->m.dir) > 0);
	assert_restore_refused(f, SV_EINVAL, want);
	free(want);
	/* A drive of the config that the manifest does not list is refused. */
	json_array_remove(json_object_get(m, "drives"), 0);
	write_manifest(f, m);
	assert_restore_refused(f, SV_EINVAL,
			       "snapshot %s: drive \"rootfs\" of its config is not in the manifest's drives");
	json_decref(m);
	free(other);
}

/* Issue 11.6: a FIFO or a device in place of a file is refused without
 * blocking or reading it. */
static void test_restore_refuses_fifos_and_devices_without_hanging(void **state)
{
	fixture *f = *state;
	if (!svt_is_root())
		svt_skip(SVT_NEED_ROOT, "needs root");
	snapshot_stopped(f, "fifo");
	char *mem = snap_file(f, "memory"), *manifest_path = snap_file(f, "snapshot.json");
	char *saved = snap_file(f, "saved.json");
	assert_int_equal(rename(mem, saved), 0);
	assert_int_equal(mkfifo(mem, 0600), 0);
	assert_restore_refused(f, SV_EINVAL, "snapshot %s: memory is not a regular file");
	assert_int_equal(unlink(mem), 0);
	assert_int_equal(mknod(mem, S_IFCHR | 0600, makedev(1, 5)), 0); /* /dev/zero */
	assert_restore_refused(f, SV_EINVAL, "snapshot %s: memory is not a regular file");
	assert_int_equal(unlink(mem), 0);
	assert_int_equal(rename(saved, mem), 0);
	assert_int_equal(rename(manifest_path, saved), 0);
	assert_int_equal(mkfifo(manifest_path, 0600), 0);
	char *want = NULL;
	assert_true(asprintf(&want, "snapshot %%s: reading %s: not a regular file", manifest_path) > 0);
	assert_restore_refused(f, SV_EINVAL, want);
	free(want);
	assert_int_equal(unlink(manifest_path), 0);
	assert_int_equal(rename(saved, manifest_path), 0);
	free(saved);
	free(manifest_path);
	free(mem);
}

/* Issue 11.6: sizes are checked against the config before anything is
 * hashed: a huge sparse memory file is refused at once. */
static void test_restore_checks_sizes_before_hashing(void **state)
{
	fixture *f = *state;
	snapshot_stopped(f, "huge");
	char *mem = snap_file(f, "memory");
	assert_int_equal(truncate(mem, 64ll << 30), 0); /* sparse: hashing it would take minutes */
	assert_restore_refused(
	    f, SV_ECHECKSUM,
	    "snapshot %s: memory is 68719476736 bytes, the snapshot recorded 8388608; the file changed "
	    "after the snapshot was taken");
	/* The manifest's size must also be the config's memory size. */
	json_t *m = manifest(f);
	json_object_set_new(json_object_get(m, "sizes"), "memory", json_integer(64ll << 30));
	write_manifest(f, m);
	assert_restore_refused(
	    f, SV_EINVAL,
	    "snapshot %s: the manifest gives memory 68719476736 bytes, but the VM's memory "
	    "(machine_config.mem_size_mib 8) is 8388608");
	json_decref(m);
	free(mem);
}

/* Issue 11.7: a Diff snapshot is refused on its own. */
static void test_restore_refuses_a_diff_snapshot_alone(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "diffsrc", false, false, true);
	sv_snapshot_create_options o = {.version = SV_SNAPSHOT_CREATE_OPTIONS_VERSION,
					.type = SV_SNAPSHOT_DIFF};
	snapshot_ok(src, f->snap, &o);
	assert_int_equal(sv_vm_stop(src, -1), 0);
	assert_restore_refused(
	    f, SV_EUNSUPPORTED,
	    "snapshot %s: a Diff snapshot holds only the memory written since the snapshot before it "
	    "and cannot be restored alone; restore a Full snapshot");
}

static void test_clones_get_own_dirs_drives_and_sockets(void **state)
{
	fixture *f = *state;
	sv_vm *src = boot(f, "tmpl", false, true, false);
	snapshot_ok(src, f->snap, NULL);
	assert_int_equal(sv_vm_stop(src, -1), 0);

	const size_t n = 20;
	sv_restore_options o = {.version = SV_RESTORE_OPTIONS_VERSION, .id = "clone"};
	sv_vm **vms = NULL;
	long long t0 = sv_now_ms();
	if (sv_manager_clone_vms(&vms, f->m.mgr, f->snap, n, &o))
		fail_msg("clone: %s", sv_last_error());
	long long elapsed = sv_now_ms() - t0;
	print_message("cloned %zu VMs from one snapshot in %lld ms (%.1f ms per clone, fake Firecracker)\n", n,
		      elapsed, (double)elapsed / (double)n);
	for (size_t i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "clone-%zu", i + 1);
		assert_string_equal(sv_vm_id(vms[i]), id);
		assert_int_equal(sv_vm_get_state(vms[i]), SV_VM_RUNNING);
		char *drive = sv_path_join(sv_vm_dir(vms[i]), "drives/scratch-scratch.img");
		char *uds = sv_path_join(sv_vm_dir(vms[i]), "vsock.sock");
		assert_true(sv_path_exists(drive));
		assert_true(sv_path_exists(uds));
		free(drive);
		free(uds);
	}
	/* A write by one clone is not seen by another. */
	char *d1 = sv_path_join(sv_vm_dir(vms[0]), "drives/scratch-scratch.img");
	char *d2 = sv_path_join(sv_vm_dir(vms[1]), "drives/scratch-scratch.img");
	int fd = open(d1, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_int_equal(write(fd, "mine", 4), 4);
	close(fd);
	char *text = NULL;
	assert_int_equal(sv_read_file(d2, 100, &text, NULL), 0);
	assert_string_equal(text, "scratch data");
	free(text);
	free(d1);
	free(d2);
	free(vms);
	/* One TAP can't serve many clones. */
	sv_net_override ov = {.iface_id = "eth0", .host_dev_name = "tap0"};
	sv_restore_options bad = {
	    .version = SV_RESTORE_OPTIONS_VERSION, .network_overrides = &ov, .n_network_overrides = 1};
	assert_int_equal(sv_manager_clone_vms(&vms, f->m.mgr, f->snap, 2, &bad), SV_EINVAL);
	assert_string_equal(sv_last_error(), "network_overrides: one host device cannot serve 2 clones; leave them out "
					     "and each clone gets its own");
}

int main(void)
{
	/* The VMs here have network interfaces: keep their TAPs off the host. */
	if (!svt_private_netns())
		return svt_skip_program(SVT_NEED_ROOT, "needs root for a private network namespace");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_snapshot_writes_state_memory_drives_and_manifest, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_keep_paused_and_diff_needs_dirty_tracking, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_restore_gets_private_drives_overrides_and_resumes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_restore_clock_realtime_is_sent_with_the_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_can_stay_paused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_with_uffd_hands_mappings_to_the_handler, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_restore_of_tampered_snapshot_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_file_changed_after_a_good_restore_is_hashed_and_refused,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_refuses_other_arch_and_other_vmm_version, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_restore_on_the_other_backend_is_refused_before_anything_exists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uffd_restore_of_a_qemu_snapshot_is_not_supported, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_needs_a_live_vm_and_an_empty_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_refuses_writable_drive_used_in_place, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_clones_get_own_dirs_drives_and_sockets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_refuses_a_symlinked_drive_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_refuses_a_snapshot_another_user_owns, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_restore_checks_read_only_drive_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_refuses_fifos_and_devices_without_hanging, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_restore_checks_sizes_before_hashing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restore_refuses_a_diff_snapshot_alone, setup, teardown),
	};
	return svt_run_group(tests, NULL, NULL);
}
