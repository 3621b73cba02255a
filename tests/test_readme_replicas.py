"""README's Kubernetes and Compose snippets ("Running several replicas") work as pasted: the
Compose file is valid by the Compose Specification's schema (vendored from compose-spec, Apache
2.0, in tests/data/compose-spec), and both probe routes the app serves, on the port it listens
on, with settings it reads, without restarting replicas into a database outage, and with time
to stop cleanly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

import yaml
from jsonschema import Draft7Validator

from bot.config import Settings
from bot.main import HEALTH_TIMEOUT, LISTENERS_DRAIN
from bot.slack.app import web_app

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "tests" / "data" / "compose-spec" / "compose-spec.json"


def snippets() -> tuple[dict[str, Any], dict[str, Any]]:
    """The subsection's two YAML blocks: the Kubernetes Deployment, then the Compose file."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("\n### Running several replicas\n")
    end = readme.index("\n### ", start + 1)
    blocks = re.findall(r"```yaml\n(.*?)```", readme[start:end], re.S)
    deployment, compose = (yaml.safe_load(block) for block in blocks)
    return deployment, compose


def served_paths() -> set[str]:
    none = cast(Any, None)  # the routes are registered without calling anything
    server = web_app(none, endpoint=None, health=none, core=none)
    return {resource.canonical for resource in server.router.resources()}


def test_the_kubernetes_deployment_probes_what_the_app_serves() -> None:
    deployment, _ = snippets()
    assert deployment["kind"] == "Deployment" and deployment["apiVersion"] == "apps/v1"
    spec = deployment["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert {name.lower() for name in env} <= set(Settings.model_fields)
    port = int(env["PORT"])
    assert [p["containerPort"] for p in container["ports"]] == [port]
    ready, live = container["readinessProbe"], container["livenessProbe"]
    for probe in (ready, live):
        assert probe["httpGet"]["port"] == port
        assert probe["httpGet"]["path"] in served_paths()
        assert probe["timeoutSeconds"] > HEALTH_TIMEOUT  # Kubernetes' default is 1 s
    assert ready["httpGet"]["path"] == "/healthz"  # the database and Slack answer
    assert live["httpGet"]["path"] == "/livez"  # an outage is waited out, not restarted into
    [sleep, seconds] = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep == "sleep"  # the image (python:3.11-slim) has coreutils
    assert pod["terminationGracePeriodSeconds"] > int(seconds) + LISTENERS_DRAIN


def test_the_compose_file_is_valid_and_starts_after_the_database() -> None:
    _, compose = snippets()
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = [error.message for error in Draft7Validator(schema).iter_errors(compose)]
    assert errors == []
    app, db = compose["services"]["app"], compose["services"]["db"]
    assert {name.lower() for name in app["environment"]} <= set(Settings.model_fields)
    assert "pg_isready" in db["healthcheck"]["test"]
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert app["restart"] == "unless-stopped"  # a start that found no database is retried
    grace = re.fullmatch(r"(\d+)s", app["stop_grace_period"])
    assert grace is not None and int(grace.group(1)) > LISTENERS_DRAIN
