#include <stdio.h>

int used_function(int x)
{
	return x + 1;
}

/* Global, never referenced: only whole-program knowledge can drop it. */
int unused_global(int x)
{
	puts("UNUSED-FUNCTION-MARKER");
	return x * 3;
}
