#include "initcall.h"

static int a_early(void)
{
	return record("a_early");
}

static int a_late1(void)
{
	return record("a_late1");
}

static int a_late2(void)
{
	return record("a_late2");
}

/* Source order inside a level must hold too: late1 before late2. */
define_initcall(a_late1, 6);
define_initcall(a_early, 1);
define_initcall(a_late2, 6);
