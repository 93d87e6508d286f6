#include "annotate.h"

/* Referenced only from asm in entry.c: the kernel marks such symbols __visible. */
__visible __used int other_data = 30;

__visible __used int other_helper(int x)
{
	return x * 5;
}
