/* Learning-rate schedule: optional linear warm-up, then cosine decay from
 * base_lr to final_lr over the remaining steps. */
#ifndef CBD_LR_SCHEDULE_H
#define CBD_LR_SCHEDULE_H

typedef struct {
    float base_lr;
    float final_lr;
    long total_steps;
    long warmup_steps;         /* 0: no warm-up */
    float warmup_start_factor; /* lr at step 0 of warm-up = factor * base_lr */
} cbd_lr_schedule;

/* Learning rate for step `step` (0-based); past total_steps it stays at final_lr. */
float cbd_lr_at(const cbd_lr_schedule *s, long step);

#endif
