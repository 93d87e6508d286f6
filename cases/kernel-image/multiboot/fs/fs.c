#include "kimage.h"

static int __init fs_init(void)
{
	initcall_ran(__func__);
	return 0;
}
fs_initcall(fs_init);

static int __init fs_dev_init(void)
{
	initcall_ran(__func__);
	return 0;
}
device_initcall(fs_dev_init);
