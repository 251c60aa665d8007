/* The per-VM supervisor process (the conmon / containerd-shim pattern). */
#ifndef SV_VM_SUPERVISOR_H
#define SV_VM_SUPERVISOR_H

int sv_supervisor_main(int argc, char **argv);

#endif
