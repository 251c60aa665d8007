/* Fault injection (see fault.h). Compiled only into builds configured with
 * -Dfault_injection=enabled. The environment is read at every hit, never
 * cached: a test forks children that arm it after the parent has already
 * passed the same points unarmed. */
#include "util/fault.h"

#include "util/error.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAULT_ENV "SMARTVM_FAULT"
#define REPORT_ENV "SMARTVM_FAULT_REPORT"

static atomic_long hits;

/* Does spec ("POINT:ACTION[:N]") name point? *action then points at ACTION
 * and *nth is N. */
static bool armed_at(const char *spec, const char *name, const char **action, long *nth)
{
	size_t n = strlen(name);
	if (strncmp(spec, name, n) || spec[n] != ':')
		return false;
	*action = spec + n + 1;
	const char *count = strchr(*action, ':');
	*nth = count ? strtol(count + 1, NULL, 10) : 1;
	return true;
}

static bool is_action(const char *action, const char *want)
{
	size_t n = strlen(want);
	return !strncmp(action, want, n) && (action[n] == '\0' || action[n] == ':');
}

/* Claims the fault for this process: true unless another process sharing
 * the report file fired it already. */
static bool claim(const char *name, const char *action)
{
	const char *report = getenv(REPORT_ENV);
	if (!report || !*report)
		return true;
	int fd = open(report, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	char line[256];
	int len = snprintf(line, sizeof(line), "%s %.*s %d\n", name, (int)strcspn(action, ":"), action,
			   (int)getpid());
	if (len > 0 && write(fd, line, (size_t)len) != len)
		len = -1; /* the test then sees an incomplete report and says so */
	close(fd);
	return true;
}

int sv_fault_point(const char *name)
{
	const char *spec = getenv(FAULT_ENV), *action = NULL;
	long nth = 1;
	if (!spec || !armed_at(spec, name, &action, &nth))
		return 0;
	if (atomic_fetch_add(&hits, 1) + 1 != nth || !claim(name, action))
		return 0;
	if (is_action(action, "stop"))
		raise(SIGSTOP);
	else if (is_action(action, "kill"))
		raise(SIGKILL);
	else if (is_action(action, "fail"))
		return sv_err(SV_EIO, "fault injected at %s", name);
	return 0;
}
