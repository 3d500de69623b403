import DKTestSupport
import Foundation
import Testing

/// Bad input: a clear message naming the file and line (or the object and field), exit 2,
/// and nothing run.
@Suite struct BadInputTests {
    static let scripts: [String: String] = [
        "syntax.lua": "local t = task(function() end)\nreturn Flow('x', function()\n  t(\nend)\n",
        "toplevel.lua": "local cfg = nil\nlocal n = cfg.workers\n",
        "noflow.lua": "local t = task(function() end)\n",
        "two.lua": "local t = task('t', function() end)\nreturn Flow('a', function() t() end), Flow('b', function() t() end)\n",
        "cycle.lua": "local a = task('a', function() end)\nlocal b = task('b', function() end)\nlocal f = Flow('c')\n"
            + "b:set_upstream(a, { flow = f })\na:set_upstream(b, { flow = f })\nreturn f\n",
        "bind.lua": "local o = task('out', function(value) end)\nlocal g = task('get', function() end)\nlocal f = Flow('x')\n"
            + "o:bind { valu = g, flow = f }\nreturn f\n",
        "option.lua": "local t = task('t', { retries = 3 }, function() end)\nreturn Flow('x', function() t() end)\n",
        "checkpoint.lua": "local t = task('t', { checkpoint = true }, function() end)\nreturn Flow('x', function() t() end)\n",
        "type.lua": "local f = Flow('x')\nf.environment = DaskKubernetesEnvironment { min_workers = '1' }\nreturn f\n",
        "param.lua": "local t = task('t', function(url) end)\nreturn Flow('x', function()\n  t(Parameter('url'))\nend)\n",
        "handlers.lua": "local t = task('t', { state_handlers = function() end }, function() end)\nreturn Flow('x', function() t() end)\n",
        "flowhandlers.lua": "local t = task('t', function() end)\nlocal f = Flow('x', { on_failure = { print } }, function() t() end)\nreturn f\n",
        "flatten.lua": "local l = task('l', function() return { { 1 } } end)\nlocal t = task('t', function(x) end)\n"
            + "return Flow('x', function()\n  t(dk.flatten(l()))\nend)\n",
        "flattenconst.lua": "local t = task('t', function(x) end)\nreturn Flow('x', function()\n  t:map(dk.flatten({ { 1 } }))\nend)\n",
        "runname.lua": "local t = task('t', { task_run_name = true }, function() end)\nreturn Flow('x', function() t() end)\n",
        "bad.yaml": "url: [1,\n",
        "list.yaml": "- 1\n",
        "tailcall.lua": "local t = task('t', function() end)\nreturn Flow {\n  name = 'x',\n  bad = 1,\n}\n",
        // Configuration fields that would do nothing are refused, naming the object and the field.
        "labels.lua": "local f = Flow('x')\nf.run_config = LocalRun { labels = { 'dev' } }\nreturn f\n",
        "storage.lua": "return Flow('x', {\n  storage = Local { directory = '/tmp/flows' },\n})\n",
        "joined.lua": "return Flow('x', { executor = DaskExecutor { address = 'tcp://a:8786', cluster_kwargs = { n_workers = 2 } } })\n",
        "sync.lua": "return Flow('x', { executor = LocalDaskExecutor { scheduler = 'synchronous', num_workers = 2 } })\n",
        "secret.lua": "return Flow('x', { environment = DaskKubernetesEnvironment { docker_secret = 'REGISTRY' } })\n",
        "dockerfile.lua": "return Flow('x', { storage = Docker { dockerfile = 'Dockerfile', base_image = 'debian' } })\n",
        "envname.lua": "return Flow('x', { run_config = LocalRun { env = { ['A=B'] = '1' } } })\n",
        "workdir.lua": "local t = task('t', function() end)\nreturn Flow('x', { run_config = LocalRun { working_dir = 'nope' } }, function() t() end)\n",
        "cluster.lua": "local f = Flow('x', { run_config = KubernetesRun {} })\nf.executor = DaskExecutor { cluster_class = 'KubeCluser' }\nreturn f\n",
        "kubehere.lua": "local t = task('t', function() end)\nreturn Flow('x', { executor = DaskExecutor { cluster_class = 'KubeCluster' } }, function() t() end)\n",
        "localrunk8s.lua": "return Flow('x', { environment = DaskKubernetesEnvironment {}, run_config = LocalRun {} })\n",
        "threadsk8s.lua": "return Flow('x', { environment = DaskKubernetesEnvironment {}, executor = LocalDaskExecutor {} })\n",
        "addressk8s.lua": "return Flow('x', { environment = DaskOnKubernetesEnvironment {}, executor = DaskExecutor { address = 'tcp://a:1' } })\n",
        "twoexecutors.lua": "return Flow('x', { environment = LocalEnvironment { executor = LocalExecutor {} }, executor = LocalDaskExecutor {} })\n",
        "twoimages.lua": "return Flow('x', { environment = DaskOnKubernetesEnvironment { image_name = 'a' }, storage = Docker { image_name = 'b' } })\n",
        "buildkw.lua": "return Flow('x', { storage = Docker { build_kwargs = { squash = true } } })\n",
    ]

    @Test(arguments: [
        (["missing.lua"], "missing.lua: No such file or directory"),
        (["syntax.lua"], "syntax.lua:4: unexpected symbol near 'end'"),
        (["toplevel.lua"], "toplevel.lua:2: attempt to index a nil value (local 'cfg')"),
        (["noflow.lua"], "noflow.lua: the script returns no flow (end it with `return flow`)"),
        (["two.lua"], "two.lua: the script returns 2 flows ('a', 'b'); pick one with --flow NAME"),
        (["two.lua", "--flow", "c"], "two.lua: no flow named 'c' (the script returns: 'a', 'b')"),
        (["cycle.lua"], "cycle.lua:5: flow 'c' has a cycle: a -> b -> a\n  a (defined at cycle.lua:1)\n  b (defined at cycle.lua:2)"),
        (["bind.lua"], "bind.lua:4: bad argument 'valu' to task 'out' (its function has no such parameter; parameters: value)"),
        (["option.lua"], "option.lua:1: bad argument #2 to 'task' (unknown field 'retries'; known fields: checkpoint, max_retries, name, nout, on_failure, retry_delay, skip_on_upstream_skip, state_handlers, tags, task_run_name, timeout, trigger)"),
        (["checkpoint.lua"], "checkpoint.lua:1: bad argument #2 to 'task' (field 'checkpoint': false (dkrun does not store task results yet, so it cannot checkpoint them) expected, got boolean)"),
        (["handlers.lua"], "handlers.lua:1: bad argument #2 to 'task' (field 'state_handlers': list of functions expected, got function)"),
        (["flowhandlers.lua"], "flowhandlers.lua:2: bad argument #2 to 'Flow' (field 'on_failure': function expected, got table)"),
        (["flatten.lua"], "flatten.lua:4: bad argument 'x' to task 't' (dk.flatten is for the arguments of t:map)"),
        (["flattenconst.lua"], "flattenconst.lua:3: bad argument #1 to 'flatten' (task expected, got table)"),
        (["runname.lua"], "runname.lua:1: bad argument #2 to 'task' (field 'task_run_name': string expected, got boolean)"),
        (["type.lua"], "type.lua:2: bad argument #1 to 'DaskKubernetesEnvironment' (field 'min_workers': positive integer expected, got string)"),
        (["param.lua"], "param.lua:3: missing value for required parameter 'url' (give it with --param url=VALUE)"),
        (["param.lua", "--param", "url"], "--param 'url': expected NAME=VALUE"),
        (["param.lua", "--param", "=x"], "--param '=x': expected NAME=VALUE"),
        (["param.lua", "--param", "url=[1,"], "--param url:2:1: while parsing a flow node: did not find expected node content"),
        (["param.lua", "--param", "url=x", "--param", "uri=y"], "flow 'x' has no parameter 'uri' (it has url)"),
        (["param.lua", "--params-file", "nope.yaml"], "cannot read params file nope.yaml: No such file or directory"),
        (["param.lua", "--params-file", "bad.yaml"], "bad.yaml:2:1: while parsing a flow node: did not find expected node content"),
        (["param.lua", "--params-file", "list.yaml"], "list.yaml: a params file must map parameter names to values, not hold an array"),
        // A tail call leaves no frame of the script's; it is compiled so that its line stays.
        (["tailcall.lua"], "tailcall.lua:2: bad argument #1 to 'Flow' (unknown field 'bad'; known fields: environment, executor, name, on_failure, reference_tasks, run_config, state_handlers, storage, tasks)"),
        (["labels.lua"], "labels.lua:2: LocalRun.labels: labels choose which Prefect agent runs a flow; dkrun has no agents (it runs the flow itself, here or as a Kubernetes Job), so they would do nothing"),
        (["storage.lua"], "storage.lua:2: Local.directory: dkrun stores no flows: it runs the script it is given (dkrun FILE), and the run's payload carries every source to wherever tasks run"),
        (["joined.lua"], "joined.lua:1: DaskExecutor.cluster_kwargs: a DaskExecutor with an address joins that cluster and makes none: give address or cluster_kwargs, not both"),
        (["sync.lua"], "sync.lua:1: LocalDaskExecutor.num_workers: the synchronous scheduler runs one task at a time, with no pool of workers"),
        (["secret.lua"], "secret.lua:1: DaskKubernetesEnvironment.docker_secret: it names the private registry's credentials, which are used only with private_registry = true"),
        (["dockerfile.lua"], "dockerfile.lua:1: Docker.base_image: a dockerfile names its own base image (FROM): give dockerfile or base_image, not both"),
        (["envname.lua"], "envname.lua:1: LocalRun.env: 'A=B' cannot name an environment variable (empty, or with '=')"),
        (["workdir.lua"], "LocalRun.working_dir: 'nope' is no directory (a relative working_dir starts at the flow's directory)"),
        (["cluster.lua"], "cluster.lua:2: DaskExecutor.cluster_class: dkrun makes no cluster of class 'KubeCluser'; it makes LocalCluster, distributed.LocalCluster, dask.distributed.LocalCluster (worker processes where the flow runs); or KubeCluster, dask_kubernetes.KubeCluster, dask_kubernetes.classic.KubeCluster (pods made for the run, with KubernetesRun)"),
        (["kubehere.lua"], "DaskExecutor.cluster_class: a KubeCluster is a cluster of pods for a flow run on Kubernetes, and flow 'x' runs here: give it run_config = KubernetesRun{...}"),
        (["localrunk8s.lua"], "LocalRun: flow 'x' runs on Kubernetes (its environment is DaskKubernetesEnvironment), where a LocalRun does not apply: remove it, or configure the run's Job with a KubernetesRun"),
        (["threadsk8s.lua"], "LocalDaskExecutor: flow 'x' runs its tasks on the Dask cluster its DaskKubernetesEnvironment makes, so its executor can only be a DaskExecutor with client_kwargs and debug"),
        (["addressk8s.lua"], "DaskExecutor.address: flow 'x' runs its tasks on the Dask cluster its DaskOnKubernetesEnvironment makes, so its executor can only be a DaskExecutor with client_kwargs and debug"),
        (["twoexecutors.lua"], "LocalEnvironment.executor: flow 'x' has an executor of its own too; set only one of them"),
        (["build", "twoimages.lua"], "Docker: flow 'x' has a DaskOnKubernetesEnvironment, whose fields describe its image already: describe it there, or in the Docker storage with a KubernetesRun"),
        (["build", "buildkw.lua"], "Docker.build_kwargs.squash: dkrun build passes on buildargs, labels, network_mode, nocache, platform, pull and target"),
    ])
    func badInputExitsTwoAndRunsNothing(arguments: [String], message: String) throws {
        let stderr = try Self.runRefused(arguments)
        #expect(stderr == "dkrun: error: " + message + "\n")
    }

    /// Runs dkrun on the scripts, expecting exit 2 and nothing run; returns its stderr.
    static func runRefused(_ arguments: [String]) throws -> String {
        let dir = try TempDir(scripts)
        let r = try CLI.run(arguments, in: dir.path)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        return r.stderr
    }

    /// Options the command line itself refuses: ArgumentParser's message, then the usage.
    @Test(arguments: [
        (["param.lua", "--executor", "gpu"], "invalid executor 'gpu' (expected local, threads, threads=N with N >= 1, dask or dask=ADDRESS)"),
        (["param.lua", "--executor", "dask="], "invalid executor 'dask=' (expected local, threads, threads=N with N >= 1, dask or dask=ADDRESS)"),
    ])
    func badOptionsExitTwoWithTheUsage(arguments: [String], message: String) throws {
        let stderr = try Self.runRefused(arguments)
        #expect(stderr.hasPrefix("Error: " + message + "\nUsage: dkrun run "), "\(stderr)")
    }

    @Test func unknownCommandLineOptionsAreBadInput() throws {
        let r = try CLI.run(["examples/hello.lua", "--nope"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("Unknown option '--nope'"))
    }
}
