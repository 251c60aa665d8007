/* Loading a library at its first use (see lazy_lib.h). Loaded once per
 * process and never unloaded, as dlopen'd libraries with global state
 * (libcurl's, libxml2's) must be; a forked child inherits it loaded. */
#include "util/lazy_lib.h"

#include "util/error.h"
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The library's own set-up, once its table is filled, however it was. */
static void init_locked(sv_lazy_lib *l)
{
	const char *why = l->init ? l->init(l->table) : NULL;
	if (why)
		snprintf(l->error, sizeof(l->error), "%s", why);
}

static void load_locked(sv_lazy_lib *l)
{
	void *lib = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();
		snprintf(l->error, sizeof(l->error), "%s", why ? why : "dlopen failed");
		return;
	}
	for (size_t i = 0; i < l->n_symbols; i++) {
		void *address = dlsym(lib, l->symbols[i].name);
		if (!address) {
			snprintf(l->error, sizeof(l->error), "it has no symbol %s", l->symbols[i].name);
			dlclose(lib);
			return;
		}
		/* POSIX makes dlsym's answer a function's address when the
		 * symbol is one; stored the way its dlsym page shows
		 * (`*(void **)(&fptr) = dlsym(...)`). */
		*(void **)((char *)l->table + l->symbols[i].offset) = address;
	}
	init_locked(l);
}

void sv_lazy_lib_use(sv_lazy_lib *l, const void *linked, size_t table_size)
{
	pthread_mutex_lock(&l->lock);
	if (!l->tried) {
		l->tried = true;
		memcpy(l->table, linked, table_size);
		init_locked(l);
	}
	pthread_mutex_unlock(&l->lock);
}

int sv_lazy_lib_load(sv_lazy_lib *l)
{
	pthread_mutex_lock(&l->lock);
	if (!l->tried) {
		l->tried = true;
		load_locked(l);
	}
	pthread_mutex_unlock(&l->lock);
	if (!l->error[0])
		return 0;
	return sv_err(SV_EUNSUPPORTED, "loading %s: %s (it comes with Debian's %s package)", l->soname,
		      l->error, l->package);
}
