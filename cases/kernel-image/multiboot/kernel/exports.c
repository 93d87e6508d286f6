/* Exported symbols with MODVERSIONS CRCs: the CRCs are absolute symbols set
 * in toplevel asm, as genksyms output was; C reads them as addresses. */
#include "kimage.h"

u32 kimage_add(u32 a, u32 b)
{
	return a + b;
}
EXPORT_SYMBOL(kimage_add);
SYMBOL_CRC(kimage_add, 0x1234abcd);

u32 kimage_mul(u32 a, u32 b)
{
	return a * b;
}
EXPORT_SYMBOL(kimage_mul);
SYMBOL_CRC(kimage_mul, 0x0badf00d);

/* Only the export table references it: LTO must keep it all the same. */
u32 kimage_version(void)
{
	return 3;
}
EXPORT_SYMBOL(kimage_version);
SYMBOL_CRC(kimage_version, 0xcafe0003);

static int __init exports_init(void)
{
	initcall_ran(__func__);
	return 0;
}
postcore_initcall(exports_init);
