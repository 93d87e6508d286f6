#include "kimage.h"

static int __init bus_init(void)
{
	initcall_ran(__func__);
	return 0;
}
subsys_initcall(bus_init);
