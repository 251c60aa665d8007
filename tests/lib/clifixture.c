/* The CLI tests' fixture; see clifixture.h. */
#include "clifixture.h"

#include "svtest.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

svt_cli_fixture *svt_cli_fixture_new(void)
{
	svt_cli_fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->tmp = svt_tmpdir();
	snprintf(fx->data_dir, sizeof(fx->data_dir), "%s/data", fx->tmp);
	snprintf(fx->runtime_dir, sizeof(fx->runtime_dir), "%s/rt", fx->tmp);
	fx->kernel = svt_write(fx->tmp, "vmlinux", "not really a kernel\n");
	fx->rootfs = svt_write(fx->tmp, "rootfs.ext4", "not really a filesystem\n");
	return fx;
}

char *svt_cli_fixture_free(svt_cli_fixture *fx)
{
	char *tmp = fx->tmp;
	free(fx->out);
	free(fx->err);
	free(fx->kernel);
	free(fx->rootfs);
	free(fx);
	return tmp;
}

int svt_cli_env(svt_cli_fixture *fx, const char *const *env, ...)
{
	va_list ap;
	va_start(ap, env);
	int code = svt_run_cli_dirs_v(fx->data_dir, fx->runtime_dir, env, &fx->out, &fx->err, ap);
	va_end(ap);
	return code;
}

json_t *svt_cli_json(svt_cli_fixture *fx)
{
	json_error_t jerr;
	json_t *v = json_loads(fx->out, 0, &jerr);
	if (!v)
		fail_msg("not JSON (%s):\n%s", jerr.text, fx->out);
	return v;
}
