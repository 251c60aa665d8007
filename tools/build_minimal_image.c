/* smartvm-build-minimal-image: builds the minimal guest bundle offline from
 * Debian packages and writes it as a hosted manifest that the base-image
 * manager imports (manifestPath).
 *
 *   kernel   vmlinuz from linux-image-<ver>-cloud-amd64 (the package the
 *            linux-image-cloud-amd64 metapackage depends on), fetched with
 *            `apt-get download` and unpacked with `dpkg-deb -x` into the cache;
 *            nothing is installed into the host's /boot
 *   initrd   newc cpio + gzip (libarchive): the static smartvm-init as /init,
 *            the static smartvm-agent as /sbin/smartvm-agent (--agent, default
 *            next to --init),
 *            busybox-static with its applet links, /dev/console and /dev/null,
 *            and the virtio modules (uncompressed .ko in this kernel) flat in
 *            /lib/modules
 *   rootfs   ext4 (mkfs.ext4 -d) holding busybox and its applet links
 *
 * Layout under the cache dir (default <data dir>/minimal-image, the data dir
 * being smartvm's: $SMARTVM_DATA_DIR, else util/state_dirs.h's default):
 *   debs/      downloaded packages        kernel/<deb>/  unpacked kernel package
 *   bundle/    vmlinuz initrd.img rootfs.ext4 manifest.json inputs.txt
 * bundle/ is built next to itself and renamed into place, so it is complete or
 * absent. inputs.txt records what it was built from (kernel package, SHA-256 of
 * init, busybox and agent); when nothing changed a second run only prints the
 * manifest path. An already downloaded kernel package is reused unless
 * --refresh. One builder at a time (flock on <cache>/.lock).
 *
 * Programs run by argument vector (sv_run); never a shell. Prints the
 * manifest's path on stdout; diagnostics on stderr; exit 0 / 1.
 */
#include "util/error.h"
#include "util/file.h"
#include "util/sha256.h"
#include "util/spawn.h"
#include "util/state_dirs.h"
#include "util/strv.h"
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <smartvm/manager.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define META_PACKAGE "linux-image-cloud-amd64"
#define BOOT_ARGS "console=ttyS0 panic=-1 quiet"
#define ROOTFS_BYTES (64ll << 20)
#define TOOL_TIMEOUT_MS (10 * 60 * 1000)
#define BUNDLE_FORMAT "5"
/* The manifest format requires one: the Firecracker release whose API smartvm
 * targets. The bundle itself boots under QEMU microvm as well. */
#define MANIFEST_FC_VERSION "v1.16.1"

static const char *const modules[] = {
	/* the guest agent's transports (issue 12; loaded by guest/init_agent.c) */
	"virtio_console", "vsock", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport",
	"virtio_ring", "virtio", "virtio_mmio", "virtio_blk", "failover", "net_failover", "virtio_net",
	"virtio_balloon", "virtio-rng", "button", "evdev", "pvpanic", "pvpanic-mmio",
};
#define N_MODULES (sizeof(modules) / sizeof(*modules))

typedef struct {
	const char *cache_dir;
	const char *init_path;
	const char *agent_path; /* default: smartvm-agent next to the init */
	const char *busybox_path;
	const char *kernel_deb;
	bool refresh;
} options;

/* ---- small helpers ---- */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		fprintf(stderr, "smartvm-build-minimal-image: out of memory\n");
		exit(1);
	}
	return s;
}

/* The first of the usual locations that exists, else the bare name (PATH). */
static const char *tool_path(const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	const char *dirs[] = { "/usr/bin", "/usr/sbin", "/bin", "/sbin" };
	for (size_t i = 0; i < 4; i++) {
		char *p = buf[next];
		snprintf(p, PATH_MAX, "%s/%s", dirs[i], name);
		if (access(p, X_OK) == 0) {
			next = (next + 1) % 4;
			return p;
		}
	}
	return name;
}

/* Runs argv; a non-zero exit is an error quoting its stderr. stdout_out may be NULL. */
static int run(const char *const *argv, char **stdout_out)
{
	int code = -1;
	char *out = NULL, *err = NULL;
	int rc = sv_run(argv, NULL, TOOL_TIMEOUT_MS, &code, &out, &err);
	if (rc == 0 && code != 0) {
		size_t n = err ? strlen(err) : 0;
		while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		rc = sv_err(SV_EPROCESS, "%s exited with status %d: %s", argv[0], code, err ? err : "");
	}
	if (rc == 0 && stdout_out)
		*stdout_out = out;
	else
		free(out);
	free(err);
	return rc;
}

static int sha256_file(const char *path, char hex[65], long long *size_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "opening %s", path);
	uint64_t size = 0;
	int rc = sv_sha256_fd(fd, path, hex, &size);
	close(fd);
	if (!rc && size_out)
		*size_out = (long long)size;
	return rc;
}

/* The first entry of dir whose name starts with prefix and ends with suffix
 * (and is not excluded), as a malloc'd full path; NULL if none. */
static char *find_entry(const char *dir, const char *prefix, const char *suffix, const char *exclude_prefix)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char *found = NULL;
	struct dirent *de;
	size_t plen = strlen(prefix), slen = strlen(suffix);
	while (!found && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < plen + slen || strncmp(de->d_name, prefix, plen) != 0 ||
		    strcmp(de->d_name + n - slen, suffix) != 0)
			continue;
		if (exclude_prefix && strncmp(de->d_name, exclude_prefix, strlen(exclude_prefix)) == 0)
			continue;
		found = sv_path_join(dir, de->d_name);
	}
	closedir(d);
	return found;
}

/* Finds name under root recursively (depth-first), malloc'd path or NULL. */
static char *find_file(const char *root, const char *name)
{
	DIR *d = opendir(root);
	if (!d)
		return NULL;
	char *found = NULL;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *p = sv_path_join(root, de->d_name);
		if (de->d_type == DT_DIR)
			found = find_file(p, name);
		else if (strcmp(de->d_name, name) == 0)
			found = strdup(p);
		free(p);
	}
	closedir(d);
	return found;
}

/* ---- the kernel package ---- */

/* apt-get download writes into the working directory, so this tool (a
 * single-threaded program) steps into debs/ around it. */
static int apt_download(const char *debs_dir, const char *package)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return sv_err_errno(SV_EIO, errno, "getcwd");
	if (chdir(debs_dir) != 0)
		return sv_err_errno(SV_EIO, errno, "chdir %s", debs_dir);
	const char *argv[] = { tool_path("apt-get"), "-q", "-o", "APT::Sandbox::User=root", "download",
			       package, NULL };
	int rc = run(argv, NULL);
	if (chdir(cwd) != 0 && rc == 0)
		rc = sv_err_errno(SV_EIO, errno, "chdir %s", cwd);
	return rc ? sv_err_prefix("apt-get download %s", package) : 0;
}

/* The versioned kernel package the metapackage depends on. */
static int resolve_kernel_package(const char *debs_dir, char **name_out)
{
	int rc = apt_download(debs_dir, META_PACKAGE);
	if (rc)
		return rc;
	char *meta = find_entry(debs_dir, META_PACKAGE "_", ".deb", NULL);
	if (!meta)
		return sv_err(SV_ENOTFOUND, "%s: apt-get download left no .deb in %s", META_PACKAGE, debs_dir);
	const char *argv[] = { tool_path("dpkg-deb"), "-f", meta, "Depends", NULL };
	char *depends = NULL;
	rc = run(argv, &depends);
	free(meta);
	if (rc)
		return rc;
	size_t n = strcspn(depends, " ,(|\n");
	if (n == 0 || strncmp(depends, "linux-image-", 12) != 0) {
		rc = sv_err(SV_ENOTFOUND, "%s: unexpected Depends \"%s\"", META_PACKAGE, depends);
		free(depends);
		return rc;
	}
	*name_out = strndup(depends, n);
	free(depends);
	return 0;
}

static int fetch_kernel_deb(const options *o, const char *debs_dir, char **deb_out)
{
	if (o->kernel_deb) {
		*deb_out = realpath(o->kernel_deb, NULL);
		return *deb_out ? 0 : sv_err_errno(SV_ENOTFOUND, errno, "--kernel-deb %s", o->kernel_deb);
	}
	if (!o->refresh) {
		*deb_out = find_entry(debs_dir, "linux-image-", "-cloud-amd64.deb", META_PACKAGE "_");
		if (!*deb_out)
			*deb_out = find_entry(debs_dir, "linux-image-", "_amd64.deb", META_PACKAGE "_");
		if (*deb_out)
			return 0;
	}
	char *name = NULL;
	int rc = resolve_kernel_package(debs_dir, &name);
	if (rc)
		return rc;
	rc = apt_download(debs_dir, name);
	if (rc == 0) {
		char *prefix = xasprintf("%s_", name);
		*deb_out = find_entry(debs_dir, prefix, ".deb", NULL);
		free(prefix);
		if (!*deb_out)
			rc = sv_err(SV_ENOTFOUND, "%s: apt-get download left no .deb in %s", name, debs_dir);
	}
	free(name);
	return rc;
}

/* Unpacks deb under <cache>/kernel/<deb name> (once). */
static int unpack_kernel(const char *cache_dir, const char *deb, char **root_out)
{
	const char *base = strrchr(deb, '/') ? strrchr(deb, '/') + 1 : deb;
	char *root = xasprintf("%s/kernel/%.*s", cache_dir, (int)(strlen(base) - 4), base);
	if (sv_path_exists(root)) {
		*root_out = root;
		return 0;
	}
	char *tmp = xasprintf("%s.tmp", root);
	int rc = sv_rm_rf(tmp);
	if (rc == 0)
		rc = sv_mkdir_p(tmp, 0755);
	if (rc == 0) {
		const char *argv[] = { tool_path("dpkg-deb"), "-x", deb, tmp, NULL };
		rc = run(argv, NULL);
	}
	if (rc == 0 && rename(tmp, root) != 0)
		rc = sv_err_errno(SV_EIO, errno, "rename %s", tmp);
	if (rc) {
		sv_rm_rf(tmp);
		free(root);
		root = NULL;
	}
	free(tmp);
	*root_out = root;
	return rc;
}

/* ---- the initramfs ---- */

typedef struct {
	struct archive *a;
	int rc;
} cpio;

static void cpio_fail(cpio *c, const char *what)
{
	if (c->rc == 0)
		c->rc = sv_err(SV_EARCHIVE, "initramfs: %s: %s", what, archive_error_string(c->a));
}

static struct archive_entry *entry_new(const char *path, mode_t mode)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, mode);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, 0, 0); /* reproducible */
	archive_entry_set_size(e, 0);
	archive_entry_set_nlink(e, (mode & S_IFMT) == S_IFDIR ? 2 : 1);
	return e;
}

static void cpio_put(cpio *c, struct archive_entry *e, const void *data, size_t len)
{
	if (c->rc == 0 && archive_write_header(c->a, e) != ARCHIVE_OK)
		cpio_fail(c, archive_entry_pathname(e));
	if (c->rc == 0 && len && archive_write_data(c->a, data, len) != (la_ssize_t)len)
		cpio_fail(c, archive_entry_pathname(e));
	archive_entry_free(e);
}

static void cpio_dir(cpio *c, const char *path, mode_t perm)
{
	cpio_put(c, entry_new(path, S_IFDIR | perm), NULL, 0);
}

static void cpio_chardev(cpio *c, const char *path, mode_t perm, unsigned maj, unsigned min)
{
	struct archive_entry *e = entry_new(path, S_IFCHR | perm);
	archive_entry_set_rdev(e, makedev(maj, min));
	cpio_put(c, e, NULL, 0);
}

static void cpio_symlink(cpio *c, const char *path, const char *target)
{
	struct archive_entry *e = entry_new(path, S_IFLNK | 0777);
	archive_entry_set_symlink(e, target);
	cpio_put(c, e, NULL, 0);
}

static void cpio_file(cpio *c, const char *path, const char *src, mode_t perm)
{
	if (c->rc)
		return;
	char *data = NULL;
	size_t len = 0;
	int rc = sv_read_file(src, 256u << 20, &data, &len);
	if (rc) {
		c->rc = rc;
		return;
	}
	struct archive_entry *e = entry_new(path, S_IFREG | perm);
	archive_entry_set_size(e, (la_int64_t)len);
	cpio_put(c, e, data, len);
	free(data);
}

/* busybox's applets as paths relative to / ("bin/sh", "usr/bin/awk", ...). */
static int busybox_applets(const char *busybox, char ***applets_out)
{
	const char *argv[] = { busybox, "--list-full", NULL };
	char *out = NULL;
	int rc = run(argv, &out);
	if (rc)
		return rc;
	sv_strv_builder b = { 0 };
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strcmp(line, "bin/busybox") != 0 && strchr(line, '/') && !strstr(line, ".."))
			sv_strv_push(&b, line);
	free(out);
	return sv_strv_finish(&b, applets_out);
}

static const char *const initramfs_dirs[] = {
	"bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "etc", "root",
	"mnt", "newroot", "lib", "lib/modules", "run",
};

static int build_initramfs(const char *out_path, const options *o, char **applets,
			   char *const *module_paths)
{
	cpio c = { .a = archive_write_new() };
	if (!c.a)
		return sv_err(SV_ENOMEM, "out of memory");
	if (archive_write_set_format_cpio_newc(c.a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(c.a) != ARCHIVE_OK ||
	    archive_write_open_filename(c.a, out_path) != ARCHIVE_OK)
		cpio_fail(&c, out_path);
	for (size_t i = 0; i < sizeof(initramfs_dirs) / sizeof(*initramfs_dirs); i++)
		cpio_dir(&c, initramfs_dirs[i], 0755);
	cpio_dir(&c, "tmp", 01777);
	/* The kernel opens /dev/console for init before devtmpfs is mounted. */
	cpio_chardev(&c, "dev/console", 0600, 5, 1);
	cpio_chardev(&c, "dev/null", 0666, 1, 3);
	cpio_file(&c, "init", o->init_path, 0755);
	cpio_file(&c, "sbin/smartvm-agent", o->agent_path, 0755);
	cpio_file(&c, "bin/busybox", o->busybox_path, 0755);
	for (size_t i = 0; applets[i]; i++)
		cpio_symlink(&c, applets[i], "/bin/busybox");
	for (size_t i = 0; i < N_MODULES; i++) {
		char *dst = xasprintf("lib/modules/%s.ko", modules[i]);
		cpio_file(&c, dst, module_paths[i], 0644);
		free(dst);
	}
	if (archive_write_close(c.a) != ARCHIVE_OK)
		cpio_fail(&c, out_path);
	archive_write_free(c.a);
	return c.rc;
}

/* ---- the root filesystem ---- */

static int write_text(const char *dir, const char *name, const char *text)
{
	char *p = sv_path_join(dir, name);
	int rc = sv_write_file_atomic(p, text, strlen(text), 0644);
	free(p);
	return rc;
}

static int populate_rootfs_tree(const char *tree, const options *o, char **applets)
{
	int rc = sv_rm_rf(tree);
	const char *dirs[] = { "bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "etc", "root",
			       "mnt", "run", "var", "tmp", "data" };
	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(*dirs); i++) {
		char *p = sv_path_join(tree, dirs[i]);
		rc = sv_mkdir_p(p, 0755);
		free(p);
	}
	char *tmp = sv_path_join(tree, "tmp");
	if (rc == 0 && chmod(tmp, 01777) != 0)
		rc = sv_err_errno(SV_EIO, errno, "chmod %s", tmp);
	free(tmp);
	char *bb = sv_path_join(tree, "bin/busybox");
	if (rc == 0)
		rc = sv_copy_sparse(o->busybox_path, bb);
	free(bb);
	for (size_t i = 0; rc == 0 && applets[i]; i++) {
		char *p = sv_path_join(tree, applets[i]);
		if (symlink("/bin/busybox", p) != 0 && errno != EEXIST)
			rc = sv_err_errno(SV_EIO, errno, "symlink %s", p);
		free(p);
	}
	if (rc == 0)
		rc = write_text(tree, "etc/hostname", "smartvm\n");
	if (rc == 0)
		rc = write_text(tree, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
	if (rc == 0)
		rc = write_text(tree, "etc/group", "root:x:0:\n");
	return rc;
}

static int build_rootfs(const char *image, const char *tree)
{
	int fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "creating %s", image);
	int rc = ftruncate(fd, ROOTFS_BYTES) == 0 ? 0 : sv_err_errno(SV_EIO, errno, "ftruncate %s", image);
	close(fd);
	if (rc)
		return rc;
	const char *argv[] = { tool_path("mkfs.ext4"), "-q", "-F", "-L", "smartvm-root", "-E",
			       "root_owner=0:0", "-d", tree, image, NULL };
	return run(argv, NULL);
}

/* ---- the manifest ---- */

static json_t *artifact(const char *path, const char *file_name)
{
	char hex[65];
	long long size = 0;
	if (sha256_file(path, hex, &size))
		return NULL;
	return json_pack("{s:s,s:s,s:s,s:I}", "path", path, "fileName", file_name, "sha256", hex,
			 "sizeBytes", (json_int_t)size);
}

static int write_manifest(const char *tmp_dir, const char *final_dir, const char *kernel_version)
{
	char *paths[3], *finals[3];
	const char *names[3] = { "vmlinuz", "initrd.img", "rootfs.ext4" };
	json_t *arts[3];
	for (int i = 0; i < 3; i++) {
		paths[i] = sv_path_join(tmp_dir, names[i]);
		finals[i] = sv_path_join(final_dir, names[i]);
		arts[i] = artifact(paths[i], names[i]);
		/* The manifest names where the files will be after the rename. */
		if (arts[i])
			json_object_set_new(arts[i], "path", json_string(finals[i]));
	}
	int rc = 0;
	json_t *m = NULL;
	if (arts[0] && arts[1] && arts[2]) {
		char *name = xasprintf("smartvm minimal (Debian cloud kernel %s, busybox)", kernel_version);
		m = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:O,s:O,s:O}", "schemaVersion", 1, "bundleId",
			      "minimal", "name", name, "arch", "x86_64", "firecrackerVersion", MANIFEST_FC_VERSION,
			      "rootfsType", "ext4", "rootfsIsReadOnly", 1, "bootArgs", BOOT_ARGS, "kernel",
			      arts[0], "initrd", arts[1], "rootfs", arts[2]);
		free(name);
	}
	char *text = m ? json_dumps(m, JSON_INDENT(2)) : NULL;
	if (!text)
		rc = sv_last_error_code() ? sv_last_error_code() : sv_err(SV_ENOMEM, "manifest: out of memory");
	else {
		char *mp = sv_path_join(tmp_dir, "manifest.json");
		rc = sv_write_file_atomic(mp, text, strlen(text), 0644);
		free(mp);
	}
	free(text);
	json_decref(m);
	for (int i = 0; i < 3; i++) {
		json_decref(arts[i]);
		free(paths[i]);
		free(finals[i]);
	}
	return rc;
}

/* ---- putting it together ---- */

static int input_stamp(const options *o, const char *deb, char **out)
{
	char init_hex[65], bb_hex[65], agent_hex[65];
	int rc = sha256_file(o->init_path, init_hex, NULL);
	if (rc == 0)
		rc = sha256_file(o->busybox_path, bb_hex, NULL);
	if (rc == 0)
		rc = sha256_file(o->agent_path, agent_hex, NULL);
	if (rc)
		return rc;
	const char *base = strrchr(deb, '/') ? strrchr(deb, '/') + 1 : deb;
	*out = xasprintf("format=%s\nkernel=%s\ninit=%s\nbusybox=%s\nagent=%s\n", BUNDLE_FORMAT, base, init_hex,
			 bb_hex, agent_hex);
	return 0;
}

static int build_bundle(const options *o, const char *kernel_root, const char *stamp, const char *bundle)
{
	char *boot = sv_path_join(kernel_root, "boot");
	char *vmlinuz = find_entry(boot, "vmlinuz-", "", NULL);
	free(boot);
	if (!vmlinuz)
		return sv_err(SV_ENOTFOUND, "no boot/vmlinuz-* in %s", kernel_root);
	const char *kernel_version = strrchr(vmlinuz, '/') + 1 + strlen("vmlinuz-");
	char *modules_root = xasprintf("%s/lib/modules/%s", kernel_root, kernel_version);
	char *module_paths[N_MODULES] = { 0 };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < N_MODULES; i++) {
		char *file = xasprintf("%s.ko", modules[i]);
		module_paths[i] = find_file(modules_root, file);
		if (!module_paths[i])
			rc = sv_err(SV_ENOTFOUND, "module %s not found under %s", file, modules_root);
		free(file);
	}
	char **applets = NULL;
	if (rc == 0)
		rc = busybox_applets(o->busybox_path, &applets);

	char *tmp = xasprintf("%s.tmp", bundle);
	char *tree = xasprintf("%s/rootfs-tree", o->cache_dir);
	char *kernel_dst = sv_path_join(tmp, "vmlinuz");
	char *initrd = sv_path_join(tmp, "initrd.img");
	char *rootfs = sv_path_join(tmp, "rootfs.ext4");
	if (rc == 0)
		rc = sv_rm_rf(tmp);
	if (rc == 0)
		rc = sv_mkdir_p(tmp, 0755);
	if (rc == 0)
		rc = sv_copy_sparse(vmlinuz, kernel_dst);
	if (rc == 0)
		rc = build_initramfs(initrd, o, applets, module_paths);
	if (rc == 0)
		rc = populate_rootfs_tree(tree, o, applets);
	if (rc == 0)
		rc = build_rootfs(rootfs, tree);
	if (rc == 0)
		rc = write_manifest(tmp, bundle, kernel_version);
	if (rc == 0)
		rc = write_text(tmp, "inputs.txt", stamp);
	if (rc == 0)
		rc = sv_rm_rf(bundle);
	if (rc == 0 && rename(tmp, bundle) != 0)
		rc = sv_err_errno(SV_EIO, errno, "rename %s to %s", tmp, bundle);
	if (rc)
		sv_rm_rf(tmp);
	sv_rm_rf(tree);
	free(tmp);
	free(tree);
	free(kernel_dst);
	free(initrd);
	free(rootfs);
	sv_strv_free(applets);
	for (size_t i = 0; i < N_MODULES; i++)
		free(module_paths[i]);
	free(modules_root);
	free(vmlinuz);
	return rc;
}

static bool bundle_is_current(const char *bundle, const char *stamp)
{
	char *inputs = sv_path_join(bundle, "inputs.txt");
	char *manifest = sv_path_join(bundle, "manifest.json");
	char *text = NULL;
	size_t len = 0;
	bool current = sv_path_exists(manifest) && sv_read_file(inputs, 1 << 16, &text, &len) == 0 &&
		       strcmp(text, stamp) == 0;
	free(text);
	free(inputs);
	free(manifest);
	sv_err_clear();
	return current;
}

static int build(const options *o)
{
	char *debs = sv_path_join(o->cache_dir, "debs");
	char *bundle = sv_path_join(o->cache_dir, "bundle");
	char *lock_path = sv_path_join(o->cache_dir, ".lock");
	char *deb = NULL, *kernel_root = NULL, *stamp = NULL;
	int lock_fd = -1;
	int rc = sv_mkdir_p(debs, 0755);
	if (rc == 0)
		rc = sv_lock_file(lock_path, TOOL_TIMEOUT_MS, &lock_fd);
	if (rc == 0)
		rc = fetch_kernel_deb(o, debs, &deb);
	if (rc == 0)
		rc = input_stamp(o, deb, &stamp);
	if (rc == 0 && !bundle_is_current(bundle, stamp)) {
		rc = unpack_kernel(o->cache_dir, deb, &kernel_root);
		if (rc == 0)
			rc = build_bundle(o, kernel_root, stamp, bundle);
	}
	if (rc == 0)
		printf("%s/manifest.json\n", bundle);
	if (lock_fd >= 0)
		close(lock_fd);
	free(debs);
	free(bundle);
	free(lock_path);
	free(deb);
	free(kernel_root);
	free(stamp);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: smartvm-build-minimal-image --init PATH [--agent PATH] [--cache-dir DIR]\n"
		   "                                   [--busybox PATH] [--kernel-deb PATH] [--refresh]\n"
		   "Builds the minimal guest bundle and prints its manifest's path.\n");
}

int main(int argc, char **argv)
{
	options o = { .busybox_path = "/bin/busybox" };
	static const struct option longopts[] = {
		{ "init", required_argument, NULL, 'i' },      { "cache-dir", required_argument, NULL, 'c' },
		{ "agent", required_argument, NULL, 'a' },
		{ "busybox", required_argument, NULL, 'b' },   { "kernel-deb", required_argument, NULL, 'k' },
		{ "refresh", no_argument, NULL, 'r' },         { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': o.init_path = optarg; break;
		case 'a': o.agent_path = optarg; break;
		case 'c': o.cache_dir = optarg; break;
		case 'b': o.busybox_path = optarg; break;
		case 'k': o.kernel_deb = optarg; break;
		case 'r': o.refresh = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.init_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	char *default_cache = NULL;
	if (!o.cache_dir) {
		char *data = sv_state_dir(SV_STATE_DATA, NULL);
		default_cache = xasprintf("%s/minimal-image", data ? data : ".");
		free(data);
		o.cache_dir = default_cache;
	}
	/* Absolute paths: the manifest records them and apt-get runs elsewhere. */
	char *cache_abs = NULL, *init_abs = realpath(o.init_path, NULL), *bb_abs = realpath(o.busybox_path, NULL);
	char *agent_abs = NULL, *beside = NULL;
	if (!o.agent_path && init_abs) {
		beside = xasprintf("%.*s/smartvm-agent", (int)(strrchr(init_abs, '/') - init_abs), init_abs);
		o.agent_path = beside;
	}
	if (o.agent_path)
		agent_abs = realpath(o.agent_path, NULL);
	int rc = sv_mkdir_p(o.cache_dir, 0755);
	if (rc == 0 && !(cache_abs = realpath(o.cache_dir, NULL)))
		rc = sv_err_errno(SV_EIO, errno, "--cache-dir %s", o.cache_dir);
	if (rc == 0 && !init_abs)
		rc = sv_err_errno(SV_ENOTFOUND, errno, "--init %s", o.init_path);
	if (rc == 0 && !bb_abs)
		rc = sv_err_errno(SV_ENOTFOUND, errno, "--busybox %s", o.busybox_path);
	if (rc == 0 && !agent_abs)
		rc = sv_err_errno(SV_ENOTFOUND, errno, "--agent %s%s", o.agent_path,
				  beside ? " (smartvm-agent next to --init; give --agent PATH)" : "");
	if (rc == 0) {
		o.cache_dir = cache_abs;
		o.init_path = init_abs;
		o.busybox_path = bb_abs;
		o.agent_path = agent_abs;
		rc = build(&o);
	}
	if (rc)
		fprintf(stderr, "smartvm-build-minimal-image: %s\n", sv_last_error());
	free(cache_abs);
	free(init_abs);
	free(bb_abs);
	free(agent_abs);
	free(beside);
	free(default_cache);
	return rc ? 1 : 0;
}
