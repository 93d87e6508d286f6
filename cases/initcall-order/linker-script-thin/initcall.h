/*
 * Initcalls as the kernel defines them for Clang LTO (include/linux/init.h):
 * each pointer in its own section .initcall<level>.init..<id>, and a
 * linker script generated in link order (scripts/generate_initcall_order.pl,
 * .tmp_initcalls.lds) that lists those sections, so the linker, not the
 * compiler, decides the order.
 */
typedef int (*initcall_t)(void);

#define define_initcall(fn, level)                         \
	static initcall_t __initcall_##fn __attribute__((__used__)) \
	__attribute__((__section__(".initcall" #level ".init.." #fn))) = fn

int record(const char *name);
