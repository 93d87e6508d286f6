#include "kimage.h"

static int __init a_init(void)
{
	initcall_ran(__func__);
	return 0;
}
device_initcall(a_init);

static int __init a_init2(void)
{
	initcall_ran(__func__);
	return 0;
}
device_initcall(a_init2);
