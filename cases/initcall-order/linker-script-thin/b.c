#include "initcall.h"

static int b_early(void)
{
	return record("b_early");
}

static int b_late1(void)
{
	return record("b_late1");
}

static int b_late2(void)
{
	return record("b_late2");
}

/* Source order inside a level must hold too: late1 before late2. */
define_initcall(b_late1, 6);
define_initcall(b_early, 1);
define_initcall(b_late2, 6);
