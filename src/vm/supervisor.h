/* The per-VM supervisor process (the conmon / containerd-shim pattern). */
#ifndef SV_VM_SUPERVISOR_H
#define SV_VM_SUPERVISOR_H

/* The supervisor program's work (src/vm/supervisor_main.c holds its main).
 * Returns the exit status; SV_SUPERVISOR_USAGE for a command line it does
 * not understand (the program prints the usage: the library prints
 * nothing). */
#define SV_SUPERVISOR_USAGE 2
int sv_supervisor_main(int argc, char **argv);

#endif
