@testable import DKCore
@testable import DKKube
import DKTestSupport
import Testing

/// The dask-kubernetes keys of Dask's configuration, resolved where the run is submitted and
/// handed to the Job's pod, which plans the same cluster from them.
@Suite struct DaskKubernetesConfigTests {
    let pod = "kind: Pod\nspec:\n  containers:\n  - name: dask\n    args: [dask, worker, --nthreads, '1']\n"

    func plan(_ environment: [String: String], runConfigEnv: Value? = nil) throws -> FlowRunPlan {
        var runConfig: Value = ["type": "KubernetesRun"]
        runConfig["env"] = runConfigEnv
        let flow = FlowSpec(name: "f", tasks: [], edges: [], constants: [], referenceTasks: nil,
                            configuration: ["run_config": runConfig, "executor": ["type": "DaskExecutor", "cluster_class": "dask_kubernetes.KubeCluster"]])
        guard case .kubernetes(let tasks) = try FlowPlacement.decide(for: flow, override: nil, cores: 2) else { throw FlowError("not on Kubernetes") }
        return try FlowRunPlan(flow: flow, tasks: tasks, runID: "0123abcd-4567-89ef-0123-456789abcdef", namespace: "flows",
                               image: "dkrun:test", environment: environment)
    }

    func cluster(_ plan: FlowRunPlan) throws -> DaskClusterSpec {
        guard case .daskCluster(let spec) = plan.tasks else { throw FlowError("not a per-run cluster") }
        return spec
    }

    func jobEnvironment(_ plan: FlowRunPlan) -> [String: String] {
        let env = plan.job(ttl: 60)["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["env"]?.arrayValue ?? []
        return Dictionary(env.map { ($0["name"]?.stringValue ?? "", $0["value"]?.stringValue ?? "") }) { $1 }
    }

    @Test func theSubmittersConfigReachesTheJobsPod() throws {
        let dir = try TempDir(["home/.config/dask/kube.yaml": "kubernetes:\n  worker_name: gpu-{uuid}\n  worker-template-path: "
                                   + "/nonexistent/on/the/submitter\n",
                               "worker.yaml": pod])
        let submitter = ["HOME": dir.file("home"), "DASK_ROOT_CONFIG": dir.file("etc"),
                         "DASK_KUBERNETES__WORKER_TEMPLATE_PATH": dir.file("worker.yaml")]
        let submitted = try plan(submitter)
        let spec = try cluster(submitted)
        #expect(spec.workerNameTemplate == "gpu-{uuid}")
        #expect(spec.workerTemplate?["spec"]?["containers"]?.arrayValue?.first?["name"] == "dask")
        // The Job's pod has neither the file nor the submitter's config: its environment carries them.
        let job = jobEnvironment(submitted)
        #expect(job["DASK_KUBERNETES__WORKER_NAME"] == "gpu-{uuid}")
        let inPod = try cluster(plan(job.merging(["HOME": dir.file("pod-home"), "DASK_ROOT_CONFIG": dir.file("etc")]) { $1 }))
        #expect(inPod.workerNameTemplate == spec.workerNameTemplate && inPod.workerTemplate == spec.workerTemplate)
    }

    @Test func theRunConfigsEnvWinsInTheJob() throws {
        let submitted = try plan(["DASK_KUBERNETES__WORKER_NAME": "from-submitter", "DASK_ROOT_CONFIG": "/nonexistent"],
                                 runConfigEnv: ["DASK_KUBERNETES__WORKER_NAME": "from-run-config"])
        let names = submitted.job(ttl: 60)["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first?["env"]?.arrayValue?
            .filter { $0["name"] == "DASK_KUBERNETES__WORKER_NAME" }.map { $0["value"] }
        #expect(names == ["from-run-config"])
    }

    /// A worker template from the Dask config is checked as the flow's worker spec is.
    @Test func theConfigsWorkerTemplateIsChecked() throws {
        let path = repoRoot + "/Tests/Fixtures/bad-inputs/specs/worker-containers-5.yaml"
        #expect(throws: FlowError("\(path) (Dask config kubernetes.worker-template-path): spec.containers: a list of containers expected, got an integer")) {
            try plan(["DASK_KUBERNETES__WORKER_TEMPLATE_PATH": path, "DASK_ROOT_CONFIG": "/nonexistent"])
        }
    }
}
