import ArgumentParser
import DKCore
import DKHistory
import DKHTTP
import DKKube
#if canImport(Glibc)
import Glibc
#endif

extension K8sCommand {
    /// `dkrun k8s dashboard`: the Dask dashboard of a Kubernetes run on a local port, through
    /// the API server's service proxy (what `kubectl proxy` does), until Ctrl-C.
    struct Dashboard: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dashboard",
            abstract: "Serve a Kubernetes Dask run's dashboard on 127.0.0.1 through the API server's service proxy, until Ctrl-C.")

        @Argument(help: ArgumentHelp("The run's id in the run history (or its first characters).", valueName: "RUN"))
        var runID: String?

        @Option(help: ArgumentHelp("The Dask scheduler's Service (in --namespace) instead of a run.", valueName: "NAME"))
        var service: String?

        @Option(help: "The local port (0: any free one).")
        var port = DaskClusterSpec.dashboardPort

        @OptionGroup var kube: KubeOptions

        func validate() throws {
            if (runID == nil) == (service == nil) { throw ValidationError("Name a run (RUN) or a scheduler Service (--service NAME), one of them.") }
            guard (0 ... 65535).contains(port) else { throw ValidationError("--port \(port) is not a port (0 to 65535)") }
        }

        func run() throws {
            let recorded = try runID.map(Self.scheduler(ofRun:))
            let config = try kube.load()
            let (namespace, name) = recorded ?? (config.namespace, service!)
            let client = KubeClient(config: config)
            do {
                _ = try client.get(.services, name, namespace: namespace)
            } catch let error as KubeError where error.code == 404 {
                throw CommandError.badInput("service \(name) is not in namespace \(namespace)"
                    + (runID == nil ? "" : " (the run's Dask cluster is gone: has the run ended?)"))
            }
            let forwarder = ServiceProxyForwarder(client: client, namespace: namespace, service: name, port: "http-dashboard")
            let server = try LoopbackHTTPServer(port: port, handler: { forwarder.answer($0) })
            print("Dask dashboard of \(namespace)/\(name): http://127.0.0.1:\(server.port)/status (Ctrl-C stops)")
            fflush(stdout)
            Interruption.install()
            server.serve(until: { Interruption.requested })
        }

        /// The namespace and scheduler Service a run's log names with its dashboard.
        static func scheduler(ofRun given: String) throws -> (String, String) {
            let history = try RunHistory()
            let run = try RunsCommand.find(given, in: history)
            let events: [RunEvent]
            do { events = try RunLog.events(at: history.logPath(of: run.id)) } catch {
                throw CommandError.failure("the log of flow run \(run.id) cannot be read: \(error)")
            }
            for case let .log(_, _, message, _) in events {
                if let found = DaskClusterSpec.dashboardService(in: message) { return found }
            }
            throw CommandError.badInput("flow run \(RunIDPrefix.short(run.id)) ('\(given)') had no Dask cluster on Kubernetes "
                + "(its log names no dashboard)")
        }
    }
}
