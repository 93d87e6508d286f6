/* The second half of the entry, as file-scope asm (as arch code does): it
 * calls C functions that only asm references, so they are __visible and
 * __used, or LTO drops or localizes them. */
#include "kimage.h"

u32 boot_magic;

u32 boot_magic_value(void)
{
	return boot_magic;
}

asm(".pushsection .init.text, \"ax\"\n"
    ".globl arch_entry\n"
    ".type arch_entry, @function\n"
    "arch_entry:\n"
    "	pushl 8(%esp)\n" /* multiboot info */
    "	pushl 8(%esp)\n" /* multiboot magic */
    "	call arch_setup\n"
    "	addl $8, %esp\n"
    "	call start_kernel\n"
    "	ret\n"
    ".size arch_entry, . - arch_entry\n"
    ".popsection\n");

asmlinkage __visible __used void __init arch_setup(u32 magic, u32 info)
{
	(void)info;
	boot_magic = magic;
}

static int __init arch_serial_init(void)
{
	initcall_ran(__func__);
	return 0;
}
arch_initcall(arch_serial_init);
