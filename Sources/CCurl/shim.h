#ifndef DKRUN_CCURL_SHIM_H
#define DKRUN_CCURL_SHIM_H
// libcurl for Swift. curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot
// call: one wrapper per argument kind, named after what it passes.
#include <curl/curl.h>

/// curl_easy_setopt(handle, option, long)
static inline CURLcode dk_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
/// curl_easy_setopt(handle, option, const char *)
static inline CURLcode dk_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
/// curl_easy_setopt(handle, option, void *) for data pointers and lists
static inline CURLcode dk_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }

typedef size_t (*dk_curl_write_callback)(char *data, size_t size, size_t count, void *context);
/// curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION / HEADERFUNCTION, callback)
static inline CURLcode dk_curl_setopt_callback(CURL *h, CURLoption o, dk_curl_write_callback f) { return curl_easy_setopt(h, o, f); }

typedef int (*dk_curl_progress_callback)(void *context, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
/// curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback)
static inline CURLcode dk_curl_setopt_progress(CURL *h, dk_curl_progress_callback f) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f); }

/// curl_easy_setopt(handle, option, struct curl_blob *) for in-memory certificates and keys;
/// libcurl copies the bytes.
static inline CURLcode dk_curl_setopt_blob(CURL *h, CURLoption o, const void *data, size_t length) {
    struct curl_blob blob = { (void *)data, length, CURL_BLOB_COPY };
    return curl_easy_setopt(h, o, &blob);
}

/// curl_easy_getinfo(handle, info, long *)
static inline CURLcode dk_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
#endif
