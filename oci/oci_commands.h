/* The runc-compatible commands. Each takes its own argv (argv[0] is the
 * command's name) and returns the exit code, having logged any error. */
#ifndef OCI_COMMANDS_H
#define OCI_COMMANDS_H

#include "oci_globals.h"
#include "oci_state.h"

int oci_cmd_create(const oci_globals *g, int argc, char **argv);
int oci_cmd_start(const oci_globals *g, int argc, char **argv);
int oci_cmd_state(const oci_globals *g, int argc, char **argv);
int oci_cmd_kill(const oci_globals *g, int argc, char **argv);
int oci_cmd_delete(const oci_globals *g, int argc, char **argv);
int oci_cmd_features(const oci_globals *g, int argc, char **argv);
int oci_cmd_exec(const oci_globals *g, int argc, char **argv);
int oci_cmd_ps(const oci_globals *g, int argc, char **argv);
int oci_cmd_pause(const oci_globals *g, int argc, char **argv);
int oci_cmd_resume(const oci_globals *g, int argc, char **argv);
int oci_cmd_list(const oci_globals *g, int argc, char **argv);

/* Shared by the commands: opens the container's directory and state
 * (oci_state.h); logs and returns 1 on error. */
int oci_container_open(const oci_globals *g, const char *id, oci_dir *d, oci_state *s);

#endif
