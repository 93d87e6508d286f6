#include "initcall.h"

static int c_early(void)
{
	return record("c_early");
}

static int c_late1(void)
{
	return record("c_late1");
}

static int c_late2(void)
{
	return record("c_late2");
}

/* Source order inside a level must hold too: late1 before late2. */
define_initcall(c_late1, 6);
define_initcall(c_early, 1);
define_initcall(c_late2, 6);
