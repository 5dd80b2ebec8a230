/* The SIGINT/SIGTERM handler of the stages (training/interrupt.h). */
#include "training/interrupt.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/file_lock.h"

/* Two buffers, switched once one is whole, so the handler never reads a line
 * being written. */
static char lines[2][1024];
static volatile sig_atomic_t current = -1;

static void on_signal(int sig) {
    const int c = current;
    if (c >= 0) {
        const char *line = lines[c];
        ssize_t ignored = write(STDERR_FILENO, line, strlen(line));
        (void)ignored;
    }
    cbd_lock_release_all_now();
    signal(sig, SIG_DFL);
    raise(sig);
}

void cbd_interrupt_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cbd_interrupt_say(const char *fmt, ...) {
    const int next = current == 0 ? 1 : 0;
    char *line = lines[next];
    const int prefix = snprintf(line, sizeof lines[0], "cbd: interrupted: ");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + prefix, sizeof lines[0] - 1 - (size_t)prefix, fmt, ap);
    va_end(ap);
    n = n < 0 ? prefix : n + prefix;
    if ((size_t)n > sizeof lines[0] - 2) n = (int)sizeof lines[0] - 2;
    line[n] = '\n';
    line[n + 1] = '\0';
    current = next;
}
