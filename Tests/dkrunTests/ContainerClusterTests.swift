import DKCore
import DKTestSupport
import Foundation
import Testing

/// The test cluster with every pod a podman container (`cluster.py up --runtime container`)
/// of dkrun's base image (scripts/base-image.sh): a flow run's Job pod, its Dask scheduler and
/// its workers run the image's dkrun and Dask, with the limits of their pod specs as cgroup
/// limits. Needs the image in podman's store.
@Suite(.serialized, .timeLimit(.minutes(10)), .enabled(if: baseImagePresent()))
struct ContainerClusterTests {
    static let image = baseImage

    @Test func aDaskFlowRunsInContainersOfTheBaseImage() throws {
        let c = try KubesimCluster(containers: true)
        defer { c.down() }
        let flow = c.dir.file("limits.lua")
        try """
            -- Run on a worker pod: its container's memory limit, as its cgroup says.
            local limit = task("limit", function()
              local f = assert(io.open("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
              local text = f:read("l")
              f:close()
              return text
            end)
            local show = task("show", function(value) print("worker memory limit " .. value) end)
            local flow = Flow("In containers", function() show(limit()) end)
            flow.run_config = KubernetesRun { image = "\(Self.image)" }
            flow.executor = DaskExecutor { cluster_class = "KubeCluster", adapt_kwargs = { minimum = 1, maximum = 1 } }
            return flow
            """.write(toFile: flow, atomically: true, encoding: .utf8)
        let r = try c.exec([CLI.binary, flow], timeout: 240)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("image \(Self.image)"), "\(r.stdout)")
        // The workers' quick configuration's limit, 4G, in pages (a process-mode pod would see
        // the host's unlimited cgroup).
        #expect(r.stdout.contains("show | worker memory limit \(4_000_000_000 / 4096 * 4096)"), "\(r.stdout)")
        #expect(r.stdout.contains("nothing of it is left on the cluster"), "\(r.stdout)")
        c.expectNothingLeft()
    }
}

private let baseImage = "dkrun/dkrun:\(Product.version)"

private func baseImagePresent() -> Bool {
    let podman = ["env", "CONTAINERS_CONF=\(CLI.repoRoot)/scripts/containers.conf", "podman", "image", "exists", baseImage]
    return (try? Subprocess.run(podman, timeout: 30).status) == 0
}
