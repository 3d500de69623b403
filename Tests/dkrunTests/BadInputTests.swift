import DKCore
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
        "checkpoint.lua": "local t = task('t', { checkpoint = 'yes' }, function() end)\nreturn Flow('x', function() t() end)\n",
        "resultfield.lua": "local r = dk.results.Local { dir = '/tmp/r', path = 'x' }\nreturn Flow('x', { result = r })\n",
        "resultbucket.lua": "return Flow('x', {\n  result = dk.results.S3 { prefix = 'p/' },\n})\n",
        "resulttype.lua": "local t = task('t', { result = Local {} }, function() end)\nreturn Flow('x', function() t() end)\n",
        "targetoff.lua": "local t = task('t', { target = 'k', checkpoint = false }, function() end)\nreturn Flow('x', function() t() end)\n",
        "cachekey.lua": "local t = task('t', { cache_key = 'k' }, function() end)\nreturn Flow('x', function() t() end)\n",
        "validator.lua": "local t = task('t', { cache_for = 60, cache_validator = dk.cache.partial_inputs_only('x') }, function(x) end)\nreturn Flow('x', function() t(1) end)\n",
        "type.lua": "local f = Flow('x')\nf.environment = DaskKubernetesEnvironment { min_workers = '1' }\nreturn f\n",
        "param.lua": "local t = task('t', function(url) end)\nreturn Flow('x', function()\n  t(Parameter('url'))\nend)\n",
        "handlers.lua": "local t = task('t', { state_handlers = function() end }, function() end)\nreturn Flow('x', function() t() end)\n",
        "flowhandlers.lua": "local t = task('t', function() end)\nlocal f = Flow('x', { on_failure = { print } }, function() t() end)\nreturn f\n",
        "flatten.lua": "local l = task('l', function() return { { 1 } } end)\nlocal t = task('t', function(x) end)\n"
            + "return Flow('x', function()\n  t(dk.flatten(l()))\nend)\n",
        "flattenconst.lua": "local t = task('t', function(x) end)\nreturn Flow('x', function()\n  t:map(dk.flatten({ { 1 } }))\nend)\n",
        "runname.lua": "local t = task('t', { task_run_name = true }, function() end)\nreturn Flow('x', function() t() end)\n",
        "resneg.lua": "local t = task('t', { resources = { GPU = -1 } }, function() end)\nreturn Flow('x', function() t() end)\n",
        "resword.lua": "local t = task('t', { resources = { GPU = 'one' } }, function() end)\nreturn Flow('x', function() t() end)\n",
        "restag.lua": "local t = task('t', { tags = { 'dask-resource:GPU' } }, function() end)\nreturn Flow('x', function()\n  t()\nend)\n",
        "restagword.lua": "local t = task('t', { tags = { 'dask-resource:GPU=x' } }, function() end)\nreturn Flow('x', function()\n  t()\nend)\n",
        "restwice.lua": "local t = task('t', { resources = { GPU = 1 }, tags = { 'DASK-RESOURCE:GPU=2' } }, function() end)\n"
            + "return Flow('x', function()\n  t()\nend)\n",
        "priority.lua": "local t = task('t', { priority = 1.5 }, function() end)\nreturn Flow('x', function() t() end)\n",
        "limits.lua": "local t = task('t', function() end)\nreturn Flow('x', { limits = { db = 0 } }, function() t() end)\n",
        "setlimits.lua": "local f = Flow('x')\nf.limits = { db = 'two' }\nreturn f\n",
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
        // Numbers that no wait or count can take (docs/limits.md, Numbers).
        "retry.lua": "local t = task('t', { max_retries = 1, retry_delay = 1e300 }, function() end)\nreturn Flow('x', function() t() end)\n",
        "retryinf.lua": "local t = task('t', { max_retries = 1, retry_delay = math.huge }, function() end)\nreturn Flow('x', function() t() end)\n",
        "timeout.lua": "local t = task('t', { timeout = math.huge }, function() end)\nreturn Flow('x', function() t() end)\n",
        "workers.lua": "return Flow('x', { environment = DaskKubernetesEnvironment { max_workers = 99999999999999 } })\n",
        "nworkers.lua": "return Flow('x', { run_config = KubernetesRun {}, executor = DaskExecutor { cluster_class = 'KubeCluster', "
            + "cluster_kwargs = { n_workers = -5 } } })\n",
        "interval.lua": "return Flow('x', { run_config = KubernetesRun {}, executor = DaskExecutor { cluster_class = 'KubeCluster', "
            + "adapt_kwargs = { maximum = 3, interval = math.huge } } })\n",
        "startup.lua": "return Flow('x', { environment = DaskKubernetesEnvironment { startup_timeout = 1e300 } })\n",
        // Spec files from Tests/Fixtures/bad-inputs/specs, named by $SPEC.
        "workerspec.lua": "return Flow('x', { environment = DaskKubernetesEnvironment { worker_spec_file = os.getenv('SPEC') } })\n",
        "schedulerspec.lua": "return Flow('x', { environment = DaskKubernetesEnvironment { scheduler_spec_file = os.getenv('SPEC') } })\n",
        "jobtemplate.lua": "return Flow('x', { run_config = KubernetesRun { job_template_path = os.getenv('SPEC') } })\n",
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
        (["option.lua"], "option.lua:1: bad argument #2 to 'task' (unknown field 'retries'; known fields: cache_for, cache_key, cache_validator, checkpoint, fuse, max_retries, name, nout, on_failure, priority, resources, result, retry_delay, skip_on_upstream_skip, state_handlers, tags, target, task_run_name, timeout, trigger)"),
        (["checkpoint.lua"], "checkpoint.lua:1: bad argument #2 to 'task' (field 'checkpoint': boolean expected, got string)"),
        (["resultfield.lua"], "resultfield.lua:1: bad argument #1 to 'dk.results.Local' (unknown field 'path'; known fields: dir)"),
        (["resultbucket.lua"], "resultbucket.lua:2: bad argument #1 to 'dk.results.S3' (field 'bucket' is required)"),
        (["resulttype.lua"], "resulttype.lua:1: bad argument #2 to 'task' (field 'result': a result location (dk.results.Local, dk.results.S3) expected, got Local)"),
        (["targetoff.lua"], "targetoff.lua:1: bad argument #2 to 'task' (a task with a target keeps its result there: checkpoint = false contradicts target)"),
        (["cachekey.lua"], "cachekey.lua:1: bad argument #2 to 'task' (field 'cache_key' needs cache_for: without it the task is never cached)"),
        (["validator.lua"], "validator.lua:1: bad argument #1 to 'partial_inputs_only' (a list of names expected, got string)"),
        (["handlers.lua"], "handlers.lua:1: bad argument #2 to 'task' (field 'state_handlers': list of functions expected, got function)"),
        (["flowhandlers.lua"], "flowhandlers.lua:2: bad argument #2 to 'Flow' (field 'on_failure': function expected, got table)"),
        (["flatten.lua"], "flatten.lua:4: bad argument 'x' to task 't' (dk.flatten is for the arguments of t:map)"),
        (["flattenconst.lua"], "flattenconst.lua:3: bad argument #1 to 'flatten' (task expected, got table)"),
        (["runname.lua"], "runname.lua:1: bad argument #2 to 'task' (field 'task_run_name': string expected, got boolean)"),
        (["type.lua"], "type.lua:2: bad argument #1 to 'DaskKubernetesEnvironment' (field 'min_workers': non-negative integer expected, got string)"),
        (["param.lua"], "param.lua:3: missing value for required parameter 'url' (give it with --param url=VALUE)"),
        (["param.lua", "--param", "url"], "--param 'url': expected NAME=VALUE"),
        (["param.lua", "--param", "=x"], "--param '=x': expected NAME=VALUE"),
        (["param.lua", "--param", "url=[1,"], "--param url:2:1: while parsing a flow node: did not find expected node content"),
        (["param.lua", "--param", "url=x", "--param", "uri=y"], "flow 'x' has no parameter 'uri' (it has url)"),
        (["param.lua", "--params-file", "nope.yaml"], "cannot read params file nope.yaml: No such file or directory"),
        (["param.lua", "--params-file", "bad.yaml"], "bad.yaml:2:1: while parsing a flow node: did not find expected node content"),
        (["param.lua", "--params-file", "list.yaml"], "list.yaml: a params file must map parameter names to values, not hold an array"),
        // A tail call leaves no frame of the script's; it is compiled so that its line stays.
        (["tailcall.lua"], "tailcall.lua:2: bad argument #1 to 'Flow' (unknown field 'bad'; known fields: environment, executor, fuse, limits, name, on_failure, reference_tasks, result, run_config, state_handlers, storage, tasks)"),
        (["labels.lua"], "labels.lua:2: LocalRun.labels: labels choose which Prefect agent runs a flow; dkrun has no agents (it runs the flow itself, here or as a Kubernetes Job), so they would do nothing"),
        (["storage.lua"], "storage.lua:2: Local.directory: dkrun stores no flows: it runs the script it is given (dkrun FILE), and the run's payload carries every source to wherever tasks run"),
        (["joined.lua"], "joined.lua:1: DaskExecutor.cluster_kwargs: a DaskExecutor with an address joins that cluster and makes none: give address or cluster_kwargs, not both"),
        (["sync.lua"], "sync.lua:1: LocalDaskExecutor.num_workers: the synchronous scheduler runs one task at a time, with no pool of workers"),
        (["secret.lua"], "secret.lua:1: DaskKubernetesEnvironment.docker_secret: it names the private registry's credentials, which are used only with private_registry = true"),
        (["dockerfile.lua"], "dockerfile.lua:1: Docker.base_image: a dockerfile names its own base image (FROM): give dockerfile or base_image, not both"),
        (["envname.lua"], "envname.lua:1: LocalRun.env: 'A=B' cannot name an environment variable (empty, or with '=')"),
        (["workdir.lua"], "LocalRun.working_dir: 'nope' is no directory (a relative working_dir starts at the flow's directory)"),
        (["cluster.lua"], "cluster.lua:2: DaskExecutor.cluster_class: dkrun makes no cluster of class 'KubeCluser'; it makes LocalCluster, distributed.LocalCluster, dask.distributed.LocalCluster (worker processes where the flow runs); or KubeCluster, dask_kubernetes.KubeCluster, dask_kubernetes.classic.KubeCluster (pods made for the run, with KubernetesRun); or dask_kubernetes.operator.KubeCluster, dask_kubernetes.operator.kubecluster.KubeCluster (pods made for the run from the operator KubeCluster's arguments, with KubernetesRun)"),
        (["kubehere.lua"], "DaskExecutor.cluster_class: a KubeCluster is a cluster of pods for a flow run on Kubernetes, and flow 'x' runs here: give it run_config = KubernetesRun{...}"),
        (["localrunk8s.lua"], "LocalRun: flow 'x' runs on Kubernetes (its environment is DaskKubernetesEnvironment), where a LocalRun does not apply: remove it, or configure the run's Job with a KubernetesRun"),
        (["threadsk8s.lua"], "LocalDaskExecutor: flow 'x' runs its tasks on the Dask cluster its DaskKubernetesEnvironment makes, so its executor can only be a DaskExecutor with client_kwargs and debug"),
        (["addressk8s.lua"], "DaskExecutor.address: flow 'x' runs its tasks on the Dask cluster its DaskOnKubernetesEnvironment makes, so its executor can only be a DaskExecutor with client_kwargs and debug"),
        (["twoexecutors.lua"], "LocalEnvironment.executor: flow 'x' has an executor of its own too; set only one of them"),
        (["build", "twoimages.lua"], "Docker: flow 'x' has a DaskOnKubernetesEnvironment, whose fields describe its image already: describe it there, or in the Docker storage with a KubernetesRun"),
        (["build", "buildkw.lua"], "Docker.build_kwargs.squash: dkrun build passes on buildargs, labels, network_mode, nocache, platform, pull and target"),
        (["param.lua", "--params-file", "/dev/zero"], "cannot read params file /dev/zero: more than 16 MiB, the limit for a params file"),
        (["resneg.lua"], "resneg.lua:1: bad argument #2 to 'task' (field 'resources': table of resource names and non-negative numbers expected, got table)"),
        (["resword.lua"], "resword.lua:1: bad argument #2 to 'task' (field 'resources': table of resource names and non-negative numbers expected, got table)"),
        (["restag.lua"], "task 't' (restag.lua:3) tag 'dask-resource:GPU': expected dask-resource:NAME=AMOUNT, AMOUNT a number (as dask-resource:GPU=1)"),
        (["restagword.lua"], "task 't' (restagword.lua:3) tag 'dask-resource:GPU=x': expected dask-resource:NAME=AMOUNT, AMOUNT a number (as dask-resource:GPU=1)"),
        (["restwice.lua"], "task 't' (restwice.lua:3) tag 'DASK-RESOURCE:GPU=2': resource GPU is 1 elsewhere in the task's resources and tags; give it once"),
        (["priority.lua"], "priority.lua:1: bad argument #2 to 'task' (field 'priority': integer expected, got number)"),
        (["limits.lua"], "limits.lua:2: bad argument #2 to 'Flow' (field 'limits': table of tags and positive integers expected, got table)"),
        (["setlimits.lua"], "setlimits.lua:2: flow.limits must be a table of tags and positive integers, got table"),
        (["limits.lua", "--limit", "db"], "--limit 'db': expected TAG=N"),
        (["limits.lua", "--limit", "db=0.5"], "--limit 'db=0.5': N must be a positive integer"),
        (["retry.lua"], "task 't' (retry.lua:2) retry_delay: a number of seconds from 0 to 1e9 expected, got 1e+300"),
        (["retryinf.lua"], "task 't' (retryinf.lua:2) retry_delay: a number of seconds from 0 to 1e9 expected, got inf"),
        (["timeout.lua"], "task 't' (timeout.lua:2) timeout: a number of seconds above 0, at most 1e9 expected, got inf"),
        (["workers.lua", "--dry-run"], "DaskKubernetesEnvironment.max_workers: an integer from 1 to 1000 expected, got 99999999999999"),
        (["nworkers.lua", "--dry-run"], "DaskExecutor cluster_kwargs.n_workers: an integer from 0 to 1000 expected, got -5"),
        (["interval.lua", "--dry-run"], "DaskExecutor adapt_kwargs.interval: a number of seconds above 0, at most 1e9 expected, got inf"),
        (["startup.lua", "--dry-run"], "DaskKubernetesEnvironment.startup_timeout: a number of seconds above 0, at most 1e9 expected, got 1e+300"),
    ])
    func badInputExitsTwoAndRunsNothing(arguments: [String], message: String) throws {
        let stderr = try Self.runRefused(arguments)
        #expect(stderr == "dkrun: error: " + message + "\n")
    }

    /// Runs dkrun on the scripts, expecting exit 2 and nothing run; returns its stderr.
    static func runRefused(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let dir = try TempDir(scripts)
        let r = try CLI.run(arguments, in: dir.path, environment: environment)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        return r.stderr
    }

    /// The bad input files of Tests/Fixtures/bad-inputs; FIXTURES in a message is that directory.
    static let fixtures = CLI.repoRoot + "/Tests/Fixtures/bad-inputs"

    /// Spec files that are not what they claim to be: refused before anything is made, naming
    /// the file and the field (`--dry-run` makes the run's objects from them).
    @Test(arguments: [
        ("workerspec.lua", "worker-list.yaml", "a YAML mapping (a Pod) expected, got an array"),
        ("workerspec.lua", "worker-no-kind.yaml", "kind: Pod expected, got nothing"),
        ("workerspec.lua", "worker-kind-job.yaml", "kind: Pod expected, got \"Job\""),
        ("workerspec.lua", "worker-containers-5.yaml", "spec.containers: a list of containers expected, got an integer"),
        ("workerspec.lua", "worker-container-string.yaml", "spec.containers[0]: a container (a mapping) expected, got a string"),
        ("workerspec.lua", "worker-no-name.yaml", "spec.containers[0].name: a string expected, got nothing"),
        ("workerspec.lua", "worker-init-no-image.yaml",
         "spec.initContainers[0].image: missing (dkrun gives the flow's image to containers, not to init containers)"),
        ("workerspec.lua", "worker-args-number.yaml", "spec.containers[0].args[3]: a string expected, got an integer"),
        ("workerspec.lua", "worker-replicas-negative.yaml", "spec.replicas: an integer from 1 to 1000 expected, got -5"),
        ("workerspec.lua", "worker-replicas-huge.yaml", "spec.replicas: an integer from 1 to 1000 expected, got 99999999999999"),
        ("workerspec.lua", "worker-replicas-fraction.yaml", "spec.replicas: an integer from 1 to 1000 expected, got 2.5"),
        ("schedulerspec.lua", "scheduler-replicas.yaml", "spec.replicas: only a worker spec takes replicas (the cluster's size)"),
        ("jobtemplate.lua", "job-sidecar-no-image.yaml",
         "spec.template.spec.containers[1].image: missing (dkrun gives the run's image to the first container only)"),
    ])
    func badSpecFilesAreNamedWithTheirField(script: String, fixture: String, problem: String) throws {
        let spec = Self.fixtures + "/specs/" + fixture
        let field = ["workerspec.lua": "DaskKubernetesEnvironment worker_spec_file", "schedulerspec.lua": "DaskKubernetesEnvironment scheduler_spec_file",
                     "jobtemplate.lua": "KubernetesRun job_template_path"][script]!
        let stderr = try Self.runRefused([script, "--dry-run"], environment: ["SPEC": spec])
        #expect(stderr == "dkrun: error: \(spec) (\(field)): \(problem)\n")
    }

    /// Malformed kubeconfig values are bad input (exit 2) naming the entry and field, not a
    /// doctor's failed check (exit 1) or a request that fails.
    @Test(arguments: [
        ("server-port.yaml", "cluster \"k\" in FILE: server \"https://127.0.0.1:99999\" has no host, or a port that is not from 1 to 65535"),
        ("server-scheme.yaml", "cluster \"k\" in FILE: server \"127.0.0.1:6443\" is not an http(s):// URL"),
        ("server-number.yaml", "cluster \"k\" in FILE: server: a string expected, got an integer"),
        ("insecure-string.yaml", "cluster \"k\" in FILE: insecure-skip-tls-verify: true or false expected, got a string"),
        ("ca-not-pem.yaml", "cluster \"k\" in FILE: certificate-authority-data is not PEM (no -----BEGIN line)"),
        ("namespace.yaml", "context \"c\" in FILE: namespace \"Team/A\" is not a namespace name (lower-case letters, digits and '-', at most 63)"),
        ("context-number.yaml", "context \"c\" in FILE: context: a mapping expected, got an integer"),
        ("token-line-break.yaml", "user \"u\" in FILE: token: it holds a control character (a line break?)"),
        ("token-number.yaml", "user \"u\" in FILE: token: a string expected, got an integer"),
        ("exec-args.yaml", "the exec plugin of user \"u\" (FILE): args[1]: a string expected, got an integer"),
        ("clusters-number.yaml", "kubeconfig FILE: clusters: a list expected, got an integer"),
    ])
    func badKubeconfigValuesAreBadInput(fixture: String, message: String) throws {
        let file = Self.fixtures + "/kubeconfigs/" + fixture
        let stderr = try Self.runRefused(["k8s", "doctor"], environment: ["KUBECONFIG": file])
        #expect(stderr == "dkrun: error: " + message.replacingOccurrences(of: "FILE", with: file) + "\n")
    }

    /// Payloads (what a Job's pod runs) that break a rule of the format, each refused.
    @Test(arguments: [
        ("parameters-invalid-utf8-keys.msgpack", "not a dkrun payload: malformed value at byte 623: parameters has a key that is not UTF-8 text"),
        ("modules-invalid-utf8-keys.msgpack", "not a dkrun payload: malformed value at byte 496: modules has a key that is not UTF-8 text"),
        ("files-invalid-utf8-keys.msgpack", "not a dkrun payload: malformed value at byte 412: files has a key that is not UTF-8 text"),
        ("files-equivalent-keys.msgpack", "payload's files: two keys are the text 'caf\u{e9}'"),
        ("parameters-not-hashed.msgpack", "payload is corrupt: its content hash does not match its fields"),
        ("version-1.msgpack", "payload version 1 is not supported by this dkrun (it reads version 4)"),
    ])
    func badPayloadsAreBadInput(fixture: String, message: String) throws {
        let stderr = try Self.runRefused(["k8s", "flow-run", Self.fixtures + "/payloads/" + fixture])
        #expect(stderr.precomposedStringWithCanonicalMapping == "dkrun: error: \(message)\n")
    }

    /// Files above their kind's limit are refused by their size, before they are read.
    @Test func filesAboveTheirLimitAreRefusedUnread() throws {
        let dir = try TempDir()
        for (name, limit) in [("params.yaml", SizeLimit.paramsFile), ("payload.msgpack", SizeLimit.payload)] {
            #expect(FileManager.default.createFile(atPath: dir.file(name), contents: nil))
            let handle = try #require(FileHandle(forWritingAtPath: dir.file(name)))
            try handle.truncate(atOffset: UInt64(limit.bytes + 1))  // sparse: nothing written
            try handle.close()
        }
        let params = try Self.runRefused(["param.lua", "--params-file", dir.file("params.yaml")])
        #expect(params == "dkrun: error: cannot read params file \(dir.file("params.yaml")): 16777217 bytes: more than 16 MiB, the limit for a params file\n")
        let payload = try Self.runRefused(["k8s", "flow-run", dir.file("payload.msgpack")])
        #expect(payload == "dkrun: error: \(dir.file("payload.msgpack")): 67108865 bytes: more than 64 MiB, the limit for a payload\n")
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
