"""The deployment files (deploy/) checked the way their own tools check them: the
Dockerfile with hadolint, the compose files against the Compose Specification's JSON
schema, each Kubernetes overlay rendered by kustomize and every rendered object
against the Kubernetes API schemas (kubernetes-validate, strict: unknown fields are
errors), Prometheus' configuration and rules with promtool, and the dashboard's and
rules' PromQL with a PromQL parser. Whether the metrics they name exist is
``test_metric_names.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.queries import (
    DASHBOARD,
    DEPLOY,
    REPO,
    RULES,
    Query,
    all_queries,
    exposed,
    problems,
    selectors,
)
from tests.deploy.tools import run, tool

COMPOSE = DEPLOY / "compose"
COMPOSE_FILES = sorted(COMPOSE.glob("compose*.yaml"))
K8S = DEPLOY / "k8s"
OVERLAYS = sorted(path.parent for path in (K8S / "overlays").glob("*/kustomization.yaml"))
PROMETHEUS = DEPLOY / "prometheus"
COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
#: The Kubernetes release whose API schemas the manifests are checked against (the
#: newest kubernetes-validate knows; it also checks that nothing used was removed).
KUBERNETES_VERSION = "1.33"


# ------------------------------------------------------------------ Dockerfile


def test_the_dockerfile_passes_hadolint() -> None:
    result = run(tool("hadolint"), "--failure-threshold", "info", str(DEPLOY / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_locked_runtime_dependencies_as_a_non_root_user() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "uv sync --frozen --no-dev" in dockerfile
    assert re.search(r"^USER 10001", runtime, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*/health", runtime, re.MULTILINE | re.DOTALL)
    assert "uv" not in re.sub(r"#.*", "", runtime).split()  # no uv in the final image
    # Only what the build needs goes into its context.
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") + 1 :][:4] == [
        "!pyproject.toml",
        "!uv.lock",
        "!README.md",
        "!src/",
    ]


# ------------------------------------------------------------------ compose


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_compose_files_follow_the_compose_specification(path: Path) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    document = yaml.safe_load(path.read_text())  # YAML merge keys (<<) resolved

    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(document), key=lambda e: e.json_path
    )

    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors)


def test_the_compose_check_rejects_what_compose_would() -> None:
    """The schema is strict: a misspelt key and a wrong type are each reported."""
    validator = jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    good = {
        "services": {
            "api": {
                "image": "hduce",
                "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
            }
        }
    }
    misspelt = {"services": {"api": {"imagee": "hduce"}}}
    mistyped = {"services": {"api": {"image": "hduce", "deploy": {"replicas": [2]}}}}

    assert list(validator.iter_errors(good)) == []
    assert (
        "'imagee' does not match any of the regexes"
        in next(validator.iter_errors(misspelt)).message
    )
    assert "is not of type 'integer'" in next(validator.iter_errors(mistyped)).message


def test_compose_takes_every_secret_from_the_env_file() -> None:
    """Each variable compose requires (``${NAME:?...}``) is listed, empty, in
    .env.example; no password, secret or token is written in the compose files."""
    example = dict(
        line.split("=", 1)
        for line in (COMPOSE / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for path in COMPOSE_FILES:
        text = path.read_text()
        required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
        assert required <= example.keys(), f"{path.name}: {required - example.keys()}"
        assert all(example[name] == "" for name in required)
        for key, value in re.findall(
            r"^\s*([A-Z_]*(?:PASSWORD|SECRET|TOKEN|PASS)[A-Z_]*):\s*(.+)$", text, re.MULTILINE
        ):
            assert value.startswith("${"), f"{path.name}: {key} is not from the env file"


def test_compose_scrapes_each_replica_and_runs_migrations_first() -> None:
    compose = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    services = compose["services"]
    for role in ("api", "worker"):
        assert services[role]["deploy"]["replicas"] == 2
        assert services[role]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["worker"]["environment"]["HDUCE_WORKER_HTTP_PORT"] == "8081"
    prometheus = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    discovered = {
        job["job_name"]: (job["dns_sd_configs"][0]["names"], job["dns_sd_configs"][0]["port"])
        for job in prometheus["scrape_configs"]
        if "dns_sd_configs" in job
    }
    api_port = int(services["api"]["environment"]["HDUCE_METRICS_PORT"])
    assert discovered == {"hduce-api": (["api"], api_port), "hduce-worker": (["worker"], 8081)}


def test_the_proxy_does_not_buffer_the_notification_stream() -> None:
    nginx = (COMPOSE / "nginx.conf").read_text()
    stream = re.search(r"location = /api/v1/notifications/stream \{(.*?)\}", nginx, re.DOTALL)
    assert stream is not None
    assert "proxy_buffering off;" in stream.group(1)


# ------------------------------------------------------------------ Kubernetes


def _validate(documents: list[dict[str, Any]]) -> list[str]:
    problems = []
    for document in documents:
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
            problems.append(f"{name}: {error.message} at {list(error.path)}")
    return problems


def _render(overlay: Path) -> list[dict[str, Any]]:
    result = run(tool("kubectl"), "kustomize", str(overlay))
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_each_overlay_renders_to_valid_kubernetes_objects(overlay: Path) -> None:
    documents = _render(overlay)
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in documents}

    assert _validate(documents) == []
    assert {
        ("Deployment", "hduce-api"),
        ("Service", "hduce-api"),
        ("HorizontalPodAutoscaler", "hduce-api"),
        ("PodDisruptionBudget", "hduce-api"),
        ("Deployment", "hduce-worker"),
        ("Job", "hduce-migrate"),
        ("ConfigMap", "hduce-config"),
    } <= kinds
    assert not any(kind == "Secret" for kind, _ in kinds)  # created apart, never rendered
    for doc in documents:
        if doc["kind"] in ("Deployment", "Job") and doc["metadata"]["name"].startswith("hduce"):
            pod = doc["spec"]["template"]["spec"]
            # Kubernetes would add HDUCE_API_PORT=tcp://... for the Service hduce-api,
            # and hduce refuses unknown HDUCE_* variables.
            assert pod["enableServiceLinks"] is False
            assert pod["securityContext"]["runAsNonRoot"] is True
            for container in pod["containers"]:
                assert container["resources"]["requests"] and container["resources"]["limits"]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda path: path.name)
def test_probes_and_scrape_annotations_point_at_the_served_ports(overlay: Path) -> None:
    deployments = {
        doc["metadata"]["name"]: doc["spec"]["template"]
        for doc in _render(overlay)
        if doc["kind"] == "Deployment"
    }
    for name, port, metrics_env in (
        ("hduce-api", 8000, "HDUCE_METRICS_PORT"),
        ("hduce-worker", 8081, "HDUCE_WORKER_HTTP_PORT"),
    ):
        template = deployments[name]
        (container,) = template["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        env = {e["name"]: e["value"] for e in container["env"]}
        assert ports[container["livenessProbe"]["httpGet"]["port"]] == port
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert template["metadata"]["annotations"]["prometheus.io/port"] == env[metrics_env]


def test_the_secret_template_is_a_valid_secret() -> None:
    template = yaml.safe_load((K8S / "base" / "secret.template.yaml").read_text())
    assert _validate([template]) == []


def test_the_kubernetes_check_rejects_what_kubernetes_would() -> None:
    """The validator is strict: a misspelt field and a wrong type are each reported."""
    (api,) = [
        doc
        for doc in _render(OVERLAYS[0])
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "hduce-api"
    ]
    misspelt = json.loads(json.dumps(api))
    misspelt["spec"]["replica"] = 2
    mistyped = json.loads(json.dumps(api))
    mistyped["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "30s"

    assert _validate([api]) == []
    (unknown_field,) = _validate([misspelt])
    (wrong_type,) = _validate([mistyped])
    assert "replica" in unknown_field
    assert "'30s' is not of type 'integer'" in wrong_type


# ------------------------------------------------------------------ Prometheus


@pytest.mark.parametrize("name", ["prometheus.yml"])
def test_prometheus_configuration_passes_promtool(name: str) -> None:
    result = run(tool("promtool"), "check", "config", name, cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_the_kubernetes_scrape_configuration_passes_promtool(tmp_path: Path) -> None:
    name = "prometheus-kubernetes.yml"
    result = run(tool("promtool"), "check", "config", name, cwd=PROMETHEUS)
    output = result.stdout + result.stderr
    if "field kubernetes_sd_configs not found" in output:
        # Debian builds promtool without Kubernetes service discovery: check the rest
        # of the file (the relabelling, the rules) with the discovery block replaced
        # by an empty static list, and the block itself by hand.
        config = yaml.safe_load((PROMETHEUS / name).read_text())
        for job in config["scrape_configs"]:
            assert job.pop("kubernetes_sd_configs") == [{"role": "pod"}]
            job["static_configs"] = [{"targets": []}]
        (tmp_path / "rules").symlink_to(PROMETHEUS / "rules")
        (tmp_path / name).write_text(yaml.safe_dump(config))
        result = run(tool("promtool"), "check", "config", name, cwd=tmp_path)
        output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS" in output


def test_alert_rules_pass_promtool() -> None:
    result = run(tool("promtool"), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_behave_as_their_runbook_says() -> None:
    """promtool's rule unit tests (deploy/prometheus/tests/): series in, alerts out."""
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    result = run(tool("promtool"), "test", "rules", *map(str, tests), cwd=PROMETHEUS / "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_runbook_entry() -> None:
    operations = (REPO / "docs" / "operations.md").read_text()
    headings = {
        re.sub(r"[^a-z0-9-]", "", heading.strip().lower().replace(" ", "-"))
        for heading in re.findall(r"^#+ (.+)$", operations, re.MULTILINE)
    }
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
            assert anchor == rule["alert"].lower()
            assert anchor in headings, f"docs/operations.md has no section {rule['alert']}"


# ------------------------------------------------------------------ Grafana


def test_the_dashboard_is_json_whose_queries_parse() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = all_queries()

    assert dashboard["uid"] == "hduce-overview"
    assert len(queries) >= 20
    for query in queries:
        assert selectors(query), f"{query.where}: no series in {query.expr!r}"


def test_grafana_provisioning_points_at_the_dashboard_and_datasource() -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    dashboards = yaml.safe_load((provisioning / "dashboards" / "hduce.yml").read_text())
    compose = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    panels_datasources = {
        target["datasource"]["uid"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel.get("targets", [])
    }

    assert panels_datasources == {datasource["datasources"][0]["uid"]}
    assert f"../grafana/dashboards:{dashboards['providers'][0]['options']['path']}:ro" in mounts


def test_the_metric_check_reports_unknown_names_and_labels() -> None:
    """What ``test_metric_names.py`` holds the dashboard and the rules to, on a made-up
    scrape: a declared family counts (with or without samples), a name nobody exposes
    and a label the series does not have are reported, ``up`` is Prometheus' own."""
    scrape = exposed(
        "# HELP hduce_requests_total Requests.\n"
        "# TYPE hduce_requests_total counter\n"
        'hduce_requests_total{method="GET",path="/health",status_code="200"} 1.0\n'
        "# HELP hduce_logins_total Logins.\n"
        "# TYPE hduce_logins_total counter\n"
        "# HELP hduce_sse_streams_open Streams.\n"
        "# TYPE hduce_sse_streams_open gauge\n"
        "hduce_sse_streams_open 0.0\n"
    )
    queries = {
        "ok": 'sum(rate(hduce_requests_total{status_code=~"5..", job="hduce-api"}[5m]))',
        "declared": 'sum(rate(hduce_logins_total{outcome="failure"}[5m])) + hduce_sse_streams_open',
        "prometheus": 'up{job="hduce-api"} == 0',
        "typo": 'rate(hduce_requests_total{status="500"}[5m])',
        "absent": "histogram_quantile(0.99, rate(hduce_requests_bucket[5m]))",
    }
    found = [
        selector for where, expr in queries.items() for selector in selectors(Query(where, expr))
    ]

    assert problems(found, {"api": scrape}) == [
        "hduce_requests_bucket is exposed by none of ['api'], used in absent",
        "hduce_requests_total has no label ['status'] (only ['method', 'path', "
        "'status_code']), in typo",
    ]
