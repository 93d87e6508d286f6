#include <stdio.h>

#include "probe.h"

/* Bounds defined by keep.lds around KEEP(*(.probe_keep)), as vmlinux.lds does. */
extern const struct probe_entry __probe_keep_start[], __probe_keep_end[];

int main(void)
{
	volatile int scale = 100;
	int sum = 0, count = 0;

	for (const struct probe_entry *e = __probe_keep_start; e < __probe_keep_end; e++, count++)
		sum += e->fn();
	printf("%d entries, sum %d, init %d\n", count, sum, probe_init(scale));
	return 0;
}
