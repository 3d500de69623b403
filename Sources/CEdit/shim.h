#ifndef DKRUN_CEDIT_SHIM_H
#define DKRUN_CEDIT_SHIM_H
// libedit's readline interface for the REPL: line editing, history, completion.
#include <stdio.h>
#include <editline/readline.h>
#endif
