/* make-lt's class order (--class-order): which class gets the largest count
 * (rank 0), which the next, ..., which the smallest (rank C-1). The rules are
 * in tools/make_lt_order.c. */
#ifndef CBD_MAKE_LT_ORDER_H
#define CBD_MAKE_LT_ORDER_H

#include <stddef.h>
#include <stdint.h>

enum { LT_ORDER_LABEL, LT_ORDER_LIST, LT_ORDER_RANDOM };

typedef struct {
    int kind;           /* LT_ORDER_* */
    uint64_t seed;      /* random:SEED */
    long long *items;   /* LIST as written, [count] */
    int count;
} lt_order_spec;

/* Reads the value of --class-order: "random:SEED" or a comma-separated list
 * of integers (blanks around an item allowed). text == NULL is label order.
 * Checks what can be checked without the class count (empty list, empty or
 * non-integer items, a bad seed). Returns 0, or -1 with a message naming
 * --class-order in err. */
int lt_order_parse(const char *text, lt_order_spec *spec, char *err, size_t err_len);

/* class_at_rank[k] = the class at rank k, k = 0 .. classes-1. A list must
 * hold every label 0 .. classes-1 exactly once. Returns 0, or -1 with a
 * message naming --class-order (a label out of range, repeated or missing). */
int lt_order_resolve(const lt_order_spec *spec, int classes, int *class_at_rank, char *err,
                     size_t err_len);

void lt_order_free(lt_order_spec *spec);

/* "1,8,5,...": the classes by rank, malloc'd. */
char *lt_order_format(const int *class_at_rank, int classes);

#endif
