/*
 * What x86_64-pc-windows-gnu programs take from mingw's libgcc_eh and libmingw32, for links
 * with neither on the machine: `__main` (which LLVM calls at the top of `main`; rlink's start-up
 * runs the C initializers itself, so it has nothing to do) and GCC's unwinder interface over
 * Windows' SEH, which Rust's panics use on this target (std's `rust_eh_personality` hands each
 * frame to `_GCC_specific_handler`).
 *
 * How GCC's exceptions ride on SEH:
 * - `_Unwind_RaiseException` raises SEH exception STATUS_GCC_THROW whose one parameter is the
 *   `_Unwind_Exception`. The OS dispatcher walks the frames (search phase) and calls each
 *   frame's language handler, `_GCC_specific_handler`, which asks the GCC personality routine.
 * - When the personality finds a handler, the handler frame asks it once more for the landing
 *   pad and the values of the two registers it sets, keeps them in the exception (and in the
 *   record), and starts the unwind phase with `RtlUnwindEx` to that frame and pad.
 * - While unwinding, each frame's handler runs the personality's cleanup phase; a cleanup
 *   landing pad in between is reached by raising STATUS_GCC_UNWIND, which the same frame's
 *   handler catches and unwinds to. At the target, the handler sets RDX (RAX is RtlUnwindEx's
 *   return value: the exception).
 * - A landing pad that only cleans up ends in `_Unwind_Resume`, which continues the unwind to
 *   the handler frame kept in the exception.
 *
 * No Windows headers are needed: the few structures are declared below with their x64 layout.
 * Build with build.sh (clang, freestanding); the object is checked in and bundled with rlink.
 */

typedef unsigned long long u64;
typedef unsigned int u32;

#define STATUS_GCC_THROW 0x20474343u  /* 'GCC' with the customer bit */
#define STATUS_GCC_UNWIND 0x21474343u
#define EXCEPTION_NONCONTINUABLE 0x1u
#define EXCEPTION_UNWINDING 0x2u
#define EXCEPTION_EXIT_UNWIND 0x4u
#define EXCEPTION_TARGET_UNWIND 0x20u
#define EXCEPTION_CONTINUE_SEARCH 1
#define CONTEXT_ALL 0x10001fu

/* The unwinder interface's codes. */
#define URC_FOREIGN_EXCEPTION_CAUGHT 1
#define URC_END_OF_STACK 5
#define URC_HANDLER_FOUND 6
#define URC_INSTALL_CONTEXT 7
#define URC_CONTINUE_UNWIND 8
#define UA_SEARCH_PHASE 1
#define UA_CLEANUP_PHASE 2
#define UA_HANDLER_FRAME 4

struct exception_record {
    u32 code;
    u32 flags;
    struct exception_record *next;
    void *address;
    u32 parameters;
    u64 information[15];
};

struct runtime_function {
    u32 begin, end, unwind_info;
};

/* CONTEXT: 1232 bytes, 16-byte aligned; only a few fields are touched. */
struct context {
    unsigned char bytes[1232];
} __attribute__((aligned(16)));
#define CONTEXT_FLAGS(c) (*(u32 *)((c)->bytes + 0x30))
#define CONTEXT_RDX(c) (*(u64 *)((c)->bytes + 0x88))
#define CONTEXT_RSP(c) (*(u64 *)((c)->bytes + 0x98))

struct history_table {
    unsigned char bytes[216];
};

struct dispatcher_context {
    u64 control_pc;
    u64 image_base;
    struct runtime_function *function_entry;
    u64 establisher_frame;
    u64 target_ip;
    struct context *context;
    void *language_handler;
    void *handler_data;
    struct history_table *history;
    u32 scope_index;
    u32 fill;
};

struct unwind_exception {
    u64 exception_class;
    void (*cleanup)(int reason, struct unwind_exception *exception);
    u64 private_[6];
};

/* What the personality routine sees of a frame. */
struct unwind_context {
    u64 cfa;
    u64 ra;
    u64 reg[2];
    struct dispatcher_context *dispatch;
};

typedef int (*personality)(int version, int actions, u64 exception_class,
                           struct unwind_exception *exception, struct unwind_context *context);

__declspec(dllimport) void __stdcall RaiseException(u32 code, u32 flags, u32 count,
                                                    const u64 *arguments);
__declspec(dllimport) void __stdcall RtlUnwindEx(void *target_frame, void *target_ip,
                                                 struct exception_record *record,
                                                 void *return_value, struct context *context,
                                                 struct history_table *history);
__declspec(dllimport) void __stdcall RtlCaptureContext(struct context *context);

static void zero(void *p, unsigned long n) {
    volatile unsigned char *b = p;
    while (n--)
        *b++ = 0;
}

void __main(void) {}

u64 _Unwind_GetGR(struct unwind_context *c, int index) {
    if (index < 0 || index > 1)
        __builtin_trap();
    return c->reg[index];
}

void _Unwind_SetGR(struct unwind_context *c, int index, u64 value) {
    if (index < 0 || index > 1)
        __builtin_trap();
    c->reg[index] = value;
}

u64 _Unwind_GetIP(struct unwind_context *c) { return c->ra; }

u64 _Unwind_GetIPInfo(struct unwind_context *c, int *ip_before_insn) {
    *ip_before_insn = 0;
    return c->ra;
}

void _Unwind_SetIP(struct unwind_context *c, u64 value) { c->ra = value; }

u64 _Unwind_GetCFA(struct unwind_context *c) { return c->cfa; }

void *_Unwind_GetLanguageSpecificData(struct unwind_context *c) {
    return c->dispatch->handler_data;
}

u64 _Unwind_GetRegionStart(struct unwind_context *c) {
    return c->dispatch->image_base + c->dispatch->function_entry->begin;
}

u64 _Unwind_GetTextRelBase(struct unwind_context *c) { return c->dispatch->image_base; }

u64 _Unwind_GetDataRelBase(struct unwind_context *c) {
    (void)c;
    return 0;
}

void _Unwind_DeleteException(struct unwind_exception *e) {
    if (e->cleanup)
        e->cleanup(URC_FOREIGN_EXCEPTION_CAUGHT, e);
}

int _Unwind_RaiseException(struct unwind_exception *e) {
    u64 argument = (u64)e;
    zero(e->private_, sizeof e->private_);
    RaiseException(STATUS_GCC_THROW, 0, 1, &argument);
    /* Nothing caught it: the caller decides what happens next. */
    return URC_END_OF_STACK;
}

void _Unwind_Resume(struct unwind_exception *e) {
    struct exception_record record;
    struct history_table history;
    struct context context;
    zero(&record, sizeof record);
    zero(&history, sizeof history);
    record.code = STATUS_GCC_THROW;
    record.flags = EXCEPTION_NONCONTINUABLE;
    record.parameters = 4;
    record.information[0] = (u64)e;
    record.information[1] = e->private_[1];
    record.information[2] = e->private_[2];
    record.information[3] = e->private_[3];
    CONTEXT_FLAGS(&context) = CONTEXT_ALL;
    RtlCaptureContext(&context);
    RtlUnwindEx((void *)e->private_[1], (void *)e->private_[2], &record, e, &context, &history);
    __builtin_trap();
}

/* Keeps where the unwind goes (frame, landing pad, RDX) in the record's parameters 1 to 3. */
static void aim(struct exception_record *r, void *frame, struct unwind_context *c) {
    r->parameters = 4;
    r->information[1] = (u64)frame;
    r->information[2] = c->ra;
    r->information[3] = c->reg[1];
}

int _GCC_specific_handler(struct exception_record *r, void *frame, struct context *original,
                          struct dispatcher_context *d, personality handler) {
    struct unwind_exception *e = (struct unwind_exception *)r->information[0];
    struct unwind_context c;
    int reason;

    if (r->flags & EXCEPTION_TARGET_UNWIND) {
        /* The landing pad and RAX are installed by RtlUnwindEx's arguments; RDX is ours. */
        CONTEXT_RDX(d->context) = r->information[3];
        return EXCEPTION_CONTINUE_SEARCH;
    }
    if (r->code == STATUS_GCC_UNWIND) {
        /* Raised below to stop at a cleanup pad: only the frame that wants it acts. */
        if (r->information[1] == (u64)frame) {
            RtlUnwindEx(frame, (void *)r->information[2], r, e, original, d->history);
            __builtin_trap();
        }
        return EXCEPTION_CONTINUE_SEARCH;
    }
    if (r->code != STATUS_GCC_THROW)
        return EXCEPTION_CONTINUE_SEARCH;

    c.cfa = CONTEXT_RSP(d->context);
    c.ra = d->control_pc;
    c.reg[0] = 0;
    c.reg[1] = 0;
    c.dispatch = d;
    if (r->flags & (EXCEPTION_UNWINDING | EXCEPTION_EXIT_UNWIND)) {
        reason = handler(1, UA_CLEANUP_PHASE, e->exception_class, e, &c);
        if (reason == URC_CONTINUE_UNWIND)
            return EXCEPTION_CONTINUE_SEARCH;
        if (reason == URC_INSTALL_CONTEXT) {
            aim(r, frame, &c);
            r->code = STATUS_GCC_UNWIND;
            RaiseException(STATUS_GCC_UNWIND, EXCEPTION_NONCONTINUABLE, 4, r->information);
        }
        __builtin_trap();
    }
    reason = handler(1, UA_SEARCH_PHASE, e->exception_class, e, &c);
    if (reason == URC_CONTINUE_UNWIND)
        return EXCEPTION_CONTINUE_SEARCH;
    if (reason == URC_HANDLER_FOUND) {
        if (handler(1, UA_CLEANUP_PHASE | UA_HANDLER_FRAME, e->exception_class, e, &c) !=
            URC_INSTALL_CONTEXT)
            __builtin_trap();
        e->private_[1] = (u64)frame;
        e->private_[2] = c.ra;
        e->private_[3] = c.reg[1];
        aim(r, frame, &c);
        RtlUnwindEx(frame, (void *)c.ra, r, (void *)c.reg[0], original, d->history);
    }
    __builtin_trap();
}
