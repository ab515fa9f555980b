#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "lib/base/config.h"
#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"

struct config {
	char	**strs;
	size_t	  n;
	size_t	  cap;
};

static const char *keep(struct config *, char *);
static yaml_node_t *lookup(yaml_document_t *, const char *);
static char	*node_text(yaml_document_t *, yaml_node_t *, const char **);
static int	 is_null(const yaml_node_t *);

static const char *
keep(struct config *c, char *s)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->strs = xreallocarray(c->strs, c->cap, sizeof(*c->strs));
	}
	c->strs[c->n++] = s;
	return s;
}

const char *
config_run_dir_default(void)
{
	const char *d = getenv("RINGTAIL_RUN_DIR");

	return d != NULL && *d != '\0' ? d : "/run/ringtail";
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->strs[i]);
	free(c->strs);
	free(c);
}

/* Follow a dotted path through mappings; NULL when a step is missing. */
static yaml_node_t *
lookup(yaml_document_t *doc, const char *path)
{
	yaml_node_t *n = yaml_document_get_root_node(doc);
	const char *p = path;

	while (n != NULL && *p != '\0') {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		yaml_node_t *next = NULL;

		if (n->type != YAML_MAPPING_NODE)
			return NULL;
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		    pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = yaml_document_get_node(doc, pr->key);

			if (k != NULL && k->type == YAML_SCALAR_NODE &&
			    k->data.scalar.length == len &&
			    memcmp(k->data.scalar.value, p, len) == 0)
				next = yaml_document_get_node(doc, pr->value);
		}
		n = next;
		p += len + (dot != NULL);
	}
	return n;
}

/* A plain null, ~ or empty scalar: YAML's null, which leaves the flag alone. */
static int
is_null(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* A scalar's text, or a sequence of scalars joined by commas; NULL and *why otherwise. */
static char *
node_text(yaml_document_t *doc, yaml_node_t *n, const char **why)
{
	char *s = NULL;
	size_t len = 0;

	if (n->type == YAML_SCALAR_NODE)
		return xstrdup((const char *)n->data.scalar.value);
	if (n->type != YAML_SEQUENCE_NODE) {
		*why = "expected a value or a list of values, found a mapping";
		return NULL;
	}
	s = xstrdup("");
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);
		size_t add;

		if (item == NULL || item->type != YAML_SCALAR_NODE) {
			free(s);
			*why = "expected a list of values";
			return NULL;
		}
		add = item->data.scalar.length;
		s = xrealloc(s, len + add + 2);
		if (len > 0)
			s[len++] = ',';
		memcpy(s + len, item->data.scalar.value, add);
		len += add;
		s[len] = '\0';
	}
	return s;
}

int
config_apply(struct config **cfgp, const char *name, const char *text, size_t len,
    const struct flag *tbl, const struct config_key *keys, const unsigned char *skip,
    struct err *e)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = 0;

	if (*cfgp == NULL)
		*cfgp = xcalloc(1, sizeof(**cfgp));
	if (!yaml_parser_initialize(&parser))
		return err_set(e, "%s: cannot initialize the YAML parser", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err_set(e, "%s:%zu:%zu: %s%s%s", name, parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "YAML error",
		    parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return -1;
	}
	for (const struct config_key *k = keys; rc == 0 && k->flag != NULL; k++) {
		const struct flag *f;
		yaml_node_t *n;
		const char *why = NULL;
		char *v;

		for (f = tbl; f->name != NULL; f++)
			if (strcmp(f->name, k->flag) == 0)
				break;
		if (f->name == NULL) {
			rc = err_set(e, "%s: no flag -%s for %s", name, k->flag, k->path);
			break;
		}
		if ((skip != NULL && skip[f - tbl]) || (n = lookup(&doc, k->path)) == NULL ||
		    is_null(n))
			continue;
		if ((v = node_text(&doc, n, &why)) == NULL) {
			rc = err_set(e, "%s:%zu: %s: %s", name, n->start_mark.line + 1,
			    k->path, why);
			break;
		}
		if (f->type == FLAG_LIST) {
			/* Each item of a list flag is one value, as if the flag were repeated. */
			for (char *item = strtok(v, ","); item != NULL; item = strtok(NULL, ","))
				flags_set(f, item, &why);
			free(v);
			continue;
		}
		if (flags_set(f, keep(*cfgp, v), &why) == -1)
			rc = err_set(e, "%s:%zu: %s (-%s): invalid value \"%s\": %s", name,
			    n->start_mark.line + 1, k->path, f->name, v, why);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int
config_parse(struct config **cfgp, const struct flag *tbl, const struct config_key *keys,
    const char *usage, int argc, char **argv)
{
	const char *file = NULL;
	unsigned char *set;
	const struct flag *f;
	size_t ntbl = 0, len;
	struct err e;
	char *text;
	int npos;

	*cfgp = xcalloc(1, sizeof(**cfgp));
	while (tbl[ntbl].name != NULL)
		ntbl++;
	set = xcalloc(ntbl + 1, 1);
	npos = flags_parse_seen(tbl, usage, argc, argv, set);
	for (f = tbl; f->name != NULL; f++)
		if (strcmp(f->name, CONFIG_FLAG) == 0)
			file = *(const char **)f->ptr;
	if (file == NULL || *file == '\0') {
		free(set);
		return npos;
	}
	if (file_read_all(file, &text, &len, &e) == -1) {
		fprintf(stderr, "cannot read -config.file: %s\n", e.msg);
		exit(100);
	}
	if (config_apply(cfgp, file, text, len, tbl, keys, set, &e) == -1) {
		fprintf(stderr, "bad -config.file: %s\n", e.msg);
		exit(100);
	}
	free(text);
	free(set);
	return npos;
}
