#include <stdio.h>

#include "annotate.h"

/*
 * Only the asm below calls this static function: __used keeps it emitted,
 * but a static symbol cannot be __visible, so LTO may put it in another
 * partition than the asm, where the asm cannot reach a local symbol.
 */
static __used int local_helper(int x)
{
	return x + 1;
}

/*
 * A file-scope asm entry point, as in the kernel's entry code: it calls a
 * static C function of this file, a C function of another file and reads
 * C data of another file. C calls it back through a declaration.
 */
asm(".text\n"
    ".globl asm_entry\n"
    ".type asm_entry, @function\n"
    "asm_entry:\n"
    "\tpushq %rbx\n"
    "\tcall local_helper\n"
    "\tmovl %eax, %edi\n"
    "\tcall other_helper\n"
    "\taddl other_data(%rip), %eax\n"
    "\tpopq %rbx\n"
    "\tret\n"
    ".size asm_entry, .-asm_entry\n");

int asm_entry(int x);

int main(void)
{
	printf("%d\n", asm_entry(1));
	return 0;
}
