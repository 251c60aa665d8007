/* The runc-compatible commands. Each takes its own argv (argv[0] is the
 * command's name) and returns the exit code, having logged any error. */
#ifndef OCI_COMMANDS_H
#define OCI_COMMANDS_H

#include "oci_globals.h"

int oci_cmd_create(const oci_globals *g, int argc, char **argv);
int oci_cmd_start(const oci_globals *g, int argc, char **argv);
int oci_cmd_state(const oci_globals *g, int argc, char **argv);
int oci_cmd_kill(const oci_globals *g, int argc, char **argv);
int oci_cmd_delete(const oci_globals *g, int argc, char **argv);
int oci_cmd_features(const oci_globals *g, int argc, char **argv);

#endif
