/*
 * nm_asm_only_target is referenced from this function's inline asm and from
 * nowhere else: the compiler never sees the reference, only the assembler.
 * A .long in a pushed section keeps the probe free of any one CPU's call
 * instruction.
 */
void nm_asm_caller(void)
{
	asm volatile(".pushsection .rodata.nm_probe, \"a\"\n\t"
		     ".long nm_asm_only_target\n\t"
		     ".popsection");
}
