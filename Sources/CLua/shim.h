#ifndef DKRUN_CLUA_SHIM_H
#define DKRUN_CLUA_SHIM_H
// Lua 5.4 for Swift. Lua's short names are macros, which Swift cannot see: each one used by
// dkrun is re-implemented under its own name so Swift reads like the Lua manual. Helpers that
// belong to dkrun carry a dk_ prefix.

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#if LUA_VERSION_NUM != 504
#error "dkrun needs Lua 5.4"
#endif

static const int DK_LUA_REGISTRYINDEX = LUA_REGISTRYINDEX;

#undef lua_pop
/// lua_pop(L, n)
static inline void lua_pop(lua_State *L, int n) { lua_settop(L, -(n) - 1); }
#undef lua_newtable
/// lua_newtable(L)
static inline void lua_newtable(lua_State *L) { lua_createtable(L, 0, 0); }
#undef lua_pcall
/// lua_pcall(L, nargs, nresults, msgh)
static inline int lua_pcall(lua_State *L, int n, int r, int f) { return lua_pcallk(L, n, r, f, 0, NULL); }
#undef lua_tostring
/// lua_tostring(L, i): NULL unless the value is a string or a number.
static inline const char *lua_tostring(lua_State *L, int i) { return lua_tolstring(L, i, NULL); }
#undef lua_tonumber
/// lua_tonumber(L, i)
static inline lua_Number lua_tonumber(lua_State *L, int i) { return lua_tonumberx(L, i, NULL); }
#undef lua_tointeger
/// lua_tointeger(L, i)
static inline lua_Integer lua_tointeger(lua_State *L, int i) { return lua_tointegerx(L, i, NULL); }
#undef lua_insert
/// lua_insert(L, i)
static inline void lua_insert(lua_State *L, int i) { lua_rotate(L, i, 1); }
#undef lua_remove
/// lua_remove(L, i)
static inline void lua_remove(lua_State *L, int i) { lua_rotate(L, i, -1); lua_pop(L, 1); }
#undef lua_upvalueindex
/// lua_upvalueindex(i)
static inline int lua_upvalueindex(int i) { return LUA_REGISTRYINDEX - i; }
/// lua_gc(L, LUA_GCCOLLECT): a full collection.
static inline void dk_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT); }
/// lua_gc(L, LUA_GCCOUNT): the state's memory in use, in KB.
static inline int dk_gc_count(lua_State *L) { return lua_gc(L, LUA_GCCOUNT); }
static int dk_len_unprotected(lua_State *L) { lua_pushinteger(L, luaL_len(L, 1)); return 1; }
static int dk_geti_unprotected(lua_State *L) { lua_geti(L, 1, lua_tointeger(L, 2)); return 1; }
/// Pushes #t of the table at `index` (its __len may run Lua code) in a protected call;
/// lua_pcall's status (on error the message is pushed instead).
static inline int dk_len_protected(lua_State *L, int index) {
    index = lua_absindex(L, index);
    lua_pushcfunction(L, dk_len_unprotected);
    lua_pushvalue(L, index);
    return lua_pcall(L, 1, 1, 0);
}
/// Pushes t[i] of the table at `index` (its __index may run Lua code) in a protected call;
/// lua_pcall's status (on error the message is pushed instead).
static inline int dk_geti_protected(lua_State *L, int index, lua_Integer i) {
    index = lua_absindex(L, index);
    lua_pushcfunction(L, dk_geti_unprotected);
    lua_pushvalue(L, index);
    lua_pushinteger(L, i);
    return lua_pcall(L, 2, 1, 0);
}
#undef luaL_loadbuffer
/// luaL_loadbuffer(L, buffer, size, chunkname), text chunks only.
static inline int luaL_loadbuffer(lua_State *L, const char *b, size_t n, const char *name) {
    return luaL_loadbufferx(L, b, n, name, "t");
}

/// The library's "$LuaVersion: Lua 5.4.6  Copyright ...", which names its release (lua_version
/// gives only 504).
static inline const char *dk_lua_ident(void) { return lua_ident; }

/// Per-state data dkrun keeps in the state's extra space: the Swift host object, and the
/// deadline of the running task, which the instruction hook enforces on Lua code and blocking
/// host functions on themselves (LuaState.deadline).
typedef struct dk_state_info {
    void *host;
    double deadline;     // CLOCK_MONOTONIC seconds; 0 = none
    int timed_out;       // set before the timeout error is raised (by the hook or a host function)
    int interrupted;     // set before the interrupt error is raised
    /// The process-wide Ctrl-C flag: a signal handler sets it and every state's hook acts on it.
    /// Signal handlers must not touch a Lua state (see lua.c's laction), so the hook raises.
    volatile sig_atomic_t *interrupt_flag;
    /// A flag of the state's owner (a thread pool shutting down); NULL when there is none.
    volatile sig_atomic_t *cancel_flag;
    /// Whether a script has set a hook of its own (debug.sethook) in any thread of the state.
    int script_hooks;
    /// The coroutine whose host function runs on the main thread now (dk_lua_call_on_main), for
    /// host functions that look at their caller's stack (dk_lua_caller); NULL otherwise.
    lua_State *caller;
} dk_state_info;

static inline dk_state_info *dk_lua_info(lua_State *L) { return *(dk_state_info **)lua_getextraspace(L); }
static inline void dk_lua_set_info(lua_State *L, dk_state_info *info) { *(dk_state_info **)lua_getextraspace(L) = info; }

/// The thread whose Lua code called the running host function: a coroutine's stack, not the
/// main thread's, where its host functions run (lua_getstack and lua_getinfo only: pushing on
/// a coroutine that is not running would break its frame).
static inline lua_State *dk_lua_caller(lua_State *L) {
    lua_State *caller = dk_lua_info(L)->caller;
    return caller ? caller : L;
}

/// luaL_where for the caller's code (dk_lua_caller): pushes "FILE:LINE: " of its function at
/// `level` on L, or "" when that is not Lua code.
static inline void dk_lua_caller_where(lua_State *L, int level) {
    lua_State *caller = dk_lua_caller(L);
    lua_Debug ar;
    if (lua_getstack(caller, level, &ar)) {
        lua_getinfo(caller, "Sl", &ar);
        if (ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

static inline double dk_monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/// Instructions between two checks of the deadline and the flags.
enum { DK_HOOK_COUNT = 1000 };

/// The registry field of the hooks scripts set (debug.sethook): a table with weak keys, from a
/// thread to a dk_script_hook userdata whose user value is the hook function.
#define DK_SCRIPT_HOOKS "dkrun.script_hooks"

typedef struct dk_script_hook {
    int mask;    // LUA_MASK* bits the script asked for
    int count;   // its count (with LUA_MASKCOUNT)
    int left;    // instructions until its next count event
} dk_script_hook;

/// The hook behind task timeouts and Ctrl-C, in every thread of a state. Every DK_HOOK_COUNT
/// instructions (or fewer, see dk_lua_hook_count) it raises a Lua error from inside Lua, the
/// only place where raising is safe; the flags tell the host which of the two it was. It raises
/// again at each check after the deadline, so a task that catches the error still ends. A
/// script's own hook (debug.sethook) is called from here, for the events and count it asked for,
/// as Lua's debug library calls it: a thread has one hook, and this one must stay.
static void dk_lua_hook(lua_State *L, lua_Debug *ar) {
    static const char *const names[] = {"call", "return", "line", "count", "tail call"};
    dk_state_info *info = dk_lua_info(L);
    if (ar->event == LUA_HOOKCOUNT) {
        if ((info->interrupt_flag && *info->interrupt_flag) || (info->cancel_flag && *info->cancel_flag)) {
            info->interrupted = 1;
            luaL_error(L, "interrupted");
        }
        if (info->deadline > 0 && dk_monotonic_seconds() > info->deadline) {
            info->timed_out = 1;
            luaL_error(L, "timed out");
        }
    }
    if (!info->script_hooks) return;
    lua_getfield(L, LUA_REGISTRYINDEX, DK_SCRIPT_HOOKS);
    lua_pushthread(L);
    if (lua_rawget(L, -2) != LUA_TUSERDATA) return;  // luaD_hook restores the stack top
    dk_script_hook *hook = (dk_script_hook *)lua_touserdata(L, -1);
    if (ar->event == LUA_HOOKCOUNT) {
        if (!(hook->mask & LUA_MASKCOUNT)) return;
        hook->left -= lua_gethookcount(L);
        if (hook->left > 0) return;
        hook->left = hook->count;
    }
    lua_getiuservalue(L, -1, 1);
    lua_pushstring(L, names[ar->event]);
    if (ar->currentline >= 0) lua_pushinteger(L, ar->currentline); else lua_pushnil(L);
    lua_call(L, 2, 0);
}

/// The count the hook runs at: DK_HOOK_COUNT, or for a script's count hook of `count`
/// instructions the largest divisor of it up to DK_HOOK_COUNT, so that both stay exact.
static int dk_lua_hook_count(int mask, int count) {
    if (!(mask & LUA_MASKCOUNT)) return DK_HOOK_COUNT;
    int every = count < DK_HOOK_COUNT ? count : DK_HOOK_COUNT;
    while (count % every) every--;
    return every;
}

/// The thread debug.sethook and debug.gethook act on: their optional first argument, or the
/// caller's. Returns the index of their next argument.
static int dk_lua_hook_thread(lua_State *L, lua_State **thread) {
    *thread = lua_isthread(L, 1) ? lua_tothread(L, 1) : L;
    return lua_isthread(L, 1) ? 2 : 1;
}

/// Pushes the script hooks' table (nil if no script has set a hook) and the thread's key in it.
static void dk_lua_push_hook_key(lua_State *L, int arg) {
    lua_getfield(L, LUA_REGISTRYINDEX, DK_SCRIPT_HOOKS);
    if (arg == 2) lua_pushvalue(L, 1); else lua_pushthread(L);
}

/// debug.sethook([thread,] hook, mask [, count]) as in Lua's debug library, over dkrun's hook.
static int dk_lua_sethook(lua_State *L) {
    lua_State *thread;
    int arg = dk_lua_hook_thread(L, &thread);
    int mask = 0, count = 0;
    lua_settop(L, arg + 2);
    if (!lua_isnil(L, arg)) {
        const char *events = luaL_checkstring(L, arg + 1);
        luaL_checktype(L, arg, LUA_TFUNCTION);
        count = (int)luaL_optinteger(L, arg + 2, 0);
        if (strchr(events, 'c')) mask |= LUA_MASKCALL;
        if (strchr(events, 'r')) mask |= LUA_MASKRET;
        if (strchr(events, 'l')) mask |= LUA_MASKLINE;
        if (count > 0) mask |= LUA_MASKCOUNT;
    }
    dk_lua_push_hook_key(L, arg);
    if (lua_type(L, -2) != LUA_TTABLE) {
        lua_createtable(L, 0, 1);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, DK_SCRIPT_HOOKS);
        lua_replace(L, -3);
    }
    if (mask == 0) {
        lua_pushnil(L);
    } else {
        dk_script_hook *hook = (dk_script_hook *)lua_newuserdatauv(L, sizeof(dk_script_hook), 1);
        hook->mask = mask;
        hook->count = count;
        hook->left = count;
        lua_pushvalue(L, arg);
        lua_setiuservalue(L, -2, 1);
        dk_lua_info(L)->script_hooks = 1;
    }
    lua_rawset(L, -3);
    lua_sethook(thread, dk_lua_hook, mask | LUA_MASKCOUNT, dk_lua_hook_count(mask, count));
    return 0;
}

/// debug.gethook([thread]): the hook a script set, its mask and count (fail when it set none).
static int dk_lua_gethook(lua_State *L) {
    lua_State *thread;
    dk_lua_push_hook_key(L, dk_lua_hook_thread(L, &thread));
    if (lua_type(L, -2) != LUA_TTABLE || lua_rawget(L, -2) != LUA_TUSERDATA) {
        luaL_pushfail(L);
        return 1;
    }
    dk_script_hook *hook = (dk_script_hook *)lua_touserdata(L, -1);
    char events[4], *e = events;
    if (hook->mask & LUA_MASKCALL) *e++ = 'c';
    if (hook->mask & LUA_MASKRET) *e++ = 'r';
    if (hook->mask & LUA_MASKLINE) *e++ = 'l';
    *e = '\0';
    lua_getiuservalue(L, -1, 1);
    lua_pushstring(L, events);
    lua_pushinteger(L, hook->mask & LUA_MASKCOUNT ? hook->count : 0);
    return 3;
}

/// Installs dkrun's hook on the main thread (coroutines inherit it) and the debug library's
/// sethook and gethook that keep it (call after luaL_openlibs).
static inline void dk_lua_install_hook(lua_State *L) {
    lua_sethook(L, dk_lua_hook, LUA_MASKCOUNT, DK_HOOK_COUNT);
    lua_getglobal(L, "debug");
    lua_pushcfunction(L, dk_lua_sethook);
    lua_setfield(L, -2, "sethook");
    lua_pushcfunction(L, dk_lua_gethook);
    lua_setfield(L, -2, "gethook");
    lua_pop(L, 1);
}

/// A Lua file handle on a pipe to a command (dkrun's io.popen): Lua's stream, which the io
/// library reads and closes, then the command (a CommandPipe of DKLua's, retained).
typedef struct dk_command_stream {
    luaL_Stream stream;
    void *command;
} dk_command_stream;

/// glibc's fopencookie (a FILE whose reads and writes are functions of ours), which its headers
/// hide behind _GNU_SOURCE; declared under a name of ours, with its table of functions.
typedef struct dk_cookie_functions {
    ssize_t (*read)(void *cookie, char *buffer, size_t size);
    ssize_t (*write)(void *cookie, const char *buffer, size_t size);
    int (*seek)(void *cookie, long *offset, int whence);
    int (*close)(void *cookie);
} dk_cookie_functions;
extern FILE *dk_fopencookie(void *cookie, const char *modes, dk_cookie_functions functions) __asm__("fopencookie");

/// A Swift function callable from Lua. It returns its number of results, or -1 after pushing
/// an error message, which dk_lua_trampoline then raises: lua_error longjmps, and a longjmp
/// must never cross Swift frames.
typedef int (*dk_swift_function)(lua_State *L);

/// Runs `f` on `L` for the Lua code of `caller` (NULL: of `L` itself).
static int dk_lua_run(lua_State *L, dk_swift_function f, lua_State *caller) {
    dk_state_info *info = dk_lua_info(L);
    lua_State *outer = info->caller;
    info->caller = caller;
    int n = f(L);
    info->caller = outer;
    if (n < 0) return lua_error(L);
    return n;
}

/// The main thread's side of dk_lua_call_on_main: its first two arguments are the host function
/// and the coroutine that called it, the call's own arguments follow.
static int dk_lua_main_entry(lua_State *main) {
    dk_swift_function f = (dk_swift_function)lua_touserdata(main, 1);
    lua_State *caller = (lua_State *)lua_touserdata(main, 2);
    lua_rotate(main, 1, -2);
    lua_pop(main, 2);
    return dk_lua_run(main, f, caller);
}

/// Calls `f` on the main thread with the arguments of the coroutine `L` and hands its results
/// (or its error) back to `L`. Swift's side of a state (LuaState) reads and pushes on the main
/// thread's stack, so a host function called in a coroutine would otherwise see another stack.
/// Nothing is allocated on the main thread (an out-of-memory error raised there would jump past
/// the coroutine's resume). Lua code a host function calls back runs on the main thread too:
/// it cannot yield the coroutine.
static int dk_lua_call_on_main(lua_State *L, dk_swift_function f) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lua_State *main = lua_tothread(L, -1);
    lua_pop(L, 1);
    int nargs = lua_gettop(L);
    if (!lua_checkstack(L, 3) || !lua_checkstack(main, nargs + 3)) return luaL_error(L, "stack overflow");
    lua_pushcfunction(L, dk_lua_main_entry);
    lua_pushlightuserdata(L, (void *)f);
    lua_pushlightuserdata(L, (void *)L);
    lua_rotate(L, 1, 3);
    int base = lua_gettop(main);
    lua_xmove(L, main, nargs + 3);
    int status = lua_pcall(main, nargs + 2, LUA_MULTRET, 0);
    int nresults = lua_gettop(main) - base;
    if (!lua_checkstack(L, nresults)) {
        lua_settop(main, base);
        return luaL_error(L, "stack overflow");
    }
    lua_xmove(main, L, nresults);
    if (status != LUA_OK) return lua_error(L);
    return nresults;
}

static int dk_lua_trampoline(lua_State *L) {
    dk_swift_function f = (dk_swift_function)lua_touserdata(L, lua_upvalueindex(1));
    int on_main = lua_pushthread(L);
    lua_pop(L, 1);
    return on_main ? dk_lua_run(L, f, NULL) : dk_lua_call_on_main(L, f);
}

/// Pushes a Swift function as a Lua C closure.
static inline void dk_lua_pushswiftfunction(lua_State *L, dk_swift_function f) {
    lua_pushlightuserdata(L, (void *)f);
    lua_pushcclosure(L, dk_lua_trampoline, 1);
}

#endif
