/* One value of the experiment INI: parsing text into a field of the config
 * (type, constraint and check of its key_spec) and writing it back as text
 * that parses to the same bits. */
#include "experiment/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nn/log.h"

/* Copies s into a field of cap bytes, zero-filling the rest: equal
 * configurations are equal byte for byte. */
void config_set_text(char *field, size_t cap, const char *s) {
    const size_t n = strlen(s);
    CBD_ASSERT(n < cap, "%zu >= %zu", n, cap);
    memmove(field, s, n);
    memset(field + n, 0, cap - n);
}

const char *config_trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* Text that an INI line cannot carry back: control characters, or a ';'
 * after whitespace (an inline comment when read again). */
int config_ini_safe(const char *s) {
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) return 0;
        if (*p == ';' && p > s && (p[-1] == ' ' || p[-1] == '\t')) return 0;
    }
    return 1;
}

static int parse_int(const char *s, int *out) {
    if (!*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!isdigit((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno) return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Decimal numbers only, as documented: strtod's hexadecimal floats
 * ("0x1p-2"), inf and nan are refused. */
static int parse_float(const char *s, float *out) {
    if (!*s || strpbrk(s, "xXnN")) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(v) || fabs(v) > FLT_MAX) return -1;
    *out = (float)v;
    return 0;
}

static int parse_bool(const char *s, int *out) {
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) return *out = 1, 0;
        if (!strcasecmp(s, no[i])) return *out = 0, 0;
    }
    return -1;
}

void config_join_names(const char *const *names, const char *sep, char *out, size_t len) {
    out[0] = '\0';
    for (int i = 0; names[i]; i++) {
        size_t at = strlen(out);
        snprintf(out + at, len - at, "%s%s", i ? sep : "", names[i]);
    }
}

/* "must be at least 1", "must be in (0, 1]", ... for a number outside c. */
static int check_number(const constraint *c, double v, char *why, size_t why_len) {
    const int lo_bad = (c->flags & C_LO) && ((c->flags & C_LO_OPEN) ? v <= c->lo : v < c->lo);
    const int hi_bad = (c->flags & C_HI) && ((c->flags & C_HI_OPEN) ? v >= c->hi : v > c->hi);
    if (!lo_bad && !hi_bad) return 0;
    if (c->flags & C_HI)
        snprintf(why, why_len, "must be in %c%g, %g%c", (c->flags & C_LO_OPEN) ? '(' : '[', c->lo, c->hi,
                 (c->flags & C_HI_OPEN) ? ')' : ']');
    else
        snprintf(why, why_len, "must be %s %g", (c->flags & C_LO_OPEN) ? "greater than" : "at least", c->lo);
    return -1;
}

static char *split_next(char **cursor) {
    char *start = *cursor, *comma = strchr(start, ',');
    if (comma) {
        *comma = '\0';
        *cursor = comma + 1;
    } else {
        *cursor = NULL;
    }
    return start;
}

/* Parses text into the field of k inside base. Returns 0, or -1 with the
 * reason in why. */
int config_parse_value(const key_spec *k, void *base, const char *text, char *why, size_t why_len) {
    char *field = (char *)base + k->offset;
    const constraint *c = &k->cons;
    switch (k->type) {
    case KEY_STRING:
    case KEY_PATH:
        if (strlen(text) >= (size_t)k->capacity) {
            snprintf(why, why_len, "longer than %d characters", k->capacity - 1);
            return -1;
        }
        if (!config_ini_safe(text)) {
            snprintf(why, why_len, "control characters or ' ;' cannot be written back to an INI file");
            return -1;
        }
        if (c->check && c->check(text, why, why_len) != 0) {
            char accepted[512];
            snprintf(accepted, sizeof accepted, "%s", why);
            snprintf(why, why_len, "expected %s", accepted);
            return -1;
        }
        config_set_text(field, (size_t)k->capacity, text);
        return 0;
    case KEY_INT: {
        int v;
        if (parse_int(text, &v) != 0) {
            snprintf(why, why_len, "expected an integer");
            return -1;
        }
        if (check_number(c, v, why, why_len) != 0) return -1;
        if (c->check && c->check(&v, why, why_len) != 0) {
            char accepted[256];
            snprintf(accepted, sizeof accepted, "%s", why);
            snprintf(why, why_len, "expected %s", accepted);
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case KEY_U64: {
        uint64_t v;
        if (parse_u64(text, &v) != 0) {
            snprintf(why, why_len, "expected an unsigned integer below 2^64");
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case KEY_FLOAT: {
        float v;
        if (parse_float(text, &v) != 0) {
            snprintf(why, why_len, "expected a finite decimal number");
            return -1;
        }
        if (check_number(c, v, why, why_len) != 0) return -1;
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case KEY_BOOL: {
        int v;
        if (parse_bool(text, &v) != 0) {
            snprintf(why, why_len, "expected true or false (also yes/no, on/off, 1/0)");
            return -1;
        }
        memcpy(field, &v, sizeof v);
        return 0;
    }
    case KEY_ENUM:
        for (int i = 0; k->names[i]; i++)
            if (!strcmp(text, k->names[i])) {
                memcpy(field, &i, sizeof i);
                return 0;
            }
        char names[256];
        config_join_names(k->names, ", ", names, sizeof names);
        snprintf(why, why_len, "expected one of: %s", names);
        return -1;
    case KEY_FLOATS:
    case KEY_NAMES: {
        char copy[CBD_INI_MAX_LINE];
        if (strlen(text) >= sizeof copy) {
            snprintf(why, why_len, "too long");
            return -1;
        }
        strcpy(copy, text);
        int n = 0;
        if (!*config_trim(copy)) {
            if (k->type == KEY_FLOATS) {
                snprintf(why, why_len, "expected 1 to %d comma-separated numbers", k->capacity);
                return -1;
            }
            memcpy((char *)base + k->count_offset, &n, sizeof n);
            return 0;
        }
        float values[CBD_MAX_TEACHERS > CBD_MAX_CHANNELS ? CBD_MAX_TEACHERS : CBD_MAX_CHANNELS];
        char names[CBD_MAX_TEACHERS][CBD_NAME_MAX];
        memset(names, 0, sizeof names);
        for (char *cursor = copy; cursor;) {
            const char *item = config_trim(split_next(&cursor));
            if (n == k->capacity) {
                snprintf(why, why_len, "at most %d values", k->capacity);
                return -1;
            }
            if (k->type == KEY_FLOATS) {
                if (parse_float(item, &values[n]) != 0) {
                    snprintf(why, why_len, "value %d (\"%s\"): expected a finite number", n + 1, item);
                    return -1;
                }
                char reason[128];
                if (check_number(c, values[n], reason, sizeof reason) != 0) {
                    snprintf(why, why_len, "value %d (%s): %s", n + 1, item, reason);
                    return -1;
                }
            } else {
                if (!config_teacher_name_ok(item)) {
                    snprintf(why, why_len, "\"%s\" is not a teacher name (letters, digits, '_', '-')", item);
                    return -1;
                }
                for (int j = 0; j < n; j++)
                    if (!strcmp(names[j], item)) {
                        snprintf(why, why_len, "%s is named twice", item);
                        return -1;
                    }
                strcpy(names[n], item);
            }
            n++;
        }
        if (k->type == KEY_FLOATS)
            memcpy(field, values, (size_t)n * sizeof(float));
        else
            memcpy(field, names, (size_t)n * CBD_NAME_MAX);
        memcpy((char *)base + k->count_offset, &n, sizeof n);
        return 0;
    }
    }
    return -1;
}

/* The shortest decimal text that reads back as v, without an exponent when
 * one is not needed ("10", not "1e+01"). */
static void format_float(float v, char *out, size_t len) {
    char exponent_form[64] = "";
    for (int p = 1; p <= 9; p++) {
        snprintf(out, len, "%.*g", p, (double)v);
        if (strtof(out, NULL) != v) continue;
        if (!strchr(out, 'e')) return;
        if (!exponent_form[0]) snprintf(exponent_form, sizeof exponent_form, "%s", out);
    }
    snprintf(out, len, "%s", exponent_form);
}

/* Formats the field of k inside base as INI text. */

void config_format_value(const key_spec *k, const void *base, char *out, size_t len) {
    const char *field = (const char *)base + k->offset;
    int count = 0;
    if (k->type == KEY_FLOATS || k->type == KEY_NAMES) memcpy(&count, (const char *)base + k->count_offset, sizeof count);
    int iv;
    switch (k->type) {
    case KEY_STRING:
    case KEY_PATH: snprintf(out, len, "%s", field); return;
    case KEY_INT: memcpy(&iv, field, sizeof iv); snprintf(out, len, "%d", iv); return;
    case KEY_U64: {
        uint64_t v;
        memcpy(&v, field, sizeof v);
        snprintf(out, len, "%" PRIu64, v);
        return;
    }
    case KEY_FLOAT: {
        float v;
        memcpy(&v, field, sizeof v);
        format_float(v, out, len);
        return;
    }
    case KEY_BOOL: memcpy(&iv, field, sizeof iv); snprintf(out, len, "%s", iv ? "true" : "false"); return;
    case KEY_ENUM: memcpy(&iv, field, sizeof iv); snprintf(out, len, "%s", k->names[iv]); return;
    case KEY_FLOATS:
    case KEY_NAMES:
        out[0] = '\0';
        for (int i = 0; i < count; i++) {
            char item[64];
            if (k->type == KEY_FLOATS) {
                float v;
                memcpy(&v, field + (size_t)i * sizeof(float), sizeof v);
                format_float(v, item, sizeof item);
            }
            size_t at = strlen(out);
            snprintf(out + at, len - at, "%s%s", i ? ", " : "",
                     k->type == KEY_FLOATS ? item : field + (size_t)i * CBD_NAME_MAX);
        }
        return;
    }
}
