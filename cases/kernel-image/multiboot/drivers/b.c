#include "kimage.h"

static int __init b_init(void)
{
	initcall_ran(__func__);
	return 0;
}
device_initcall(b_init);
