import DKCore
import DKKube
import DKTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(10))) struct WatchTests {
    @Test func watchSeesChangesAcrossServerClosedStreams() throws {
        let sim = try Kubesim(token: "s3cret")
        let k = try KubeClientTests.client(sim)
        k.watchWindow = 1  // the server ends each stream after a second; the watch goes on
        try k.create(KubeClientTests.pod("before", labels: ["app": "w"]))
        let writer = Thread {
            let w = try? KubeClientTests.client(sim)
            usleep(1_300_000)
            _ = try? w?.create(KubeClientTests.pod("during", labels: ["app": "w"]))
            _ = try? w?.create(KubeClientTests.pod("unseen", labels: ["app": "other"]))
            usleep(1_300_000)
            _ = try? w?.delete(.pods, "during")
        }
        writer.start()
        var seen: [String] = []
        try k.watch(.pods, labelSelector: "app=w", timeout: 20) { event in
            seen.append("\(event.type) \(event.object.name)")
            return seen.count < 3
        }
        #expect(seen == ["ADDED before", "ADDED during", "DELETED during"])
    }

    @Test func aTooOldVersionListsAgain() throws {
        let sim = try Kubesim(token: "s3cret", arguments: ["--watch-history", "2"])
        let k = try KubeClientTests.client(sim)
        for i in 0 ..< 4 { try k.create(KubeClientTests.pod("p\(i)")) }
        var seen: [String] = []
        try k.watch(.pods, resourceVersion: "1", timeout: 20) { event in
            seen.append("\(event.type) \(event.object.name)")
            return seen.count < 4
        }
        #expect(seen == ["ADDED p0", "ADDED p1", "ADDED p2", "ADDED p3"])  // 410 Gone, then a fresh list
    }

    @Test func podLogsTailedAndFollowed() throws {
        let sim = try Kubesim(token: "s3cret")
        let k = try KubeClientTests.client(sim)
        try k.create(KubeClientTests.pod("talker"))
        #expect(throws: KubeError.self) { _ = try k.logs("talker") }  // no container started yet
        let dir = sim.logDirectory + "/default/talker"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "one\ntwo\nthree\n".write(toFile: dir + "/main.log", atomically: true, encoding: .utf8)
        #expect(String(decoding: try k.logs("talker"), as: UTF8.self) == "one\ntwo\nthree\n")
        #expect(String(decoding: try k.logs("talker", tailLines: 1), as: UTF8.self) == "three\n")
        let appender = Thread {
            usleep(500_000)
            if let h = FileHandle(forWritingAtPath: dir + "/main.log") {
                h.seekToEndOfFile()
                h.write(Data("four\n".utf8))
                h.closeFile()
            }
            usleep(500_000)
            _ = try? KubeClientTests.client(sim).delete(.pods, "talker")
        }
        appender.start()
        let followed = try k.logs("talker", follow: true)
        #expect(String(decoding: followed, as: UTF8.self) == "one\ntwo\nthree\nfour\n")
    }
}
