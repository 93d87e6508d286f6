/* Built with -pg -mfentry: every function here calls __fentry__ (arch/head.S), which counts. */
#include "kimage.h"

volatile u32 fentry_calls;
static u32 traced_total;

noinline u32 traced_square(u32 x)
{
	traced_total += x;
	return x * x;
}

noinline u32 traced_twice(u32 x)
{
	u32 first = traced_square(x);
	u32 second = traced_square(x + 1);

	return first + second + traced_total;
}
