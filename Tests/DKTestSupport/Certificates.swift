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
