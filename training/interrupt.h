/* SIGINT and SIGTERM: the stage prints one line (what was interrupted and how
 * to continue), removes its lock files and ends as killed by that signal.
 * Finished work is never at stake: every output is written under a temporary
 * name and renamed when whole, and the next run removes the temporaries. */
#ifndef CBD_INTERRUPT_H
#define CBD_INTERRUPT_H

/* Installs the handlers (once per process; stage_args does it). */
void cbd_interrupt_install(void);
/* The line printed on an interrupt, after "cbd: interrupted: ", as printf:
 * "teacher t1 in epoch 4 of 30; run it again with --resume to continue
 * after epoch 3". Set as the stage goes; formatted now, printed by the
 * handler. */
void cbd_interrupt_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
