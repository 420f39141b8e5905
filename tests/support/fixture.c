#include "fixture.h"

#include "expect.h"
#include "harness.h"
#include "server_log.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];
static char dbfile[300]; /* dir/dump.resp */

void fixture_setup(void)
{
    if (harness_tmpdir_create(dir, sizeof dir) != 0) {
        perror("harness_tmpdir_create");
        abort(); /* no directory, no test worth running */
    }
    snprintf(dbfile, sizeof dbfile, "%s/dump.resp", dir);
}

void fixture_teardown(void)
{
    expect_teardown();
    harness_tmpdir_remove(dir);
}

const char *fixture_dir(void)
{
    return dir;
}

const char *fixture_dbfile(void)
{
    return dbfile;
}

const char *fixture_path(const char *name)
{
    static char paths[8][512];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

void fixture_start_logged_at(const char *file, unsigned line, test_server_t *s,
                             const char *const *args, const char *log_path)
{
    int rc = server_start_logged(s, server_binary(), args, log_path);
    if (rc != 0) {
        fprintf(stderr, "\n    server_start_logged(%s): %s\n", server_binary(), strerror(-rc));
        server_log_print(log_path);
    }
    CU_assertImplementation(rc == 0, line, "START_SERVER_LOGGED", file, "", CU_TRUE);
}
