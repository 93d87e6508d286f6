/*
 * The whole userspace of the boot test: print a marker with the running
 * kernel's release and version, then end the VM so QEMU exits by itself.
 *
 * Freestanding on purpose (no libc, raw x86_64 syscalls): a few KB, built
 * with the host compiler in milliseconds, independent of the toolchain
 * under test and of any libc on the machine.
 * Build: cc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -Os -o init init.c
 */

#define SYS_write 1
#define SYS_exit 60
#define SYS_uname 63
#define SYS_reboot 169

#define LINUX_REBOOT_MAGIC1 0xfee1dead
#define LINUX_REBOOT_MAGIC2 672274793
#define LINUX_REBOOT_CMD_RESTART 0x01234567

#ifndef MARKER
#define MARKER "LTO-CONFORMANCE-BOOT-OK"
#endif

struct utsname {
	char sysname[65];
	char nodename[65];
	char release[65];
	char version[65];
	char machine[65];
	char domainname[65];
};

static long syscall3(long n, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

static long syscall4(long n, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
}

static unsigned long length(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

static void say(const char *s)
{
	syscall3(SYS_write, 1, (long)s, (long)length(s));
}

static struct utsname uts;

void _start(void)
{
	say("\n" MARKER " ");
	if (syscall3(SYS_uname, (long)&uts, 0, 0) == 0) {
		say(uts.release);
		say(" ");
		say(uts.version);
		say(" ");
		say(uts.machine);
	} else {
		say("(uname failed)");
	}
	say("\n");
	/*
	 * Restart, not POWER_OFF: without a power-off driver (tinyconfig has no
	 * ACPI) the kernel turns POWER_OFF into a halt and QEMU would wait for
	 * ever ("Power off not available: System halted instead"). QEMU's
	 * -no-reboot turns the restart into an exit, with status 0.
	 */
	syscall4(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_RESTART, 0);
	for (;;)
		syscall3(SYS_exit, 0, 0, 0);
}
