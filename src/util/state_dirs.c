/* The default state directories (see state_dirs.h for the choice and why). */
#include "util/state_dirs.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An XDG variable counts only when set to an absolute path (the spec says
 * relative values are invalid and must be ignored). */
static const char *absolute_env(const char *name)
{
	const char *v = getenv(name);
	return v && v[0] == '/' ? v : NULL;
}

static char *home_of(uid_t uid)
{
	const char *home = absolute_env("HOME");
	if (home)
		return strdup(home);
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found && found->pw_dir &&
	    found->pw_dir[0] == '/')
		return strdup(found->pw_dir);
	return NULL;
}

static char *format(const char *fmt, const char *s, unsigned u)
{
	char *out = NULL;
	int n = s ? asprintf(&out, fmt, s) : asprintf(&out, fmt, u);
	return n < 0 ? NULL : out;
}

char *sv_state_dir_default(sv_state_kind kind, uid_t uid)
{
	if (uid == 0)
		return strdup(kind == SV_STATE_RUNTIME ? "/run/smartvm" : "/var/lib/smartvm");
	if (kind == SV_STATE_RUNTIME) {
		const char *xdg = absolute_env("XDG_RUNTIME_DIR");
		return xdg ? format("%s/smartvm", xdg, 0)
			   : format("/tmp/smartvm-%u/runtime", NULL, (unsigned)uid);
	}
	const char *xdg = absolute_env("XDG_DATA_HOME");
	if (xdg)
		return format("%s/smartvm", xdg, 0);
	char *home = home_of(uid);
	char *dir = home ? format("%s/.local/share/smartvm", home, 0)
			 : format("/tmp/smartvm-%u/data", NULL, (unsigned)uid);
	free(home);
	return dir;
}

char *sv_state_dir(sv_state_kind kind, const char *given)
{
	if (given && *given)
		return strdup(given);
	const char *env = getenv(kind == SV_STATE_RUNTIME ? SV_ENV_RUNTIME_DIR : SV_ENV_DATA_DIR);
	if (env && *env)
		return strdup(env);
	return sv_state_dir_default(kind, geteuid());
}
