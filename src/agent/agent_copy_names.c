/* Names and link targets in copies (agent_copy.h): small pure functions,
 * kept apart so that the rules are in one place and easy to test. */
#include "agent/agent_copy.h"

#include <stdlib.h>
#include <string.h>

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
