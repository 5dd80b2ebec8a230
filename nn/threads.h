/* How many threads the engine's compute uses (one OpenMP pool for oneDNN,
 * OpenBLAS and our own loops). */
#ifndef CBD_THREADS_H
#define CBD_THREADS_H

/* n > 0: use n threads. n == 0: take CBD_THREADS, else OMP_NUM_THREADS, else
 * every core. Returns the count in force. */
int cbd_threads_set(int n);
int cbd_threads_get(void);

#endif
