#include "nn/optim/lr_schedule.h"

#include <math.h>

static const double pi = 3.14159265358979323846;

float cbd_lr_at(const cbd_lr_schedule *s, long step) {
    if (step < 0) step = 0;
    if (step < s->warmup_steps) {
        double t = (double)step / (double)s->warmup_steps;
        return (float)(s->base_lr * (s->warmup_start_factor + (1.0 - s->warmup_start_factor) * t));
    }
    long decay_steps = s->total_steps - s->warmup_steps;
    if (decay_steps <= 0 || step >= s->total_steps) return s->final_lr;
    double t = (double)(step - s->warmup_steps) / (double)decay_steps;
    return (float)(s->final_lr + 0.5 * (s->base_lr - s->final_lr) * (1.0 + cos(pi * t)));
}
