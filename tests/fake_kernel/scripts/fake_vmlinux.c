/*
 * The fake build's "vmlinux": without LTO every helper is a global function;
 * with LTO most become local, and ThinLTO leaves a promoted *.llvm.<N> local,
 * and GCC LTO privatised *.lto_priv.<N> locals, which is what the driver's
 * symbol proofs look for in a real kernel.
 */
#ifdef FAKE_LTO
#define SCOPE static __attribute__((used, noinline))
#else
#define SCOPE __attribute__((noinline))
#endif

SCOPE int helper_a(int x) { return x + 1; }
SCOPE int helper_b(int x) { return x * 3; }
SCOPE int helper_c(int x) { return x - 7; }
SCOPE int helper_d(int x) { return x ^ 5; }

#ifdef FAKE_GCC_LTO
/* GCC's whole-program LTO privatises file-local names that would clash: foo.lto_priv.N */
static __attribute__((used, noinline)) int privatised(int x) __asm__("privatised.lto_priv.0");
static int privatised(int x) { return x + 11; }
static __attribute__((used)) int counter __asm__("counter.lto_priv.1") = 3;
#endif

#ifdef FAKE_THIN
static __attribute__((used, noinline)) int promoted(int x) __asm__("promoted.llvm.1234567");
static int promoted(int x) { return x << 2; }
#endif

void _start(void)
{
	volatile int sink = helper_a(helper_b(helper_c(helper_d(1))));
	(void)sink;
	for (;;)
		;
}
