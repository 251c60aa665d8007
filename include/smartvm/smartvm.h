/** @file
 * smartvm: boot and control microVMs (Firecracker, or QEMU's microvm machine).
 * Include this one header; it pulls in the rest. Each header states what
 * may be called from several threads at once; sv_version, from any. */
#ifndef SMARTVM_SMARTVM_H
#define SMARTVM_SMARTVM_H

#include <smartvm/common.h>
#include <smartvm/error.h>
#include <smartvm/config.h>
#include <smartvm/net.h>
#include <smartvm/manager.h>
#include <smartvm/vm.h>
#include <smartvm/command.h>
#include <smartvm/escape.h>
#include <smartvm/console.h>
#include <smartvm/images.h>
#include <smartvm/live.h>
#include <smartvm/log.h>
#include <smartvm/agent.h>
#include <smartvm/minimal_image.h>
#include <smartvm/netadmin.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The library version, e.g. "0.1.0". */
SV_EXTERN const char *sv_version(void);

#ifdef __cplusplus
}
#endif
#endif
