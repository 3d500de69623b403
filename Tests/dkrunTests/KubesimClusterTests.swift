import DKCore
import DKTestSupport
import Foundation
import Testing

/// The whole test cluster (tools/kubesim/cluster.py: API server and kubelet in a network
/// namespace of their own) running real pods: the static Dask cluster that `dkrun k8s
/// static-cluster` prints, applied with kubectl, runs the seed flow.
@Suite(.serialized, .timeLimit(.minutes(10))) struct KubesimClusterTests {
    @Test func theStaticClusterManifestsRunTheSeedFlow() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        let applied = try c.applyStaticCluster(workers: 2)
        #expect(applied.status == 0, "\(applied.stderr)")
        let ready = try c.exec(["kubectl", "wait", "--for=condition=Ready", "pod", "-l", "app=dask-worker", "--timeout=60s"])
        #expect(ready.status == 0, "\(ready.stdout)\(ready.stderr)")
        let address = try c.exec(["kubectl", "get", "service", "dask-scheduler", "-o", "jsonpath={.spec.clusterIP}"]).stdout
        #expect(address.hasPrefix("127.11."))
        // The workers come up before they have joined: the flow waits for them.
        let flow = try c.exec([CLI.binary, CLI.repoRoot + "/examples/static_cluster.lua", "--executor", "dask=tcp://\(address):8786"])
        #expect(flow.status == 0, "\(flow.stdout)\(flow.stderr)")
        #expect(flow.stdout.contains("output_value | Example!"))
        #expect(flow.stdout.contains("Task runs per worker: tcp://127.10."))
        let logs = try c.exec(["kubectl", "logs", "-l", "app=dask-scheduler", "--tail", "50"])
        #expect(logs.stdout.contains("Register worker"), "\(logs.stdout)")

        let deleted = try c.exec(["kubectl", "delete", "deployment", "dask-worker", "dask-scheduler"])
        #expect(deleted.status == 0)
        let gone = try c.exec(["kubectl", "wait", "--for=delete", "pod", "-l", "app", "--timeout=30s"])
        #expect(gone.status == 0, "\(gone.stderr)")
        let reasons = try c.exec(["kubectl", "get", "events", "-o", "jsonpath={range .items[*]}{.reason} {end}"]).stdout
        #expect(["Scheduled", "Started", "Killing"].allSatisfy(reasons.contains), "\(reasons)")
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: c.dir.file("state.json")))) as! [String: Any]
        c.down()
        let namespaces = String(decoding: try Subprocess.run(["ip", "netns", "list"]).stdout, as: UTF8.self)
        #expect(!namespaces.contains(state["netns"] as! String) && !namespaces.contains(state["pod_prefix"] as! String))
        let left = try Subprocess.run(["pgrep", "-f", c.dir.path])
        #expect(left.stdout.isEmpty, "left running: \(String(decoding: left.stdout, as: UTF8.self))")
    }

    @Test func podsGetTheirEnvironmentVolumesAndFailures() throws {
        let c = try KubesimCluster()
        defer { c.down() }
        try """
            apiVersion: v1
            kind: Secret
            metadata: {name: creds}
            stringData: {password: hunter2}
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: settings}
            data: {mode: fast, greeting: hello}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: env}
            spec:
              restartPolicy: Never
              containers:
              - name: main
                image: busybox
                command: [sh, -c, 'echo "$PASSWORD $mode $(MY_NAME) $MY_IP $(hostname)"; cat /etc/settings/greeting']
                env:
                - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
                - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
                - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
                envFrom: [{configMapRef: {name: settings}, prefix: ""}]
                volumeMounts: [{name: settings, mountPath: /etc/settings}]
              volumes: [{name: settings, configMap: {name: settings}}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: unpullable}
            spec:
              containers: [{name: main, image: kubesim.invalid/nothing:1, command: [sleep, "60"]}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: nowhere}
            spec:
              nodeSelector: {kubesim.io/schedulable: "false"}
              containers: [{name: main, image: busybox, command: [sleep, "60"]}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: lonely}
            spec:
              selector: {app: nobody}
              ports: [{port: 80}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: caller}
            spec:
              restartPolicy: Never
              containers:
              - name: main
                image: python
                command: [python3, -c, "import socket, time; time.sleep(1); socket.create_connection(('lonely', 80), 5)"]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: crasher}
            spec:
              containers: [{name: main, image: busybox, command: [sh, -c, "exit 3"]}]
            """.write(toFile: c.dir.file("pods.yaml"), atomically: true, encoding: .utf8)
        #expect(try c.exec(["kubectl", "apply", "-f", c.dir.file("pods.yaml")]).status == 0)
        let done = try c.exec(["kubectl", "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/env", "--timeout=30s"])
        #expect(done.status == 0, "\(done.stderr)")
        let logs = try c.exec(["kubectl", "logs", "env"]).stdout
        #expect(logs.hasPrefix("hunter2 fast env 127.10.") && logs.hasSuffix(" env\nhello"), "\(logs)")
        #expect(try c.exec(["kubectl", "logs", "-f", "env"]).stdout == logs)
        // A Service no pod backs refuses connections, as kube-proxy's do (Dask workers retry on that).
        let refused = try c.exec(["kubectl", "wait", "--for=jsonpath={.status.phase}=Failed", "pod/caller", "--timeout=30s"])
        #expect(refused.status == 0, "\(refused.stderr)")
        #expect(try c.exec(["kubectl", "logs", "caller"]).stdout.contains("ConnectionRefusedError"))
        let pulled = try c.exec(["kubectl", "wait", "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ImagePullBackOff",
                                 "pod/unpullable", "--timeout=30s"])
        #expect(pulled.status == 0, "\(pulled.stderr)")
        let unscheduled = try c.exec(["kubectl", "wait", "--for=condition=PodScheduled=false", "pod/nowhere", "--timeout=30s"])
        #expect(unscheduled.status == 0, "\(unscheduled.stderr)")
        let crashed = try c.exec(["kubectl", "wait", "--for=jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}=3",
                                  "pod/crasher", "--timeout=30s"])
        #expect(crashed.status == 0, "\(crashed.stderr)")
        let events = try c.exec(["kubectl", "get", "events", "-o", "jsonpath={range .items[*]}{.involvedObject.name}:{.reason} {end}"]).stdout
        for expected in ["env:Scheduled", "env:Started", "unpullable:Failed", "nowhere:FailedScheduling", "crasher:BackOff"] {
            #expect(events.contains(expected), "\(expected) not in \(events)")
        }
    }
}
