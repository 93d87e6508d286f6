/*
 * Two versions of foo in one shared library: foo@V1 (old callers) and the
 * default foo@@V2. GCC >= 10 has the symver attribute, which LTO keeps track
 * of; clang and older GCC spell it with .symver in toplevel asm.
 */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10
#define SYMVER(name) __attribute__((used, symver(name)))
#define SYMVER_ASM(impl, name)
#else
#define SYMVER(name) __attribute__((used))
#define SYMVER_ASM(impl, name) __asm__(".symver " #impl ", " name);
#endif

SYMVER("foo@V1") int foo_v1(void)
{
	return 1;
}

SYMVER("foo@@V2") int foo_v2(void)
{
	return 2;
}

SYMVER_ASM(foo_v1, "foo@V1")
SYMVER_ASM(foo_v2, "foo@@V2")
