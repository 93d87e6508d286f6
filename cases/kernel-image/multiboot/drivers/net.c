/* A checksum computed through lib/checksum.c, which LTO inlines here. */
#include "kimage.h"

static const u32 packet[] = { 0x45000054, 0x1c464000, 0x40010000, 0xc0a80001, 0xc0a800c7, 0x08004d56 };

noinline u32 net_checksum(const u32 *words, u32 count)
{
	u32 sum = 0, i;
	for (i = 0; i < count; i++)
		sum = csum_mix(sum, words[i]);
	return csum_fold(sum);
}

static u32 checksum_selftest(void)
{
	return net_checksum(packet, sizeof(packet) / sizeof(packet[0]));
}
SELFTEST(checksum_selftest);

/* Referenced by nothing: gone from the LTO image, kept in the control's .text. */
u32 net_unused_probe(u32 x)
{
	return net_checksum(&x, 1) + 1;
}

static int __init net_init(void)
{
	initcall_ran(__func__);
	return 0;
}
device_initcall(net_init);
