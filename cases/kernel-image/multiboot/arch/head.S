/* Multiboot entry: QEMU's -kernel loads this 32-bit ELF and jumps to _start
 * in protected mode with paging off. The header must sit in the first 8 KiB:
 * the linker script puts .multiboot first. */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* page-aligned modules, memory map */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .init.text, "ax"
	.globl _start
	.type _start, @function
_start:
	cli
	movl $boot_stack_top, %esp
	xorl %ebp, %ebp
	pushl %ebx /* multiboot info */
	pushl %eax /* multiboot magic */
	call arch_entry /* file-scope asm in arch/setup.c */
1:	hlt
	jmp 1b
	.size _start, . - _start

/* The ftrace hook of files built with -pg -mfentry: count calls, touch nothing else. */
	.text
	.globl __fentry__
	.type __fentry__, @function
__fentry__:
	lock incl fentry_calls
	ret
	.size __fentry__, . - __fentry__

	.bss
	.align 16
boot_stack:
	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
