@testable import DKCore
import DKTestSupport
import Testing

/// Dask's configuration as dkrun reads it: files of the search path merged in order,
/// `DASK_*` variables over them, keys with `_` and `-` the same, and malformed files refused.
@Suite struct DaskConfigTests {
    /// An environment whose search path is all inside `dir`: no /etc/dask, no real HOME.
    func environment(_ dir: TempDir, _ extra: [String: String] = [:]) -> [String: String] {
        ["HOME": dir.file("home"), "DASK_ROOT_CONFIG": dir.file("etc")].merging(extra) { $1 }
    }

    @Test func environmentOverDaskConfigOverHomeOverRoot() throws {
        let dir = try TempDir([
            "etc/dask.yaml": "kubernetes: {worker-name: root, count: 1, namespace: etc}",
            "home/.config/dask/kube.yaml": "kubernetes: {worker-name: home, count: 2}\nother: kept",
            "custom.yaml": "kubernetes:\n  worker-name: dask-config\n  count: 3\n",
        ])
        let files = try DaskConfig(environment: environment(dir, ["DASK_CONFIG": dir.file("custom.yaml")]))
        #expect(files.get("kubernetes.worker-name") == "dask-config")
        #expect(files.get("kubernetes.count") == 3)
        #expect(files.get("kubernetes.namespace") == "etc")  // maps merge key by key
        #expect(files.get("other") == "kept")
        let home = try DaskConfig(environment: environment(dir))
        #expect(home.get("kubernetes.worker-name") == "home")
        let env = try DaskConfig(environment: environment(dir, ["DASK_CONFIG": dir.file("custom.yaml"),
                                                                "DASK_KUBERNETES__WORKER_NAME": "from-env"]))
        #expect(env.get("kubernetes.worker-name") == "from-env")
        #expect(env.get("kubernetes.count") == 3)
    }

    @Test func aDirectorysFilesMergeInNameOrder() throws {
        let dir = try TempDir([
            "conf/b.yml": "a: {x: b}", "conf/a.yaml": "a: {x: a, y: a}", "conf/c.json": "{\"a\": {\"y\": \"c\"}}",
            "conf/notes.txt": "not: [read", "conf/empty.yaml": "",
        ])
        let config = try DaskConfig(environment: environment(dir, ["DASK_CONFIG": dir.file("conf")]))
        #expect(config.get("a") == ["x": "b", "y": "c"])
    }

    @Test func underscoresAndHyphensAreTheSameKey() throws {
        let dir = try TempDir(["home/.config/dask/k.yaml": "kubernetes:\n  worker_template_path: /a\n  worker-name: n\n"])
        let config = try DaskConfig(environment: environment(dir))
        #expect(config.get("kubernetes.worker-template-path") == "/a")
        #expect(config.get("kubernetes.worker_name") == "n")
        let env = try DaskConfig(environment: environment(dir, ["DASK_KUBERNETES__WORKER_TEMPLATE_PATH": "/b"]))
        #expect(env.get("kubernetes.worker-template-path") == "/b")
        #expect(env.get("kubernetes") == ["worker-template-path": "/b", "worker-name": "n"])
    }

    @Test func variablesAreReadAsPythonLiterals() {
        let cases: [(String, Value)] = [
            ("3", 3), ("-2.5", -2.5), ("1e3", 1000.0), ("True", true), ("false", false), ("None", .null), ("null", .null),
            ("[1, 'a', (2, 3)]", [1, "a", [2, 3]]), ("{'k': [True]}", ["k": [true]]), ("'quoted'", "quoted"),
            ("dask-{user}-{uuid}", "dask-{user}-{uuid}"), ("/etc/worker.yaml", "/etc/worker.yaml"), ("[1, 2", "[1, 2"),
            ("inf", "inf"), ("", ""),
        ]
        for (text, value) in cases { #expect(DaskConfig.interpret(text) == value, "\(text)") }
    }

    @Test func aMalformedFileIsBadInputNamingFileAndLine() throws {
        let dir = try TempDir(["home/.config/dask/bad.yaml": "kubernetes:\n  worker-name: [unclosed\n", "list.yaml": "- a\n"])
        #expect {
            try DaskConfig(environment: environment(dir))
        } throws: { error in
            let e = error as? YAML.LoadError
            return e?.source == dir.file("home/.config/dask/bad.yaml") && e?.line == 3 && e?.exitStatus == .badInput
        }
        #expect(throws: FlowError("\(dir.file("list.yaml")): a Dask config file must be a mapping, got array")) {
            try DaskConfig(environment: environment(dir, ["HOME": dir.file("nowhere"), "DASK_CONFIG": dir.file("list.yaml")]))
        }
    }
}
