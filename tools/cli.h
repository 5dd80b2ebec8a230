/* Command-line helpers shared by the tools: a usage error that points at
 * --help (exit 2), and numbers parsed whole and range-checked. */
#ifndef CBD_CLI_H
#define CBD_CLI_H

/* Records the program's name (the basename of argv[0]) for messages. */
void cbd_cli_init(const char *argv0);
/* "cbd: error: ..." then "run 'PROGRAM --help' for usage"; exits 2. */
_Noreturn void cbd_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The whole of `text` as an integer (or number) in [lo, hi]; otherwise a
 * usage error naming `option`. */
long long cbd_parse_integer(const char *option, const char *text, long long lo, long long hi);
double cbd_parse_real(const char *option, const char *text, double lo, double hi);

#endif
