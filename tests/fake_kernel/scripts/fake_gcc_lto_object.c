/*
 * The shape of a GCC slim LTO object as kbuild leaves it with CONFIG_LTO_GCC:
 * an ELF file whose IR is in .gnu.lto_* sections (the name suffix is a
 * random per-file seed), the common marker symbol __gnu_lto_slim, no code.
 */
__attribute__((used, section(".gnu.lto_.inline.7f3a1c2e"))) static const char inline_ir[] = "GIMPLE inline";
__attribute__((used, section(".gnu.lto_.decls.7f3a1c2e"))) static const char decls_ir[] = "GIMPLE decls";
__attribute__((used, section(".gnu.lto_.symtab.7f3a1c2e"))) static const char symtab_ir[] = "GIMPLE symtab";
__attribute__((used, section(".gnu.lto_.opts"))) static const char opts_ir[] = "'-O2' '-flto'";
__attribute__((common)) int __gnu_lto_slim;
