/* config.json's process.rlimits and process.noNewPrivileges, which the
 * agent applies to the container's process (setrlimit, PR_SET_NO_NEW_PRIVS)
 * before it execs. */
#ifndef OCI_RLIMITS_H
#define OCI_RLIMITS_H

#include <jansson.h>
#include <smartvm/agent.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
	sv_exec_rlimit items[SV_EXEC_MAX_RLIMITS];
	size_t n;
	bool no_new_privs;
} oci_process_limits;

/* From the process object (prefix names it in errors: "process"). Every
 * refusal names the field: `config.json: process.rlimits[1].type:
 * "RLIMIT_FOO" is not a Linux resource limit`. */
int oci_rlimits_parse(oci_process_limits *out, json_t *process, const char *prefix);

/* Sets o's rlimits and no_new_privs to point at l. */
void oci_rlimits_apply(const oci_process_limits *l, sv_exec_options *o);

#endif
