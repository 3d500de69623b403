internal import CCurl

/// libcurl, opened at the first HTTP request rather than linked (CCurl's shim.h says why).
struct Curl: @unchecked Sendable {  // the table is filled once, before it is shared, and never changes
    /// The library's name on Debian and most distributions (package libcurl4).
    static let soname = "libcurl.so.4"

    /// libcurl, opened and initialised at first use; or why it cannot be.
    static let shared: Result<Curl, LoadError> = open(soname).map { curl in
        _ = curl.api.pointee.global_init(Int(CURL_GLOBAL_DEFAULT))
        return curl
    }

    struct LoadError: Error {
        let message: String
    }

    /// The library's functions (curl_easy_init is `api.pointee.easy_init`).
    let api: UnsafePointer<dk_curl>

    /// Opens the library `soname`; the error names it and the package that provides it.
    static func open(_ soname: String) -> Result<Curl, LoadError> {
        var error: UnsafePointer<CChar>? = nil
        guard let api = dk_curl_open(soname, &error) else {
            let reason = error.map { String(cString: $0) } ?? "cannot load \(soname)"
            return .failure(LoadError(message: "\(reason) (HTTP requests need libcurl, \(soname): install the libcurl4 package)"))
        }
        return .success(Curl(api: api))
    }
}
