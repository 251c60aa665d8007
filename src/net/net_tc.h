/* Traffic control over rtnetlink (libmnl): the ingress qdisc and the
 * "match everything, redirect to another device" filter that join a VM's TAP
 * to an interface someone else made (tc-redirect-tap's and Kata's
 * tcfilter mode). Never runs `tc`. Works in the calling thread's network
 * namespace. */
#ifndef SV_NET_NET_TC_H
#define SV_NET_NET_TC_H

#include <stdbool.h>

/* The cookie on a redirect's action: who made it (TC_COOKIE_MAX_SIZE). */
#define SV_TC_COOKIE_LEN 16

/* Adds the ingress qdisc to device ifindex (named dev in messages).
 * SV_EEXISTS when the device has one already (never shared: removing it
 * later would remove someone else's filters). */
int sv_tc_ingress_add(int ifindex, const char *dev);
/* Removes the ingress qdisc of ifindex, and with it its filters; success
 * when it or the device is gone. */
int sv_tc_ingress_del(int ifindex, const char *dev);

/* On the ingress qdisc of ifindex: every frame (u32 match 0/0, all
 * protocols) goes out of target_ifindex (mirred egress redirect), the action
 * carrying cookie. dev and target name the devices in messages. */
int sv_tc_redirect_add(int ifindex, const char *dev, int target_ifindex, const char *target,
		       const unsigned char cookie[SV_TC_COOKIE_LEN]);

/* Whether an action on a filter of ifindex's ingress qdisc carries cookie
 * (so that qdisc is the one that was added with it). *found false when the
 * device has no ingress qdisc. */
int sv_tc_ingress_has_cookie(int ifindex, const unsigned char cookie[SV_TC_COOKIE_LEN], bool *found);

#endif
