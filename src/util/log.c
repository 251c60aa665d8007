/* stderr diagnostics with a level chosen once from SMARTVM_LOG. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sv_log_severity threshold(void)
{
	static int cached = -1;
	if (cached >= 0)
		return (sv_log_severity)cached;
	const char *env = getenv("SMARTVM_LOG");
	int level = SV_LOG_WARN;
	if (env) {
		if (!strcmp(env, "error")) level = SV_LOG_ERROR;
		else if (!strcmp(env, "info")) level = SV_LOG_INFO;
		else if (!strcmp(env, "debug")) level = SV_LOG_DEBUG;
	}
	cached = level;
	return (sv_log_severity)level;
}

void sv_log(sv_log_severity sev, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	if (sev > threshold())
		return;
	va_list ap;
	va_start(ap, fmt);
	flockfile(stderr);
	fprintf(stderr, "smartvm: %s: ", names[sev]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}
