/* #6 Real boot (QEMU, TCG): `smartvm run --image minimal -- true` vs the
 * equivalent raw qemu-system command line, boot to exit, 10 runs each.
 *
 * Needs the QEMU backend and the minimal guest image builder, which are not
 * in this tree yet: until they are, the benchmark says so instead of
 * producing figures. */
#include "bench.h"

#define ID "6"
#define NAME "real boot"

void bench_boot(const bench_env *env, bench_report *rep)
{
	(void)env;
	bench_skip(rep, ID, NAME,
		   "the QEMU backend and the minimal guest image are not in this tree yet (branch qemu)");
}
