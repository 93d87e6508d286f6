/* Look exported symbols up by name: binary search in __ksymtab, which the
 * linker script sorted by section name (___ksymtab+<name>). */
#include "kimage.h"

extern const struct kernel_symbol __start___ksymtab[], __stop___ksymtab[];
extern const uptr __start___kcrctab[];

static int compare(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

const struct kernel_symbol *find_symbol(const char *name, uptr *crc)
{
	const struct kernel_symbol *low = __start___ksymtab, *high = __stop___ksymtab;

	while (low < high) {
		const struct kernel_symbol *mid = low + (high - low) / 2;
		int c = compare(name, mid->name);
		if (c == 0) {
			*crc = __start___kcrctab[mid - __start___ksymtab];
			return mid;
		}
		if (c < 0)
			high = mid;
		else
			low = mid + 1;
	}
	return 0;
}

static int __init ksyms_init(void)
{
	initcall_ran(__func__);
	printk("KIMAGE ksymtab %u\n", (u32)(__stop___ksymtab - __start___ksymtab));
	return 0;
}
core_initcall(ksyms_init);
