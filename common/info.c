/* INFO: what the server and its stage say about themselves, in sections. */

#include "info.h"

#include "arg.h"
#include "mono.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define INFO_VERSION "1.0"

/* Reads "Name:   value" from /proc/self/status. Returns 0, or -ENOENT when
 * the file or the field is not there. */
static int proc_status_field(const char *field, long long *value)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -ENOENT;
    char line[256];
    size_t flen = strlen(field);
    int rc = -ENOENT;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            rc = sscanf(line + flen + 1, "%lld", value) == 1 ? 0 : -ENOENT;
            break;
        }
    }
    fclose(f);
    return rc;
}

static void info_server(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    buf_printf(b, "staged_ports_version:%s\r\n", INFO_VERSION);
    buf_printf(b, "stage:%s\r\n", env->stage != NULL ? env->stage : "");
    buf_printf(b, "process_id:%ld\r\n", (long)getpid());
    buf_printf(b, "tcp_port:%d\r\n", env->port);
    buf_printf(b, "uptime_in_seconds:%lld\r\n",
               (long long)((mono_now_ms() - env->start_ms) / 1000));
}

static void info_clients(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    buf_printf(b, "maxclients:%d\r\n", env->max_clients);
}

static void info_threads(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    (void)env;
    long long threads = 0;
    proc_status_field("Threads", &threads);
    buf_printf(b, "thread_count:%lld\r\n", threads);
}

static void info_memory(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    (void)env;
    long long rss_kb = 0;
    proc_status_field("VmRSS", &rss_kb);
    buf_printf(b, "used_memory_rss:%lld\r\n", rss_kb * 1024);
}

static void info_stage(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)s;
    if (env->info != NULL)
        env->info(b, env->info_arg);
}

static void info_keyspace(buf_t *b, const store_t *s, const cmd_env_t *env)
{
    (void)env;
    buf_printf(b, "keys:%zu\r\n", store_count(s));
}

static const struct info_section {
    const char *name;  /* lowercase, as INFO takes it */
    const char *title; /* the "# Title" line */
    void (*add)(buf_t *b, const store_t *s, const cmd_env_t *env);
} info_sections[] = {
    {"server", "Server", info_server},       /* who we are, since when */
    {"clients", "Clients", info_clients},    /* the connection limit */
    {"threads", "Threads", info_threads},    /* what the concurrency model costs */
    {"memory", "Memory", info_memory},       /* resident set size */
    {"stage", "Stage", info_stage},          /* the stage's own counters */
    {"keyspace", "Keyspace", info_keyspace}, /* how many keys */
};

#define INFO_SECTION_COUNT (sizeof info_sections / sizeof info_sections[0])

/* Like Redis 7: each argument names a section, or all of them; sections come
 * out in their own order whatever the order asked; unknown names add nothing. */
void info_command(const cmd_ctx_t *ctx)
{
    size_t argc = ctx->argc;
    const resp_arg_t *argv = ctx->argv;
    int wanted[INFO_SECTION_COUNT] = {0};
    for (size_t i = 0; i < INFO_SECTION_COUNT; i++)
        wanted[i] = argc == 1;
    for (size_t a = 1; a < argc; a++) {
        int every = arg_is(&argv[a], "all") || arg_is(&argv[a], "everything") ||
                    arg_is(&argv[a], "default");
        for (size_t i = 0; i < INFO_SECTION_COUNT; i++)
            if (every || arg_is(&argv[a], info_sections[i].name))
                wanted[i] = 1;
    }

    buf_t text = BUF_INIT;
    int first = 1;
    for (size_t i = 0; i < INFO_SECTION_COUNT; i++) {
        if (!wanted[i])
            continue;
        if (!first)
            buf_append(&text, "\r\n", 2); /* a blank line between sections */
        first = 0;
        buf_printf(&text, "# %s\r\n", info_sections[i].title);
        info_sections[i].add(&text, ctx->store, ctx->env);
    }
    resp_add_bulk(ctx->out, text.data != NULL ? text.data : "", text.len);
    buf_free(&text);
}
