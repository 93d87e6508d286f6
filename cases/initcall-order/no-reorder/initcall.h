/*
 * Initcalls as the GCC LTO kernel patches define them: a static __used
 * pointer per initcall in the section of its level, marked no_reorder
 * (Andi Kleen, "lto: Add __noreorder and mark initcalls __noreorder").
 */
typedef int (*initcall_t)(void);

#ifndef __noreorder
#define __noreorder __attribute__((__no_reorder__))
#endif
#define define_initcall(fn, level)                                          \
	static initcall_t __initcall_##fn __attribute__((__used__)) __noreorder \
	__attribute__((__section__("initcall" #level))) = fn

int record(const char *name);
