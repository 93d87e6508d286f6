#include <stdio.h>

#include "initcall.h"

/* Bounds from initcalls.lds, like __initcall_start/__initcall_end in vmlinux.lds. */
extern initcall_t __probe_initcall_start[], __probe_initcall_end[];

int record(const char *name)
{
	printf("%s\n", name);
	return 0;
}

int main(void)
{
	for (initcall_t *p = __probe_initcall_start; p < __probe_initcall_end; p++)
		(*p)();
	return 0;
}
