/* Straight-line mixing code, 48 functions per including file: the image has
 * as much code as GCC's balanced LTO partitioner needs (lto-min-partition) to
 * cut it into several LTRANS partitions, as it always cuts a kernel. */
#ifndef BULK_H
#define BULK_H
#include "kimage.h"

#define BULK_STEP(k)                                                                       \
	x = (x ^ (x >> ((k) % 13 + 1))) * (0x9e3779b1u + (k) * 2u);                         \
	y += x ^ (u32)(k);                                                                  \
	x ^= y << ((k) % 7 + 1);
#define BULK_STEPS4(k) BULK_STEP(k) BULK_STEP((k) + 1) BULK_STEP((k) + 2) BULK_STEP((k) + 3)
#define BULK_STEPS16(k) BULK_STEPS4(k) BULK_STEPS4((k) + 4) BULK_STEPS4((k) + 8) BULK_STEPS4((k) + 12)
#define BULK_STEPS32(k) BULK_STEPS16(k) BULK_STEPS16((k) + 16)
#define BULK_FN(p, n)                                                                      \
	static noinline u32 p##_##n(u32 x)                                                  \
	{                                                                                   \
		u32 y = n;                                                                  \
		BULK_STEPS32(n * 32)                                                        \
		return x ^ y;                                                               \
	}
#define BULK_FN4(p, n) BULK_FN(p, n##0) BULK_FN(p, n##1) BULK_FN(p, n##2) BULK_FN(p, n##3)
#define BULK_FN16(p, n) BULK_FN4(p, n##0) BULK_FN4(p, n##1) BULK_FN4(p, n##2) BULK_FN4(p, n##3)
#define BULK_REF(p, n) p##_##n,
#define BULK_REF4(p, n) BULK_REF(p, n##0) BULK_REF(p, n##1) BULK_REF(p, n##2) BULK_REF(p, n##3)
#define BULK_REF16(p, n) BULK_REF4(p, n##0) BULK_REF4(p, n##1) BULK_REF4(p, n##2) BULK_REF4(p, n##3)

/* BULK(prefix) defines u32 prefix(u32 seed): every function folded in table order. */
#define BULK(p)                                                                            \
	BULK_FN16(p, 1) BULK_FN16(p, 2) BULK_FN16(p, 3)                     \
	static u32 (*const p##_table[])(u32) = { BULK_REF16(p, 1) BULK_REF16(p, 2) BULK_REF16(p, 3) };       \
	u32 p(u32 seed)                                                                     \
	{                                                                                   \
		u32 i;                                                                      \
		for (i = 0; i < sizeof(p##_table) / sizeof(p##_table[0]); i++)              \
			seed = p##_table[i](seed) + i;                                      \
		return seed;                                                                \
	}

#endif
