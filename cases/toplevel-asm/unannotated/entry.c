#include <stdio.h>

/* asm calls plain_helper of other.c, which carries no annotation at all. */
asm(".text\n"
    ".globl asm_plain\n"
    ".type asm_plain, @function\n"
    "asm_plain:\n"
    "\tjmp plain_helper\n"
    ".size asm_plain, .-asm_plain\n");

int asm_plain(int x);

int main(void)
{
	printf("%d\n", asm_plain(41));
	return 0;
}
