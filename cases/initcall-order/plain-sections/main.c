#include <stdio.h>

#include "initcall.h"

extern initcall_t __start_initcall1[], __stop_initcall1[];
extern initcall_t __start_initcall6[], __stop_initcall6[];

int record(const char *name)
{
	printf("%s\n", name);
	return 0;
}

/* do_initcalls(): every level in turn, each in link order. */
int main(void)
{
	for (initcall_t *p = __start_initcall1; p < __stop_initcall1; p++)
		(*p)();
	for (initcall_t *p = __start_initcall6; p < __stop_initcall6; p++)
		(*p)();
	return 0;
}
