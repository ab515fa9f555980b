#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/duration.h"
#include "lib/base/flags.h"
#include "lib/base/xmalloc.h"

static const char *const type_names[] = {
	[FLAG_BOOL] = "", [FLAG_INT] = "int", [FLAG_STRING] = "string",
	[FLAG_DURATION] = "duration", [FLAG_LIST] = "value",
};

void
flags_usage(FILE *fp, const char *usage, const struct flag *tbl)
{
	fprintf(fp, "Usage: %s\n", usage);
	if (tbl[0].name != NULL)
		fprintf(fp, "\nFlags:\n");
	for (const struct flag *f = tbl; f->name != NULL; f++) {
		fprintf(fp, "  -%s %s\n    \t%s", f->name, type_names[f->type], f->help);
		if (f->def != NULL && *f->def != '\0')
			fprintf(fp, " (default %s)", f->def);
		if (f->type == FLAG_LIST)
			fprintf(fp, " (repeatable)");
		fputc('\n', fp);
	}
	fprintf(fp, "  -h\n    \tshow this help\n");
}

/* Store value into the flag; returns 0 or -1 with a reason in why. */
static int
flag_set(const struct flag *f, const char *value, const char **why)
{
	char *end;

	switch (f->type) {
	case FLAG_BOOL:
		if (value == NULL || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
			*(int *)f->ptr = 1;
		else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
			*(int *)f->ptr = 0;
		else
			return (*why = "expected true or false"), -1;
		return 0;
	case FLAG_INT:
		errno = 0;
		*(int64_t *)f->ptr = strtoll(value, &end, 0);
		if (errno || end == value || *end != '\0')
			return (*why = "expected an integer"), -1;
		return 0;
	case FLAG_STRING:
		*(const char **)f->ptr = value;
		return 0;
	case FLAG_DURATION:
		if (duration_parse(value, (int64_t *)f->ptr) == -1)
			return (*why = "expected a duration such as 2h, 30m or 500ms"), -1;
		return 0;
	case FLAG_LIST: {
		struct strlist *l = f->ptr;
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = xstrdup(value);
		return 0;
	}
	}
	return -1;
}

int
flags_set(const struct flag *f, const char *value, const char **why)
{
	return flag_set(f, value, why);
}

static void __attribute__((noreturn))
flags_die(const char *usage, const struct flag *tbl, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	flags_usage(stderr, usage, tbl);
	exit(100);
}

int
flags_parse(const struct flag *tbl, const char *usage, int argc, char **argv)
{
	return flags_parse_seen(tbl, usage, argc, argv, NULL);
}

int
flags_parse_seen(const struct flag *tbl, const char *usage, int argc, char **argv,
    unsigned char *seen)
{
	int npos = 0;
	const char *why;

	for (const struct flag *f = tbl; f->name != NULL; f++)
		if (f->def != NULL && f->type != FLAG_LIST && flag_set(f, f->def, &why) == -1)
			flags_die(usage, tbl, "bad default for -%s: %s", f->name, why);

	for (int i = 1; i < argc; i++) {
		char *arg = argv[i], *name, *value;
		const struct flag *f;
		size_t len;

		if (strcmp(arg, "--") == 0) {
			while (++i < argc)
				argv[npos++] = argv[i];
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			argv[npos++] = arg;
			continue;
		}
		name = arg + (arg[1] == '-' ? 2 : 1);
		if (strcmp(name, "h") == 0 || strcmp(name, "help") == 0) {
			flags_usage(stdout, usage, tbl);
			exit(0);
		}
		value = strchr(name, '=');
		len = value ? (size_t)(value - name) : strlen(name);
		for (f = tbl; f->name != NULL; f++)
			if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
				break;
		if (f->name == NULL)
			flags_die(usage, tbl, "flag provided but not defined: %s%s", arg, "");
		if (value != NULL)
			value++;
		else if (f->type != FLAG_BOOL) {
			if (i + 1 >= argc)
				flags_die(usage, tbl, "flag needs an argument: -%s%s", f->name, "");
			value = argv[++i];
		}
		if (flag_set(f, value, &why) == -1)
			flags_die(usage, tbl, "invalid value for -%s: %s", f->name, why);
		if (seen != NULL)
			seen[f - tbl] = 1;
	}
	argv[npos] = NULL;
	return npos;
}

void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
