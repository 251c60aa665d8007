/* sv_rlimit_by_name (include/smartvm/agent.h): the names `ulimit`, docker's
 * --ulimit and the OCI spec's process.rlimits use. The numbers are Linux's
 * on every architecture the agent runs on (x86_64, aarch64): the guest's,
 * not this host's <sys/resource.h>, is what counts. */
#include <smartvm/agent.h>
#include <strings.h>

static const char *const names[SV_EXEC_MAX_RLIMITS] = {
    "cpu",  "fsize", "data",   "stack",   "core",	  "rss",    "nproc", "nofile",
    "memlock", "as", "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
};

int sv_rlimit_by_name(const char *name)
{
	if (!name)
		return -1;
	if (!strncasecmp(name, "RLIMIT_", 7))
		name += 7;
	for (int i = 0; i < SV_EXEC_MAX_RLIMITS; i++)
		if (!strcasecmp(name, names[i]))
			return i;
	return -1;
}
