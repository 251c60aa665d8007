/* Building and importing the minimal guest image (smartvm/minimal_image.h).
 * The build itself belongs to tools/build_minimal_image.c, a separate
 * program: it needs apt-get, dpkg-deb and mkfs.ext4 and runs for a while,
 * and it is also used on its own (tests, CI). This file finds it and the
 * guest init like vm_launch.c finds the supervisor, runs it by argument
 * vector (its stdout the manifest path, its stderr the error when it
 * fails), and imports the manifest. Never runs a shell; never installs anything. */
#include "images/images_defaults.h"
#include "sv_build_config.h"
#include "util/error.h"
#include "util/options_version.h"
#include "util/log.h"
#include "util/file.h"
#include "util/trusted_dir.h"
#include "util/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sys/wait.h>
#include <limits.h>
#include <smartvm/minimal_image.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS (15 * 60 * 1000)

/* <program dir>/<name>, <program dir>/<build_subdir>/<name>, else
 * libexecdir/smartvm/<name> (which may not exist; the caller says so). */
static char *helper_path(const char *name, const char *build_subdir)
{
	char exe[PATH_MAX], *path = NULL;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		const char *dir = dirname(exe);
		if (asprintf(&path, "%s/%s", dir, name) > 0 && access(path, X_OK) == 0)
			return path;
		free(path);
		if (asprintf(&path, "%s/%s/%s", dir, build_subdir, name) > 0 && access(path, X_OK) == 0)
			return path;
		free(path);
	}
	if (asprintf(&path, "%s/smartvm/%s", SV_LIBEXECDIR, name) < 0)
		return NULL;
	return path;
}

/* The most of the builder's stderr quoted in an error: its own message is
 * the last line, and a runaway one must not make the error unbounded. */
#define MAX_QUOTED_STDERR 2000

/* Runs the builder, its stdout and stderr captured: *manifest gets the first
 * line it printed; its stderr becomes the error when it fails, info-level
 * log lines when it succeeds (the library never writes to our stderr). */
static int run_builder(const char *tool, const char *init, const char *cache_dir, int timeout_ms,
		       char **manifest)
{
	*manifest = NULL;
	const char *argv[] = {tool, "--init", init, "--cache-dir", cache_dir, NULL};
	int code = 0;
	char *out = NULL, *err = NULL;
	int rc = sv_run(argv, NULL, timeout_ms, &code, &out, &err);
	if (rc)
		return rc;
	size_t n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
	const char *quoted = n > MAX_QUOTED_STDERR ? err + n - MAX_QUOTED_STDERR : err;
	if (code < 0)
		rc = sv_err(SV_EPROCESS, "%s was killed by a signal%s%s", tool, *quoted ? ": " : "", quoted);
	else if (code > 0)
		rc = sv_err(SV_EPROCESS, "%s exited with status %d%s%s", tool, code, *quoted ? ": " : "", quoted);
	else {
		for (char *line = err, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			sv_info("%s: %s", tool, line);
		}
		out[strcspn(out, "\n")] = '\0';
		if (!*out)
			rc = sv_err(SV_EPROCESS, "%s printed no manifest path", tool);
		else if (!(*manifest = strdup(out)))
			rc = sv_err(SV_ENOMEM, "out of memory");
	}
	free(out);
	free(err);
	return rc;
}

SV_DEFINE_OPTIONS_INIT(sv_minimal_image_options, SV_MINIMAL_IMAGE_OPTIONS)

int sv_minimal_image_build(sv_base_image_bundle **out, const sv_minimal_image_options *o,
			   const sv_base_image_options *cache)
{
	sv_err_clear();
	*out = NULL;
	int vrc = SV_CHECK_OPTIONS(o, sv_minimal_image_options, SV_MINIMAL_IMAGE_OPTIONS);
	if (!vrc)
		vrc = SV_CHECK_OPTIONS(cache, sv_base_image_options, SV_BASE_IMAGE_OPTIONS);
	if (!vrc && cache)
		vrc = SV_CHECK_OPTIONS(cache->download, sv_download_options, SV_DOWNLOAD_OPTIONS);
	if (vrc)
		return vrc;
	static const sv_minimal_image_options no_options;
	static const sv_base_image_options no_cache;
	if (!o)
		o = &no_options;
	if (!cache)
		cache = &no_cache;
	char *tool =
	    o->builder_path ? strdup(o->builder_path) : helper_path("smartvm-build-minimal-image", "tools");
	char *init = o->init_path ? strdup(o->init_path) : helper_path("smartvm-init", "guest");
	char *data_dir = sv_images_data_dir(cache->data_dir);
	char *cache_dir = o->cache_dir ? strdup(o->cache_dir)
			  : data_dir   ? sv_path_join(data_dir, "minimal-image")
				       : NULL;
	char *manifest = NULL;
	int rc = 0;
	if (!tool || !init || !cache_dir) {
		rc = sv_err(SV_ENOMEM, "out of memory");
		goto out;
	}
	if (access(tool, X_OK) != 0) {
		rc = sv_err(SV_ENOTFOUND, "the image builder %s is not installed", tool);
		goto out;
	}
	if (access(init, R_OK) != 0) {
		rc = sv_err(SV_ENOTFOUND, "the guest init %s is not installed", init);
		goto out;
	}
	if ((rc = sv_trusted_dir("data_dir", cache_dir, 0755, NULL)) ||
	    (rc = run_builder(tool, init, cache_dir, o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS,
			      &manifest)))
		goto out;
	sv_ensure_base_image_opts e = {.version = SV_ENSURE_BASE_IMAGE_OPTS_VERSION,
				       .preset = SV_BASE_IMAGE_PRESET_HOSTED,
				       .manifest_path = manifest};
	rc = sv_ensure_base_image(out, cache, &e);
out:
	free(tool);
	free(init);
	free(data_dir);
	free(cache_dir);
	free(manifest);
	return rc ? sv_err_prefix("building the minimal image") : 0;
}
