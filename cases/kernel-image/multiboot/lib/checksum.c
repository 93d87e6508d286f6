/* Tiny helpers called from other subsystems: LTO inlines them there
 * (the DWARF of the image shows csum_mix inlined into net_checksum). */
#include "kimage.h"

u32 csum_mix(u32 sum, u32 word)
{
	sum += word;
	return (sum << 5) | (sum >> 27);
}

u32 csum_fold(u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

/* Referenced by nothing: gone from the LTO image, kept in the control's .text. */
u32 csum_unused_helper(u32 sum)
{
	return csum_fold(sum * 7u + 3u) ^ 0x5a5a5a5au;
}
