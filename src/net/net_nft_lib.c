/* nftables in-process: one JSON document through libnftables, the library
 * the `nft` program is a thin front of (nft_run_cmd_from_buffer is what
 * `nft -j -f -` calls), so a batch costs a netlink transaction instead of a
 * process (fork, exec, loading six libraries) per run.
 *
 * The library is loaded with dlopen the first time a process needs it, not
 * linked: libnftables pulls libnftnl, libxtables, libgmp and a second
 * jansson, and every program that links libsmartvm (the CLI for `smartvm
 * ps`, the supervisor, whose link line tests/unit/test_supervisor_links.c
 * holds) would map and relocate them at each start, networking or not. A
 * VM's elements do not come here (net_nft_elems.c), so a supervisor loads
 * it only to take down tables an old ledger names; the fork server does not
 * preload it (mapped, it made every fork cost ~45 us more CPU). The header
 * is still compiled in, so each symbol's type is checked against the
 * installed libnftables.
 *
 * The library is silent: output and errors go to its buffers (never to our
 * stdout/stderr). Its first context initializes process-wide state (GMP's
 * allocators, xtables) without a lock, so every use is serialized by one
 * mutex; the kernel serializes nf_tables transactions anyway.
 *
 * One context is kept per process and network namespace: freeing a context
 * closes its netlink socket, and that close waits for the kernel to release
 * the last commit (an RCU grace period: 5-15 ms of wall for no CPU, most of
 * a batch's cost). A fork or a move to another namespace (the tests do) gets
 * a fresh one. libnftables opens the socket without close-on-exec; it is set
 * here, so no VMM or supervisor inherits a socket that changes the firewall.
 * The rule-set cache inside the context is checked against the kernel's
 * generation at each run, so nothing stale is used. */
#include "net/net_nft_lib.h"

#include "net/net_netns.h"
#include "util/error.h"
#include "util/trace.h"
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Sets close-on-exec on every nf_tables netlink socket of the process:
 * libnftables opens its socket without it, and only libnftables opens such
 * sockets here. */
static void cloexec_netfilter_sockets(void)
{
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *de; d && (de = readdir(d));) {
		int fd = atoi(de->d_name), domain = 0, proto = 0;
		socklen_t len = sizeof(int);
		if (fd <= 2 || fd == dirfd(d) || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
		    domain != AF_NETLINK ||
		    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len)) ||
		    proto != NETLINK_NETFILTER)
			continue;
		int flags = fcntl(fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	}
	if (d)
		closedir(d);
}

/* The process's context, under run_lock; remade after a fork or in another
 * network namespace. */
static struct nft_ctx *kept_ctx;
static sv_netns_owner kept_owner;

static struct nft_ctx *context(void)
{
	sv_netns_owner now = sv_netns_owner_now();
	if (kept_ctx && sv_netns_owner_same(&kept_owner, &now))
		return kept_ctx;
	if (kept_ctx)
		api.ctx_free(kept_ctx); /* in a child, closes only its copy */
	kept_ctx = api.ctx_new(NFT_CTX_DEFAULT);
	if (!kept_ctx)
		return NULL;
	cloexec_netfilter_sockets();
	api.output_set_flags(kept_ctx, NFT_CTX_OUTPUT_JSON);
	if (api.buffer_output(kept_ctx) || api.buffer_error(kept_ctx)) {
		api.ctx_free(kept_ctx);
		return kept_ctx = NULL;
	}
	kept_owner = now;
	return kept_ctx;
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
	struct nft_ctx *ctx = context();
	if (!ctx) {
		pthread_mutex_unlock(&run_lock);
		return sv_err(SV_ENOMEM, "%s: libnftables: out of memory", what);
	}
	int rc = 0;
	/* Reading a buffer also empties it for the next run. */
	if (api.run_cmd_from_buffer(ctx, doc) != 0) {
		char *msg = dup_trimmed(api.get_error_buffer(ctx));
		rc = sv_err(SV_ENETWORK, "%s: nftables refused the batch: %s", what,
			    msg ? msg : "(no message)");
		free(msg);
	} else if (out) {
		const char *text = api.get_output_buffer(ctx);
		if (!(*out = strdup(text ? text : "")))
			rc = sv_err(SV_ENOMEM, "out of memory");
	}
	api.get_output_buffer(ctx);
	api.get_error_buffer(ctx);
	pthread_mutex_unlock(&run_lock);
	sv_trace_end(&step, out ? "net:nft_run_listing" : "net:nft_run");
	return rc;
}
