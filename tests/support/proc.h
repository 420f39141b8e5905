#ifndef TEST_PROC_H
#define TEST_PROC_H

#include <sys/types.h>

/*
 * What the kernel says about a process (the server under test), read from
 * /proc: memory and threads measured from outside, without asking the
 * server.
 */

/*
 * Reads the number after "field:" in /proc/pid/status ("VmRSS" in kB,
 * "Threads" as a count). Returns 0 and sets *value, -ENOENT when the
 * process or the field does not exist, or another negative errno.
 */
int proc_status_field(pid_t pid, const char *field, long long *value);

/* The resident set size of pid in KiB, or a negative errno. */
long long proc_rss_kb(pid_t pid);

/* The lowest file descriptor number pid does not have open (the one its
 * next open() or accept() would get), from /proc/pid/fd, or a negative
 * errno. With RLIMIT_NOFILE set to it, that next call fails with EMFILE. */
int proc_lowest_free_fd(pid_t pid);

/*
 * How many of pid's threads are running or ready to run right now (state R
 * in /proc/pid/task/TID/stat), or a negative errno. A thread that waits for
 * a lock, a socket or a timer is not counted, so two threads counted at
 * once means two pieces of work in progress at once, however many CPUs
 * the machine has free.
 */
int proc_threads_running(pid_t pid);

/*
 * The CPU time pid has used so far, user and system together, in ms
 * (utime + stime in /proc/pid/stat, every thread included), or a negative
 * errno. Two readings a second apart tell how much of a core it burnt.
 */
long long proc_cpu_ms(pid_t pid);

#endif /* TEST_PROC_H */
