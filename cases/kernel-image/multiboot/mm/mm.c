#include "kimage.h"

static const u32 pages[] = { 3, 1, 4, 1, 5, 9, 2, 6 };

static u32 slow_selftest(void)
{
	return mm_slow_sum(pages, sizeof(pages) / sizeof(pages[0]));
}
SELFTEST(slow_selftest);

static int __init mm_init(void)
{
	initcall_ran(__func__);
	return 0;
}
subsys_initcall(mm_init);
