import Foundation

/// A self-signed certificate for 127.0.0.1, made with openssl.
public func makeCertificate(in dir: String, name: String) throws -> (cert: String, key: String) {
    let (cert, key) = (dir + "/\(name).crt", dir + "/\(name).key")
    try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert])
    return (cert, key)
}

/// A CA of a test's own (CN=test-ca), made with openssl.
public func makeCertificateAuthority(in dir: String, name: String = "ca") throws -> (cert: String, key: String) {
    let (cert, key) = (dir + "/\(name).crt", dir + "/\(name).key")
    try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca", "-keyout", key, "-out", cert])
    return (cert, key)
}

/// A server certificate for the IP address `host`, signed by `ca` (not a CA itself), made with openssl.
public func makeServerCertificate(in dir: String, name: String, host: String, ca: (cert: String, key: String)) throws
    -> (cert: String, key: String) {
    let (cert, key) = (dir + "/\(name).crt", dir + "/\(name).key")
    try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=\(host)", "-CA", ca.cert,
                 "-CAkey", ca.key, "-addext", "subjectAltName=IP:\(host)", "-addext", "basicConstraints=critical,CA:FALSE",
                 "-keyout", key, "-out", cert])
    return (cert, key)
}

/// A CA and a client certificate it signed (CN=tester), made with openssl.
public func makeClientCertificate(in dir: String) throws -> (ca: String, cert: String, key: String) {
    let ca = try makeCertificateAuthority(in: dir)
    let (csr, cert, key) = (dir + "/client.csr", dir + "/client.crt", dir + "/client.key")
    try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=tester", "-keyout", key, "-out", csr])
    try openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "1", "-out", cert])
    return (ca.cert, cert, key)
}

public struct OpenSSLError: Error, CustomStringConvertible { public let description: String }

private func openssl(_ arguments: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = arguments
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw OpenSSLError(description: "openssl \(arguments.joined(separator: " ")) failed") }
}
