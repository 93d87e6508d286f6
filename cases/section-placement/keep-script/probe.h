/* Kernel-style section annotations (include/linux/init.h, compiler_attributes.h). */
#ifndef __section
#define __section(s) __attribute__((__section__(s)))
#endif
#define __init __section(".init.text") __attribute__((__noinline__))
#define __initdata __section(".init.data")

struct probe_entry {
	const char *name;
	int (*fn)(void);
};

/* Like the kernel's tables: a static entry nobody references, kept by __used. */
#define PROBE_ENTRY(n)                                                                                   \
	static const struct probe_entry __probe_##n __attribute__((__used__, __aligned__(sizeof(void *)))) \
	__section(".probe_keep") = { #n, n }

int probe_init(int scale);
