/* Counts malloc calls, so the histogram benchmark can show that record() allocates
 * nothing. The run script builds this into a shared object and LD_PRELOADs it; the
 * benchmark reads the counter through dlsym (and reports n/a without it). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

static size_t calls;

size_t augur_bench_malloc_calls(void) { return calls; }

void *malloc(size_t size) {
    static void *(*real)(size_t);
    if (!real) real = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return real(size);
}
