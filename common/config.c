/* CONFIG GET: the few parameters clients such as redis-benchmark ask for. */

#include "config.h"

#include "arg.h"
#include "glob.h"
#include "num.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* The parameters CONFIG GET knows, in the order it replies with them.
 * save and appendonly are there for redis-benchmark, which asks for both. */
enum config_param {
    CONF_SAVE,
    CONF_APPENDONLY,
    CONF_MAXCLIENTS,
    CONF_PORT,
    CONF_BIND,
    CONF_DATABASES,
    CONF_DBFILENAME,
    CONF_COUNT
};

static const char *const config_names[CONF_COUNT] = {
    "save", "appendonly", "maxclients", "port", "bind", "databases", "dbfilename",
};

static void config_add_value(enum config_param i, const cmd_env_t *env, buf_t *out)
{
    char number[NUM_LL_MAX_DIGITS + 1];
    const char *text = "";
    switch (i) {
    case CONF_SAVE:
        text = ""; /* no snapshots on a timer: SAVE only */
        break;
    case CONF_APPENDONLY:
        text = "no";
        break;
    case CONF_MAXCLIENTS:
        snprintf(number, sizeof number, "%d", env->max_clients);
        text = number;
        break;
    case CONF_PORT:
        snprintf(number, sizeof number, "%d", env->port);
        text = number;
        break;
    case CONF_BIND:
        text = env->bind != NULL ? env->bind : "";
        break;
    case CONF_DATABASES:
        text = "1";
        break;
    case CONF_DBFILENAME:
        text = env->dbfile != NULL ? env->dbfile : "";
        break;
    case CONF_COUNT:
        assert(0);
        break;
    }
    resp_add_bulk(out, text, strlen(text));
}

/*
 * Marks in shown[] the parameters pattern selects, remembering for each the
 * name to reply with. Like Redis: a pattern without glob characters is an
 * exact (case-insensitive) name and the reply spells it as the client did; a
 * glob replies with our own spelling; Redis reads a glob as a C string, so
 * it ends at a NUL. A parameter already selected keeps its first name.
 */
static void config_select(const resp_arg_t *pattern, resp_arg_t shown[CONF_COUNT])
{
    const char *nul = memchr(arg_ptr(pattern), '\0', pattern->len);
    size_t glob_len = nul != NULL ? (size_t)(nul - pattern->ptr) : pattern->len;
    int is_glob = 0;
    for (size_t i = 0; i < glob_len && !is_glob; i++)
        is_glob = pattern->ptr[i] == '*' || pattern->ptr[i] == '?' || pattern->ptr[i] == '[';

    for (int i = 0; i < CONF_COUNT; i++) {
        const char *name = config_names[i];
        size_t len = strlen(name);
        if (shown[i].ptr != NULL)
            continue;
        if (is_glob && glob_match(pattern->ptr, glob_len, name, len))
            shown[i] = (resp_arg_t){name, len};
        else if (!is_glob && arg_ieq(pattern, name, len))
            shown[i] = *pattern;
    }
}

void config_get_command(const cmd_ctx_t *ctx)
{
    buf_t *out = ctx->out;
    resp_arg_t shown[CONF_COUNT] = {{NULL, 0}};
    for (size_t i = 2; i < ctx->argc; i++)
        config_select(&ctx->argv[i], shown);

    size_t count = 0;
    for (int i = 0; i < CONF_COUNT; i++)
        count += shown[i].ptr != NULL;
    resp_add_array(out, 2 * count);
    for (int i = 0; i < CONF_COUNT; i++) {
        if (shown[i].ptr == NULL)
            continue;
        resp_add_bulk(out, shown[i].ptr, shown[i].len);
        config_add_value((enum config_param)i, ctx->env, out);
    }
}
