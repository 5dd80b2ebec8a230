#include "store/file_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_HELD = 8 };
static char held_paths[MAX_HELD][4200];
static int held_fds[MAX_HELD];
static int held_count;
static int release_registered;

/* Remove the file before closing it: while this process still holds the lock,
 * a process that opened the old file cannot take it (and one that opens the
 * path afterwards creates a new file; see the inode check below). */
static void release_all(void) {
    for (int i = 0; i < held_count; i++) {
        unlink(held_paths[i]);
        close(held_fds[i]);
    }
    held_count = 0;
}

void cbd_lock_release_all_now(void) { release_all(); }

static long owner_pid(int fd) {
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    long pid = strtol(buf, NULL, 10);
    return pid > 0 ? pid : 0;
}

int cbd_output_locked(const char *output, long *pid) {
    char path[4200];
    *pid = 0;
    if (snprintf(path, sizeof path, "%s.lock", output) >= (int)sizeof path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int held = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        held = errno == EWOULDBLOCK;
        if (held) *pid = owner_pid(fd);
    } else {
        flock(fd, LOCK_UN);
    }
    close(fd);
    return held;
}

static void read_owner(int fd, char *owner, size_t len) {
    const long pid = owner_pid(fd);
    if (pid > 0)
        snprintf(owner, len, "process %ld", pid);
    else
        snprintf(owner, len, "another process");
}

int cbd_lock_output(const char *output, char *err, size_t err_len) {
    char path[4200];
    if (snprintf(path, sizeof path, "%s.lock", output) >= (int)sizeof path) {
        snprintf(err, err_len, "%s: path too long", output);
        return -1;
    }
    if (held_count == MAX_HELD) {
        snprintf(err, err_len, "%s: too many locks held", path);
        return -1;
    }
    /* A lock file removed by its previous owner between our open and our
     * flock is not the lock any more: check the path still names our file. */
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            snprintf(err, err_len, "cannot create lock file %s: %s", path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            const int e = errno;
            if (e == EWOULDBLOCK) {
                char owner[64];
                read_owner(fd, owner, sizeof owner);
                snprintf(err, err_len, "%s is being written by %s (lock %s); two runs must not write one output",
                         output, owner, path);
                close(fd);
                return 1;
            }
            snprintf(err, err_len, "cannot lock %s: %s", path, strerror(e));
            close(fd);
            return -1;
        }
        struct stat mine, now;
        if (fstat(fd, &mine) != 0 || stat(path, &now) != 0 || mine.st_ino != now.st_ino ||
            mine.st_dev != now.st_dev) {
            close(fd);
            continue;
        }
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
            /* the pid is only for the message of a refused run: a full disk must not stop this one */
        }
        if (!release_registered) release_registered = atexit(release_all) == 0;
        snprintf(held_paths[held_count], sizeof held_paths[held_count], "%s", path);
        held_fds[held_count++] = fd;
        return 0;
    }
    snprintf(err, err_len, "cannot lock %s: it keeps being replaced", path);
    return -1;
}
