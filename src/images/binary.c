/* The Firecracker binary manager: <data_dir>/bin/<tag>/{firecracker,jailer}.
 *
 * Invariants: <data_dir>/bin/<tag> appears only by rename of a complete,
 * verified, fsynced directory, so its presence means "installed"; a cache hit
 * touches no network; at most one process downloads a given tag (flock on
 * <data_dir>/bin/.<tag>.lock), and the others find it installed when they get
 * the lock. Scratch space is <data_dir>/bin/.partial-<tag>-XXXXXX, removed on
 * every path (and stale ones under the lock). Never extracts anything but the
 * two binaries. */
#include <smartvm/images.h>

#include "images/archive_extract.h"
#include "images/download.h"
#include "images/images_defaults.h"
#include "images/release.h"
#include "images/verify.h"
#include "util/error.h"
#include "util/options_version.h"
#include "util/file.h"
#include "util/log.h"
#include "util/trusted_dir.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_TIMEOUT_MS (30 * 60 * 1000)
#define MAX_BINARY_BYTES (256ULL << 20)
#define MAX_SHA_FILE_BYTES 4096
/* A release archive holds a few binaries and their debug files: far less. */
#define MAX_ARCHIVE_BYTES (1ULL << 30)

const char *sv_arch_name(sv_arch a) { return a == SV_ARCH_AARCH64 ? "aarch64" : "x86_64"; }

int sv_arch_parse(sv_arch *out, const char *s)
{
	if (s && !strcmp(s, "x86_64"))
		*out = SV_ARCH_X86_64;
	else if (s && !strcmp(s, "aarch64"))
		*out = SV_ARCH_AARCH64;
	else
		return sv_err(SV_EINVAL, "arch: \"%s\" is not x86_64 or aarch64", s ? s : "");
	return 0;
}

static bool is_executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* <data_dir>/bin/<tag>/firecracker if it and the jailer are installed. */
static char *installed_binary(const char *bin_dir, const char *tag)
{
	char *fc = NULL, *jailer = NULL;
	if (asprintf(&fc, "%s/%s/firecracker", bin_dir, tag) < 0)
		return NULL;
	if (asprintf(&jailer, "%s/%s/jailer", bin_dir, tag) < 0) {
		free(fc);
		return NULL;
	}
	bool ok = is_executable_file(fc) && is_executable_file(jailer);
	free(jailer);
	if (!ok) {
		free(fc);
		return NULL;
	}
	return fc;
}

static int newest_cached_tag(const char *bin_dir, char **tag_out)
{
	DIR *d = opendir(bin_dir);
	if (!d)
		return sv_err(SV_ENOTFOUND, "no Firecracker binary cached in %s", bin_dir);
	char *best = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!sv_release_tag_valid(de->d_name))
			continue;
		if (best && sv_release_tag_cmp(de->d_name, best) <= 0)
			continue;
		char *path = installed_binary(bin_dir, de->d_name);
		if (!path)
			continue;
		free(path);
		free(best);
		best = strdup(de->d_name);
	}
	closedir(d);
	if (!best)
		return sv_err(SV_ENOTFOUND, "no Firecracker binary cached in %s", bin_dir);
	*tag_out = best;
	return 0;
}

/* A binary found there runs as root: the directory must be ours (or absent:
 * nothing cached yet). */
static int check_bin_dir(const char *bin_dir)
{
	int rc = sv_trusted_dir_existing("data_dir", bin_dir, NULL);
	if (rc == SV_ENOTFOUND) {
		sv_err_clear();
		return 0;
	}
	return rc;
}

int sv_firecracker_binary_cached(char **path_out, const char *data_dir, const char *version,
				 sv_arch arch)
{
	(void)arch;
	sv_err_clear();
	*path_out = NULL;
	char *dd = sv_images_data_dir(data_dir);
	char *bin_dir = dd ? sv_path_join(dd, "bin") : NULL;
	char *tag = NULL;
	int rc = 0;
	if (!bin_dir)
		rc = sv_err(SV_ENOMEM, "out of memory");
	else if ((rc = check_bin_dir(bin_dir)))
		;
	else if (!version || !*version || !strcmp(version, "latest"))
		rc = newest_cached_tag(bin_dir, &tag);
	else if (!sv_release_tag_valid(version))
		rc = sv_err(SV_EINVAL, "firecracker_version: \"%s\" is not \"latest\" or vMAJOR.MINOR.PATCH",
			    version);
	else
		tag = strdup(version);
	if (!rc) {
		*path_out = installed_binary(bin_dir, tag);
		if (!*path_out)
			rc = sv_err(SV_ENOTFOUND, "Firecracker %s is not cached in %s", tag, bin_dir);
	}
	free(tag);
	free(bin_dir);
	free(dd);
	return rc;
}

/* The .sha256.txt holds "<hex>  <file name>". */
static int parse_sha_file(const char *text, const char *url, const char *asset, char out[65])
{
	const char *p = text;
	while (isspace((unsigned char)*p))
		p++;
	size_t hex_len = strcspn(p, " \t\r\n");
	if (hex_len != 64) {
		return sv_err(SV_ECHECKSUM, "%s: does not start with a SHA-256 digest", url);
	}
	memcpy(out, p, 64);
	out[64] = '\0';
	if (!sv_sha256_is_hex(out))
		return sv_err(SV_ECHECKSUM, "%s: does not start with a SHA-256 digest", url);
	p += 64;
	while (*p == ' ' || *p == '\t' || *p == '*')
		p++;
	size_t name_len = strcspn(p, " \t\r\n");
	if (name_len && (name_len != strlen(asset) || strncmp(p, asset, name_len) != 0))
		return sv_err(SV_ECHECKSUM, "%s: names \"%.*s\", not %s", url, (int)name_len, p, asset);
	return 0;
}

static void remove_stale_partials(const char *bin_dir, const char *tag)
{
	DIR *d = opendir(bin_dir);
	if (!d)
		return;
	char prefix[128];
	snprintf(prefix, sizeof(prefix), ".partial-%s-", tag);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		char *path = sv_path_join(bin_dir, de->d_name);
		if (path)
			sv_rm_rf(path);
		free(path);
	}
	closedir(d);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sv_err_errno(SV_EIO, errno, "opening %s", path);
	int rc = fsync(fd) == 0 ? 0 : sv_err_errno(SV_EIO, errno, "syncing %s", path);
	close(fd);
	return rc;
}

/* Downloads, verifies and installs one release into bin_dir/<tag>; the
 * caller holds the tag's lock. */
static int install_release(const sv_dl_config *c, const char *releases_url, const char *bin_dir,
			   const char *tag, const char *arch)
{
	char *tmp = NULL, *asset = NULL, *url = NULL, *sha_url = NULL, *sha_text = NULL;
	char *archive = NULL, *install = NULL, *fc = NULL, *jailer = NULL, *entry_fc = NULL;
	char *entry_jailer = NULL, *final = NULL;
	int rc = 0;
	if (asprintf(&tmp, "%s/.partial-%s-XXXXXX", bin_dir, tag) < 0 ||
	    asprintf(&asset, "firecracker-%s-%s.tgz", tag, arch) < 0 ||
	    asprintf(&url, "%s/download/%s/%s", releases_url, tag, asset) < 0 ||
	    asprintf(&sha_url, "%s.sha256.txt", url) < 0 ||
	    asprintf(&entry_fc, "release-%s-%s/firecracker-%s-%s", tag, arch, tag, arch) < 0 ||
	    asprintf(&entry_jailer, "release-%s-%s/jailer-%s-%s", tag, arch, tag, arch) < 0 ||
	    asprintf(&final, "%s/%s", bin_dir, tag) < 0) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if (!mkdtemp(tmp)) {
		rc = sv_err_errno(SV_EIO, errno, "creating %s", tmp);
		free(tmp);
		tmp = NULL;
		goto out;
	}
	archive = sv_path_join(tmp, asset);
	install = sv_path_join(tmp, "install");
	fc = install ? sv_path_join(install, "firecracker") : NULL;
	jailer = install ? sv_path_join(install, "jailer") : NULL;
	if (!archive || !install || !fc || !jailer) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	rc = sv_download_memory(c, sha_url, MAX_SHA_FILE_BYTES, &sha_text, NULL);
	if (rc)
		goto out;
	char expected[65];
	rc = parse_sha_file(sha_text, sha_url, asset, expected);
	if (rc)
		goto out;
	/* No size is published: the archive gets the smaller of max_bytes and
	 * MAX_ARCHIVE_BYTES, and the transfer the usual deadline. */
	sv_dl_config capped = *c;
	if (capped.max_bytes > MAX_ARCHIVE_BYTES)
		capped.max_bytes = MAX_ARCHIVE_BYTES;
	rc = sv_download_file(&capped, url, archive, expected, -1, NULL, NULL);
	if (rc)
		goto out;
	if (mkdir(install, 0755) != 0) {
		rc = sv_err_errno(SV_EIO, errno, "creating %s", install);
		goto out;
	}
	const sv_extract_item items[] = {
	    {.entry = entry_fc, .dest = fc, .mode = 0755},
	    {.entry = entry_jailer, .dest = jailer, .mode = 0755},
	};
	rc = sv_extract_entries(archive, items, 2, MAX_BINARY_BYTES);
	if (rc)
		goto out;
	if ((rc = fsync_dir(install)))
		goto out;
	if (rename(install, final) != 0) {
		/* Something not ours (an incomplete directory) is in the way: keep it
		 * in the scratch directory, which is removed below. */
		char *aside = sv_path_join(tmp, "previous");
		if (!aside || rename(final, aside) != 0 || rename(install, final) != 0)
			rc = sv_err_errno(SV_EIO, errno, "installing %s", final);
		free(aside);
		if (rc)
			goto out;
	}
	rc = fsync_dir(bin_dir);
out:
	if (tmp) {
		sv_err_saved saved;
		sv_err_save(&saved);
		sv_rm_rf(tmp);
		sv_err_restore(&saved);
	}
	free(tmp);
	free(asset);
	free(url);
	free(sha_url);
	free(sha_text);
	free(archive);
	free(install);
	free(fc);
	free(jailer);
	free(entry_fc);
	free(entry_jailer);
	free(final);
	return rc;
}

static int check_given_binary(const char *path)
{
	if (!is_executable_file(path))
		return sv_err(SV_ENOTFOUND, "firecracker_binary_path: %s is not an executable file", path);
	return 0;
}

SV_DEFINE_OPTIONS_INIT(sv_binary_options, SV_BINARY_OPTIONS)
SV_DEFINE_OPTIONS_INIT(sv_download_options, SV_DOWNLOAD_OPTIONS)

int sv_ensure_binary(char **path_out, const sv_binary_options *o)
{
	sv_err_clear();
	*path_out = NULL;
	int vrc = SV_CHECK_OPTIONS(o, sv_binary_options, SV_BINARY_OPTIONS);
	if (!vrc && o)
		vrc = SV_CHECK_OPTIONS(o->download, sv_download_options, SV_DOWNLOAD_OPTIONS);
	if (vrc)
		return vrc;
	sv_binary_options none = SV_BINARY_OPTIONS_INIT;
	if (!o)
		o = &none;
	if (o->binary_path && *o->binary_path) {
		int rc = check_given_binary(o->binary_path);
		if (rc)
			return rc;
		*path_out = strdup(o->binary_path);
		return *path_out ? 0 : sv_err(SV_ENOMEM, "out of memory");
	}
	if (o->arch != SV_ARCH_X86_64 && o->arch != SV_ARCH_AARCH64)
		return sv_err(SV_EINVAL, "arch: unknown architecture %d", (int)o->arch);
	const char *arch = sv_arch_name(o->arch);
	sv_dl_config c;
	sv_dl_config_resolve(&c, o->download);
	char *data_dir = sv_images_data_dir(o->data_dir);
	char *releases = sv_images_releases_url(o->releases_url);
	char *bin_dir = data_dir ? sv_path_join(data_dir, "bin") : NULL;
	char *tag = NULL, *lock_path = NULL;
	int lock_fd = -1;
	int rc = 0;
	if (!data_dir || !releases || !bin_dir) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	/* A binary found there runs as root: the directory must be ours. */
	if ((rc = sv_trusted_dir("data_dir", bin_dir, 0755, NULL)))
		goto out;
	rc = sv_release_resolve(&tag, &c, releases, o->firecracker_version);
	if (rc == SV_EDOWNLOAD) {
		/* Offline with "latest": the newest installed release still boots. */
		sv_err_saved saved;
		sv_err_save(&saved);
		if (newest_cached_tag(bin_dir, &tag) == 0) {
			sv_warn("%s; using the newest cached Firecracker, %s", saved.message, tag);
			free(saved.message);
			sv_err_clear();
			rc = 0;
		} else {
			rc = sv_err_restore(&saved);
		}
	}
	if (rc)
		goto out;
	if ((*path_out = installed_binary(bin_dir, tag)))
		goto out;

	if (asprintf(&lock_path, "%s/.%s.lock", bin_dir, tag) < 0) {
		lock_path = NULL;
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = sv_lock_file(lock_path, LOCK_TIMEOUT_MS, &lock_fd)))
		goto out;
	/* Another process may have installed it while we waited. */
	if ((*path_out = installed_binary(bin_dir, tag)))
		goto out;
	remove_stale_partials(bin_dir, tag);
	rc = install_release(&c, releases, bin_dir, tag, arch);
	if (!rc && !(*path_out = installed_binary(bin_dir, tag)))
		rc = sv_err(SV_EIO, "Firecracker %s: installed but not found in %s", tag, bin_dir);
out:
	if (rc)
		sv_err_prefix("ensuring the Firecracker binary (%s, %s)",
			      tag ? tag
				  : (o->firecracker_version && *o->firecracker_version
					 ? o->firecracker_version
					 : "latest"),
			      arch);
	if (lock_fd >= 0)
		close(lock_fd);
	free(lock_path);
	free(tag);
	free(bin_dir);
	free(releases);
	free(data_dir);
	return rc;
}
