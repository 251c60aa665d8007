/* sv_exec_options -> the agent's EXEC message (docs/agent-protocol.md), on
 * its own so the encoding (and the version-1 caller's shorter struct) is
 * tested without a VM (tests/unit/test_agent_exec_encode.c). */
#ifndef SV_AGENT_AGENT_EXEC_ENCODE_H
#define SV_AGENT_AGENT_EXEC_ENCODE_H

#include "agent_proto.h"
#include <smartvm/agent.h>

/* The caller's options into *o: defaults, then only the fields the caller's
 * version has (a version-1 struct ends before rlimits: reading past it would
 * read the caller's stack). SV_EINVAL naming sv_exec_options for a version
 * this library does not know. given may be NULL. */
int sva_exec_read_options(sv_exec_options *o, const sv_exec_options *given);

/* Fills m (begun as SVA_EXEC) with argv and o. SV_EINVAL, the message
 * naming the option, for rlimits that are not valid (an unknown resource,
 * soft above hard, a resource twice, more than SV_EXEC_MAX_RLIMITS) or an
 * empty root/hostname; SV_EINVAL "exceed 64 KiB" when it does not fit. */
int sva_exec_encode(sva_msg *m, const char *const *argv, const sv_exec_options *o);

#endif
