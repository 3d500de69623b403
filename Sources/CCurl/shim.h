#ifndef DKRUN_CCURL_SHIM_H
#define DKRUN_CCURL_SHIM_H
// libcurl for Swift, opened at its first use (dk_curl_open) rather than linked: libcurl and the
// ~30 libraries it needs (TLS, Kerberos, LDAP, SSH, ...) would otherwise be loaded and bound at
// every start of dkrun, though only HTTP requests (dk.http, S3 results, Kubernetes) use it.
// curl.h still gives the types and constants. curl_easy_setopt and curl_easy_getinfo are
// variadic, which Swift cannot call: one wrapper per argument kind, named after what it passes.
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdlib.h>

#pragma clang assume_nonnull begin

/// The libcurl functions dkrun calls, typed as curl.h declares them; dk_curl_open fills each.
typedef struct dk_curl {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
} dk_curl;

/// Opens the library `soname` and looks its functions up: a table that lives as long as the
/// process, or NULL with the dynamic loader's message in *error.
static inline const dk_curl *_Nullable dk_curl_open(const char *soname, const char *_Nullable *_Nonnull error) {
    void *_Nullable library = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    dk_curl *_Nullable c = library ? (dk_curl *)calloc(1, sizeof(dk_curl)) : NULL;
    if (!c) {
        *error = library ? "out of memory" : dlerror();
        return NULL;
    }
#define DK_CURL_FIND(field, name) \
    if (!(*(void *_Nullable *)&c->field = dlsym(library, name))) { *error = dlerror(); free(c); return NULL; }
    DK_CURL_FIND(global_init, "curl_global_init")
    DK_CURL_FIND(easy_init, "curl_easy_init")
    DK_CURL_FIND(easy_cleanup, "curl_easy_cleanup")
    DK_CURL_FIND(easy_perform, "curl_easy_perform")
    DK_CURL_FIND(easy_strerror, "curl_easy_strerror")
    DK_CURL_FIND(slist_append, "curl_slist_append")
    DK_CURL_FIND(slist_free_all, "curl_slist_free_all")
    DK_CURL_FIND(easy_setopt, "curl_easy_setopt")
    DK_CURL_FIND(easy_getinfo, "curl_easy_getinfo")
#undef DK_CURL_FIND
    return c;
}

/// curl_easy_setopt(handle, option, long)
static inline CURLcode dk_curl_setopt_long(const dk_curl *c, CURL *h, CURLoption o, long v) { return c->easy_setopt(h, o, v); }
/// curl_easy_setopt(handle, option, const char *)
static inline CURLcode dk_curl_setopt_string(const dk_curl *c, CURL *h, CURLoption o, const char *v) { return c->easy_setopt(h, o, v); }
/// curl_easy_setopt(handle, option, void *) for data pointers and lists
static inline CURLcode dk_curl_setopt_pointer(const dk_curl *c, CURL *h, CURLoption o, void *_Nullable v) { return c->easy_setopt(h, o, v); }

typedef size_t (*dk_curl_write_callback)(char *data, size_t size, size_t count, void *_Nullable context);
/// curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION / HEADERFUNCTION, callback)
static inline CURLcode dk_curl_setopt_callback(const dk_curl *c, CURL *h, CURLoption o, dk_curl_write_callback f) { return c->easy_setopt(h, o, f); }

typedef int (*dk_curl_progress_callback)(void *_Nullable context, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
/// curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback)
static inline CURLcode dk_curl_setopt_progress(const dk_curl *c, CURL *h, dk_curl_progress_callback f) { return c->easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f); }

/// curl_easy_setopt(handle, option, struct curl_blob *) for in-memory certificates and keys;
/// libcurl copies the bytes.
static inline CURLcode dk_curl_setopt_blob(const dk_curl *c, CURL *h, CURLoption o, const void *_Nullable data, size_t length) {
    struct curl_blob blob = { (void *)data, length, CURL_BLOB_COPY };
    return c->easy_setopt(h, o, &blob);
}

/// curl_easy_getinfo(handle, info, long *)
static inline CURLcode dk_curl_getinfo_long(const dk_curl *c, CURL *h, CURLINFO i, long *v) { return c->easy_getinfo(h, i, v); }

#pragma clang assume_nonnull end
#endif
