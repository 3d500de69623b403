import DKCore
import DKDask
import DKKube

/// The run inside a flow run's Job (the twin of `FlowRunLauncher`, which made the Job): the
/// flow, rebuilt from its payload, runs where its placement says: on a Dask cluster of pods
/// made for the run, owned by the Job, or with its executor in this pod.
public struct JobFlowRun {
    let payload: Payload
    let payloadBytes: [UInt8]
    let host: FlowHost
    let config: KubeConfig
    /// The pod's environment: the run's id and Job name (set by the Job), the Dask config.
    let environment: [String: String]

    /// - Parameter host: the flow rebuilt from `payload` (its invokers and hooks).
    public init(payload: Payload, payloadBytes: [UInt8], host: FlowHost, config: KubeConfig, environment: [String: String]) {
        self.payload = payload
        self.payloadBytes = payloadBytes
        self.host = host
        self.config = config
        self.environment = environment
    }

    /// What this pod runs and how; throws when the payload's flow does not run on Kubernetes.
    public func execution(observer: RunObserver) throws -> FlowExecution {
        let flow = payload.flow
        guard case .kubernetes(let tasks) = try FlowPlacement.decide(for: flow, override: nil, cores: ExecutorChoice.machineCores) else {
            throw FlowError("flow '\(flow.name)' does not run on Kubernetes")
        }
        let plan = try FlowRunPlan(flow: flow, tasks: tasks, runID: environment["DKRUN_RUN_ID"] ?? UUID4.make(),
                                   namespace: config.namespace, image: try FlowImage.forRun(flow), environment: environment)
        let executor: ExecutorChoice
        let clusterRunner: ClusterRunner
        switch plan.tasks {
        case .daskCluster(let spec):
            clusterRunner = KubeClusterRunner(client: KubeClient(config: config), spec: spec, environment: environment)
            let configured = flow.executor
            executor = .dask(configured?["type"] == "DaskExecutor" ? configured! : ["type": "DaskExecutor"])
        case .executor(let choice):
            clusterRunner = DaskRunner()
            executor = choice
        }
        let graph = try FlowGraph(flow)
        let execution = FlowExecution(graph: graph, runID: plan.runID, parameters: try graph.resolveParameters(payload.parameters),
                                      executor: executor, host: host, clusterRunner: clusterRunner, payload: { [payload] in payload },
                                      payloadBytes: payloadBytes, observer: observer,
                                      process: nil)  // FlowPlacement refuses a LocalRun on Kubernetes
        execution.resumes = environment["DKRUN_RESUMES"]
        execution.keepsResults = KeptPlace.keepsOnKubernetes(flowResult: flow.result)
        if let approved = environment["DKRUN_APPROVED"] {
            execution.approved = Set(try JSON.decode(Array(approved.utf8), maxDepth: 2).arrayValue?.compactMap(\.stringValue) ?? [])
        }
        return execution
    }
}

