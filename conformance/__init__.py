"""lto-conformance: does a C toolchain really do link-time optimization right?"""
