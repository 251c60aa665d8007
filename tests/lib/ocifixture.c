/* OCI runtime fixtures (see ocifixture.h). */
#include "svtest.h"
#include "ocifixture.h"
#include "realvm_fixture.h"

#include "util/spawn.h"
#include <smartvm/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSYBOX "/bin/busybox"

static const char *const applets[] = {"sh", "echo", "cat", "sleep", "true", "ls", "id", "pwd", "tty", NULL};

const char *svo_program(void)
{
	const char *p = getenv("SMARTVM_OCI");
	if (!p || !*p)
		fail_msg("SMARTVM_OCI is not set (run the tests through meson)");
	return p;
}

static char *join(const char *a, const char *b)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

void svo_env_init(svo_env *e)
{
	e->dir = svt_tmpdir();
	e->root = join(e->dir, "root");
	e->data = join(e->dir, "data");
	e->bundle = join(e->dir, "bundle");
	e->rootfs = join(e->bundle, "rootfs");
	e->bundle_config = join(e->bundle, "config.json");
	assert_int_equal(mkdir(e->data, 0700), 0);
	assert_int_equal(mkdir(e->bundle, 0755), 0);
	assert_int_equal(mkdir(e->rootfs, 0755), 0);
	char *bin = join(e->rootfs, "bin"), *etc = join(e->rootfs, "etc");
	assert_int_equal(mkdir(bin, 0755), 0);
	assert_int_equal(mkdir(etc, 0755), 0);
	char *bb = join(bin, "busybox");
	int code = -1;
	const char *cp[] = {"cp", BUSYBOX, bb, NULL};
	assert_int_equal(sv_run(cp, NULL, 30000, &code, NULL, NULL), 0);
	assert_int_equal(code, 0);
	for (size_t i = 0; applets[i]; i++) {
		char *link = join(bin, applets[i]);
		assert_int_equal(symlink("busybox", link), 0);
		free(link);
	}
	free(svt_write(etc, "passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n"));
	free(bb);
	free(bin);
	free(etc);
}

void svo_need_image(svo_env *e) { svr_cli_image(e->data); }

void svo_write_config(svo_env *e, const char *args_json, const char *extra)
{
	char *text = NULL;
	assert_true(
	    asprintf(&text,
		     "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		     "\"process\":{\"args\":%s,\"env\":[\"PATH=/bin\",\"GREETING=hello\"],\"cwd\":\"/\","
		     "\"user\":{\"uid\":0,\"gid\":0}}%s}",
		     args_json, extra ? extra : "") > 0);
	free(svt_write(e->bundle, "config.json", text));
	free(text);
}

int svo_run(svo_env *e, const char *const *args, char **out, char **err)
{
	const char *argv[40] = {"--root", e->root, "--data-dir", e->data, "--vmm", "qemu", "--accel", "tcg"};
	size_t n = 8;
	for (size_t i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	*out = *err = NULL;
	int code = svt_run_program(svo_program(), argv, NULL, out, err);
	if (!*out)
		*out = strdup("");
	if (!*err)
		*err = strdup("");
	return code;
}

void svo_env_done(svo_env *e)
{
	assert_int_equal(svt_dir_entries(e->root), 0);
	svt_assert_no_processes_with(e->dir);
	svt_rm_tmpdir(e->dir);
	free(e->root);
	free(e->data);
	free(e->bundle);
	free(e->rootfs);
	free(e->bundle_config);
	*e = (svo_env){0};
}
