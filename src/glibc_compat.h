// glibc_compat.h: binds the few libc symbols whose default version moved (dl* and
// pthread_once/create/join to GLIBC_2.34, fcntl to fcntl64@2.28) to their oldest version (x86_64: 2.2.5,
// aarch64: 2.17, the first of that port), so a prebuild made on a new distribution still loads
// on an old glibc. Include first.
#pragma once

#include <features.h>

#if defined(__x86_64__) && defined(__GLIBC__) && !defined(__ASSEMBLER__)
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");
__asm__(".symver pthread_once,pthread_once@GLIBC_2.2.5");
__asm__(".symver fcntl64,fcntl@GLIBC_2.2.5");
__asm__(".symver memcpy,memcpy@GLIBC_2.2.5");
// clock_gettime moved from librt into libc in 2.17; libc keeps the old version too.
__asm__(".symver clock_gettime,clock_gettime@GLIBC_2.2.5");
// pthread_create/join moved from libpthread into libc (GLIBC_2.34); libc keeps the old versions.
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
#endif
#if defined(__aarch64__) && defined(__GLIBC__) && !defined(__ASSEMBLER__)
__asm__(".symver dlopen,dlopen@GLIBC_2.17");
__asm__(".symver dlsym,dlsym@GLIBC_2.17");
__asm__(".symver dlerror,dlerror@GLIBC_2.17");
__asm__(".symver pthread_once,pthread_once@GLIBC_2.17");
__asm__(".symver fcntl64,fcntl@GLIBC_2.17");
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.17");
#endif
