#include "probe.h"

static int one(void)
{
	return 1;
}

PROBE_ENTRY(one);
