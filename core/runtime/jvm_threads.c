/*
 * jvm_threads.c - the JVM's own thread states for the wall-clock view:
 * Java threads that wait, sleep or block on a monitor, with their Java
 * stacks and without a signal (docs/java.md, "Thread states").
 *
 * DESIGN: at each wall tick the agent thread asks JVMTI GetAllStackTraces
 * for every live Java thread's state and stack (one safepoint for all of
 * them; its cost is in docs/java.md).  A thread in state RUNNABLE is left
 * to the CPU timers and the native /proc view (it may be in a system call
 * inside native code).  The others map as java.lang.Thread.State does,
 * which is what CodeGuru's Java agent reports:
 *   BLOCKED_ON_MONITOR_ENTER -> BLOCKED
 *   WAITING_INDEFINITELY     -> WAITING   (Object.wait(), park, join)
 *   WAITING_WITH_TIMEOUT     -> TIMED_WAITING (Thread.sleep, wait(ms), parkNanos)
 * Each such thread is reported with its OS thread id so the native wall
 * view does not count it a second time: java.lang.Thread.eetop is the
 * JavaThread*, and Thread::_osthread and OSThread::_thread_id (offsets
 * from the VM's exported gHotSpotVMStructs, the table the serviceability
 * agent reads) lead to the tid.  Those reads go through process_vm_readv,
 * so a thread that exited since the safepoint gives an error, never a
 * fault.  A thread whose tid cannot be read is not reported here and stays
 * in the native view.
 * The results are copied out under the lock, then the methods are named
 * (cg_jvm_frame takes the lock itself) and handed to the caller.
 * What it won't do: signal a thread, run without the offsets, or call
 * JVMTI after the VM's death.
 */
#include "core/runtime/jvm_internal.h"

#include "core/base/log.h"
#include "core/sample/ring.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static long vmstructs_offset(const char *type, const char *field)
{
    char *const *table = dlsym(RTLD_DEFAULT, "gHotSpotVMStructs");
    const uint64_t *type_off = dlsym(RTLD_DEFAULT, "gHotSpotVMStructEntryTypeNameOffset");
    const uint64_t *field_off = dlsym(RTLD_DEFAULT, "gHotSpotVMStructEntryFieldNameOffset");
    const uint64_t *off_off = dlsym(RTLD_DEFAULT, "gHotSpotVMStructEntryOffsetOffset");
    const uint64_t *stride = dlsym(RTLD_DEFAULT, "gHotSpotVMStructEntryArrayStride");
    if (!table || !*table || !type_off || !field_off || !off_off || !stride || !*stride)
        return -1;
    for (const char *e = *table;; e += *stride) {
        const char *t = *(const char *const *)(e + *type_off);
        const char *f = *(const char *const *)(e + *field_off);
        if (!t)
            return -1; /* the table ends with an empty entry */
        if (f && strcmp(t, type) == 0 && strcmp(f, field) == 0)
            return (long)*(const uint64_t *)(e + *off_off);
    }
}

void cg_jvm_threads_init(struct cg_jvm *j)
{
    /* JDK 17 lists the field under JavaThread, older JDKs under Thread. */
    j->off_osthread = vmstructs_offset("JavaThread", "_osthread");
    if (j->off_osthread < 0)
        j->off_osthread = vmstructs_offset("Thread", "_osthread");
    j->off_thread_id = vmstructs_offset("OSThread", "_thread_id");
    if (j->off_osthread < 0 || j->off_thread_id < 0 || !j->eetop) {
        CG_INFO("Java thread states are off (the JVM exports no thread id offsets); "
                "Java threads off the CPU are seen with native frames");
        j->states_off = true;
    }
}

/* Our own memory, read without faulting: -1 when addr is not mapped. */
static int read_mem(uintptr_t addr, void *out, size_t len)
{
    struct iovec local = {out, len}, remote = {(void *)addr, len};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

static pid_t tid_of(struct cg_jvm *j, jthread thread)
{
    uintptr_t jt = (uintptr_t)(*j->env)->GetLongField(j->env, thread, j->eetop);
    uintptr_t os = 0;
    int32_t tid = 0; /* OSThread::thread_id_t is pid_t on Linux */
    if (!jt || read_mem(jt + (uintptr_t)j->off_osthread, &os, sizeof(os)) != 0 || !os ||
        read_mem(os + (uintptr_t)j->off_thread_id, &tid, sizeof(tid)) != 0)
        return 0;
    return (pid_t)tid;
}

static int state_key(jint state)
{
    if (!(state & JVMTI_THREAD_STATE_ALIVE) || (state & JVMTI_THREAD_STATE_RUNNABLE))
        return -1;
    if (state & JVMTI_THREAD_STATE_BLOCKED_ON_MONITOR_ENTER)
        return CG_KEY_BLOCKED;
    if (state & JVMTI_THREAD_STATE_WAITING_WITH_TIMEOUT)
        return CG_KEY_TIMED_WAITING;
    if (state & JVMTI_THREAD_STATE_WAITING_INDEFINITELY)
        return CG_KEY_WAITING;
    return -1;
}

/* Copied-out result: per thread {tid, key, n_words} then n_words words. */
struct wall_buf {
    uint64_t *w;
    size_t len, cap;
    bool oom;
};

static void buf_put(struct wall_buf *b, uint64_t v)
{
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        uint64_t *w = b->oom ? NULL : realloc(b->w, cap * sizeof(*w));
        if (!w) {
            b->oom = true;
            return;
        }
        b->w = w;
        b->cap = cap;
    }
    b->w[b->len++] = v;
}

/* Under the lock, VM alive: one GetAllStackTraces into b. */
static int collect(struct cg_jvm *j, jint max_frames, struct wall_buf *b)
{
    jvmtiEnv *ti = j->ti;
    jvmtiStackInfo *info = NULL;
    jint n = 0;
    /* One local reference per thread: a frame of their own, its
     * capacity declared once the count is known (-Xcheck:jni). */
    if (cg_jvm_push_frame(j->env, 16) != 0)
        return -1;
    if ((*ti)->GetAllStackTraces(ti, max_frames, &info, &n) != JVMTI_ERROR_NONE) {
        (*j->env)->PopLocalFrame(j->env, NULL);
        return -1;
    }
    cg_jvm_ensure_capacity(j->env, n);
    int reported = 0;
    for (jint i = 0; i < n; i++) {
        const jvmtiStackInfo *s = &info[i];
        int key = state_key(s->state);
        pid_t tid = key >= 0 && s->frame_count > 0 ? tid_of(j, s->thread) : 0;
        if (tid <= 0)
            continue;
        buf_put(b, (uint64_t)tid);
        buf_put(b, (uint64_t)key);
        buf_put(b, 2u * (uint64_t)s->frame_count);
        for (jint f = 0; f < s->frame_count; f++) { /* leaf first, as the handler's */
            buf_put(b, CG_JAVA_WORD_TAG | (uint32_t)(int32_t)s->frame_buffer[f].location);
            buf_put(b, (uint64_t)(uintptr_t)s->frame_buffer[f].method);
        }
        reported++;
    }
    (*ti)->Deallocate(ti, (unsigned char *)info); /* one block, frames included */
    (*j->env)->PopLocalFrame(j->env, NULL);
    return b->oom ? -1 : reported;
}

int cg_jvm_wall_sample(struct cg_jvm *j, size_t max_frames, cg_jvm_wall_fn fn, void *ctx)
{
    if (!j || !j->attached || j->states_off || cg_jvm_forgotten())
        return -1;
    if (max_frames > CG_MAX_UNWIND_FRAMES / 2)
        max_frames = CG_MAX_UNWIND_FRAMES / 2;
    struct wall_buf b = {0};
    int reported = -1;
    pthread_mutex_lock(&j->lock);
    if (!j->dead)
        reported = collect(j, (jint)max_frames, &b);
    pthread_mutex_unlock(&j->lock);
    for (size_t at = 0; reported > 0 && at + 3 <= b.len;) {
        pid_t tid = (pid_t)b.w[at];
        enum cg_count_key key = (enum cg_count_key)b.w[at + 1];
        size_t n = (size_t)b.w[at + 2];
        uint64_t *words = &b.w[at + 3];
        struct cg_java_frame f;
        for (size_t i = 0; i + 1 < n; i += 2) /* names now, while the VM answers */
            cg_jvm_frame(j, words[i + 1], (int32_t)(uint32_t)words[i], &f);
        fn(ctx, tid, words, n, key);
        at += 3 + n;
    }
    free(b.w);
    return reported;
}
