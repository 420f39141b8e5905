#ifndef INFO_H
#define INFO_H

#include "cmd.h"

/*
 * INFO [section ...], as Redis 7 answers it: sections server, clients,
 * threads, memory, stage (the stage's own lines, from ctx->env->info) and
 * keyspace, in that order whatever the order asked; "all", "everything" and
 * "default" name them all; unknown names add nothing. Reads the store (the
 * key count): CMD_READ. Registered in cmd.c's table.
 */
void info_command(const cmd_ctx_t *ctx);

#endif /* INFO_H */
