import DKCore
import Dispatch
import DKKube
#if canImport(Glibc)
import Glibc
#endif

/// Follows the pod of a run's Job: waits for it to start (or fails with why it cannot),
/// streams its log, whose JSON event lines become run events, and reads its exit code.
/// Ctrl-C deletes the Job, whose pod then cancels the run and deletes its cluster.
public final class JobFollower: @unchecked Sendable {
    let client: KubeAPI
    let namespace: String
    let runID: String
    let observer: RunObserver
    /// The pause before reading a log again: after a stream that ended while the pod runs,
    /// and, times the failures in a row, after a failed read.
    let readAgainPause: useconds_t

    public init(client: KubeAPI, namespace: String, runID: String, observer: RunObserver, readAgainPause: useconds_t = 200_000) {
        self.client = client
        self.namespace = namespace
        self.runID = runID
        self.observer = observer
        self.readAgainPause = readAgainPause
    }

    private func say(_ text: String, _ level: LogLevel = .info) {
        observer.handle(.log(nil, level, text, time: Clock.wall()))
    }

    /// - Parameter follow: false: print what the log holds now and return.
    public func follow(startupTimeout: Double, follow: Bool = true) -> ExitStatus {
        maskRunSecrets()
        let pod: String
        switch waitForPod(startupTimeout: startupTimeout) {
        case .failure(let message):
            say(message, .error)
            return Interruption.requested ? .interrupted : .failure
        case .success(let name):
            pod = name
        }
        let done = DispatchSemaphore(value: 0)
        let thread = spawnThread { [self] in
            streamLog(pod, follow: follow)
            done.signal()
        }
        var deleted = false
        while done.wait(timeout: .now() + 0.1) == .timedOut {
            if Interruption.requested && !deleted {
                say("interrupted: deleting the flow run's Job (its pod cancels the run and deletes the Dask cluster)", .warning)
                _ = try? client.delete(.jobs, FlowRunPlan.jobName(run: runID), namespace: namespace)
                deleted = true
            }
        }
        pthread_join(thread, nil)
        if Interruption.requested || deleted { return .interrupted }
        guard follow else { return .success }
        return exitCode(pod)
    }

    /// Masks the secrets the run took along (its Secret, when this dkrun may read it) in
    /// what it shows: the pod masks its events, not what else it prints.
    private func maskRunSecrets() {
        guard let secret = try? client.get(.secrets, FlowRunPlan.secretsName(run: runID), namespace: namespace) else { return }
        for (name, encoded) in secret.raw["data"]?.textMap ?? [:] {
            if let bytes = Base64.decode(encoded) { SecretMask.register(name: name, value: String(decoding: bytes, as: UTF8.self)) }
        }
    }

    /// Renders the pod's log line by line. A followed stream that ends while the pod still
    /// runs (a proxy's timeout, a dropped connection) is opened again, skipping the lines
    /// already shown (a container's log only grows, until the kubelet rotates it). A log
    /// that cannot be read to its end is said to be cut, not left silent.
    private func streamLog(_ pod: String, follow: Bool) {
        var shown = 0
        // Failures in a row of reading the log and of reading the pod, counted apart: either
        // going on working must not hide the other failing for good.
        var readFailures = 0
        var podFailures = 0
        var lastError: Error?
        // Whether the pod had ended before this read began, so that it reads every line. A
        // stream cut just before the pod's last lines were written must be read once more.
        var endedBeforeRead = false
        while true {
            let lines = LineBuffer()
            var skip = shown
            let render = { (line: [UInt8]) -> Bool in
                if skip > 0 {
                    skip -= 1
                } else {
                    Self.render(String(decoding: line, as: UTF8.self), to: self.observer)
                    shown += 1
                }
                return true
            }
            var read = false
            var gone = false  // the pod was deleted: its log is gone with it
            do {
                _ = try client.logs(pod, namespace: namespace, tailLines: nil, follow: follow && !endedBeforeRead) { bytes in
                    lines.feed(bytes, render)
                }
                read = true
                readFailures = 0
            } catch {
                gone = (error as? KubeError)?.code == 404
                readFailures += 1
                lastError = error
            }
            var ended = endedBeforeRead  // an ended pod stays ended: a failed look changes nothing
            do {
                ended = try ended || PodProblems.termination(client.get(.pods, pod, namespace: namespace)) != nil
                podFailures = 0
            } catch let e as KubeError where e.code == 404 {
                ended = true
            } catch {
                podFailures += 1
                lastError = error
            }
            // Done once a read that began after the pod had ended got to the log's end.
            let complete = read && (!follow || (ended && endedBeforeRead))
            if complete || !follow || gone || Interruption.requested || max(readFailures, podFailures) > 5 {
                // A last line without a newline, once nothing more can come (a read that
                // failed leaves a line cut short, not a last line).
                if read, let last = lines.finish(), skip == 0 { _ = render(last) }
                if !complete && !Interruption.requested, let lastError {
                    say("the log of the flow run's pod \(pod) could not be read to its end (\(shown) line(s) shown): \(lastError)", .warning)
                }
                return
            }
            endedBeforeRead = ended
            let failures = max(readFailures, podFailures)
            if failures > 0 {
                usleep(readAgainPause * useconds_t(failures))
            } else if !ended {
                usleep(readAgainPause)  // a stream that ends at once while the pod runs is not read again at once
            }
        }
    }

    enum PodWait { case success(String), failure(String) }

    /// Waits for the pod to leave Pending; the deadline is checked against what was seen
    /// last, which the failure then describes.
    private func waitForPod(startupTimeout: Double) -> PodWait {
        let deadline = Clock.monotonic() + startupTimeout
        let selector = RunLabels.selector(run: runID, component: "job")
        let outcome = Poll.until(deadline: nil, stop: { Interruption.requested }) { () -> PodWait? in
            do {
                if let pod = try client.list(.pods, namespace: namespace, labelSelector: selector, fieldSelector: nil).items.last {
                    if (pod.phase ?? "Pending") != "Pending" { return .success(pod.name) }
                    if let reason = PodProblems.hopelessReason(pod) {
                        return .failure("the flow run's pod \(pod.name) cannot start: \(reason)"
                            + PodProblems.describe(client, pod: pod.name, namespace: namespace))
                    }
                    if Clock.monotonic() > deadline {
                        return .failure("the flow run's pod \(pod.name) did not start within \(Numbers.clamped(startupTimeout, to: Int.self)) s: "
                            + PodProblems.pendingReason(pod) + PodProblems.describe(client, pod: pod.name, namespace: namespace))
                    }
                } else if Clock.monotonic() > deadline {
                    return .failure("the flow run's Job made no pod within \(Numbers.clamped(startupTimeout, to: Int.self)) s")
                }
            } catch {
                if Clock.monotonic() > deadline { return .failure("cannot follow the flow run: \(error)") }
            }
            return nil
        }
        return outcome ?? .failure("interrupted")
    }

    private func exitCode(_ pod: String) -> ExitStatus {
        let code = Poll.until(deadline: Clock.monotonic() + 30) { () -> ExitStatus? in
            let current: KubeObject
            do {
                current = try client.get(.pods, pod, namespace: namespace)
            } catch let e as KubeError where e.code == 404 {
                say("the flow run's pod \(pod) is gone before it finished", .error)
                return .failure
            } catch {
                return nil
            }
            guard let t = PodProblems.termination(current) else { return nil }
            // dkrun's own exit codes say how the flow ended.
            if let status = Int32(exactly: t.code).flatMap(ExitStatus.init(rawValue:)) { return status }
            // A signal: kubelets say 128 + N, kubesim -N.
            let how = t.code > 128 || t.code < 0 ? "was killed by signal \(abs(t.code) % 128)" : "ended with exit code \(t.code)"
            say("the flow run's pod \(pod) \(how) (\(t.reason)) before the flow finished"
                + PodProblems.describe(client, pod: pod, namespace: namespace, logLines: 0), .error)
            return .failure
        }
        guard let code else {
            say("the flow run's pod \(pod) has not reported its exit code", .error)
            return .failure
        }
        return code
    }

    /// A log line of the Job's pod: a run event (the pod's dkrun writes them as JSON), or
    /// anything else the pod printed, shown as a log line of the run.
    static func render(_ line: String, to observer: RunObserver) {
        if line.hasPrefix("{"), let value = try? JSON.decode(Array(line.utf8), maxDepth: Value.maxMessageDepth), let event = RunEvent(value: value) {
            observer.handle(event)
        } else if !line.isEmpty {
            observer.handle(.log(nil, .info, "[pod] " + line, time: Clock.wall()))
        }
    }
}
