"""Pull secrets (pull_secrets.py) against a real private registry (registry.py: TLS from a CA
made here, htpasswd auth) and real podman pulls; the secrets made by the real kubectl."""
import asyncio
import base64
import json
import os
import subprocess
import tempfile
import time
import unittest

import aiohttp

import kubelet
import pull_secrets

from .server import HERE, Server, pod

REPO = os.path.dirname(os.path.dirname(HERE))
BASE_IMAGE = "localhost/dkrun/dkrun:0.1.0"
USER, PASSWORD = "flows", "s3cret-pull"


def podman(*args, check=True):
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(REPO, "scripts", "containers.conf"))
    done = subprocess.run(["podman", *args], env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {done.stderr.strip()}")
    return done


class Registry:
    """A registry on 127.0.0.1 with a CA of its own; `cert_dir` holds that CA for --cert-dir."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name
        self.cert_dir = os.path.join(d, "certs")
        os.makedirs(self.cert_dir)
        ca, ca_key = os.path.join(self.cert_dir, "ca.crt"), os.path.join(d, "ca.key")
        cert, key = os.path.join(d, "server.crt"), os.path.join(d, "server.key")
        for args in (["-subj", "/CN=test-ca", "-keyout", ca_key, "-out", ca],
                     ["-subj", "/CN=127.0.0.1", "-CA", ca, "-CAkey", ca_key, "-addext", "subjectAltName=IP:127.0.0.1",
                      "-addext", "basicConstraints=critical,CA:FALSE", "-keyout", key, "-out", cert]):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *args],
                           check=True, capture_output=True)
        self.log = open(os.path.join(d, "registry.log"), "a+")
        python = os.path.join(REPO, ".venv", "bin", "python")
        self.process = subprocess.Popen([python, os.path.join(HERE, "registry.py"), os.path.join(d, "registry"),
                                         "--cert", cert, "--key", key, "--user", USER, "--password", PASSWORD],
                                        stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while not (address := self.listening()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                log = self.output()
                self.stop()
                raise RuntimeError("the registry did not start: " + log)
            time.sleep(0.05)
        self.address = address

    def output(self):
        self.log.seek(0)  # the registry's writes go to the end whatever the offset (append mode)
        return self.log.read()

    def listening(self):
        text = self.output()
        marker = "listening on "
        return text[text.index(marker) + len(marker):].split(",")[0] if marker in text else None

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()
        self.dir.cleanup()


class PullSecretTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
            raise RuntimeError(f"{BASE_IMAGE} is not in podman's store: scripts/base-image.sh makes it")
        # Class cleanups run even when setUpClass fails half-way, in reverse order.
        cls.registry = Registry()
        cls.addClassCleanup(cls.registry.stop)
        cls.server = Server()
        cls.addClassCleanup(cls.server.stop)
        cls.work = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.work.cleanup)
        cls.image = f"{cls.registry.address}/dkrun/flow:test"
        cls.addClassCleanup(podman, "rmi", "--ignore", cls.image)
        podman("tag", BASE_IMAGE, cls.image)
        podman("push", "--quiet", "--cert-dir", cls.registry.cert_dir, "--creds", f"{USER}:{PASSWORD}", cls.image)
        podman("rmi", cls.image)
        cls.kubectl("create", "secret", "docker-registry", "regcred", f"--docker-server={cls.registry.address}",
                    f"--docker-username={USER}", f"--docker-password={PASSWORD}")
        cls.kubectl("create", "secret", "docker-registry", "wrong", f"--docker-server={cls.registry.address}",
                    f"--docker-username={USER}", "--docker-password=not-it")
        cls.kubectl("create", "secret", "generic", "opaque", "--from-literal=.dockerconfigjson={}")

    @classmethod
    def kubectl(cls, *args):
        """`kubectl create ... --dry-run=client -o json | kubectl create -f -`: kubectl's typed
        `create secret` sends protobuf, which kubesim does not read (its README)."""
        env = dict(os.environ, KUBECONFIG=os.path.join(cls.registry.dir.name, "no-kubeconfig"))
        made = subprocess.run(["kubectl", "--server", cls.server.url, *args, "--dry-run=client", "-o", "json"],
                              env=env, capture_output=True, text=True, check=True)
        subprocess.run(["kubectl", "--server", cls.server.url, "create", "-f", "-"], input=made.stdout, env=env,
                       capture_output=True, text=True, check=True)

    def auth_file(self, name, secrets):
        """The auth file made for a new pod naming `secrets`, and the pod."""
        code, made, _ = self.server.request("POST", "/api/v1/namespaces/default/pods",
                                            pod(name, imagePullSecrets=[{"name": s} for s in secrets]))
        self.assertEqual(code, 201, made)
        path = os.path.join(self.work.name, f"{name}.json")

        async def write():
            api = kubelet.API(self.server.url, None, None)
            async with aiohttp.ClientSession() as api.session:
                await pull_secrets.write_auth_file(api, made, path)
        asyncio.run(write())
        with open(path) as f:
            return json.load(f), path

    def pull(self, auth_file):
        podman("rmi", "--ignore", self.image)
        return podman("pull", "--quiet", "--authfile", auth_file, "--cert-dir", self.registry.cert_dir, self.image,
                      check=False)

    def warnings(self, name):
        _, events, _ = self.server.request("GET", "/api/v1/namespaces/default/events")
        return [e["message"] for e in events["items"]
                if e["involvedObject"]["name"] == name and e["reason"] == "FailedToRetrieveImagePullSecret"]

    def test_the_pull_secret_pulls_and_none_is_unauthorized(self):
        config, path = self.auth_file("with-secret", ["regcred"])
        expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        self.assertEqual(config, {"auths": {self.registry.address: {"auth": expected}}})
        pulled = self.pull(path)
        self.assertEqual(pulled.returncode, 0, pulled.stderr)
        self.assertEqual(podman("image", "exists", self.image, check=False).returncode, 0)
        for name, secrets in (("no-secret", []), ("wrong-secret", ["wrong"])):
            config, path = self.auth_file(name, secrets)
            pulled = self.pull(path)
            self.assertNotEqual(pulled.returncode, 0, name)
            self.assertIn("unauthorized: authentication required", pulled.stderr, name)
        self.assertEqual(self.warnings("no-secret"), [])

    def test_secrets_it_cannot_read_are_reported_and_the_pull_goes_on(self):
        config, path = self.auth_file("some-missing", ["gone", "opaque", "", "regcred", "also-gone"])
        # The opaque secret is of another type: skipped without a word, as the kubelet does.
        self.assertEqual(self.warnings("some-missing"), [
            "Unable to retrieve some image pull secrets (gone, also-gone); "
            "attempting to pull the image may not succeed."])
        self.assertEqual(list(config["auths"]), [self.registry.address])
        self.assertEqual(self.pull(path).returncode, 0)
        config, path = self.auth_file("all-missing", ["gone"])
        self.assertEqual(config, {"auths": {}})
        self.assertIn("unauthorized: authentication required", self.pull(path).stderr)


class CredentialTests(unittest.TestCase):
    """Docker configs in the forms a secret may hold them."""

    def secret(self, kind, key, config):
        data = config if isinstance(config, bytes) else json.dumps(config).encode()
        return {"metadata": {"name": "s"}, "type": kind, "data": {key: base64.b64encode(data).decode()}}

    def test_forms(self):
        auth = base64.b64encode(b"u:p").decode()
        json_type, cfg_type = "kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"
        self.assertEqual(pull_secrets.credentials(self.secret(json_type, ".dockerconfigjson", {
            "auths": {"r.example:5000": {"username": "u", "password": "p"}, "https://q.example/": {"auth": auth}}})),
            {"r.example:5000": {"auth": auth}, "https://q.example/": {"auth": auth}})
        self.assertEqual(pull_secrets.credentials(self.secret(cfg_type, ".dockercfg", {"r.example": {"auth": auth}})),
                         {"r.example": {"auth": auth}})
        self.assertEqual(pull_secrets.credentials(self.secret(json_type, ".dockerconfigjson", {})), {})
        self.assertEqual(pull_secrets.credentials(self.secret(cfg_type, ".dockerconfigjson", {"auths": {}})), {})

    def test_data_that_is_no_docker_config_fails_the_pull(self):
        # A real API server refuses such secrets; kubesim's takes them, and the kubelet checks too.
        not_config = 'secret "s": .dockerconfigjson is not a Docker config'
        with self.assertRaisesRegex(pull_secrets.PullSecretError, not_config):
            pull_secrets.credentials(self.secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", b"not json"))
        with self.assertRaisesRegex(pull_secrets.PullSecretError, "must map registries to credentials"):
            pull_secrets.credentials(self.secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson",
                                                 {"auths": {"r": "u:p"}}))
