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
}
