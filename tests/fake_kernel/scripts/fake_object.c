/* A compiled kernel object without LTO: machine code, no IR sections. */
int fake_object_function(int x) { return x * 2 + 1; }
