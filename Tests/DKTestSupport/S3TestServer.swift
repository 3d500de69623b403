import DKCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real S3 API server for one test: `moto_server` from the project's virtualenv
/// (python/requirements.txt), in its own process group, with one bucket made. On 127.0.0.1 by
/// default; a test cluster starts one where its pods reach it (`KubesimCluster.s3Server`).
/// `stop()` (or deinit) kills it. It takes any credentials; `environment` gives a run some.
public final class S3TestServer {
    public let dir: TempDir
    public let endpoint: String
    public let bucket: String
    /// The command prefix the server and its boto3 clients run through (empty: here).
    private let via: [String]
    private var pid: pid_t = 0

    public struct StartError: Error, CustomStringConvertible { public let description: String }

    /// - Parameters:
    ///   - host: the address it listens on, which its endpoint names.
    ///   - via: a command prefix that runs a program where `host` is reachable (a test
    ///     cluster's `cluster.py exec DIR --`): the server and `object`/`keys` run through it.
    public init(bucket: String = "results", host: String = "127.0.0.1", via: [String] = []) throws {
        dir = try TempDir()
        self.bucket = bucket
        self.via = via
        let log = dir.file("moto.log")
        pid = try startServer(via + [venvBin + "moto_server", "-H", host, "-p", "0"], log: log)
        // Werkzeug names the port it took: "Running on http://HOST:PORT".
        let marker = "Running on http://\(host):"
        let port = Poll.until(deadline: Clock.monotonic() + 30, every: 0.05) { () -> String? in
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.firstRange(of: marker).map { String(text[$0.upperBound...].prefix(while: \.isNumber)) }
        }
        guard let port, !port.isEmpty else {
            kill(-pid, SIGKILL)
            throw StartError(description: "moto_server did not start: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
        endpoint = "http://\(host):\(port)"
        let made = try python(client + "c.create_bucket(Bucket='\(bucket)')")
        guard made.status == 0 else {
            stop()
            throw StartError(description: "cannot make bucket \(bucket): " + String(decoding: made.stderr, as: UTF8.self))
        }
    }

    /// Credentials and a region for a run against the server (moto checks none of them).
    public static let environment = ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                                     "AWS_DEFAULT_REGION": "us-east-1"]

    /// Python making `c`, a boto3 client of the server (boto3 comes with moto): an independent S3 client.
    private var client: String {
        "import sys, boto3\nc = boto3.client('s3', endpoint_url='\(endpoint)', aws_access_key_id='testing', "
            + "aws_secret_access_key='testing', region_name='us-east-1')\n"
    }

    /// The object's bytes, read with boto3; nil: there is none.
    public func object(_ key: String) throws -> [UInt8]? {
        let r = try python(client + "try: sys.stdout.buffer.write(c.get_object(Bucket='\(bucket)', Key=sys.argv[1])['Body'].read())\n"
            + "except c.exceptions.NoSuchKey: sys.exit(3)", key)
        if r.status == 3 { return nil }
        guard r.status == 0 else { throw StartError(description: "cannot read \(key): " + String(decoding: r.stderr, as: UTF8.self)) }
        return r.stdout
    }

    /// The keys of the bucket's objects under `prefix`, sorted, listed with boto3.
    public func keys(_ prefix: String = "") throws -> [String] {
        let r = try python(client + "for page in c.get_paginator('list_objects_v2').paginate(Bucket='\(bucket)', Prefix=sys.argv[1]):\n"
            + "    for o in page.get('Contents', []): print(o['Key'])", prefix)
        guard r.status == 0 else { throw StartError(description: "cannot list \(prefix): " + String(decoding: r.stderr, as: UTF8.self)) }
        return String(decoding: r.stdout, as: UTF8.self).split(separator: "\n").map(String.init).sorted()
    }

    private func python(_ program: String, _ arguments: String...) throws -> Subprocess.Result {
        try Subprocess.run(via + [venvBin + "python", "-c", program] + arguments, timeout: 60)
    }

    public func stop() {
        guard pid > 0 else { return }
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    deinit { stop() }
}
