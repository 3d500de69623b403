#ifndef DKRUN_CEDIT_SHIM_H
#define DKRUN_CEDIT_SHIM_H
// libedit's readline interface for the REPL (line editing, history, completion), opened when a
// REPL reads from a terminal (dk_edit_open) rather than linked: libedit and the libraries it
// needs (libtinfo, libbsd, libmd) would otherwise be loaded and bound at every start of dkrun.
// readline.h still gives the types.
#include <stdio.h>
#include <editline/readline.h>
#include <dlfcn.h>
#include <stdlib.h>

#pragma clang assume_nonnull begin

/// The libedit functions dkrun calls, and the addresses of the settings it sets, typed as
/// readline.h declares them; dk_edit_open fills each.
typedef struct dk_edit {
    __typeof__(readline) *readline;
    __typeof__(add_history) *add_history;
    __typeof__(read_history) *read_history;
    __typeof__(write_history) *write_history;
    __typeof__(rl_completion_matches) *completion_matches;
    __typeof__(rl_attempted_completion_function) *attempted_completion_function;
    __typeof__(rl_attempted_completion_over) *attempted_completion_over;
    __typeof__(rl_completer_word_break_characters) *completer_word_break_characters;
    __typeof__(rl_completion_append_character) *completion_append_character;
    __typeof__(rl_catch_signals) *catch_signals;
} dk_edit;

/// Opens the library `soname` and looks its symbols up: a table that lives as long as the
/// process, or NULL with the dynamic loader's message in *error.
static inline const dk_edit *_Nullable dk_edit_open(const char *soname, const char *_Nullable *_Nonnull error) {
    void *_Nullable library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    dk_edit *_Nullable e = library ? (dk_edit *)calloc(1, sizeof(dk_edit)) : NULL;
    if (!e) {
        *error = library ? "out of memory" : dlerror();
        return NULL;
    }
#define DK_EDIT_FIND(field, name) \
    if (!(*(void *_Nullable *)&e->field = dlsym(library, name))) { *error = dlerror(); free(e); dlclose(library); return NULL; }
    DK_EDIT_FIND(readline, "readline")
    DK_EDIT_FIND(add_history, "add_history")
    DK_EDIT_FIND(read_history, "read_history")
    DK_EDIT_FIND(write_history, "write_history")
    DK_EDIT_FIND(completion_matches, "rl_completion_matches")
    DK_EDIT_FIND(attempted_completion_function, "rl_attempted_completion_function")
    DK_EDIT_FIND(attempted_completion_over, "rl_attempted_completion_over")
    DK_EDIT_FIND(completer_word_break_characters, "rl_completer_word_break_characters")
    DK_EDIT_FIND(completion_append_character, "rl_completion_append_character")
    DK_EDIT_FIND(catch_signals, "rl_catch_signals")
#undef DK_EDIT_FIND
    return e;
}

#pragma clang assume_nonnull end
#endif
