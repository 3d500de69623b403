import DKCore
@testable import DKHTTP
import DKTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SigV4Tests {
    /// AWS's worked example "GET Object" (Amazon S3 API reference, Signature Calculations for
    /// the Authorization Header), with its published signature.
    @Test func theAWSGetObjectExample() {
        let signer = SigV4(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                           region: "us-east-1", service: "s3")
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        let headers = signer.sign(method: "GET", path: "/test.txt",
                                  headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                                            ("x-amz-content-sha256", empty)],
                                  payloadHash: empty, amzDate: "20130524T000000Z")
        #expect(headers.first { $0.0 == "Authorization" }?.1 == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(headers.first { $0.0 == "x-amz-date" }?.1 == "20130524T000000Z")
    }

    @Test func amzDate() {
        #expect(SigV4.amzDate(1_369_353_600) == "20130524T000000Z")
    }
}

/// The S3 result store against a real S3 API server (moto) on 127.0.0.1. The hang guard is 5
/// minutes, as the other suites that start servers: in a fresh clone, with the whole suite
/// running on 2 cores, starting moto and three boto3 clients took over 2 minutes.
@Suite(.timeLimit(.minutes(10))) struct S3ResultStoreTests {
    @Test func theRegionIsTheLocationsElseTheFirstSetVariable() {
        let environment = { (name: String) in ["AWS_DEFAULT_REGION": "", "AWS_REGION": "eu-west-2"][name] }
        #expect(S3ResultStore.region(of: S3Location(bucket: "b"), environment: environment) == "eu-west-2")
        #expect(S3ResultStore.region(of: S3Location(bucket: "b", region: "ap-south-1"), environment: environment) == "ap-south-1")
        #expect(S3ResultStore.region(of: S3Location(bucket: "b"), environment: { _ in "" }) == "us-east-1")
    }

    @Test func writesReadsAndTellsAbsentFromFailed() throws {
        let server = try S3TestServer()
        defer { server.stop() }
        for (k, v) in S3TestServer.environment { setenv(k, v, 1) }
        let store = try S3ResultStore(S3Location(bucket: server.bucket, prefix: "p/", endpoint: server.endpoint))
        #expect(try store.read("a/b c") == nil)
        let bytes: [UInt8] = [0, 1, 2, 255]
        try store.write("a/b c", bytes)
        let back = try store.read("a/b c")
        #expect(back == bytes, "\(String(describing: back))")
        #expect(try server.object("p/a/b c") == bytes)
        let missing = try S3ResultStore(S3Location(bucket: "no-such-bucket", endpoint: server.endpoint))
        let error = #expect(throws: ResultStoreError.self) { try missing.write("k", bytes) }
        #expect(error?.description.contains("HTTP 404 (NoSuchBucket") == true, "\(error?.description ?? "")")
    }
}
