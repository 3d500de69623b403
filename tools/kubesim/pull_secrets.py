"""The credentials of a pod's image pull, found as a kubelet finds them, for `podman pull
--authfile`: the Secrets its `imagePullSecrets` name, of type kubernetes.io/dockerconfigjson
(`.dockerconfigjson`) or the older kubernetes.io/dockercfg (`.dockercfg`), written as a
podman auth file (containers-auth.json: {"auths": {REGISTRY: {"auth": base64(user:password)}}}).

As the kubelet does (getPullSecretsForPod in pkg/kubelet/kubelet_pods.go, MakeDockerKeyring in
pkg/credentialprovider/secrets):
- a secret it cannot read (missing, forbidden): a Warning event FailedToRetrieveImagePullSecret,
  "Unable to retrieve some image pull secrets (NAMES); attempting to pull the image may not
  succeed.", and the pull goes on without it (anonymous when none is left);
- a secret of another type, or without its key: skipped, silently;
- a secret whose data is not a Docker config: the pull fails (PullSecretError, ErrImagePull).
One difference: the kubelet tries each credential for the image's registry in turn, an auth
file holds one per registry; the first secret naming a registry gives its credentials.
"""
import base64
import json
import os

# The key of a pull secret's Docker config, by secret type.
CONFIG_KEYS = {"kubernetes.io/dockerconfigjson": ".dockerconfigjson", "kubernetes.io/dockercfg": ".dockercfg"}


class PullSecretError(Exception):
    """A pull secret whose data is not a Docker config: the pull fails with this message."""


async def write_auth_file(api, pod, path):
    """Writes `path`, the podman auth file for pulling `pod`'s images, from the pod's pull
    secrets read through `api` (the kubelet's API client), and posts the kubelet's Warning
    event for those it cannot read. Without credentials the file has none, so that the pull is
    anonymous rather than made with the host's own logins."""
    namespace = pod["metadata"]["namespace"]
    auths, unreadable = {}, []
    for reference in pod["spec"].get("imagePullSecrets") or []:
        name = reference.get("name")
        if not name:  # the API accepts entries without a name; the kubelet ignores them
            continue
        code, secret = await api.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
        if code != 200:
            unreadable.append(name)
            continue
        for registry, entry in credentials(secret).items():
            auths.setdefault(registry, entry)
    if unreadable:
        await api.event(pod, "FailedToRetrieveImagePullSecret",
                        f"Unable to retrieve some image pull secrets ({', '.join(unreadable)}); "
                        "attempting to pull the image may not succeed.", "Warning")
    partial = path + ".tmp"
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump({"auths": auths}, f)
    os.replace(partial, path)


def credentials(secret):
    """{registry: {"auth": base64(user:password)}} from a pull secret; {} from any other secret.
    Registries keep the secret's spelling (`https://host:port/` too): podman reads it as the
    kubelet does."""
    key = CONFIG_KEYS.get(secret.get("type"))
    data = (secret.get("data") or {}).get(key) if key else None
    if not data:
        return {}
    where = f'secret "{secret["metadata"]["name"]}": {key}'
    try:
        config = json.loads(base64.b64decode(data))
    except ValueError as e:  # bad base64, UTF-8 or JSON
        raise PullSecretError(f"{where} is not a Docker config: {e}") from None
    if isinstance(config, dict) and key == ".dockerconfigjson":
        config = config.get("auths") or {}
    if not isinstance(config, dict) or not all(isinstance(entry, dict) for entry in config.values()):
        raise PullSecretError(f"{where} is not a Docker config: it must map registries to credentials")
    # An entry's `auth` wins over its username and password, as in the kubelet's DockerConfigEntry.
    return {registry: {"auth": entry.get("auth") or base64.b64encode(
                f"{entry.get('username', '')}:{entry.get('password', '')}".encode()).decode()}
            for registry, entry in config.items()}
