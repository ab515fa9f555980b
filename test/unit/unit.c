#include <sys/wait.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "test/unit/unit.h"

int unit_failed;
static char tmpdir[256];

void
unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "# %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	unit_failed++;
}

void
unit_check_mem(const char *file, int line, const char *what,
    const void *got, size_t gotlen, const void *want, size_t wantlen)
{
	const uint8_t *g = got, *w = want;
	size_t i, n = gotlen < wantlen ? gotlen : wantlen;

	for (i = 0; i < n && g[i] == w[i]; i++)
		;
	if (i == n && gotlen == wantlen)
		return;
	if (i < n)
		unit_fail(file, line, "%s: %zu bytes (want %zu), first difference at "
		    "offset %zu (0x%zx): got %02x, want %02x", what, gotlen, wantlen,
		    i, i, g[i], w[i]);
	else
		unit_fail(file, line, "%s: %zu bytes, want %zu (equal up to the shorter)",
		    what, gotlen, wantlen);
}

uint8_t *
unit_hex(const char *hex, size_t *len)
{
	uint8_t *out = xmalloc(strlen(hex) / 2 + 1);
	size_t n = 0;
	int hi = -1;

	for (const char *p = hex; *p; p++) {
		int v;
		if (isspace((unsigned char)*p))
			continue;
		v = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
		if (hi < 0)
			hi = v;
		else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	*len = n;
	return out;
}

const char *
unit_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		snprintf(tmpdir, sizeof(tmpdir), "%s/ringtail-unit-XXXXXX", base);
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			exit(1);
		}
	}
	return tmpdir;
}

int
main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int n = 0, failed = 0;

	for (const struct unit_case *c = unit_cases; c->name != NULL; c++) {
		pid_t pid;
		int status;

		if (argc > 1 && strcmp(argv[1], c->name) != 0)
			continue;
		n++;
		fflush(stdout);
		if ((pid = fork()) == 0) {
			c->fn();
			if (tmpdir[0] != '\0')
				rm_rf(tmpdir, NULL);
			fflush(stdout);
			_exit(unit_failed ? 1 : 0);
		}
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status))
			printf("# killed by signal %d\n", WTERMSIG(status));
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			printf("ok %d - %s: %s\n", n, prog, c->name);
		else {
			printf("not ok %d - %s: %s\n", n, prog, c->name);
			failed++;
		}
	}
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
