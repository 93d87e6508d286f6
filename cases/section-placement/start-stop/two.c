#include "probe.h"

static int two(void)
{
	return 20;
}

PROBE_ENTRY(two);

int probe_init_data __initdata = 3;

/* Boot-time code that changes boot-time data, so neither can be folded away. */
int __init probe_init(int scale)
{
	probe_init_data *= scale;
	return probe_init_data;
}
