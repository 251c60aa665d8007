/* nftables in-process: one JSON document through libnftables, the library
 * the `nft` program is a thin front of (nft_run_cmd_from_buffer is what
 * `nft -j -f -` calls), so a batch costs a netlink transaction instead of a
 * process (fork, exec, loading six libraries) per run.
 *
 * The library is loaded with dlopen the first time a process needs it, not
 * linked: libnftables pulls libnftnl, libxtables, libgmp and a second
 * jansson, and every program that links libsmartvm (the CLI for `smartvm
 * ps`, the per-VM supervisor, which is exec'd for every VM and whose link
 * line tests/unit/test_supervisor_links.c holds) would map and relocate
 * them at each start, networking or not. The header is still compiled in,
 * so each symbol's type is checked against the installed libnftables.
 *
 * The library is silent: output and errors go to its buffers (never to our
 * stdout/stderr). Its first context initializes process-wide state (GMP's
 * allocators, xtables) without a lock, so every use is serialized by one
 * mutex; the kernel serializes nf_tables transactions anyway. A context is
 * made per run: nothing cached (the rule-set cache) outlives a call. */
#include "net/net_nft_lib.h"

#include "util/error.h"
#include "util/trace.h"
#include <dlfcn.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFT_SONAME "libnftables.so.1"

typedef struct {
	__typeof__(nft_ctx_new) *ctx_new;
	__typeof__(nft_ctx_free) *ctx_free;
	__typeof__(nft_ctx_output_set_flags) *output_set_flags;
	__typeof__(nft_ctx_buffer_output) *buffer_output;
	__typeof__(nft_ctx_buffer_error) *buffer_error;
	__typeof__(nft_ctx_get_output_buffer) *get_output_buffer;
	__typeof__(nft_ctx_get_error_buffer) *get_error_buffer;
	__typeof__(nft_run_cmd_from_buffer) *run_cmd_from_buffer;
} nft_api;

/* Process-wide because dlopen is: loaded once, never unloaded. */
static nft_api api;
static char load_error[256];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;

static bool resolve(void *lib, const char *name, void **slot)
{
	*slot = dlsym(lib, name);
	if (!*slot)
		snprintf(load_error, sizeof(load_error), "%s has no symbol %s", NFT_SONAME, name);
	return *slot != NULL;
}

static void load_library(void)
{
	sv_trace_span step;
	sv_trace_begin(&step);
	void *lib = dlopen(NFT_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();
		snprintf(load_error, sizeof(load_error), "%s", why ? why : NFT_SONAME ": cannot be loaded");
		return;
	}
	nft_api got;
	if (!resolve(lib, "nft_ctx_new", (void **)&got.ctx_new) ||
	    !resolve(lib, "nft_ctx_free", (void **)&got.ctx_free) ||
	    !resolve(lib, "nft_ctx_output_set_flags", (void **)&got.output_set_flags) ||
	    !resolve(lib, "nft_ctx_buffer_output", (void **)&got.buffer_output) ||
	    !resolve(lib, "nft_ctx_buffer_error", (void **)&got.buffer_error) ||
	    !resolve(lib, "nft_ctx_get_output_buffer", (void **)&got.get_output_buffer) ||
	    !resolve(lib, "nft_ctx_get_error_buffer", (void **)&got.get_error_buffer) ||
	    !resolve(lib, "nft_run_cmd_from_buffer", (void **)&got.run_cmd_from_buffer)) {
		dlclose(lib);
		return;
	}
	api = got;
	sv_trace_end(&step, "net:nft_library_load");
}

static char *dup_trimmed(const char *text)
{
	size_t n = text ? strlen(text) : 0;
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	return n ? strndup(text, n) : NULL;
}

int sv_nft_lib_run(const char *doc, const char *what, char **out)
{
	if (out)
		*out = NULL;
	pthread_once(&load_once, load_library);
	if (!api.run_cmd_from_buffer)
		return sv_err(SV_ENETWORK, "%s: libnftables is needed (Debian package libnftables1): %s",
			      what, load_error);
	sv_trace_span step;
	sv_trace_begin(&step);
	pthread_mutex_lock(&run_lock);
	struct nft_ctx *ctx = api.ctx_new(NFT_CTX_DEFAULT);
	if (!ctx) {
		pthread_mutex_unlock(&run_lock);
		return sv_err(SV_ENOMEM, "%s: libnftables: out of memory", what);
	}
	api.output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	int rc = 0;
	if (api.buffer_output(ctx) || api.buffer_error(ctx)) {
		rc = sv_err(SV_ENOMEM, "%s: libnftables could not buffer its messages", what);
	} else if (api.run_cmd_from_buffer(ctx, doc) != 0) {
		char *msg = dup_trimmed(api.get_error_buffer(ctx));
		rc = sv_err(SV_ENETWORK, "%s: nftables refused the batch: %s", what,
			    msg ? msg : "(no message)");
		free(msg);
	} else if (out) {
		const char *text = api.get_output_buffer(ctx);
		if (!(*out = strdup(text ? text : "")))
			rc = sv_err(SV_ENOMEM, "out of memory");
	}
	api.ctx_free(ctx);
	pthread_mutex_unlock(&run_lock);
	sv_trace_end(&step, out ? "net:nft_run_listing" : "net:nft_run");
	return rc;
}
