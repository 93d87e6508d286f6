#include <stdio.h>

#include "probe.h"

/* Bounds the linker defines for any section whose name is a C identifier. */
extern const struct probe_entry __start_probe_table[], __stop_probe_table[];

int main(void)
{
	volatile int scale = 100;
	int sum = 0, count = 0;

	for (const struct probe_entry *e = __start_probe_table; e < __stop_probe_table; e++, count++)
		sum += e->fn();
	printf("%d entries, sum %d, init %d\n", count, sum, probe_init(scale));
	return 0;
}
