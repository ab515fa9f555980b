#include <string.h>

#include "lib/base/base64.h"
#include "test/unit/unit.h"

/* RFC 4648 §10's vectors, both ways. */
static void
rfc4648_vectors(void)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
	    "Zm9vYmFy" };

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		struct buf b = { 0 }, d = { 0 };
		struct err e;

		b64_encode(plain[i], strlen(plain[i]), &b);
		CHECK_MEM(b.p, b.len, coded[i], strlen(coded[i]));
		CHECK_INT(b64_decode(coded[i], strlen(coded[i]), &d, &e), 0);
		CHECK_MEM(d.p, d.len, plain[i], strlen(plain[i]));
		buf_free(&b);
		buf_free(&d);
	}
}

static void
bad_input_is_named(void)
{
	struct buf d = { 0 };
	struct err e;

	CHECK_INT(b64_decode("Zm9", 3, &d, &e), -1);
	CHECK_STR(e.msg, "base64: length 3 is not a multiple of 4");
	CHECK_INT(b64_decode("Zm*v", 4, &d, &e), -1);
	CHECK_STR(e.msg, "base64: bad character at offset 2");
	buf_free(&d);
}

UNIT_CASES(
    UNIT_CASE(rfc4648_vectors),
    UNIT_CASE(bad_input_is_named),
);
