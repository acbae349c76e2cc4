/*
 * jvm_guard_test.c - the fault guard around AsyncGetCallTrace takes only
 * its own faults, and the program's view of SIGSEGV/SIGBUS while it is
 * installed (issue 28, items 7 and 8).
 *
 * No JVM here: a handler of the test's stands in for the VM's (SA_SIGINFO,
 * as HotSpot installs it), a fake JavaVM answers GetEnv, and a fake
 * AsyncGetCallTrace faults.  "libjvm's code" is whatever range the test
 * hands the guard: this program's own executable segment (where the fake
 * faults) or libc's (where it does not).  The guard's state is
 * process-wide and installed once, so every case runs in a fork child and
 * reports through its exit status.
 */
#include "core/runtime/jvm_internal.h"

#include "core/sample/ring.h"

#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* ---- stand-ins for the VM ---- */

static volatile sig_atomic_t g_vm_handler_calls;
static sigjmp_buf g_recover;

/* The "VM's" handler: counts, then leaves the fault behind by a jump (a
 * real VM would fix the context or die). */
static void vm_handler(int signo, siginfo_t *info, void *uc)
{
    (void)signo, (void)info, (void)uc;
    g_vm_handler_calls++;
    siglongjmp(g_recover, 1);
}

static void install_vm_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = vm_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigdelset(&sa.sa_mask, SIGSEGV);
    sigdelset(&sa.sa_mask, SIGBUS);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

static int g_env_dummy;

static jint JNICALL fake_get_env(JavaVM *vm, void **penv, jint version)
{
    (void)vm, (void)version;
    *penv = &g_env_dummy;
    return JNI_OK;
}

static struct JNIInvokeInterface_ g_invoke = {.GetEnv = fake_get_env};
static JavaVM g_vm = &g_invoke;

/* Set at run time, so the compiler cannot see the bad store coming. */
static volatile int *volatile g_bad = (volatile int *)(uintptr_t)8;

/* AsyncGetCallTrace that faults on a bad frame. */
static void agct_faults(struct asgct_trace *trace, jint depth, void *uc)
{
    (void)trace, (void)depth, (void)uc;
    *g_bad = 1;
}

static struct jvm_sampler g_sampler;
/* The test thread's block, as the SIGPROF handler would have cached it. */
static struct cg_thread_block g_block;

static void publish_sampler(void)
{
    g_block.owner = cg_thread_tls_self();
    cg_thread_tls_set_block(&g_block);
    pthread_key_t key;
    pthread_key_create(&key, NULL);
    pthread_setspecific(key, &g_sampler); /* any non-NULL "Thread*" */
    g_sampler.agct = agct_faults;
    g_sampler.vm = &g_vm;
    g_sampler.thread_key = key;
    atomic_store(&cg_jvm_sampler, &g_sampler);
}

/* ---- the code ranges handed to the guard as "libjvm's" ---- */

struct find {
    const char *suffix; /* "" for the program itself */
    struct jvm_text text;
};

static int find_text(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct find *f = data;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    size_t n = strlen(name), k = strlen(f->suffix);
    if (k == 0 ? n != 0 : (n < k || strcmp(name + n - k, f->suffix) != 0))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            f->text.start = info->dlpi_addr + ph->p_vaddr;
            f->text.end = f->text.start + ph->p_memsz;
            return 1;
        }
    }
    return 0;
}

static struct jvm_text text_of(const char *suffix)
{
    struct find f = {suffix, {0, 0}};
    dl_iterate_phdr(find_text, &f);
    return f.text;
}

static const struct cg_real_fns g_real = {.real_sigaction = sigaction, .real_signal = signal};

/* Runs fn in a fork child; returns its exit status (or 100 + signal). */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/* ---- cases, each in its own process ---- */

/* A fault in "libjvm" during the walk is the walk's: counted, named. */
static int fault_in_libjvm_text(void)
{
    install_vm_handlers();
    struct jvm_text self = text_of("");
    if (!self.end || cg_jvm_guard_install(&g_real, &self, 1) != 0)
        return 2;
    publish_sampler();
    uint64_t words[64];
    if (sigsetjmp(g_recover, 1) != 0)
        return 3; /* chained to the VM: swallowed nothing, but should have */
    size_t n = cg_jvm_walk_sigsafe(NULL, words, 64);
    uint64_t failures[CG_JVM_REASONS];
    cg_jvm_walk_failures(failures);
    if (n != 2 || words[1] != 0 || words[0] != (CG_JAVA_WORD_TAG | (uint32_t)-(CG_JVM_REASONS - 1)))
        return 4;
    if (failures[CG_JVM_REASONS - 1] != 1 || g_vm_handler_calls != 0 || g_block.jvm_walk_jmp)
        return 5;
    /* The thread takes faults again afterwards: SIGSEGV was unblocked. */
    if (sigsetjmp(g_recover, 1) == 0)
        *g_bad = 2;
    return g_vm_handler_calls == 1 ? 0 : 6;
}

/* A fault during the walk whose PC is outside libjvm goes to the VM. */
static int fault_outside_libjvm_text(void)
{
    install_vm_handlers();
    struct jvm_text libc = text_of("/libc.so.6");
    if (!libc.end || cg_jvm_guard_install(&g_real, &libc, 1) != 0)
        return 2;
    publish_sampler();
    uint64_t words[64];
    if (sigsetjmp(g_recover, 1) == 0) {
        cg_jvm_walk_sigsafe(NULL, words, 64);
        return 3; /* the walk came back: the fault was swallowed */
    }
    uint64_t failures[CG_JVM_REASONS];
    cg_jvm_walk_failures(failures);
    return g_vm_handler_calls == 1 && failures[CG_JVM_REASONS - 1] == 0 ? 0 : 4;
}

/* A fault in "libjvm" outside any walk (the VM's own) goes to the VM. */
static int fault_outside_the_walk(void)
{
    install_vm_handlers();
    struct jvm_text self = text_of("");
    if (!self.end || cg_jvm_guard_install(&g_real, &self, 1) != 0)
        return 2;
    if (sigsetjmp(g_recover, 1) == 0) {
        *g_bad = 3;
        return 3;
    }
    return g_vm_handler_calls == 1 ? 0 : 4;
}

/* The kernel's part of the masks (glibc's sigset_t is larger, and
 * sigaction fills only the kernel's 64 bits of it). */
static int same_mask(const sigset_t *a, const sigset_t *b)
{
    for (int s = 1; s < SIGRTMAX; s++)
        if (sigismember(a, s) != sigismember(b, s))
            return 0;
    return 1;
}

static int same_action(const struct sigaction *a, const struct sigaction *b)
{
    return a->sa_sigaction == b->sa_sigaction && a->sa_flags == b->sa_flags &&
           same_mask(&a->sa_mask, &b->sa_mask);
}

/* What sigaction and signal answer while the guard holds the signals. */
static int view_is_the_vms(void)
{
    install_vm_handlers();
    struct sigaction vm;
    sigaction(SIGSEGV, NULL, &vm);
    struct jvm_text self = text_of("");
    if (cg_jvm_guard_install(&g_real, &self, 1) != 0)
        return 2;
    struct sigaction real, seen;
    sigaction(SIGSEGV, NULL, &real);
    if (real.sa_sigaction == vm_handler || real.sa_flags != vm.sa_flags ||
        !same_mask(&real.sa_mask, &vm.sa_mask))
        return 3; /* the guard holds it, with the VM's mask and flags */
    int rc = -1;
    if (!cg_jvm_guard_sigaction(SIGSEGV, NULL, &seen, &rc) || rc != 0 || !same_action(&seen, &vm))
        return 4; /* a query sees the VM's */
    if (cg_jvm_guard_sigaction(SIGUSR1, NULL, &seen, &rc))
        return 5; /* not its signal */
    struct sigaction mine, old;
    memset(&mine, 0, sizeof(mine));
    mine.sa_handler = SIG_IGN;
    if (!cg_jvm_guard_sigaction(SIGSEGV, &mine, &old, &rc) || rc != 0 || !same_action(&old, &vm))
        return 6; /* installed; told the VM's was there */
    sigaction(SIGSEGV, NULL, &real);
    if (real.sa_handler != SIG_IGN)
        return 7;
    if (cg_jvm_guard_sigaction(SIGSEGV, NULL, &seen, &rc))
        return 8; /* replaced for good: queries pass through */
    sighandler_t prev = SIG_ERR;
    if (!cg_jvm_guard_signal(SIGBUS, SIG_DFL, &prev) || prev != vm.sa_handler)
        return 9;
    sigaction(SIGBUS, NULL, &real);
    if (real.sa_handler != SIG_DFL || cg_jvm_guard_signal(SIGBUS, SIG_IGN, &prev))
        return 10;
    return 0;
}

/* Without an SA_SIGINFO handler (no VM) or any libjvm code, nothing. */
static int no_vm_no_guard(void)
{
    struct jvm_text self = text_of("");
    if (cg_jvm_guard_install(&g_real, &self, 1) != -1)
        return 2;
    install_vm_handlers();
    if (cg_jvm_guard_install(&g_real, &self, 0) != -1)
        return 3;
    struct sigaction real;
    sigaction(SIGSEGV, NULL, &real);
    int rc;
    return real.sa_sigaction == vm_handler && !cg_jvm_guard_sigaction(SIGSEGV, NULL, &real, &rc)
               ? 0
               : 4;
}

static void a_fault_in_libjvm_during_the_walk_is_caught_and_counted(void **state)
{
    (void)state;
    assert_int_equal(in_child(fault_in_libjvm_text), 0);
}

static void a_fault_outside_libjvm_during_the_walk_goes_to_the_vm(void **state)
{
    (void)state;
    assert_int_equal(in_child(fault_outside_libjvm_text), 0);
}

static void a_fault_outside_the_walk_goes_to_the_vm(void **state)
{
    (void)state;
    assert_int_equal(in_child(fault_outside_the_walk), 0);
}

static void sigaction_and_signal_show_the_vms_handler_until_replaced(void **state)
{
    (void)state;
    assert_int_equal(in_child(view_is_the_vms), 0);
}

static void no_guard_without_the_vms_handler_or_libjvm_code(void **state)
{
    (void)state;
    assert_int_equal(in_child(no_vm_no_guard), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_fault_in_libjvm_during_the_walk_is_caught_and_counted),
        cmocka_unit_test(a_fault_outside_libjvm_during_the_walk_goes_to_the_vm),
        cmocka_unit_test(a_fault_outside_the_walk_goes_to_the_vm),
        cmocka_unit_test(sigaction_and_signal_show_the_vms_handler_until_replaced),
        cmocka_unit_test(no_guard_without_the_vms_handler_or_libjvm_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
