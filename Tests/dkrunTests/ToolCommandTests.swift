import DKTestSupport
import Foundation
import Testing

/// inspect, serialize and graph.
@Suite struct ToolCommandTests {
    @Test func inspectShowsTheGraph() throws {
        let r = try CLI.run(["inspect", "examples/etl.lua"])
        #expect(r.status == 0)
        #expect(r.lines.first == "Flow 'etl' from examples/etl.lua")
        #expect(r.stdout.contains("  batch (default 8) at examples/etl.lua:5"))
        #expect(r.stdout.contains("  transform at examples/etl.lua:42 <- every=fail_every, record=extract (mapped)  [max_retries=2 retry_delay=0.01 tags=cpu]"))
        #expect(r.stdout.contains("Reference tasks: report (the terminal tasks)"))
    }

    @Test func inspectSaysWhatEachConfigurationFieldDoes() throws {
        let r = try CLI.run(["inspect", "examples/kube_cluster_executor.lua"])
        #expect(r.status == 0)
        #expect(r.lines.contains { $0.hasPrefix("  run_config: KubernetesRun: the flow runs in a Kubernetes Job") })
        #expect(r.lines.contains { $0.hasPrefix("    env = {\"FLOW_STAGE\":\"example\"}: environment variables of the Job's pod") })
        #expect(r.lines.contains { $0.hasPrefix("    image (not set): the image of the Job's pod") })
        #expect(r.lines.contains { $0.hasPrefix("    cluster_class = \"KubeCluster\": the temporary cluster's class") })
        #expect(r.lines.contains("  storage: (default)"))

        let dir = try TempDir(["flow.lua": """
            local t = task("t", function() end)
            return Flow("f", {
              environment = LocalEnvironment { executor = LocalDaskExecutor { num_workers = 2 }, metadata = { owner = "ops" } },
            }, function() t() end)
            """])
        let nested = try CLI.run(["inspect", dir.file("flow.lua")])
        #expect(nested.lines.contains { $0.hasPrefix("    executor: LocalDaskExecutor: tasks run in parallel on threads") })
        #expect(nested.lines.contains { $0.hasPrefix("      num_workers = 2: the pool's threads") })
        #expect(nested.lines.contains { $0.hasPrefix("    metadata = {\"owner\":\"ops\"}: any table") })
        #expect(!nested.stdout.contains("labels"))  // refused fields are no fields of an object
    }

    @Test func inspectJSONCarriesTheDescriptionAndHash() throws {
        let r = try CLI.run(["inspect", "examples/custom_worker_spec.lua", "--json"])
        let v = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect((v["dag_hash"] as? String)?.count == 64)
        let env = v["environment"] as! [String: Any]
        #expect(env["type"] as? String == "DaskKubernetesEnvironment")
        #expect(((env["worker_spec"] as! [String: Any])["spec"] as! [String: Any])["replicas"] as? Int == 2)
        #expect((v["tasks"] as! [[String: Any]]).map { $0["slug"] as! String } == ["get_value", "output_value"])
    }

    @Test func serializeIsDeterministic() throws {
        let dir = try TempDir()
        for (file, param) in [("a", "batch=3"), ("b", "batch=3"), ("c", "batch=4")] {
            let r = try CLI.run(["serialize", "examples/etl.lua", "--param", param, "-o", dir.file(file)])
            #expect(r.status == 0)
            #expect(r.stderr.hasPrefix("payload: "))
        }
        let a = try Data(contentsOf: URL(fileURLWithPath: dir.file("a")))
        #expect(a == (try Data(contentsOf: URL(fileURLWithPath: dir.file("b")))))
        #expect(a != (try Data(contentsOf: URL(fileURLWithPath: dir.file("c")))))
        let toStdout = try CLI.run(["serialize", "examples/etl.lua", "--param", "batch=3"])
        #expect(Data(toStdout.stdout.utf8).count > 0)
    }

    @Test func graphFormats() throws {
        let dot = try CLI.run(["graph", "examples/etl.lua"])
        #expect(dot.stdout.hasPrefix("digraph \"etl\" {"))
        #expect(dot.stdout.contains("\"extract\" -> \"transform\" [label=\"record (mapped)\", style=dashed];"))
        let mermaid = try CLI.run(["graph", "examples/etl.lua", "--format", "mermaid"])
        #expect(mermaid.stdout.hasPrefix("flowchart LR\n"))
        #expect(mermaid.stdout.contains("  t0 -.->|\"record (mapped)\"| t2\n"))
        let svg = try CLI.run(["graph", "examples/etl.lua", "--format", "svg"])
        #expect(svg.status == 0)
        #expect(svg.stdout.contains("<svg"))
        let dir = try TempDir()
        let png = try CLI.run(["graph", "examples/etl.lua", "--format", "png", "-o", dir.file("g.png")])
        #expect(png.status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.file("g.png")))
        #expect(bytes.prefix(4) == Data([0x89, 0x50, 0x4e, 0x47]))
    }

    @Test func graphColoursStatesFromEvents() throws {
        let dir = try TempDir(["f.lua": """
            local ok = task("ok", function() return 1 end)
            local boom = task("boom", function(x) error("no") end)
            local after = task("after", function(x) end)
            return Flow("g", function() after(boom(ok())) end)
            """])
        let run = try CLI.run([dir.file("f.lua"), "--json-events"])
        try run.stdout.write(toFile: dir.file("events.jsonl"), atomically: true, encoding: .utf8)
        let g = try CLI.run(["graph", dir.file("f.lua"), "--events", dir.file("events.jsonl")])
        #expect(g.stdout.contains("\"ok\" [label=\"ok\\nSuccess\", fillcolor=\"#a7e3b5\"];"))
        #expect(g.stdout.contains("\"boom\" [label=\"boom\\nFailed\", fillcolor=\"#f4a3a3\"];"))
        #expect(g.stdout.contains("\"after\" [label=\"after\\nTriggerFailed\", fillcolor=\"#f7c58f\"];"))
    }
}
