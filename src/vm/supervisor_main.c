/* smartvm-supervisor VM_DIR: the per-VM supervisor (see src/vm/supervisor.c). */
#include "vm/supervisor.h"

int main(int argc, char **argv)
{
	return sv_supervisor_main(argc, argv);
}
