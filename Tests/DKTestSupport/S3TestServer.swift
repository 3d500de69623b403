import DKCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real S3 API server on 127.0.0.1 for one test: `moto_server` from the project's
/// virtualenv (python/requirements.txt), in its own process group, with one bucket made.
/// `stop()` (or deinit) kills it. It takes any credentials; `environment` gives a run some.
public final class S3TestServer {
    public let dir: TempDir
    public let endpoint: String
    public let bucket: String
    private var pid: pid_t = 0

    public struct StartError: Error, CustomStringConvertible { public let description: String }

    public init(bucket: String = "results") throws {
        dir = try TempDir()
        self.bucket = bucket
        let log = dir.file("moto.log")
        pid = try startServer([venvBin + "moto_server", "-H", "127.0.0.1", "-p", "0"], log: log)
        // Werkzeug names the port it took: "Running on http://127.0.0.1:PORT".
        let port = Poll.until(deadline: Clock.monotonic() + 30, every: 0.05) { () -> String? in
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.firstMatch(of: #/Running on http://127\.0\.0\.1:(\d+)/#).map { String($0.1) }
        }
        guard let port else {
            kill(-pid, SIGKILL)
            throw StartError(description: "moto_server did not start: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
        endpoint = "http://127.0.0.1:\(port)"
        let made = try Subprocess.run([venvBin + "python", "-c", client + "c.create_bucket(Bucket='\(bucket)')"], timeout: 60)
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
        let r = try Subprocess.run([venvBin + "python", "-c", client + "try: sys.stdout.buffer.write(c.get_object("
            + "Bucket='\(bucket)', Key=sys.argv[1])['Body'].read())\nexcept c.exceptions.NoSuchKey: sys.exit(3)", key], timeout: 60)
        if r.status == 3 { return nil }
        guard r.status == 0 else { throw StartError(description: "cannot read \(key): " + String(decoding: r.stderr, as: UTF8.self)) }
        return r.stdout
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
