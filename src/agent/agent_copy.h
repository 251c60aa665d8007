/* What the two copy directions share (agent_copy_to.c, agent_copy_from.c,
 * agent_copy_names.c). */
#ifndef SV_AGENT_AGENT_COPY_H
#define SV_AGENT_AGENT_COPY_H

#include "agent/agent_fs.h"
#include <smartvm/agent.h>
#include <stdbool.h>

/* Directory levels a copy goes down at most (a guest could make a tree
 * without end). */
#define SVA_COPY_MAX_DEPTH 256
/* Entries a guest directory may have in a copy from it, and the longest
 * name. */
#define SVA_COPY_MAX_ENTRIES 1000000
#define SVA_COPY_NAME_MAX 255

/* Reads the caller's options (their version's fields) into *o, checks the
 * paths (the guest's absolute, the host's not empty) and connects to the
 * agent. what names the copy in errors. */
int sva_copy_begin(sv_vm *vm, const sv_copy_options *given, const char *guest_path, bool host_path_given,
		   const char *what, sv_copy_options *o, sva_client *c);

/* The last component of a path, without trailing slashes (malloc'd; "/"
 * for "/"). */
char *sva_copy_last_name(const char *path);

/* False for "", ".", ".." and "/": names that do not name an entry of
 * their own. */
bool sva_copy_name_is_plain(const char *name);

/* True when a symlink with this target, in a directory `level` levels
 * below the top of the copied tree, may point outside it: an empty or
 * absolute target, one whose leading ".." climb above the top, or one with
 * ".." after a name (which could be a link itself). */
bool sva_copy_link_escapes(const char *target, int level);

#endif
