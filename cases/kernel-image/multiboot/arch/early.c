/* Port I/O and the serial console, built with -fno-lto after -flto (as
 * kbuild does for early boot code): plain machine code in its object. */
#include "kimage.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

static inline void outb(u8 value, unsigned short port)
{
	asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline u8 inb(unsigned short port)
{
	u8 value;
	asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

asmlinkage __visible void early_putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb((u8)c, COM1);
}

/* isa-debug-exit: QEMU exits with (status << 1) | 1. */
__visible void arch_exit(u32 status)
{
	outb((u8)status, DEBUG_EXIT_PORT);
	for (;;)
		asm volatile("cli; hlt");
}
