import Foundation

/// A self-signed certificate for 127.0.0.1, made with openssl.
public func makeCertificate(in dir: String, name: String) throws -> (cert: String, key: String) {
    let (cert, key) = (dir + "/\(name).crt", dir + "/\(name).key")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                   "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    return (cert, key)
}

/// A CA and a client certificate it signed (CN=tester), made with openssl.
public func makeClientCertificate(in dir: String) throws -> (ca: String, cert: String, key: String) {
    let (ca, caKey, csr, cert, key) = (dir + "/ca.crt", dir + "/ca.key", dir + "/client.csr", dir + "/client.crt", dir + "/client.key")
    for arguments in [["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca", "-keyout", caKey, "-out", ca],
                      ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=tester", "-keyout", key, "-out", csr],
                      ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "1", "-out", cert]] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
    }
    return (ca, cert, key)
}
