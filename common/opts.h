#ifndef OPTS_H
#define OPTS_H

#include "log.h"

/*
 * Command-line options, one parser for every stage.
 *
 *   --port N           TCP port, 0 = any free port (default: the stage's, 7001..7004)
 *   --bind ADDR        IPv4 address to listen on (default 127.0.0.1)
 *   --threads N        worker threads (stages 2 and 4 only)
 *   --max-clients N    connections served at once (default 10000)
 *   --dbfile PATH      load at start, SAVE and shutdown write here (default: none)
 *   --appendonly PATH  log every write there; replayed at start instead of the dump
 *   --appendfsync WHEN always, everysec or no: when the log reaches the disk
 *   --appendfsync-delay-ms N  sleep after each fsync of the log: a slower disk
 *   --log-level LEVEL  debug, info, warn or error (default info)
 *   --pitfall NAME     stage 4 only: build in a known concurrency bug
 *   --lock-strategy S  stage 4 only: how SAVE keeps writers out
 *   --watchdog MODE    stage 4 only: what a lock wait past the bound does
 *   --watchdog-ms N    stage 4 only: the bound on waiting for the store lock
 *   --help, --version
 *
 * Both "--port 7001" and "--port=7001" are accepted.
 */

#define OPTS_DEFAULT_BIND             "127.0.0.1"
#define OPTS_DEFAULT_MAX_CLIENTS      10000
#define OPTS_MAX_THREADS              1024
#define OPTS_MAX_CLIENTS_LIMIT        1000000
#define OPTS_DEFAULT_WATCHDOG_MS      1000
#define OPTS_MAX_WATCHDOG_MS          60000
#define OPTS_MAX_APPENDFSYNC_DELAY_MS 10000

/* Options beyond the common set that a stage offers. */
enum opts_extra {
    OPTS_THREADS = 1 << 0,
    OPTS_PITFALL = 1 << 1,
    OPTS_LOCK_STRATEGY = 1 << 2,
    OPTS_WATCHDOG = 1 << 3, /* --watchdog and --watchdog-ms */
};

/* What a stage tells the parser about itself. */
typedef struct opts_stage {
    const char *name;         /* "stage2-pool": used in messages and --version */
    const char *summary;      /* one line for --help */
    int default_port;         /* 7001..7004 */
    unsigned extra;           /* enum opts_extra */
    int default_threads;      /* when OPTS_THREADS is set */
    const char *threads_help; /* what --threads means in this stage */
} opts_stage_t;

typedef enum opts_pitfall {
    OPTS_PITFALL_NONE = 0,
    OPTS_PITFALL_MUTEX_ACROSS_CALLBACK, /* "mutex-across-callback" */
    OPTS_PITFALL_LOCK_DURING_WORK,      /* "lock-during-work" */
} opts_pitfall_t;

typedef enum opts_lock_strategy {
    OPTS_LOCK_COPY = 0, /* "copy": copy under a short lock, then write the copy */
    OPTS_LOCK_QUEUE,    /* "queue": a callback-queue lock, writers wait in line */
} opts_lock_strategy_t;

/* Redis's appendfsync, with its meanings (see aof.h). */
typedef enum opts_appendfsync {
    OPTS_APPENDFSYNC_EVERYSEC = 0, /* "everysec": the log is synced once a second */
    OPTS_APPENDFSYNC_ALWAYS,       /* "always": a write is answered once it is on disk */
    OPTS_APPENDFSYNC_NO,           /* "no": the kernel writes the log back when it likes */
} opts_appendfsync_t;

typedef enum opts_watchdog {
    OPTS_WATCHDOG_WARN = 0, /* "warn": report a stall and wait on; exit on a deadlock */
    OPTS_WATCHDOG_EXIT,     /* "exit": exit on a stall as on a deadlock (the pitfall demos) */
    OPTS_WATCHDOG_OFF,      /* "off": a plain mutex, nothing watched; a deadlock hangs */
} opts_watchdog_t;

typedef struct opts {
    const char *bind;
    int port;
    int threads;
    int max_clients;
    const char *dbfile;     /* NULL when not set */
    const char *appendonly; /* the append-only file; NULL when not set */
    opts_appendfsync_t appendfsync;
    int appendfsync_delay_ms; /* an emulated slower disk: sleep this long after each fsync */
    log_level_t log_level;
    opts_pitfall_t pitfall;
    opts_lock_strategy_t lock_strategy;
    opts_watchdog_t watchdog;
    int watchdog_ms;
} opts_t;

/*
 * Parses argv into o, starting from the stage's defaults.
 *
 * Returns 0 when the server should run; 1 when --help or --version was
 * asked for and printed to stdout (exit 0); -EINVAL after printing a
 * one-line error naming the option and the bad value, and a pointer to
 * --help, to stderr (exit 2).
 */
int opts_parse(opts_t *o, const opts_stage_t *stage, int argc, char **argv);

#endif /* OPTS_H */
