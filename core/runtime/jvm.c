/*
 * jvm.c - finding the JVM from inside the process, attaching to it, and
 * naming Java frames (docs/java.md).
 *
 * DESIGN: everything runs on the agent thread except the JVMTI callbacks.
 *   - Finding it: only after a library load is libjvm.so looked for
 *     (dl_iterate_phdr); then JNI_GetCreatedJavaVMs (dlsym) is asked.
 *     JDK 17 answers it while the VM is still being created, and
 *     attaching then can crash the VM (JDK-8308341), so the agent waits
 *     for the thread HotSpot starts last in Threads::create_vm ("VM
 *     Periodic Task Thread", comm "VM Periodic Tas"), or 3 s.
 *   - Attaching: AttachCurrentThreadAsDaemon as "cgagent" (a daemon never
 *     holds up the VM's exit), GetEnv(JVMTI_VERSION_1_2), the live
 *     capabilities can_get_line_numbers and can_get_source_file_name.
 *     ClassLoad must be enabled or AsyncGetCallTrace refuses (-1);
 *     ClassPrepare makes every new class's jmethodIDs (GetClassMethods),
 *     and GetLoadedClasses does the same once for what is already there.
 *     No command-line flag, no JAVA_TOOL_OPTIONS banner: the host's output
 *     is unchanged.
 *   - HotSpot's pthread key: java.lang.Thread.eetop of the agent's own
 *     thread is its Thread*; the key whose value is that pointer is the
 *     one the handler checks (jvm_sample.c).
 *   - Death: after VMDeath the VM blocks any thread that calls into it
 *     for good.  The callback first lets the agent name what its rings
 *     hold (before_death), then, under the lock every JVMTI call here
 *     holds, marks the VM dead and takes the sampler back.  Methods first
 *     seen after that get a placeholder name.
 *   - Names are cached per jmethodID (never freed: a jmethodID is never
 *     reused).  A method of an unloaded class makes JVMTI answer
 *     JVMTI_ERROR_INVALID_METHODID: it is named "[unloaded Java method]".
 * What it won't do: run anything when libjvm.so is not loaded; attach in
 * a fork child; call JVMTI from a signal handler.
 */
#include "core/runtime/jvm_internal.h"

#include "core/base/clock.h"
#include "core/base/log.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define READY_FALLBACK_NS (3000ull * 1000000u)

static struct cg_jvm *g_jvm; /* for the JVMTI callbacks: one VM per process */

struct cg_jvm *cg_jvm_new(const struct cg_jvm_options *opts)
{
    struct cg_jvm *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->opts = *opts;
    pthread_mutex_init(&j->lock, NULL);
    return j;
}

void cg_jvm_free(struct cg_jvm *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->names_cap; i++) {
        free(j->names[i].name);
        free(j->names[i].file);
    }
    free(j->names);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

size_t cg_jvm_bytes(const struct cg_jvm *j)
{
    return j ? sizeof(*j) + j->names_cap * sizeof(struct name_entry) + j->names_bytes : 0;
}

/* ---- JVMTI callbacks (VM threads) ---- */

static void make_method_ids(jvmtiEnv *ti, jclass klass)
{
    jint n = 0;
    jmethodID *methods = NULL;
    if ((*ti)->GetClassMethods(ti, klass, &n, &methods) == JVMTI_ERROR_NONE && methods)
        (*ti)->Deallocate(ti, (unsigned char *)methods);
}

static void JNICALL on_class_load(jvmtiEnv *ti, JNIEnv *env, jthread thread, jclass klass)
{
    /* Empty on purpose: AsyncGetCallTrace needs the event enabled. */
    (void)ti, (void)env, (void)thread, (void)klass;
}

static void JNICALL on_class_prepare(jvmtiEnv *ti, JNIEnv *env, jthread thread, jclass klass)
{
    (void)env, (void)thread;
    make_method_ids(ti, klass);
}

static void JNICALL on_vm_death(jvmtiEnv *ti, JNIEnv *env)
{
    (void)ti, (void)env;
    struct cg_jvm *j = g_jvm;
    if (!j)
        return;
    if (j->opts.before_death)
        j->opts.before_death(j->opts.ctx);
    pthread_mutex_lock(&j->lock);
    j->dead = true;
    atomic_store_explicit(&cg_jvm_sampler, NULL, memory_order_release);
    pthread_mutex_unlock(&j->lock);
}

/* ---- finding and attaching ---- */

static bool is_libjvm(const struct dl_phdr_info *info)
{
    const char *n = info->dlpi_name;
    size_t len = n ? strlen(n) : 0;
    return len >= 9 && strcmp(n + len - 9, "libjvm.so") == 0;
}

static int find_libjvm(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    if (!is_libjvm(info))
        return 0;
    *(bool *)data = true;
    return 1;
}

struct text_scan {
    struct jvm_text text[CG_JVM_TEXT_MAX];
    size_t n;
};

/* libjvm's executable segments: the only code whose faults the guard
 * takes for a failed walk (jvm_guard.c).  Found here, once, because
 * dl_iterate_phdr takes the loader's lock: never in a handler. */
static int find_libjvm_text(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct text_scan *t = data;
    if (!is_libjvm(info))
        return 0;
    for (int i = 0; i < info->dlpi_phnum && t->n < CG_JVM_TEXT_MAX; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            t->text[t->n].start = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
            t->text[t->n].end = t->text[t->n].start + (uintptr_t)ph->p_memsz;
            t->n++;
        }
    }
    return 1;
}

/* True once HotSpot started the thread it starts last in create_vm. */
static bool vm_created_fully(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        if (fgets(comm, sizeof(comm), f) && strncmp(comm, "VM Periodic Tas", 15) == 0)
            found = true;
        fclose(f);
    }
    closedir(d);
    return found;
}

/* HotSpot's pthread key: the one whose value on this (attached) thread
 * is this thread's Thread*, which java.lang.Thread.eetop holds. */
static bool find_thread_key(struct cg_jvm *j, pthread_key_t *out)
{
    JNIEnv *env = j->env;
    jthread self = NULL;
    if ((*j->ti)->GetCurrentThread(j->ti, &self) != JVMTI_ERROR_NONE || !self)
        return false;
    bool ok = false;
    jclass cls = (*env)->FindClass(env, "java/lang/Thread");
    jfieldID fid = cls ? (*env)->GetFieldID(env, cls, "eetop", "J") : NULL;
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
    j->eetop = fid; /* java.lang.Thread is never unloaded: the id stays valid */
    if (fid) {
        void *me = (void *)(intptr_t)(*env)->GetLongField(env, self, fid);
        for (pthread_key_t k = 0; me && k < PTHREAD_KEYS_MAX; k++) {
            if (pthread_getspecific(k) == me) {
                *out = k;
                ok = true;
                break;
            }
        }
    }
    if (cls)
        (*env)->DeleteLocalRef(env, cls);
    (*env)->DeleteLocalRef(env, self);
    return ok;
}

static void ids_for_loaded_classes(struct cg_jvm *j)
{
    JNIEnv *env = j->env;
    jint n = 0;
    jclass *classes = NULL;
    /* GetLoadedClasses makes one local reference per class (hundreds at
     * start-up), in a frame of their own that PopLocalFrame frees at
     * once; its capacity is declared as soon as the count is known, or
     * -Xcheck:jni prints "JNI local refs: N, exceeds capacity" on the
     * host's output. */
    if (cg_jvm_push_frame(env, 16) != 0)
        return;
    if ((*j->ti)->GetLoadedClasses(j->ti, &n, &classes) == JVMTI_ERROR_NONE) {
        cg_jvm_ensure_capacity(env, n);
        for (jint i = 0; i < n; i++)
            make_method_ids(j->ti, classes[i]); /* unprepared: an error, skipped */
        (*j->ti)->Deallocate(j->ti, (unsigned char *)classes);
    }
    (*env)->PopLocalFrame(env, NULL);
}

static bool give_up(struct cg_jvm *j, const char *why)
{
    CG_WARN("Java frames are off: %s; Java threads are profiled with native frames only", why);
    j->failed = true;
    return false;
}

static bool attach(struct cg_jvm *j)
{
    JavaVMAttachArgs args = {JNI_VERSION_1_6, (char *)"cgagent", NULL};
    if ((*j->vm)->AttachCurrentThreadAsDaemon(j->vm, (void **)&j->env, &args) != JNI_OK)
        return give_up(j, "cannot attach to the JVM");
    if ((*j->vm)->GetEnv(j->vm, (void **)&j->ti, JVMTI_VERSION_1_2) != JNI_OK)
        return give_up(j, "the JVM offers no JVMTI 1.2 environment");
    void *agct = dlsym(RTLD_DEFAULT, "AsyncGetCallTrace");
    if (!agct)
        return give_up(j, "libjvm.so has no AsyncGetCallTrace");
    jvmtiCapabilities caps;
    memset(&caps, 0, sizeof(caps));
    caps.can_get_line_numbers = 1;
    caps.can_get_source_file_name = 1;
    if ((*j->ti)->AddCapabilities(j->ti, &caps) != JVMTI_ERROR_NONE)
        CG_DEBUG("JVMTI: no line numbers or source files");
    if (!find_thread_key(j, &j->sampler.thread_key))
        return give_up(j, "cannot find the JVM's thread key (java.lang.Thread.eetop)");
    cg_jvm_threads_init(j);
    g_jvm = j;
    jvmtiEventCallbacks cb;
    memset(&cb, 0, sizeof(cb));
    cb.ClassLoad = on_class_load;
    cb.ClassPrepare = on_class_prepare;
    cb.VMDeath = on_vm_death;
    jvmtiEnv *ti = j->ti;
    if ((*ti)->SetEventCallbacks(ti, &cb, sizeof(cb)) != JVMTI_ERROR_NONE ||
        (*ti)->SetEventNotificationMode(ti, JVMTI_ENABLE, JVMTI_EVENT_CLASS_LOAD, NULL) !=
            JVMTI_ERROR_NONE ||
        (*ti)->SetEventNotificationMode(ti, JVMTI_ENABLE, JVMTI_EVENT_CLASS_PREPARE, NULL) !=
            JVMTI_ERROR_NONE ||
        (*ti)->SetEventNotificationMode(ti, JVMTI_ENABLE, JVMTI_EVENT_VM_DEATH, NULL) !=
            JVMTI_ERROR_NONE)
        return give_up(j, "JVMTI events cannot be enabled");
    /* Events first, then the classes already there: none is missed. */
    ids_for_loaded_classes(j);
    j->sampler.agct = (void (*)(struct asgct_trace *, jint, void *))agct;
    j->sampler.vm = j->vm;
    struct text_scan text = {.n = 0};
    dl_iterate_phdr(find_libjvm_text, &text);
    bool guarded = j->opts.real && cg_jvm_guard_install(j->opts.real, text.text, text.n) == 0;
    /* Release pairs with the acquire in cg_jvm_walk_sigsafe. */
    pthread_mutex_lock(&j->lock);
    if (!j->dead)
        atomic_store_explicit(&cg_jvm_sampler, &j->sampler, memory_order_release);
    pthread_mutex_unlock(&j->lock);
    j->attached = true;
    CG_INFO("Java frames on: attached to the JVM%s",
            guarded ? "" : " (no fault guard: the JVM's SIGSEGV handler or libjvm's code "
                          "was not found)");
    return true;
}

bool cg_jvm_poll(struct cg_jvm *j, bool modules_changed)
{
    if (!j || j->failed || cg_jvm_forgotten())
        return false;
    if (j->attached)
        return !j->dead;
    if (modules_changed && !j->libjvm_loaded)
        dl_iterate_phdr(find_libjvm, &j->libjvm_loaded);
    if (!j->libjvm_loaded)
        return false;
    if (!j->get_vms) {
        *(void **)&j->get_vms = dlsym(RTLD_DEFAULT, "JNI_GetCreatedJavaVMs");
        if (!j->get_vms)
            return give_up(j, "libjvm.so has no JNI_GetCreatedJavaVMs");
    }
    JavaVM *vm = NULL;
    jsize n = 0;
    if (j->get_vms(&vm, 1, &n) != JNI_OK || n < 1 || !vm)
        return false;
    uint64_t now = cg_clock_ns(CLOCK_MONOTONIC);
    if (!j->vm_seen_ns)
        j->vm_seen_ns = now;
    if (!vm_created_fully() && now - j->vm_seen_ns < READY_FALLBACK_NS)
        return false;
    j->vm = vm;
    return attach(j);
}

/* ---- names ---- */

static const char *failure_name(int32_t reason)
{
    switch (reason) {
    case -1: return "[Java: no class load]";
    case -2: return "[Java: GC active]";
    case -3: case -5: case -7: return "[Java: unknown state]";
    case -4: case -6: return "[Java: stack not walkable]";
    case -8: return "[Java: thread exit]";
    case -9: return "[Java: deoptimizing]";
    case -10: return "[Java: safepoint]";
    case -(CG_JVM_REASONS - 1): return "[Java: walk faulted]";
    default: return "[Java: no stack]";
    }
}

/* "Lcom/example/Foo;" → "com.example.Foo" + "." + method.  NULL on OOM. */
static char *java_name(const char *sig, const char *method)
{
    size_t len = strlen(sig);
    if (len >= 2 && sig[0] == 'L' && sig[len - 1] == ';') {
        sig++;
        len -= 2;
    }
    char *out = malloc(len + strlen(method) + 2);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++)
        out[i] = sig[i] == '/' ? '.' : sig[i];
    out[len] = '.';
    strcpy(out + len + 1, method);
    return out;
}

static struct name_entry *slot_for(struct cg_jvm *j, uint64_t method)
{
    size_t mask = j->names_cap - 1;
    size_t i = (size_t)((method >> 3) * 0x9e3779b97f4a7c15ull) & mask;
    while (j->names[i].method && j->names[i].method != method)
        i = (i + 1) & mask;
    return &j->names[i];
}

static bool grow(struct cg_jvm *j)
{
    size_t cap = j->names_cap ? j->names_cap * 2 : 1024;
    struct name_entry *old = j->names;
    size_t old_cap = j->names_cap;
    struct name_entry *fresh = calloc(cap, sizeof(*fresh));
    if (!fresh)
        return false;
    j->names = fresh;
    j->names_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].method)
            *slot_for(j, old[i].method) = old[i];
    free(old);
    return true;
}

/* Asks JVMTI for the method's names (under the lock, VM alive). */
static void lookup(struct cg_jvm *j, jmethodID m, struct name_entry *e)
{
    jvmtiEnv *ti = j->ti;
    jclass cls = NULL;
    char *mname = NULL, *sig = NULL, *src = NULL;
    if ((*ti)->GetMethodName(ti, m, &mname, NULL, NULL) != JVMTI_ERROR_NONE ||
        (*ti)->GetMethodDeclaringClass(ti, m, &cls) != JVMTI_ERROR_NONE ||
        (*ti)->GetClassSignature(ti, cls, &sig, NULL) != JVMTI_ERROR_NONE)
        goto done;
    e->name = java_name(sig, mname);
    if ((*ti)->GetSourceFileName(ti, cls, &src) == JVMTI_ERROR_NONE && src)
        e->file = strdup(src);
    if ((*ti)->GetLineNumberTable(ti, m, &e->n_lines, &e->lines) != JVMTI_ERROR_NONE) {
        e->lines = NULL;
        e->n_lines = 0;
    }
done:
    if (mname)
        (*ti)->Deallocate(ti, (unsigned char *)mname);
    if (sig)
        (*ti)->Deallocate(ti, (unsigned char *)sig);
    if (src)
        (*ti)->Deallocate(ti, (unsigned char *)src);
    if (cls)
        (*j->env)->DeleteLocalRef(j->env, cls);
}

static int line_of(const struct name_entry *e, int32_t bci)
{
    int line = 0;
    jlocation best = -1;
    for (jint i = 0; i < e->n_lines; i++) {
        if (e->lines[i].start_location <= bci && e->lines[i].start_location > best) {
            best = e->lines[i].start_location;
            line = e->lines[i].line_number;
        }
    }
    return line;
}

void cg_jvm_frame(struct cg_jvm *j, uint64_t method, int32_t bci, struct cg_java_frame *out)
{
    out->name = "[unknown Java method]";
    out->file = NULL;
    out->line = 0;
    if (method == 0) {
        out->name = failure_name(bci);
        return;
    }
    if (!j || ((j->names_used + 1) * 2 > j->names_cap && !grow(j)))
        return;
    struct name_entry *e = slot_for(j, method);
    if (!e->method) {
        pthread_mutex_lock(&j->lock);
        bool alive = j->attached && !j->dead;
        if (alive)
            lookup(j, (jmethodID)(uintptr_t)method, e);
        pthread_mutex_unlock(&j->lock);
        if (!alive)
            return; /* not cached: never seen before the VM's death */
        if (!e->name)
            e->name = strdup("[unloaded Java method]");
        if (!e->name)
            return;
        e->method = method;
        j->names_used++;
        j->names_bytes += strlen(e->name) + 1 + (e->file ? strlen(e->file) + 1 : 0) +
                          (size_t)e->n_lines * sizeof(*e->lines);
    }
    out->name = e->name;
    out->file = e->file;
    out->line = bci >= 0 ? line_of(e, bci) : 0;
}
