/*
 * Initcalls as the kernel defines them without LTO: a static __used pointer
 * per initcall in the section of its level, with nothing that asks LTO to
 * keep their order (no no_reorder, no per-initcall sections and script).
 */
typedef int (*initcall_t)(void);

#define __noreorder
#define define_initcall(fn, level)                                          \
	static initcall_t __initcall_##fn __attribute__((__used__)) __noreorder \
	__attribute__((__section__("initcall" #level))) = fn

int record(const char *name);
