#ifndef DKRUN_CYAML_SHIM_H
#define DKRUN_CYAML_SHIM_H
// libyaml for Swift. The parser's union members are reachable from Swift as they are;
// this header only gathers the include.
#include <yaml.h>
#endif
