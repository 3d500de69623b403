#ifndef DKRUN_CLUA_SHIM_H
#define DKRUN_CLUA_SHIM_H
// Lua 5.4 for Swift. Lua's short names are macros, which Swift cannot see: each one used by
// dkrun is re-implemented under its own name so Swift reads like the Lua manual. Helpers that
// belong to dkrun carry a dk_ prefix.

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
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
#undef luaL_loadbuffer
/// luaL_loadbuffer(L, buffer, size, chunkname), text chunks only.
static inline int luaL_loadbuffer(lua_State *L, const char *b, size_t n, const char *name) {
    return luaL_loadbufferx(L, b, n, name, "t");
}

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
} dk_state_info;

static inline dk_state_info *dk_lua_info(lua_State *L) { return *(dk_state_info **)lua_getextraspace(L); }
static inline void dk_lua_set_info(lua_State *L, dk_state_info *info) { *(dk_state_info **)lua_getextraspace(L) = info; }

static inline double dk_monotonic_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/// The count hook behind task timeouts and Ctrl-C. It raises a Lua error from inside Lua, the
/// only place where raising is safe; the flags tell the host which of the two it was. It raises
/// again every 1000 instructions after the deadline, so a task that catches the error still ends.
static void dk_lua_deadline_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    dk_state_info *info = dk_lua_info(L);
    if ((info->interrupt_flag && *info->interrupt_flag) || (info->cancel_flag && *info->cancel_flag)) {
        info->interrupted = 1;
        luaL_error(L, "interrupted");
    }
    if (info->deadline > 0 && dk_monotonic_seconds() > info->deadline) {
        info->timed_out = 1;
        luaL_error(L, "timed out");
    }
}

/// Installs the deadline hook, checked every 1000 VM instructions.
static inline void dk_lua_install_hook(lua_State *L) { lua_sethook(L, dk_lua_deadline_hook, LUA_MASKCOUNT, 1000); }

/// A Swift function callable from Lua. It returns its number of results, or -1 after pushing
/// an error message, which dk_lua_trampoline then raises: lua_error longjmps, and a longjmp
/// must never cross Swift frames.
typedef int (*dk_swift_function)(lua_State *L);

static int dk_lua_trampoline(lua_State *L) {
    dk_swift_function f = (dk_swift_function)lua_touserdata(L, lua_upvalueindex(1));
    int n = f(L);
    if (n < 0) return lua_error(L);
    return n;
}

/// Pushes a Swift function as a Lua C closure.
static inline void dk_lua_pushswiftfunction(lua_State *L, dk_swift_function f) {
    lua_pushlightuserdata(L, (void *)f);
    lua_pushcclosure(L, dk_lua_trampoline, 1);
}

#endif
