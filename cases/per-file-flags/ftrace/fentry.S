/* An assembly object mixed into the LTO link: the ftrace entry hook, counting its calls. */
	.text
	.globl	__fentry__
	.type	__fentry__, @function
__fentry__:
	addq	$1, fentry_calls(%rip)
	ret
	.size	__fentry__, .-__fentry__

	.bss
	.globl	fentry_calls
	.p2align 3
	.type	fentry_calls, @object
	.size	fentry_calls, 8
fentry_calls:
	.zero	8

	.section .note.GNU-stack,"",@progbits
