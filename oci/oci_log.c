/* The log (see oci_log.h). The file is the engine's: opened append-only at
 * the path it gave, never created group- or world-writable. */
#include "oci_log.h"

#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <smartvm/error.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;
static bool log_json;

int oci_log_open(const char *path, bool json)
{
	log_json = json;
	if (!path)
		return 0;
	log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (log_fd < 0)
		return sv_err_errno(SV_EIO, errno, "--log %s", path);
	return 0;
}

static void log_line(const char *level, const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	if (strcmp(level, "info") != 0) /* notes go to the log only: stderr may be the container's */
		fprintf(stderr, "smartvm-oci: %s%s\n", level[0] == 'w' ? "warning: " : "", msg);
	if (log_fd >= 0) {
		char when[40];
		time_t now = time(NULL);
		struct tm tm;
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		json_t *o = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", when);
		char *line = NULL;
		if (log_json) {
			line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		} else {
			json_t *quoted = json_string(msg);
			char *q = quoted ? json_dumps(quoted, JSON_ENCODE_ANY) : NULL;
			if (q && asprintf(&line, "time=\"%s\" level=%s msg=%s", when, level, q) < 0)
				line = NULL;
			free(q);
			json_decref(quoted);
		}
		if (line)
			dprintf(log_fd, "%s\n", line);
		free(line);
		json_decref(o);
	}
	free(msg);
}

int oci_log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("error", fmt, ap);
	va_end(ap);
	return 1;
}

void oci_log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("warning", fmt, ap);
	va_end(ap);
}

void oci_log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("info", fmt, ap);
	va_end(ap);
}
