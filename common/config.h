#ifndef CONFIG_H
#define CONFIG_H

#include "cmd.h"

/*
 * CONFIG GET pattern [pattern ...]: the parameters this server knows
 * (save, appendonly, maxclients, port, bind, databases, dbfilename), each
 * selected by an exact name (answered in the client's spelling) or a glob
 * (see glob.h), in a fixed order. The values come from ctx->env; the store
 * is not touched. Registered in cmd.c's table.
 */
void config_get_command(const cmd_ctx_t *ctx);

#endif /* CONFIG_H */
