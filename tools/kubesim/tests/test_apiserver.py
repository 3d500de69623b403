"""The API server's semantics, each checked against the real server's behaviour and wording."""
import threading
import time
import unittest

import kubelet

from .server import Server, pod

PODS = "/api/v1/namespaces/default/pods"


class OneServer(unittest.TestCase):
    """Tests that share one API server."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()


class APIServerTests(OneServer):
    def setUp(self):
        self.r = self.server.request
        self.r("DELETE", PODS)

    def test_create_defaults_and_conflicts(self):
        code, created, _ = self.r("POST", PODS, pod("a"))
        self.assertEqual(code, 201)
        meta = created["metadata"]
        self.assertTrue(meta["uid"] and meta["creationTimestamp"] and meta["resourceVersion"])
        self.assertEqual(created["spec"]["restartPolicy"], "Always")
        self.assertEqual(created["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent")
        self.assertEqual(created["status"]["phase"], "Pending")
        code, status, _ = self.r("POST", PODS, pod("a"))
        self.assertEqual((code, status["reason"]), (409, "AlreadyExists"))
        self.assertEqual(status["message"], 'pods "a" already exists')
        stale = dict(created, metadata=dict(meta, resourceVersion="1"))
        code, status, _ = self.r("PUT", PODS + "/a", stale)
        self.assertEqual((code, status["reason"]), (409, "Conflict"))
        self.assertIn("the object has been modified", status["message"])

    def test_not_found_and_missing_namespace(self):
        code, status, _ = self.r("GET", PODS + "/nope")
        self.assertEqual((code, status["reason"], status["message"]), (404, "NotFound", 'pods "nope" not found'))
        code, status, _ = self.r("POST", "/api/v1/namespaces/nope/pods", pod("a"))
        self.assertEqual((code, status["message"]), (404, 'namespaces "nope" not found'))
        code, status, _ = self.r("GET", "/apis/batch/v1/namespaces/default/jobs/j")
        self.assertEqual(status["message"], 'jobs.batch "j" not found')

    def test_validation(self):
        bad = pod("Bad_Name")
        code, status, _ = self.r("POST", PODS, bad)
        self.assertEqual((code, status["reason"]), (422, "Invalid"))
        self.assertEqual(status["details"]["causes"][0]["field"], "metadata.name")
        unknown = pod("u")
        unknown["spec"]["containers"][0]["bogus"] = 1
        code, status, _ = self.r("POST", PODS + "?fieldValidation=Strict", unknown)
        self.assertEqual(code, 400)
        self.assertEqual(status["message"], 'strict decoding error: unknown field "spec.containers[0].bogus"')
        code, created, headers = self.r("POST", PODS, unknown)  # Warn, the default: dropped with a warning
        self.assertEqual(code, 201)
        self.assertNotIn("bogus", created["spec"]["containers"][0])
        self.assertIn('unknown field \\"spec.containers[0].bogus\\"', headers["Warning"])
        wrong = pod("w")
        wrong["spec"]["containers"][0]["ports"] = [{"containerPort": "8786"}]
        code, status, _ = self.r("POST", PODS, wrong)
        self.assertEqual(code, 422)
        self.assertEqual(status["details"]["causes"][0]["field"], "spec.containers[0].ports[0].containerPort")
        nameless = pod("n")
        del nameless["spec"]["containers"][0]["name"]
        code, status, _ = self.r("POST", PODS, nameless)
        self.assertEqual(status["details"]["causes"][0], {"reason": "FieldValueInvalid", "message": "Required value",
                                                          "field": "spec.containers[0].name"})
        code, status, _ = self.r("POST", PODS, {**pod("l"), "metadata": {"name": "l", "labels": {"a": "no way"}}})
        self.assertEqual((code, status["details"]["causes"][0]["field"]), (422, "metadata.labels"))

    def test_selectors(self):
        for name, labels in (("a", {"app": "x", "tier": "w"}), ("b", {"app": "y"}), ("c", {})):
            self.r("POST", PODS, pod(name, labels))

        def names(query):
            code, body, _ = self.r("GET", PODS + query)
            self.assertEqual(code, 200, body)
            self.assertEqual(body["kind"], "PodList")
            return [i["metadata"]["name"] for i in body["items"]]
        self.assertEqual(names("?labelSelector=app%3Dx"), ["a"])
        self.assertEqual(names("?labelSelector=app!%3Dx"), ["b", "c"])
        self.assertEqual(names("?labelSelector=app%20in%20(x,y)"), ["a", "b"])
        self.assertEqual(names("?labelSelector=!app"), ["c"])
        self.assertEqual(names("?labelSelector=app,tier"), ["a"])
        self.assertEqual(names("?fieldSelector=metadata.name%3Db"), ["b"])
        self.assertEqual(names("?fieldSelector=status.phase%3DPending"), ["a", "b", "c"])
        code, status, _ = self.r("GET", PODS + "?labelSelector=a%20in%20x")
        self.assertEqual(code, 400)

    def test_watch_resumes_with_selectors(self):
        _, listed, _ = self.r("GET", PODS)
        rv = listed["metadata"]["resourceVersion"]
        threading.Timer(0.2, lambda: self.r("POST", PODS, pod("w1", {"app": "w"}))).start()
        events = self.server.watch(f"{PODS}?watch=true&resourceVersion={rv}&labelSelector=app%3Dw",
                                   lambda e: len(e) == 1)
        self.assertEqual((events[0]["type"], events[0]["object"]["metadata"]["name"]), ("ADDED", "w1"))
        self.r("POST", PODS, pod("other"))
        self.r("DELETE", PODS + "/w1")
        events = self.server.watch(f"{PODS}?watch=true&resourceVersion={rv}&labelSelector=app%3Dw",
                                   lambda e: len(e) == 2)
        self.assertEqual([e["type"] for e in events], ["ADDED", "DELETED"])

    def test_watch_bookmarks_and_gone(self):
        server = Server("--watch-history", "3", "--bookmark-seconds", "0.2")
        try:
            for i in range(5):
                server.request("POST", PODS, pod(f"p{i}"))
            events = server.watch(f"{PODS}?watch=true&resourceVersion=1", lambda e: True)
            self.assertEqual(events[0]["type"], "ERROR")
            self.assertEqual((events[0]["object"]["code"], events[0]["object"]["reason"]), (410, "Expired"))
            _, listed, _ = server.request("GET", PODS)
            rv = listed["metadata"]["resourceVersion"]
            events = server.watch(f"{PODS}?watch=true&allowWatchBookmarks=true&resourceVersion={rv}", lambda e: True)
            self.assertEqual((events[0]["type"], events[0]["object"]["metadata"]["resourceVersion"]), ("BOOKMARK", rv))
        finally:
            server.stop()

    def test_patches(self):
        self.r("POST", PODS, pod("p", {"app": "x"}))
        code, patched, _ = self.r("PATCH", PODS + "/p", {"metadata": {"labels": {"app": None, "new": "1"}}},
                                  "application/merge-patch+json")
        self.assertEqual((code, patched["metadata"]["labels"]), (200, {"new": "1"}))
        code, patched, _ = self.r("PATCH", PODS + "/p", {"spec": {"containers": [{"name": "main", "image": "other"}]}},
                                  "application/strategic-merge-patch+json")
        container = patched["spec"]["containers"][0]
        self.assertEqual((container["image"], container["command"]), ("other", ["sleep", "1"]))
        replace = [{"op": "replace", "path": "/metadata/labels/new", "value": "2"}]
        code, patched, _ = self.r("PATCH", PODS + "/p", replace, "application/json-patch+json")
        self.assertEqual(patched["metadata"]["labels"]["new"], "2")
        code, status, _ = self.r("PATCH", PODS + "/p", [{"op": "replace", "path": "/nope/x", "value": 1}],
                                 "application/json-patch+json")
        self.assertEqual(code, 422)

    def test_owner_references_are_collected(self):
        self.r("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "owner"}})
        _, owner, _ = self.r("GET", "/api/v1/namespaces/default/configmaps/owner")
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
        child = pod("child")
        child["metadata"]["ownerReferences"] = [ref]
        self.r("POST", PODS, child)
        self.r("DELETE", "/api/v1/namespaces/default/configmaps/owner")
        code, _, _ = self.r("GET", PODS + "/child")
        self.assertEqual(code, 404)

    def test_jobs_orphan_their_pods_unless_told(self):
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
               "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": pod("x")["spec"]["containers"]}}}}
        code, created, _ = self.r("POST", "/apis/batch/v1/namespaces/default/jobs", job)
        self.assertEqual(code, 201, created)
        self.assertEqual(created["spec"]["template"]["metadata"]["labels"]["job-name"], "j")
        child = pod("jp")
        child["metadata"]["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": "j",
                                                 "uid": created["metadata"]["uid"]}]
        self.r("POST", PODS, child)
        self.r("DELETE", "/apis/batch/v1/namespaces/default/jobs/j")
        code, orphan, _ = self.r("GET", PODS + "/jp")
        self.assertEqual((code, orphan["metadata"].get("ownerReferences")), (200, []))

    def test_faults(self):
        self.r("POST", "/kubesim/faults", {"path": PODS, "count": 2, "status": 503, "retryAfter": 1})
        for _ in range(2):
            code, status, headers = self.r("GET", PODS)
            self.assertEqual((code, status["reason"], headers["Retry-After"]), (503, "ServiceUnavailable", "1"))
        self.assertEqual(self.r("GET", PODS)[0], 200)

    def test_faults_by_method(self):
        self.r("POST", "/kubesim/faults", {"path": PODS, "method": "POST", "count": 1, "status": 500})
        self.assertEqual(self.r("GET", PODS)[0], 200)
        self.assertEqual(self.r("POST", PODS, pod("faulted"))[0], 500)
        self.assertEqual(self.r("POST", PODS, pod("faulted"))[0], 201)

    def test_secrets_encode_string_data(self):
        code, secret, _ = self.r("POST", "/api/v1/namespaces/default/secrets",
                                 {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
        self.assertEqual((code, secret["data"], secret["type"]), (201, {"k": "dg=="}, "Opaque"))
        code, status, _ = self.r("POST", "/api/v1/namespaces/default/secrets",
                                 {"metadata": {"name": "t"}, "data": {"k": "not base64!"}})
        self.assertEqual(code, 422)


class ControllerTests(OneServer):
    """Jobs and Deployments make pods; the tests play the kubelet's part by setting phases."""

    def pods(self, selector):
        return self.server.request("GET", f"{PODS}?labelSelector={selector}")[1]["items"]

    def set_phase(self, pod, phase):
        self.server.request("PATCH", f"{PODS}/{pod['metadata']['name']}/status", {"status": {"phase": phase}},
                            "application/merge-patch+json")

    def eventually(self, check):
        deadline = time.monotonic() + 10
        while not check():
            self.assertLess(time.monotonic(), deadline, "never happened")
            time.sleep(0.05)

    def test_a_job_runs_its_pods_to_completion_or_failure(self):
        template = {"spec": {"restartPolicy": "Never", "containers": pod("x")["spec"]["containers"]}}
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "flow"},
               "spec": {"backoffLimit": 1, "template": template}}
        self.server.request("POST", "/apis/batch/v1/namespaces/default/jobs", job)
        self.eventually(lambda: len(self.pods("job-name%3Dflow")) == 1)
        first = self.pods("job-name%3Dflow")[0]
        self.assertEqual(first["metadata"]["ownerReferences"][0]["kind"], "Job")
        self.set_phase(first, "Failed")  # one failure is within the backoff limit: a new pod
        self.eventually(lambda: len(self.pods("job-name%3Dflow")) == 2)
        second = next(p for p in self.pods("job-name%3Dflow") if p["metadata"]["name"] != first["metadata"]["name"])
        self.set_phase(second, "Succeeded")

        def complete():
            status = self.server.request("GET", "/apis/batch/v1/namespaces/default/jobs/flow")[1]["status"]
            return [c["type"] for c in status.get("conditions", [])] == ["Complete"] and status["succeeded"] == 1
        self.eventually(complete)

    def test_a_job_counts_only_the_pods_it_controls(self):
        template = {"spec": {"restartPolicy": "Never", "containers": pod("x")["spec"]["containers"]}}
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "runner"},
               "spec": {"backoffLimit": 0, "template": template}}
        created = self.server.request("POST", "/apis/batch/v1/namespaces/default/jobs", job)[1]
        self.eventually(lambda: len(self.pods("job-name%3Drunner")) == 1)
        # A pod the Job owns for garbage collection only (a Dask worker of the run) that fails
        # does not fail the Job.
        helper = pod("helper", {"role": "helper"})
        helper["metadata"]["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": "runner",
                                                  "uid": created["metadata"]["uid"]}]
        self.server.request("POST", PODS, helper)
        self.set_phase(helper, "Failed")
        time.sleep(0.3)
        status = self.server.request("GET", "/apis/batch/v1/namespaces/default/jobs/runner")[1]["status"]
        self.assertEqual((status.get("conditions", []), status["failed"], status["active"]), ([], 0, 1))

    def test_a_finished_job_goes_with_its_pods_after_its_ttl(self):
        template = {"spec": {"restartPolicy": "Never", "containers": pod("x")["spec"]["containers"]}}
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "brief"},
               "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 1, "template": template}}
        self.server.request("POST", "/apis/batch/v1/namespaces/default/jobs", job)
        self.eventually(lambda: len(self.pods("job-name%3Dbrief")) == 1)
        self.set_phase(self.pods("job-name%3Dbrief")[0], "Failed")
        self.eventually(lambda: self.server.request("GET", "/apis/batch/v1/namespaces/default/jobs/brief")[0] == 404
                        and not self.pods("job-name%3Dbrief"))

    def test_a_deployment_keeps_its_replicas(self):
        deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "workers"},
                      "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "workers"}},
                               "template": {"metadata": {"labels": {"app": "workers"}},
                                            "spec": {"containers": pod("x")["spec"]["containers"]}}}}
        self.server.request("POST", "/apis/apps/v1/namespaces/default/deployments", deployment)
        self.eventually(lambda: len(self.pods("app%3Dworkers")) == 2)
        gone = self.pods("app%3Dworkers")[0]["metadata"]["name"]
        self.server.request("DELETE", f"{PODS}/{gone}")
        self.eventually(lambda: len(self.pods("app%3Dworkers")) == 2
                        and gone not in [p["metadata"]["name"] for p in self.pods("app%3Dworkers")])
        self.server.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/workers", {"spec": {"replicas": 1}},
                            "application/merge-patch+json")
        self.eventually(lambda: len(self.pods("app%3Dworkers")) == 1)
        self.server.request("DELETE", "/apis/apps/v1/namespaces/default/deployments/workers")
        self.eventually(lambda: len(self.pods("app%3Dworkers")) == 0)


class ForbiddenTests(unittest.TestCase):
    def test_forbidden_verbs_and_access_reviews(self):
        server = Server("--forbid", "create:pods", "--forbid", "get:pods/log", "--user", "tester")
        try:
            code, status, _ = server.request("POST", PODS, pod("a"))
            self.assertEqual((code, status["reason"]), (403, "Forbidden"))
            self.assertEqual(status["message"], 'pods is forbidden: User "tester" cannot create resource "pods" in '
                             'API group "" in the namespace "default"')
            self.assertEqual(server.request("GET", PODS)[0], 200)

            def allowed(verb, resource, subresource=None):
                attributes = {"namespace": "default", "verb": verb, "resource": resource}
                if subresource:
                    attributes["subresource"] = subresource
                code, review, _ = server.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
                    "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                    "spec": {"resourceAttributes": attributes}})
                self.assertEqual(code, 201)
                return review["status"]["allowed"]
            self.assertEqual([allowed("create", "pods"), allowed("list", "pods"), allowed("get", "pods", "log")],
                             [False, True, False])
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()


class SchedulingTests(unittest.TestCase):
    """What the kubelet refuses to schedule: more than the node has."""

    def test_requests_beyond_the_node_do_not_fit(self):
        self.assertEqual(kubelet.quantity("500m"), 0.5)
        self.assertEqual(kubelet.quantity("4G"), 4e9)
        self.assertEqual(kubelet.quantity("2Gi"), 2 * 2 ** 30)

        def spec(**requests):
            return {"containers": [{"name": "c", "resources": {"requests": requests}}]}
        self.assertEqual(kubelet.insufficient(spec(cpu="2", memory="4G")), [])
        self.assertEqual(kubelet.insufficient(spec(cpu="1000")), ["cpu"])
        self.assertEqual(kubelet.insufficient(spec(cpu="1", memory="1Ti")), ["memory"])
