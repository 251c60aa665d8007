/* What both copy directions share (agent_copy.h): the options and the
 * connection they start with, and the rules for names and link targets
 * (small pure functions, in one place and easy to test). */
#include "agent/agent_copy.h"

#include "util/error.h"
#include <smartvm/error.h>
#include <stdlib.h>
#include <string.h>

int sva_copy_begin(sv_vm *vm, const sv_copy_options *given, const char *guest_path, bool host_path_given,
		   const char *what, sv_copy_options *o, sva_client *c)
{
	sv_err_clear();
	sv_copy_options dflt = SV_COPY_OPTIONS_INIT;
	*o = given && given->version >= 1 ? *given : dflt;
	if (guest_path[0] != '/' || !host_path_given)
		return sv_err(SV_EINVAL, "VM \"%s\": %s: the guest path must be absolute", sv_vm_id(vm),
			      what);
	return sva_client_open(c, vm, what,
			       o->agent_timeout_ms ? o->agent_timeout_ms : SV_AGENT_DEFAULT_TIMEOUT_MS);
}

char *sva_copy_last_name(const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	const char *start = path + len;
	while (start > path && start[-1] != '/')
		start--;
	if (start == path + len) /* "/" or "" */
		return strdup(len ? "/" : "");
	return strndup(start, (size_t)(path + len - start));
}

bool sva_copy_name_is_plain(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

bool sva_copy_link_escapes(const char *target, int level)
{
	if (target[0] == '/' || !*target)
		return true;
	/* Leading ".." only: after a name, ".." would climb out of whatever
	 * that name is (another link, perhaps), which no lexical check can
	 * follow. */
	bool named = false;
	for (const char *p = target; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (named || --level < 0)
				return true;
		} else if (n && !(n == 1 && p[0] == '.')) {
			named = true;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	return false;
}
