import DKCore
import Testing

/// Waiting until something answers, a deadline passes or a stop is asked for.
@Suite struct PollTests {
    @Test func theFirstAnswerEndsTheWait() {
        var probes = 0
        let answer = Poll.until(deadline: nil, every: 0) { () -> String? in
            probes += 1
            return probes == 3 ? "there" : nil
        }
        #expect(answer == "there" && probes == 3)
    }

    @Test func aPassedDeadlineGivesUpAfterOneProbe() {
        var probes = 0
        let answer = Poll.until(deadline: Clock.monotonic() - 1, every: 0) { () -> Int? in
            probes += 1
            return nil
        }
        #expect(answer == nil && probes == 1)
    }

    @Test func stopIsAskedBeforeEachProbe() {
        var probes = 0
        let answer = Poll.until(deadline: nil, every: 0, stop: { probes == 2 }) { () -> Int? in
            probes += 1
            return nil
        }
        #expect(answer == nil && probes == 2)
    }

    @Test func whatTheProbeThrowsEndsTheWait() {
        struct Gone: Error {}
        #expect(throws: Gone.self) { try Poll.until(deadline: nil, every: 0) { () throws -> Int? in throw Gone() } }
    }
}
