// The C++ runtime snappy needs in the static musl agent (build-deps): its
// code throws nothing and uses no RTTI, so only allocation is left, over
// malloc; running out of memory aborts, as an uncaught bad_alloc would.
#include <stdlib.h>
#include <new>

void *operator new(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}
void *operator new[](size_t n) { return operator new(n); }
void operator delete(void *p) noexcept { free(p); }
void operator delete[](void *p) noexcept { free(p); }
void operator delete(void *p, size_t) noexcept { free(p); }
void operator delete[](void *p, size_t) noexcept { free(p); }
extern "C" void __cxa_pure_virtual() { abort(); }
namespace std {
void __throw_length_error(const char *) { abort(); }
}
