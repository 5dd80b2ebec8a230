/* The monotonic clock every timing of the project reads. */
#ifndef CBD_CLOCK_H
#define CBD_CLOCK_H

/* Seconds of CLOCK_MONOTONIC: differences are elapsed times. */
double cbd_now(void);

#endif
