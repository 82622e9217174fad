"""The Kubernetes manifests as kustomize renders them (kubectl, offline)."""

import base64
import ipaddress
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from customers.config import Settings
from gateway.stack import service_ports, upstream_variable

ROOT = Path(__file__).resolve().parents[1]
SERVICES = list(service_ports())


def render(kubectl: str, kustomization: str) -> list[dict[str, Any]]:
    result = subprocess.run(  # noqa: S603
        [kubectl, "kustomize", str(ROOT / kustomization)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


class Manifests:
    """The rendered objects, found by kind and name (generated names carry a hash suffix)."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = documents

    def get(self, kind: str, name: str) -> dict[str, Any]:
        """The object called ``name``, or generated from it (``<name>-<hash>``)."""
        pattern = re.compile(rf"{re.escape(name)}(-[a-z0-9]{{10}})?")
        (found,) = [
            document
            for document in self.documents
            if document["kind"] == kind and pattern.fullmatch(document["metadata"]["name"])
        ]
        return found

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [d for d in self.documents if d["kind"] in kinds]

    def env_from(self, container: dict[str, Any]) -> dict[str, str]:
        """The variables a container gets through envFrom, from the objects rendered here."""
        values: dict[str, str] = {}
        for source in container["envFrom"]:
            if "configMapRef" in source:
                values.update(self.get("ConfigMap", source["configMapRef"]["name"])["data"])
        return values


@pytest.fixture(scope="module")
def dev(kubectl: str) -> Manifests:
    return Manifests(render(kubectl, "deploy/overlays/dev"))


def container(workload: dict[str, Any]) -> dict[str, Any]:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_has_a_deployment_behind_a_service(dev: Manifests, name: str) -> None:
    deployment = dev.get("Deployment", name)
    service = dev.get("Service", name)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == 8000
    assert container(deployment)["ports"] == [{"name": port["targetPort"], "containerPort": 8000}]
    assert container(deployment)["image"].startswith(f"platform/{name}:")


@pytest.mark.parametrize("name", SERVICES)
def test_readiness_asks_readyz_and_liveness_healthz(dev: Manifests, name: str) -> None:
    probes = container(dev.get("Deployment", name))
    assert probes["readinessProbe"]["httpGet"] == {"path": f"/{name}/readyz", "port": "http"}
    assert probes["livenessProbe"]["httpGet"] == {"path": f"/{name}/healthz", "port": "http"}
    assert probes["startupProbe"]["httpGet"] == {"path": f"/{name}/healthz", "port": "http"}


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_is_migrated_by_a_job_like_itself(dev: Manifests, name: str) -> None:
    job, service = (
        container(dev.get("Job", f"{name}-migrate")),
        container(dev.get("Deployment", name)),
    )
    assert job["command"] == [name, "migrate"]
    assert job["image"] == service["image"]
    assert job["envFrom"] == service["envFrom"][: len(job["envFrom"])]


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_reads_the_shared_config_and_its_own_database_secret(
    dev: Manifests, name: str
) -> None:
    sources = container(dev.get("Deployment", name))["envFrom"]
    config = dev.get("ConfigMap", sources[0]["configMapRef"]["name"])
    assert config["data"].keys() >= {"ENV", "LOG_LEVEL", "AUTH_JWKS_URL", "MAX_BODY_BYTES"}
    secret = dev.get("Secret", sources[1]["secretRef"]["name"])
    assert secret["metadata"]["name"].startswith(f"{name}-database-")
    assert "DATABASE_URL" in secret["data"]


def test_every_workload_is_limited_and_runs_as_a_user(dev: Manifests) -> None:
    workloads = dev.of_kind("Deployment", "StatefulSet", "Job")
    assert len(workloads) == 2 * len(SERVICES) + 2  # and the gateway, and PostgreSQL
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for each in pod["containers"]:
            assert each["resources"]["requests"].keys() == {"cpu", "memory"}
            assert each["resources"]["limits"].keys() == {"cpu", "memory"}
            assert each["securityContext"]["allowPrivilegeEscalation"] is False
            assert each["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_the_gateway_reaches_every_service_through_its_kubernetes_service(dev: Manifests) -> None:
    gateway = container(dev.get("Deployment", "gateway"))
    environment = dev.env_from(gateway)
    for name in SERVICES:
        port = dev.get("Service", name)["spec"]["ports"][0]["port"]
        assert environment[upstream_variable(name)] == f"{name}:{port}"
    assert environment["MAX_BODY_BYTES"] == "1048576"
    assert gateway["ports"] == [{"name": "http", "containerPort": 8080}]
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/", "port": "http"}
    assert dev.get("Service", "gateway")["spec"]["ports"][0]["targetPort"] == "http"


def test_the_dev_database_urls_match_the_dev_postgres_passwords(dev: Manifests) -> None:
    def decoded(secret: dict[str, Any]) -> dict[str, str]:
        return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}

    passwords = decoded(dev.get("Secret", "postgres-passwords"))
    for name in SERVICES:
        url = urlsplit(decoded(dev.get("Secret", f"{name}-database"))["DATABASE_URL"])
        assert (url.username, url.hostname, url.path) == (name, "postgres", "/platform")
        assert url.password == passwords[f"{name.upper()}_DB_PASSWORD"]


def test_the_dev_postgres_runs_the_shared_init_sql(dev: Manifests) -> None:
    init = dev.get("ConfigMap", "postgres-init")
    assert init["data"]["init.sql"] == (ROOT / "deploy/postgres/init.sql").read_text()


def test_everything_lives_in_the_platform_namespace(dev: Manifests) -> None:
    for document in dev.documents:
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "platform", document["metadata"]


def test_the_base_holds_no_secret(kubectl: str) -> None:
    assert [d for d in render(kubectl, "deploy/base") if d["kind"] == "Secret"] == []


def test_customers_believes_the_gateway_on_the_pod_network(dev: Manifests) -> None:
    """Else every login through the gateway would count against the gateway pod's address."""
    values = dev.env_from(container(dev.get("Deployment", "customers")))
    settings = Settings.model_validate({"trusted_proxies": values["CUSTOMERS_TRUSTED_PROXIES"]})
    pod_address = ipaddress.ip_address("10.244.1.17")  # a typical pod CIDR (kind, flannel)
    assert any(pod_address in network for network in settings.trusted_proxies)


KUBERNETES_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to fit


def quantity(value: str | int) -> float:
    """A Kubernetes quantity (``500m``, ``2``, ``512Mi``) as a number (CPUs or bytes)."""
    text = str(value)
    suffixes = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in suffixes.items():
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


@pytest.fixture(scope="module")
def base(kubectl: str) -> Manifests:
    return Manifests(render(kubectl, "deploy/base"))


@pytest.mark.parametrize("kustomization", ["deploy/base", "deploy/overlays/dev"])
def test_every_object_is_valid_for_kubernetes(kubectl: str, kustomization: str) -> None:
    for document in render(kubectl, kustomization):
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{document['kind']}/{document['metadata']['name']}"
            pytest.fail(f"{name}: {error.message} at {list(error.path)}")


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_scales_on_cpu_between_two_replicas_and_a_ceiling(
    base: Manifests, name: str
) -> None:
    autoscaler = base.get("HorizontalPodAutoscaler", name)["spec"]
    assert autoscaler["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": name,
    }
    assert 2 <= autoscaler["minReplicas"] < autoscaler["maxReplicas"] <= 10
    (metric,) = autoscaler["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    assert "replicas" not in base.get("Deployment", name)["spec"]  # the autoscaler's to set


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_runs_a_worker_per_cpu_of_its_limit(base: Manifests, name: str) -> None:
    service = container(base.get("Deployment", name))
    (workers,) = [each for each in service["env"] if each["name"] == "WEB_CONCURRENCY"]
    source = workers["valueFrom"]["resourceFieldRef"]
    assert source == {"containerName": name, "resource": "limits.cpu", "divisor": "1"}
    resources = service["resources"]
    cpus = quantity(resources["limits"]["cpu"])
    assert cpus == int(cpus) >= 1  # whole CPUs: as many workers, none sharing one
    for kind in ("cpu", "memory"):
        assert quantity(resources["requests"][kind]) <= quantity(resources["limits"][kind])


def test_matching_holds_a_full_size_match_in_every_worker(base: Manifests) -> None:
    """bench/REPORT.md: 10,000 people matched against 1,000,000 enrollments peaked at 365 MiB
    in one worker; every worker of a pod may run one at once."""
    resources = container(base.get("Deployment", "matching"))["resources"]
    workers = quantity(resources["limits"]["cpu"])
    assert quantity(resources["limits"]["memory"]) >= workers * 365 * 2**20 * 1.5


def test_in_development_every_service_stays_at_one_replica(dev: Manifests) -> None:
    """customers makes its own signing key per pod in development: two would disagree."""
    for name in SERVICES:
        autoscaler = dev.get("HorizontalPodAutoscaler", name)["spec"]
        assert autoscaler["minReplicas"] == autoscaler["maxReplicas"] == 1
