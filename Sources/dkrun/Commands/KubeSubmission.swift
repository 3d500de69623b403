import DKCore
import DKKube
import DKKubeRun
import FoundationEssentials

/// `dkrun FLOW.lua` for a flow that runs on Kubernetes: the plan printed (`--dry-run`), or
/// the run submitted and followed to its end (or, `--detach`, left to run).
struct KubeSubmission {
    let loaded: LoadedFlow
    /// The run's id, which labels its objects.
    let runID: String
    /// Where the placement says the Job's tasks run.
    let tasks: FlowPlacement.JobTasks
    let payload: [UInt8]
    let kube: KubeOptions
    let serviceAccount: String?
    /// The id of the run this one resumes (`--resume`), or nil.
    let resumes: String?
    /// The tasks the run approves (`--approve`).
    let approved: Set<String>

    /// The run's plan, checked: its errors (a bad cluster option, a payload too big for a
    /// ConfigMap, a secret the script reads that the run does not take along, results kept
    /// where pods cannot share them) are bad input.
    func plan(namespace: String) throws -> FlowRunPlan {
        if let problem = loaded.spec.resultsProblemOnKubernetes(resuming: resumes != nil) { throw CommandError.badInput(problem) }
        var plan = try FlowRunPlan(flow: loaded.spec, tasks: tasks, runID: runID, namespace: namespace,
                                   image: try FlowImage.forRun(loaded.spec), environment: ProcessInfo.processInfo.environment)
        if plan.serviceAccount == nil { plan.serviceAccount = serviceAccount }
        plan.resumes = resumes
        plan.approved = approved
        _ = try plan.payloadConfigMap(payload)
        // The Job's pod evaluates the script again, and reads these again.
        let missing = loaded.host.secretNamesRead.filter { !plan.secretNames.contains($0) }
        if !missing.isEmpty {
            throw CommandError.badInput("flow '\(loaded.spec.name)' reads secret \(missing.map { "'\($0)'" }.joined(separator: ", ")) "
                + "at the top level, and the Job's pod, which evaluates the script again, would not have it: name it in the "
                + "run's secrets = { ... } (docs/kubernetes.md)")
        }
        return plan
    }

    /// Every object the run would make, as one YAML stream; what the configuration decided as comments.
    func dryRun() throws {
        let namespace = kube.namespace ?? (try? kube.load().namespace) ?? "default"
        let preview = try FlowRunPreview(plan: try plan(namespace: namespace), payload: payload, ttl: FlowRunLauncher.jobTTL(detached: false),
                                         environment: ProcessInfo.processInfo.environment)
        print(preview.comments.map { "# " + $0 }.joined(separator: "\n"))
        try K8sCommand.printManifests(preview.objects)
    }

    /// Submits the run, then follows it (or returns at once, `detach`).
    /// - Returns: how the flow ended (success for a detached run).
    func submit(detach: Bool, observer: RunObserver) throws -> ExitStatus {
        let config = try kube.load()
        let plan = try self.plan(namespace: config.namespace)
        var secrets: [String: String] = [:]
        for name in plan.secretNames { secrets[name] = try SecretStore.lookup(name) }
        let client = KubeClient(config: config)
        let launcher = FlowRunLauncher(client: client, plan: plan)
        do {
            try launcher.submit(payload: payload, secrets: secrets, ttl: FlowRunLauncher.jobTTL(detached: detach))
        } catch {
            throw CommandError.failure("cannot submit flow run \(plan.runID) to \(config.server) (namespace \(config.namespace)): \(error)"
                + ((error as? KubeError)?.code == 403 ? "\n(`dkrun k8s rbac` prints the permissions a flow run needs; `dkrun k8s doctor` checks them)" : ""))
        }
        if detach {
            print("flow run \(plan.runID): Job \(plan.jobName) in namespace \(config.namespace)")
            print("follow it with: dkrun k8s logs \(RunLabels.short(plan.runID)) --follow")
            return .success
        }
        observer.handle(.log(nil, .info, "flow run \(plan.runID): Job \(plan.jobName) in namespace \(config.namespace), image \(plan.image)",
                             time: Clock.wall()))
        var startup = 300.0
        if case .daskCluster(let spec) = plan.tasks { startup = spec.startupTimeout }
        return launcher.follow(observer: observer, startupTimeout: startup)
    }
}
