/* Built at -O0 (another -O level than the rest): its code keeps the frame-pointer prologue. */
#include "kimage.h"

u32 mm_slow_sum(const u32 *words, u32 count)
{
	u32 sum = 0, i;
	for (i = 0; i < count; i++)
		sum = sum * 31u + words[i];
	return sum;
}
