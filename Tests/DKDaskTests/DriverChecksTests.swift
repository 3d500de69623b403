import DKCore
import DKTestSupport
import Testing

/// The driver's checks at connect (python/dkrun_dask/driver.py), on the shapes Dask really
/// gives: `Client.get_versions()` of a real in-process cluster, the resources its workers offer.
@Suite(.timeLimit(.minutes(10))) struct DriverChecksTests {
    func python(_ code: String) throws -> String {
        let r = try Subprocess.run([venvBin + "python", "-c", code], environment: ["PYTHONPATH=" + repoRoot + "/python"], timeout: 90)
        #expect(r.status == 0, "\(String(decoding: r.stderr, as: UTF8.self))")
        return String(decoding: r.stdout, as: UTF8.self)
    }

    /// Real versions agree; one worker with another distributed, and a scheduler with another
    /// toolz, are one line naming each package and its versions. A package Dask does not look
    /// at on the scheduler (numpy) differs there without a word, as in Dask's own check.
    @Test func versionMismatchesAreOneLineNamingPackagesAndVersions() throws {
        let out = try python("""
            import copy, logging
            from distributed import Client, LocalCluster
            from dkrun_dask.driver import describe_mismatches, version_mismatches
            with LocalCluster(n_workers=2, processes=False, dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
                versions = client.get_versions(check=False)
            print(version_mismatches(versions))
            changed = copy.deepcopy(versions)
            worker = sorted(changed["workers"])[0]
            changed["workers"][worker]["packages"]["distributed"] = "2020.1.0"
            changed["scheduler"]["packages"]["toolz"] = "0.1"
            changed["scheduler"]["packages"]["numpy"] = "0.1"
            line = describe_mismatches(version_mismatches(changed))
            print(line.replace(versions["client"]["packages"]["distributed"], "CLIENT").replace(versions["client"]["packages"]["toolz"], "TOOLZ"))
            """)
        #expect(out == "[]\nDask versions differ between client, scheduler and workers: distributed client CLIENT, scheduler CLIENT, "
            + "workers 2020.1.0 and CLIENT; toolz client TOOLZ, scheduler 0.1, workers TOOLZ\n")
    }

    /// A task's resources against what workers offer: any one worker must offer them all.
    @Test func missingResourcesNameTheTaskAndTheResource() throws {
        let out = try python("""
            from dkrun_dask.driver import missing_resources
            tasks = [{"slug": "plain", "source": "f.lua:1"}, {"slug": "train", "source": "f.lua:2", "resources": {"GPU": 1.0, "MEMORY": 8e9}}]
            print(missing_resources(tasks, [{"GPU": 2}, {"MEMORY": 16e9}]))
            print(missing_resources(tasks, [{"GPU": 0.5, "MEMORY": 16e9}, {}]))
            print(missing_resources(tasks, [{"GPU": 1, "MEMORY": 8e9}, {}]))
            """)
        #expect(out == """
            task 'train' (f.lua:2) needs resources GPU=1, MEMORY=8e+09, and no one worker offers all of them: give the workers resources (dask worker --resources "GPU=1", or DaskExecutor cluster_kwargs = { resources = { ... } })
            task 'train' (f.lua:2) needs resources GPU=1, MEMORY=8e+09, and no worker offers resource GPU (needs 1, the most a worker offers is 0.5): give the workers resources (dask worker --resources "GPU=1", or DaskExecutor cluster_kwargs = { resources = { ... } })
            None

            """)
    }

    /// How the driver fuses (docs/dask.md, Fusion), on the benchmark's shapes: each group's size,
    /// and how many tasks were batched. Tasks measured at 0.1 ms are cheap; 2 worker threads.
    /// Cheap tasks each after its own slow task are not batched (a batch would wait for all).
    @Test func cheapTasksAreBatchedAndLinkedByTheGraphTheirCostsAndTheThreads() throws {
        let out = try python("""
            from dkrun_dask.driver import fused_groups, topological

            def plan(tasks, threads=2):
                tasks = topological(tasks)
                downstream = {t["slug"]: [] for t in tasks}
                for t in tasks:
                    for u in t["upstream"]:
                        downstream[u].append(t["slug"])
                groups, batched = fused_groups(tasks, downstream, threads)
                return sorted((len(g) for g in groups), reverse=True), batched

            def task(slug, upstream, definition, cost=1e-4, **options):
                t = {"slug": slug, "upstream": upstream, "mapped": False, **options}
                if cost is not None:
                    t.update(cost=cost, definition=definition)
                return t

            def fan(n, cost=1e-4, **options):
                mids = [task(f"mid-{i}", ["src"], "mid", cost, **options) for i in range(n - 2)]
                return [task("src", [], "src"), *mids, task("sink", [m["slug"] for m in mids], "sink")]

            def diamond(n, cost=1e-4):
                prev = [f"src-{i}" for i in range(10)]
                tasks = [task(s, [], "src", cost) for s in prev]
                for layer in range(1, n // 10):
                    cur = [f"node-{layer}-{i}" for i in range(10)]
                    tasks += [task(cur[i], [prev[i], prev[(i + 1) % 10]], "node", cost) for i in range(10)]
                    prev = cur
                return tasks

            groups, batched = plan(fan(10000))
            print(len(groups), groups[0], groups[-2:], batched)  # 20 batches of ~50 ms, src and sink
            print(plan(fan(1000)))  # 100 ms: a batch per thread
            print(plan(fan(1000), threads=8))  # as many as 8 batches of 10 ms or more
            print(plan(fan(22)))  # 2 ms in all: one batch, linked after src and before sink
            print(plan(fan(22, cost=0.006))[1], plan(fan(22, cost=None))[1], plan(fan(22, fuse=False))[1])  # not cheap, unmeasured, opted out
            print(plan(diamond(1000)))  # layers of 1 ms, one batch each, linked: one group
            print(plan(diamond(10000))[0][:2], len(plan(diamond(10000))[0]))  # at most 1,000 tasks a group
            print(plan(diamond(1000, cost=0.004))[0][:3])  # layers of 40 ms: a batch per thread, not linked
            slow = [task(f"slow-{i}", [], "slow", 1.0) for i in range(20)]
            print(plan(slow + [task(f"post-{i}", [f"slow-{i}"], "post") for i in range(20)])[1])  # each after its own slow task
            print(plan([task("src", [], "src", 1.0), *fan(22)[1:]])[1])  # all after the same slow task
            mids = [task(f"mid-{i}", [f"slow-{i}"], "mid") for i in range(20)]
            print(plan(slow + mids + [task(f"post-{i}", [f"mid-{i}"], "post") for i in range(20)])[1])  # slow tasks further up
            """)
        #expect(out == """
            22 500 [1, 1] 9998
            ([499, 499, 1, 1], 998)
            ([125, 125, 125, 125, 125, 125, 124, 124, 1, 1], 998)
            ([22], 20)
            0 0 0
            ([1000], 1000)
            [1000, 1000] 10
            [5, 5, 5]
            0
            20
            0

            """)
    }

    /// A mapped task's children measured cheap run in batches cut as cheap tasks side by side
    /// are; children not measured, not cheap, or of a task that opts out, one Dask task each.
    @Test func cheapChildrenAreBatchedByTheSameRule() throws {
        let out = try python("""
            from dkrun_dask.driver import batches_of_children

            def sizes(width, threads=2, **task):
                return [len(b) for b in batches_of_children({"mapped": True, **task}, width, threads)]

            print(len(sizes(10000, cost=1e-4)), sizes(10000, cost=1e-4)[0])  # 20 batches of ~50 ms
            print(sizes(22, cost=1e-4), sizes(1000, cost=1e-4, threads=8)[:2], sizes(0, cost=1e-4))
            print(len(sizes(22)), len(sizes(22, cost=0.006)), len(sizes(22, cost=1e-4, fuse=False)),
                  len(sizes(22, cost=1e-4, depth_first=True)))  # unmeasured, not cheap, opted out, depth-first
            print(sum(batches_of_children({"mapped": True, "cost": 1e-4}, 5000, 2), []) == list(range(5000)))
            """)
        #expect(out == """
            20 500
            [22] [125, 125] []
            22 22 22 22
            True

            """)
    }
}
