/*
 * test_block — whole blocks: the writer reproduces promtool's Appendix A
 * block byte for byte; the reader selects and merges series like a
 * Prometheus querier; verify finds corruption.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/fileutil.h"
#include "lib/base/xmalloc.h"
#include "lib/tsdb/block.h"
#include "lib/tsdb/gofmt.h"
#include "lib/tsdb/verify.h"
#include "lib/tsdb/xor.h"
#include "test/unit/unit.h"

/* Appendix A.2: chunks/000001 as promtool wrote it. */
static const char appendix_chunks[] =
	"85 bd 40 dd 01 00 00 00 19 01 00 06 00 3f f0 00\n"
	"00 00 00 00 00 98 75 30 97 ff e0 fa 36 83 b8 30\n"
	"b8 7d 00 84 90 4f ba 2d 01 00 06 00 7f f8 00 00\n"
	"00 00 00 01 dc 0b d9 a4 00 00 00 00 00 00 de 0c\n"
	"60 07 03 e9 84 bf fe c0 ce 09 74 25 87 ff f8 ec\n"
	"e5 7c 2d f8 e1 a0 1a 93 63 ac 0c 01 00 01 00 3f\n"
	"f0 00 00 00 00 00 00 00 5c 80 d3 d7\n";

/* Appendix A.3: the index. */
static const char appendix_index[] =
	"ba aa d7 00 02 00 00 00 40 00 00 00 0b 00 06 43\n"
	"3a 5c 74 6d 70 07 5a c3 bc 72 69 63 68 08 5f 5f\n"
	"6e 61 6d 65 5f 5f 04 63 69 74 79 04 64 65 6d 6f\n"
	"03 6d 73 67 03 6f 64 64 04 70 61 74 68 08 73 61\n"
	"79 20 22 68 69 22 02 75 70 4d 8d f1 f2 00 00 00\n"
	"0f 04 03 05 04 02 06 09 08 01 01 00 90 bf 05 08\n"
	"2a bf 58 92 00 00 00 00 00 00 00 00 00 00 00 00\n"
	"08 01 03 07 01 00 88 27 27 81 ae a0 00 00 00 00\n"
	"07 01 03 0a 01 00 00 5a b5 46 01 e5 00 00 00 14\n"
	"00 00 00 01 00 00 00 03 00 00 00 05 00 00 00 07\n"
	"00 00 00 0a 5b 32 f0 c9 00 00 00 0c 00 00 00 01\n"
	"00 00 00 01 00 00 00 02 06 74 7c 4e 00 00 00 0c\n"
	"00 00 00 01 00 00 00 01 00 00 00 09 9f fd d7 75\n"
	"00 00 00 0c 00 00 00 01 00 00 00 01 00 00 00 01\n"
	"15 24 8f ba 00 00 00 10 00 00 00 03 00 00 00 05\n"
	"00 00 00 07 00 00 00 08 1b 58 90 b5 00 00 00 08\n"
	"00 00 00 01 00 00 00 05 81 c8 c9 3a 00 00 00 08\n"
	"00 00 00 01 00 00 00 07 60 f3 b9 cd 00 00 00 08\n"
	"00 00 00 01 00 00 00 08 3e e0 85 e9 00 00 00 08\n"
	"00 00 00 01 00 00 00 05 81 c8 c9 3a 00 00 00 08\n"
	"00 00 00 01 00 00 00 05 81 c8 c9 3a 00 00 00 08\n"
	"00 00 00 01 00 00 00 05 81 c8 c9 3a 00 00 00 27\n"
	"00 00 00 04 01 08 5f 5f 6e 61 6d 65 5f 5f 8c 01\n"
	"01 04 63 69 74 79 a8 01 01 03 6d 73 67 bc 01 01\n"
	"04 70 61 74 68 d0 01 69 c3 77 66 00 00 00 68 00\n"
	"00 00 07 02 00 00 e4 01 02 08 5f 5f 6e 61 6d 65\n"
	"5f 5f 04 64 65 6d 6f fc 01 02 08 5f 5f 6e 61 6d\n"
	"65 5f 5f 03 6f 64 64 8c 02 02 08 5f 5f 6e 61 6d\n"
	"65 5f 5f 02 75 70 9c 02 02 04 63 69 74 79 07 5a\n"
	"c3 bc 72 69 63 68 ac 02 02 03 6d 73 67 08 73 61\n"
	"79 20 22 68 69 22 bc 02 02 04 70 61 74 68 06 43\n"
	"3a 5c 74 6d 70 cc 02 5f 31 1f 05 00 00 00 00 00\n"
	"00 00 05 00 00 00 00 00 00 00 4d 00 00 00 00 00\n"
	"00 00 8c 00 00 00 00 00 00 01 5c 00 00 00 00 00\n"
	"00 00 e4 00 00 00 00 00 00 01 8b 55 42 1c ee\n";

/* §2: meta.json of the Appendix A block, %s = its ULID (twice). */
static const char appendix_meta[] =
	"{\n"
	"\t\"ulid\": \"%s\",\n"
	"\t\"minTime\": 0,\n"
	"\t\"maxTime\": 90001,\n"
	"\t\"stats\": {\n"
	"\t\t\"numSamples\": 13,\n"
	"\t\t\"numSeries\": 3,\n"
	"\t\t\"numChunks\": 3\n"
	"\t},\n"
	"\t\"compaction\": {\n"
	"\t\t\"level\": 1,\n"
	"\t\t\"sources\": [\n"
	"\t\t\t\"%s\"\n"
	"\t\t]\n"
	"\t},\n"
	"\t\"version\": 1\n"
	"}";

/* Appendix A.4: promtool tsdb dump of that block. */
static const char appendix_dump[] =
	"{__name__=\"demo\", city=\"Zürich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 1 0\n"
	"{__name__=\"demo\", city=\"Zürich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 1 15000\n"
	"{__name__=\"demo\", city=\"Zürich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2 30000\n"
	"{__name__=\"demo\", city=\"Zürich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2.5 46000\n"
	"{__name__=\"demo\", city=\"Zürich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2 60000\n"
	"{__name__=\"demo\", city=\"Zürich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2 90000\n"
	"{__name__=\"odd\"} NaN 0\n"
	"{__name__=\"odd\"} +Inf 1500\n"
	"{__name__=\"odd\"} -Inf 2000\n"
	"{__name__=\"odd\"} -0 3000\n"
	"{__name__=\"odd\"} 1e+06 4000\n"
	"{__name__=\"odd\"} 1.2345e-05 5000\n"
	"{__name__=\"up\"} 1 0\n";

struct sample {
	int64_t		t;
	uint64_t	v;
};

/* A test series: name/value pairs sorted by name, NULL-terminated. */
struct tser {
	const char		*kv[9];
	const struct sample	*s;
	size_t			 n;
	size_t			 per_chunk;	/* samples per chunk; 0 = one chunk */
};

static uint64_t
f64(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static const struct sample demo_samples[] = {
	{ 0, 0x3ff0000000000000ULL }, { 15000, 0x3ff0000000000000ULL },
	{ 30000, 0x4000000000000000ULL }, { 46000, 0x4004000000000000ULL },
	{ 60000, 0x4000000000000000ULL }, { 90000, 0x4000000000000000ULL },
};
static const struct sample odd_samples[] = {
	{ 0, 0x7FF8000000000001ULL }, { 1500, 0x7FF0000000000000ULL },
	{ 2000, 0xFFF0000000000000ULL }, { 3000, 0x8000000000000000ULL },
	{ 4000, 0x412E848000000000ULL }, { 5000, 0x3EE9E3ABE16FC70DULL },
};
static const struct sample up_samples[] = {
	{ 0, 0x3ff0000000000000ULL },
};

static const struct tser appendix_series[] = {
	{ { "__name__", "demo", "city", "Zürich", "msg", "say \"hi\"", "path", "C:\\tmp", NULL },
	    demo_samples, 6, 0 },
	{ { "__name__", "odd", NULL }, odd_samples, 6, 0 },
	{ { "__name__", "up", NULL }, up_samples, 1, 0 },
};

static void
tser_labels(const struct tser *ts, struct labels *ls, struct label *lv)
{
	ls->v = lv;
	ls->n = 0;
	for (size_t i = 0; ts->kv[i] != NULL; i += 2) {
		lv[ls->n].name = str_c(ts->kv[i]);
		lv[ls->n].value = str_c(ts->kv[i + 1]);
		ls->n++;
	}
}

static int
str_sort_cmp(const void *a, const void *b)
{
	return str_cmp(*(const struct str *)a, *(const struct str *)b);
}

/*
 * Write a block of the given series (any order) into parent with the block
 * writer; the ULID goes to ulid. Returns the writer's *written, -1 on error.
 */
static int
write_block(const char *parent, const struct tser *ser, size_t n, uint64_t seg_size,
    char ulid[ULID_LEN + 1])
{
	struct block_writer *w;
	struct str syms[256];
	size_t nsyms = 0, order[32];
	struct err e;
	int written;

	syms[nsyms++] = STR_LIT("");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; ser[i].kv[j] != NULL; j++)
			syms[nsyms++] = str_c(ser[i].kv[j]);
	qsort(syms, nsyms, sizeof(syms[0]), str_sort_cmp);
	/* series in label order */
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = 1; i < n; i++) {
		for (size_t j = i; j > 0; j--) {
			struct labels a, b;
			struct label la[4], lb[4];

			tser_labels(&ser[order[j - 1]], &a, la);
			tser_labels(&ser[order[j]], &b, lb);
			if (labels_cmp(&a, &b) <= 0)
				break;
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}

	if ((w = block_writer_create(parent, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "create: %s", e.msg);
		return -1;
	}
	if (seg_size)
		block_writer_set_segment_size(w, seg_size);
	snprintf(ulid, ULID_LEN + 1, "%s", block_writer_meta(w)->ulid);
	for (size_t i = 0; i < nsyms; i++) {
		if (i > 0 && str_eq(syms[i], syms[i - 1]))
			continue;
		if (block_writer_add_symbol(w, syms[i], &e) == -1) {
			unit_fail(__FILE__, __LINE__, "add symbol: %s", e.msg);
			block_writer_abort(w);
			return -1;
		}
	}
	for (size_t k = 0; k < n; k++) {
		const struct tser *ts = &ser[order[k]];
		size_t per = ts->per_chunk ? ts->per_chunk : ts->n;
		size_t nch = (ts->n + per - 1) / per;
		struct xor_chunk xc[64];
		struct chunk ch[64];
		struct labels ls;
		struct label lv[4];
		int rc;

		tser_labels(ts, &ls, lv);
		for (size_t c = 0; c < nch; c++) {
			size_t from = c * per, to = from + per < ts->n ? from + per : ts->n;

			xor_chunk_init(&xc[c]);
			for (size_t i = from; i < to; i++)
				xor_chunk_append(&xc[c], ts->s[i].t, ts->s[i].v);
			memset(&ch[c], 0, sizeof(ch[c]));
			ch[c].mint = ts->s[from].t;
			ch[c].maxt = ts->s[to - 1].t;
			ch[c].enc = CHUNK_ENC_XOR;
			ch[c].data = xor_chunk_bytes(&xc[c], &ch[c].len);
		}
		rc = block_writer_add_series(w, &ls, ch, nch, &e);
		for (size_t c = 0; c < nch; c++)
			xor_chunk_free(&xc[c]);
		if (rc == -1) {
			unit_fail(__FILE__, __LINE__, "add series: %s", e.msg);
			block_writer_abort(w);
			return -1;
		}
	}
	if (block_writer_commit(w, &written, &e) == -1) {
		unit_fail(__FILE__, __LINE__, "commit: %s", e.msg);
		return -1;
	}
	return written;
}

static uint8_t *
read_file(const char *dir, const char *name, size_t *len)
{
	char path[2 * PATH_MAX], *data;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (file_read_all(path, &data, len, NULL) == -1) {
		*len = 0;
		return NULL;
	}
	return (uint8_t *)data;
}

static size_t
count_entries(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* The dump text of the series set over blocks; -1 (message in e) on error. */
static int
dump_text(struct block **b, size_t nb, const char *sel, int64_t mint, int64_t maxt,
    struct buf *out, struct err *e)
{
	struct matcher *ms;
	struct series_set *ss;
	const struct labels *ls;
	size_t nm;
	int r;

	buf_reset(out);
	if (selector_parse(sel, &ms, &nm, e) == -1)
		return -1;
	if ((ss = series_set_open(b, nb, ms, nm, mint, maxt, e)) == NULL) {
		matchers_free(ms, nm);
		return -1;
	}
	while ((r = series_set_next(ss, &ls, e)) == 1) {
		int64_t t;
		uint64_t v;
		int s;

		while ((s = series_set_sample(ss, &t, &v, e)) == 1) {
			char num[64];
			size_t k;

			gofmt_labels(out, ls);
			buf_put_u8(out, ' ');
			k = gofmt_float(num, v);
			buf_put_bytes(out, num, k);
			k = (size_t)snprintf(num, sizeof(num), " %lld\n", (long long)t);
			buf_put_bytes(out, num, k);
		}
		if (s == -1) {
			r = -1;
			break;
		}
	}
	series_set_close(ss);
	matchers_free(ms, nm);
	buf_put_u8(out, '\0');
	out->len--;
	return r;
}

static void
check_text(const char *file, int line, struct buf *got, const char *want)
{
	if (got->len != strlen(want) || memcmp(got->p, want, got->len) != 0)
		unit_fail(file, line, "got:\n%.*s\nwant:\n%s", (int)got->len,
		    got->p ? (const char *)got->p : "", want);
}
#define CHECK_TEXT(got, want) check_text(__FILE__, __LINE__, got, want)

static struct block *
open_block(const char *parent, const char *ulid)
{
	char dir[PATH_MAX];
	struct block *b;
	struct err e;

	snprintf(dir, sizeof(dir), "%s/%s", parent, ulid);
	if ((b = block_open(dir, &e)) == NULL)
		unit_fail(__FILE__, __LINE__, "open %s: %s", dir, e.msg);
	return b;
}

static void
block_writer_matches_appendix_a(void)
{
	const char *tmp = unit_tmpdir();
	char ulid[ULID_LEN + 1], dir[PATH_MAX], want_meta[1024];
	uint8_t *got, *want;
	size_t glen, wlen;
	struct block_meta m = { 0 };
	struct err e;

	CHECK_INT(write_block(tmp, appendix_series, 3, 0, ulid), 1);
	snprintf(dir, sizeof(dir), "%s/%s", tmp, ulid);
	CHECK(path_is_dir(dir));
	CHECK_INT(count_entries(tmp), 1);	/* no .tmp-for-creation left */

	got = read_file(dir, "chunks/000001", &glen);
	want = unit_hex(appendix_chunks, &wlen);
	CHECK_MEM(got, glen, want, wlen);
	free(got);
	free(want);

	got = read_file(dir, "index", &glen);
	want = unit_hex(appendix_index, &wlen);
	CHECK_INT(wlen, 559);
	CHECK_MEM(got, glen, want, wlen);
	free(got);
	free(want);

	got = read_file(dir, "tombstones", &glen);
	want = unit_hex("01 30 ba 30 01 00 00 00 00", &wlen);
	CHECK_MEM(got, glen, want, wlen);
	free(got);
	free(want);

	snprintf(want_meta, sizeof(want_meta), appendix_meta, ulid, ulid);
	got = read_file(dir, "meta.json", &glen);
	CHECK_INT(glen, 247);
	CHECK_MEM(got, glen, want_meta, strlen(want_meta));
	free(got);

	CHECK_INT(meta_read(dir, &m, &e), 0);
	CHECK_U64(m.num_samples, 13);
	CHECK_U64(m.num_series, 3);
	CHECK_U64(m.num_chunks, 3);
	CHECK_INT(m.min_time, 0);
	CHECK_INT(m.max_time, 90001);
	CHECK_INT(m.level, 1);
	CHECK_INT(m.nsources, 1);
	if (m.nsources == 1)
		CHECK_STR(m.sources[0], ulid);
	meta_free(&m);
}

static void
block_reader_dumps_appendix_a(void)
{
	const char *tmp = unit_tmpdir();
	char ulid[ULID_LEN + 1];
	struct buf out = { 0 };
	struct block *b;
	struct err e;

	CHECK_INT(write_block(tmp, appendix_series, 3, 0, ulid), 1);
	if ((b = open_block(tmp, ulid)) == NULL)
		return;
	CHECK_INT(block_get_meta(b)->num_samples, 13);
	CHECK_INT(dump_text(&b, 1, "{__name__=~'(?s:.*)'}", INT64_MIN, INT64_MAX, &out, &e), 0);
	CHECK_TEXT(&out, appendix_dump);
	buf_free(&out);
	block_close(b);
}

/* The __name__ of every series a selector picks, space-separated. */
static void
check_select(const char *file, int line, struct block *b, const char *sel, const char *want)
{
	struct postings p = { 0 };
	struct index_series s = { 0 };
	struct matcher *ms;
	struct buf got = { 0 };
	struct err e;
	size_t nm;

	if (selector_parse(sel, &ms, &nm, &e) == -1) {
		unit_fail(file, line, "parse %s: %s", sel, e.msg);
		return;
	}
	if (block_select(b, ms, nm, &p, &e) == -1)
		unit_fail(file, line, "select %s: %s", sel, e.msg);
	for (size_t i = 0; i < p.n; i++) {
		struct str name;

		if (i > 0 && p.ids[i] <= p.ids[i - 1])
			unit_fail(file, line, "select %s: ids not ascending", sel);
		if (index_reader_series(block_index(b), p.ids[i], &s, &e) == -1) {
			unit_fail(file, line, "series %u: %s", p.ids[i], e.msg);
			continue;
		}
		name = labels_get(&s.labels, STR_LIT("__name__"));
		if (i > 0)
			buf_put_u8(&got, ' ');
		buf_put_bytes(&got, name.p, name.len);
	}
	buf_put_u8(&got, '\0');
	if (strcmp((char *)got.p, want) != 0)
		unit_fail(file, line, "select %s = \"%s\", want \"%s\"", sel, (char *)got.p, want);
	buf_free(&got);
	index_series_free(&s);
	postings_free(&p);
	matchers_free(ms, nm);
}
#define CHECK_SELECT(b, sel, want) check_select(__FILE__, __LINE__, b, sel, want)

static void
block_select_follows_prometheus(void)
{
	const char *tmp = unit_tmpdir();
	char ulid[ULID_LEN + 1];
	struct block *b;

	CHECK_INT(write_block(tmp, appendix_series, 3, 0, ulid), 1);
	if ((b = open_block(tmp, ulid)) == NULL)
		return;
	CHECK_SELECT(b, "demo", "demo");
	CHECK_SELECT(b, "{__name__=\"nope\"}", "");
	CHECK_SELECT(b, "{__name__=~\"o.*|up\"}", "odd up");
	CHECK_SELECT(b, "{__name__=~\"d\"}", "");		/* anchored */
	CHECK_SELECT(b, "{__name__!=\"up\"}", "demo odd");
	CHECK_SELECT(b, "{__name__!~\"d.*\"}", "odd up");
	/* a matcher that matches "" also selects series without the label */
	CHECK_SELECT(b, "{city=\"\"}", "odd up");
	CHECK_SELECT(b, "{city!=\"Zürich\"}", "odd up");
	CHECK_SELECT(b, "{city=~\"Z.*|\"}", "demo odd up");
	CHECK_SELECT(b, "{city!=\"\"}", "demo");
	CHECK_SELECT(b, "{city=~\".+\"}", "demo");
	CHECK_SELECT(b, "{__name__=~\".+\", city=\"\"}", "odd up");
	CHECK_SELECT(b, "{__name__=~\"demo|up\", msg!~\"say.*\"}", "up");
	CHECK_SELECT(b, "{path=\"C:\\\\tmp\", msg=\"say \\\"hi\\\"\"}", "demo");
	CHECK_SELECT(b, "{nolabel=\"\"}", "demo odd up");
	CHECK_SELECT(b, "{nolabel=\"x\"}", "");
	block_close(b);
}

static void
series_set_restricts_time(void)
{
	const char *tmp = unit_tmpdir();
	char ulid[ULID_LEN + 1];
	struct buf out = { 0 };
	struct block *b;
	struct err e;

	CHECK_INT(write_block(tmp, appendix_series, 3, 0, ulid), 1);
	if ((b = open_block(tmp, ulid)) == NULL)
		return;
	CHECK_INT(dump_text(&b, 1, "{__name__=~\"demo|odd\"}", 1500, 46000, &out, &e), 0);
	CHECK_TEXT(&out,
	    "{__name__=\"demo\", city=\"Zürich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 1 15000\n"
	    "{__name__=\"demo\", city=\"Zürich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2 30000\n"
	    "{__name__=\"demo\", city=\"Zürich\", msg=\"say \\\"hi\\\"\", path=\"C:\\\\tmp\"} 2.5 46000\n"
	    "{__name__=\"odd\"} +Inf 1500\n"
	    "{__name__=\"odd\"} -Inf 2000\n"
	    "{__name__=\"odd\"} -0 3000\n"
	    "{__name__=\"odd\"} 1e+06 4000\n"
	    "{__name__=\"odd\"} 1.2345e-05 5000\n");
	/* up's only chunk [0, 0] lies outside [1, 10]: the series is not returned */
	CHECK_INT(dump_text(&b, 1, "up", 1, 10, &out, &e), 0);
	CHECK_TEXT(&out, "");
	buf_free(&out);
	block_close(b);
}

struct faults {
	char	text[8192];
	size_t	len;
	size_t	n;
};

static void
collect_fault(void *arg, const char *what)
{
	struct faults *f = arg;

	f->len += (size_t)snprintf(f->text + f->len, sizeof(f->text) - f->len, "%s\n", what);
	if (f->len >= sizeof(f->text))
		f->len = sizeof(f->text) - 1;
	f->n++;
}

static struct sample ramp_a[10], ramp_b[10], ramp_c[300];

static void
series_set_merges_blocks(void)
{
	const char *tmp = unit_tmpdir();
	char ua[ULID_LEN + 1], ub[ULID_LEN + 1], want[4096];
	struct buf out = { 0 };
	struct block *b[2];
	struct err e;
	size_t n = 0;

	for (int i = 0; i < 10; i++) {
		ramp_a[i].t = i * 1000;
		ramp_a[i].v = f64(i);
		ramp_b[i].t = (i + 5) * 1000;	/* 5..9 duplicate block a */
		ramp_b[i].v = f64(i + 5);
	}
	const struct tser sa[] = {
		{ { "__name__", "x", NULL }, ramp_a, 10, 3 },
		{ { "__name__", "y", NULL }, ramp_a, 2, 0 },
	};
	const struct tser sb[] = {
		{ { "__name__", "x", NULL }, ramp_b, 10, 4 },
		{ { "__name__", "w", NULL }, ramp_b, 1, 0 },
		{ { "__name__", "z", "a", "1", NULL }, ramp_b + 9, 1, 0 },
	};
	CHECK_INT(write_block(tmp, sa, 2, 0, ua), 1);
	CHECK_INT(write_block(tmp, sb, 3, 0, ub), 1);
	if ((b[0] = open_block(tmp, ua)) == NULL || (b[1] = open_block(tmp, ub)) == NULL)
		return;
	n += (size_t)snprintf(want + n, sizeof(want) - n, "{__name__=\"w\"} 5 5000\n");
	for (int i = 0; i < 15; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "{__name__=\"x\"} %d %d\n",
		    i, i * 1000);
	n += (size_t)snprintf(want + n, sizeof(want) - n,
	    "{__name__=\"y\"} 0 0\n{__name__=\"y\"} 1 1000\n"
	    "{__name__=\"z\", a=\"1\"} 14 14000\n");
	CHECK_INT(dump_text(b, 2, "{__name__=~\".+\"}", INT64_MIN, INT64_MAX, &out, &e), 0);
	CHECK_TEXT(&out, want);
	/* the same with the blocks the other way round */
	struct block *rev[2] = { b[1], b[0] };
	CHECK_INT(dump_text(rev, 2, "{__name__=~\".+\"}", INT64_MIN, INT64_MAX, &out, &e), 0);
	CHECK_TEXT(&out, want);
	CHECK_INT(dump_text(b, 2, "x", 8000, 11000, &out, &e), 0);
	CHECK_TEXT(&out, "{__name__=\"x\"} 8 8000\n{__name__=\"x\"} 9 9000\n"
	    "{__name__=\"x\"} 10 10000\n{__name__=\"x\"} 11 11000\n");
	buf_free(&out);
	block_close(b[0]);
	block_close(b[1]);
}

static void
series_set_drops_tombstoned_samples(void)
{
	const char *tmp = unit_tmpdir();
	char ulid[ULID_LEN + 1], dir[PATH_MAX];
	struct postings p = { 0 };
	struct buf out = { 0 };
	struct matcher *ms;
	struct block *b;
	struct err e;
	size_t nm;

	for (int i = 0; i < 10; i++) {
		ramp_a[i].t = i * 1000;
		ramp_a[i].v = f64(i);
	}
	const struct tser s[] = {
		{ { "__name__", "x", NULL }, ramp_a, 10, 3 },
		{ { "__name__", "y", NULL }, ramp_a, 3, 0 },
	};
	CHECK_INT(write_block(tmp, s, 2, 0, ulid), 1);
	if ((b = open_block(tmp, ulid)) == NULL)
		return;
	/* find the series IDs, then delete x in [2000, 3000] ∪ [3001, 4000] and y wholly */
	CHECK_INT(selector_parse("x", &ms, &nm, &e), 0);
	CHECK_INT(block_select(b, ms, nm, &p, &e), 0);
	CHECK_INT(p.n, 1);
	uint32_t xid = p.n ? p.ids[0] : 0;
	matchers_free(ms, nm);
	CHECK_INT(selector_parse("y", &ms, &nm, &e), 0);
	CHECK_INT(block_select(b, ms, nm, &p, &e), 0);
	CHECK_INT(p.n, 1);
	uint32_t yid = p.n ? p.ids[0] : 0;
	matchers_free(ms, nm);
	postings_free(&p);
	block_close(b);

	const struct tombstone st[] = {
		{ xid, 3001, 4000 }, { yid, -5, 100000 }, { xid, 2000, 3000 }, { xid, 9000, 9000 },
	};
	snprintf(dir, sizeof(dir), "%s/%s", tmp, ulid);
	CHECK_INT(tombstones_write(dir, st, 4, &e), 0);
	if ((b = open_block(tmp, ulid)) == NULL)
		return;
	CHECK_INT(dump_text(&b, 1, "{__name__=~\"x|y\"}", INT64_MIN, INT64_MAX, &out, &e), 0);
	CHECK_TEXT(&out, "{__name__=\"x\"} 0 0\n{__name__=\"x\"} 1 1000\n"
	    "{__name__=\"x\"} 5 5000\n{__name__=\"x\"} 6 6000\n"
	    "{__name__=\"x\"} 7 7000\n{__name__=\"x\"} 8 8000\n");
	buf_free(&out);
	block_close(b);
}

static void
block_writer_drops_empty_block(void)
{
	const char *tmp = unit_tmpdir();
	struct block_writer *w;
	struct err e;
	int written = 7;

	if ((w = block_writer_create(tmp, &e)) == NULL) {
		unit_fail(__FILE__, __LINE__, "create: %s", e.msg);
		return;
	}
	CHECK_INT(block_writer_add_symbol(w, STR_LIT(""), &e), 0);
	CHECK_INT(count_entries(tmp), 1);	/* the work dir */
	CHECK_INT(block_writer_commit(w, &written, &e), 0);
	CHECK_INT(written, 0);
	CHECK_INT(count_entries(tmp), 0);

	if ((w = block_writer_create(tmp, &e)) == NULL)
		return;
	block_writer_abort(w);
	CHECK_INT(count_entries(tmp), 0);
}

static void
block_writer_rejects_overlapping_chunks(void)
{
	const char *tmp = unit_tmpdir();
	struct block_writer *w;
	struct xor_chunk xc;
	struct chunk ch[2];
	struct label l = { STR_LIT("__name__"), STR_LIT("a") };
	struct labels ls = { &l, 1 };
	struct err e;

	if ((w = block_writer_create(tmp, &e)) == NULL)
		return;
	CHECK_INT(block_writer_add_symbol(w, STR_LIT(""), &e), 0);
	CHECK_INT(block_writer_add_symbol(w, STR_LIT("__name__"), &e), 0);
	CHECK_INT(block_writer_add_symbol(w, STR_LIT("a"), &e), 0);
	xor_chunk_init(&xc);
	xor_chunk_append(&xc, 10, f64(1));
	xor_chunk_append(&xc, 20, f64(2));
	memset(ch, 0, sizeof(ch));
	for (int i = 0; i < 2; i++) {
		ch[i].mint = 10 + i * 10;
		ch[i].maxt = 20 + i * 10;
		ch[i].enc = CHUNK_ENC_XOR;
		ch[i].data = xor_chunk_bytes(&xc, &ch[i].len);
	}
	CHECK_INT(block_writer_add_series(w, &ls, ch, 2, &e), -1);
	xor_chunk_free(&xc);
	block_writer_abort(w);
	CHECK_INT(count_entries(tmp), 0);
}

static void
block_writer_meta_overrides(void)
{
	const char *tmp = unit_tmpdir();
	struct block_writer *w;
	struct block_meta *m, got = { 0 };
	struct xor_chunk xc;
	struct chunk ch = { 0 };
	struct label l = { STR_LIT("__name__"), STR_LIT("a") };
	struct labels ls = { &l, 1 };
	char dir[PATH_MAX];
	struct err e;
	int written = 0;

	if ((w = block_writer_create(tmp, &e)) == NULL)
		return;
	CHECK_INT(block_writer_add_symbol(w, STR_LIT(""), &e), 0);
	CHECK_INT(block_writer_add_symbol(w, STR_LIT("__name__"), &e), 0);
	CHECK_INT(block_writer_add_symbol(w, STR_LIT("a"), &e), 0);
	xor_chunk_init(&xc);
	xor_chunk_append(&xc, 7200000, f64(1));
	xor_chunk_append(&xc, 7260000, f64(2));
	ch.mint = 7200000;
	ch.maxt = 7260000;
	ch.enc = CHUNK_ENC_XOR;
	ch.data = xor_chunk_bytes(&xc, &ch.len);
	CHECK_INT(block_writer_add_series(w, &ls, &ch, 1, &e), 0);
	xor_chunk_free(&xc);
	m = block_writer_meta(w);
	CHECK_INT(m->min_time, 7200000);
	CHECK_INT(m->max_time, 7260001);
	m->max_time = 14400000;
	m->level = 2;
	snprintf(dir, sizeof(dir), "%s/%s", tmp, m->ulid);
	CHECK_INT(block_writer_commit(w, &written, &e), 0);
	CHECK_INT(written, 1);
	CHECK_INT(meta_read(dir, &got, &e), 0);
	CHECK_INT(got.min_time, 7200000);
	CHECK_INT(got.max_time, 14400000);
	CHECK_INT(got.level, 2);
	CHECK_U64(got.num_samples, 2);
	meta_free(&got);
}

static void
block_reads_across_segments(void)
{
	const char *tmp = unit_tmpdir();
	char ulid[ULID_LEN + 1], dir[PATH_MAX], want[65536];
	struct faults f;
	struct buf out = { 0 };
	struct block *b;
	struct err e;
	size_t n = 0;

	for (int i = 0; i < 300; i++) {
		ramp_c[i].t = (int64_t)i * 15000 - 60000;	/* negative timestamps too */
		ramp_c[i].v = f64(i * 0.5);
	}
	const struct tser s[] = {
		{ { "__name__", "a", NULL }, ramp_c, 300, 120 },
		{ { "__name__", "b", "job", "j", NULL }, ramp_c, 50, 0 },
	};
	/* 200-byte segments: about one chunk per segment */
	CHECK_INT(write_block(tmp, s, 2, 200, ulid), 1);
	snprintf(dir, sizeof(dir), "%s/%s/chunks", tmp, ulid);
	CHECK(count_entries(dir) >= 3);
	if ((b = open_block(tmp, ulid)) == NULL)
		return;
	CHECK(chunk_reader_nsegments(block_chunks(b)) >= 3);
	for (int i = 0; i < 300; i++) {
		char num[GOFMT_FLOAT_MAX];

		gofmt_float(num, ramp_c[i].v);
		n += (size_t)snprintf(want + n, sizeof(want) - n, "{__name__=\"a\"} %s %lld\n",
		    num, (long long)ramp_c[i].t);
	}
	for (int i = 0; i < 50; i++) {
		char num[GOFMT_FLOAT_MAX];

		gofmt_float(num, ramp_c[i].v);
		n += (size_t)snprintf(want + n, sizeof(want) - n,
		    "{__name__=\"b\", job=\"j\"} %s %lld\n", num, (long long)ramp_c[i].t);
	}
	CHECK_INT(dump_text(&b, 1, "{job=~\".*\"}", INT64_MIN, INT64_MAX, &out, &e), 0);
	CHECK_TEXT(&out, want);
	buf_free(&out);
	block_close(b);
	snprintf(dir, sizeof(dir), "%s/%s", tmp, ulid);
	memset(&f, 0, sizeof(f));
	CHECK_INT(verify_block(dir, collect_fault, &f), 0);
	if (f.n)
		unit_fail(__FILE__, __LINE__, "faults: %s", f.text);
}

static void
flip_byte(const char *dir, const char *name, off_t off)
{
	char path[2 * PATH_MAX];
	unsigned char c;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDWR)) == -1) {
		unit_fail(__FILE__, __LINE__, "open %s", path);
		return;
	}
	if (pread(fd, &c, 1, off) != 1 || (c ^= 0xff, pwrite(fd, &c, 1, off)) != 1)
		unit_fail(__FILE__, __LINE__, "flip %s at %lld", path, (long long)off);
	close(fd);
}

static void
verify_finds_corruption(void)
{
	const char *tmp = unit_tmpdir();
	char ulid[ULID_LEN + 1], dir[PATH_MAX];
	struct faults f;
	struct buf out = { 0 };
	struct block *b;
	struct err e;

	CHECK_INT(write_block(tmp, appendix_series, 3, 0, ulid), 1);
	snprintf(dir, sizeof(dir), "%s/%s", tmp, ulid);
	memset(&f, 0, sizeof(f));
	CHECK_INT(verify_block(dir, collect_fault, &f), 0);
	if (f.n)
		unit_fail(__FILE__, __LINE__, "clean block: %s", f.text);

	/* a byte of the odd chunk's data (0x29 + 10) */
	flip_byte(dir, "chunks/000001", 0x33);
	memset(&f, 0, sizeof(f));
	CHECK(verify_block(dir, collect_fault, &f) > 0);
	CHECK(strstr(f.text, "chunk") != NULL && strstr(f.text, "ref 39") != NULL);
	if ((b = open_block(tmp, ulid)) != NULL) {
		CHECK_INT(dump_text(&b, 1, "odd", INT64_MIN, INT64_MAX, &out, &e), -1);
		CHECK(strstr(e.msg, "39") != NULL);
		/* the other series still read */
		CHECK_INT(dump_text(&b, 1, "up", INT64_MIN, INT64_MAX, &out, &e), 0);
		CHECK_TEXT(&out, "{__name__=\"up\"} 1 0\n");
		block_close(b);
	}
	flip_byte(dir, "chunks/000001", 0x33);

	/* the label count of series 7 (odd) at 0x71 */
	flip_byte(dir, "index", 0x71);
	memset(&f, 0, sizeof(f));
	CHECK(verify_block(dir, collect_fault, &f) > 0);
	CHECK(strstr(f.text, "offset 112") != NULL);
	flip_byte(dir, "index", 0x71);

	/* a postings list (__name__="up" -> [8]) at 0x127 */
	flip_byte(dir, "index", 0x127);
	memset(&f, 0, sizeof(f));
	CHECK(verify_block(dir, collect_fault, &f) > 0);
	CHECK(strstr(f.text, "postings") != NULL);
	flip_byte(dir, "index", 0x127);

	/* the TOC: the index no longer opens, verify says so, block_open fails */
	flip_byte(dir, "index", 0x220);
	memset(&f, 0, sizeof(f));
	CHECK(verify_block(dir, collect_fault, &f) > 0);
	CHECK(strstr(f.text, "index") != NULL);
	CHECK(block_open(dir, &e) == NULL);
	flip_byte(dir, "index", 0x220);

	memset(&f, 0, sizeof(f));
	CHECK_INT(verify_block(dir, collect_fault, &f), 0);
	buf_free(&out);
}

static void
verify_checks_stats(void)
{
	const char *tmp = unit_tmpdir();
	char ulid[ULID_LEN + 1], dir[PATH_MAX];
	struct block_meta m = { 0 };
	struct faults f;
	struct err e;

	CHECK_INT(write_block(tmp, appendix_series, 3, 0, ulid), 1);
	snprintf(dir, sizeof(dir), "%s/%s", tmp, ulid);
	CHECK_INT(meta_read(dir, &m, &e), 0);
	m.num_samples = 12;
	m.max_time = 90000;	/* demo's last chunk ends at 90000: now outside */
	CHECK_INT(meta_write(dir, &m, &e), 0);
	meta_free(&m);
	memset(&f, 0, sizeof(f));
	CHECK_INT(verify_block(dir, collect_fault, &f), 2);
	CHECK(strstr(f.text, "numSamples 12") != NULL);
	CHECK(strstr(f.text, "outside the block") != NULL);
}

static void
block_find_layouts(void)
{
	const char *tmp = unit_tmpdir();
	char u1[ULID_LEN + 1], u2[ULID_LEN + 1], u3[ULID_LEN + 1], p[PATH_MAX], q[PATH_MAX + 16];
	char **dirs;
	size_t n;
	struct err e;

	for (int i = 0; i < 10; i++) {
		ramp_a[i].t = 100000 + i;
		ramp_a[i].v = f64(i);
	}
	const struct tser late[] = { { { "__name__", "x", NULL }, ramp_a, 10, 0 } };
	const struct tser early[] = { { { "__name__", "x", NULL }, ramp_a, 1, 0 } };

	/* bucket/tenant-a/{late}, bucket/tenant-b/{early, late} */
	snprintf(p, sizeof(p), "%s/bucket/tenant-a", tmp);
	CHECK_INT(mkdir_p(p, 0777, &e), 0);
	CHECK_INT(write_block(p, late, 1, 0, u1), 1);
	snprintf(p, sizeof(p), "%s/bucket/tenant-b", tmp);
	CHECK_INT(mkdir_p(p, 0777, &e), 0);
	ramp_a[0].t = 5;
	CHECK_INT(write_block(p, early, 1, 0, u2), 1);
	CHECK_INT(write_block(p, late, 1, 0, u3), 1);
	snprintf(q, sizeof(q), "%s/markers", p);	/* not a block */
	CHECK_INT(mkdir_p(q, 0777, &e), 0);

	snprintf(p, sizeof(p), "%s/bucket", tmp);
	CHECK_INT(block_find(p, &dirs, &n, &e), 0);
	CHECK_INT(n, 3);
	if (n == 3) {
		/* by min time: early first */
		CHECK(strstr(dirs[0], u2) != NULL);
		CHECK(strstr(dirs[0], "/tenant-b/") != NULL);
	}
	block_dirs_free(dirs, n);

	snprintf(p, sizeof(p), "%s/bucket/tenant-b", tmp);
	CHECK_INT(block_find(p, &dirs, &n, &e), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK(strstr(dirs[0], u2) != NULL);
		CHECK(strstr(dirs[1], u3) != NULL);
	}
	block_dirs_free(dirs, n);

	snprintf(p, sizeof(p), "%s/bucket/tenant-b/%s/", tmp, u3);
	CHECK_INT(block_find(p, &dirs, &n, &e), 0);
	CHECK_INT(n, 1);
	if (n == 1)
		CHECK(strcmp(dirs[0] + strlen(dirs[0]) - ULID_LEN, u3) == 0);
	block_dirs_free(dirs, n);

	snprintf(p, sizeof(p), "%s/nonexistent", tmp);
	CHECK_INT(block_find(p, &dirs, &n, &e), -1);
}

UNIT_CASES(
	UNIT_CASE(block_writer_matches_appendix_a),
	UNIT_CASE(block_reader_dumps_appendix_a),
	UNIT_CASE(block_select_follows_prometheus),
	UNIT_CASE(series_set_restricts_time),
	UNIT_CASE(series_set_merges_blocks),
	UNIT_CASE(series_set_drops_tombstoned_samples),
	UNIT_CASE(block_writer_drops_empty_block),
	UNIT_CASE(block_writer_rejects_overlapping_chunks),
	UNIT_CASE(block_writer_meta_overrides),
	UNIT_CASE(block_reads_across_segments),
	UNIT_CASE(verify_finds_corruption),
	UNIT_CASE(verify_checks_stats),
	UNIT_CASE(block_find_layouts),
);
