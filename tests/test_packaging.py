"""The Docker image, checked without Docker: what it copies exists, what it runs is declared,
its dependencies are pinned, it runs as a non-root user, and its health check works."""

from __future__ import annotations

import ast
import asyncio
import fnmatch
import importlib
import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.config import Settings
from bot.slack.app import web_app
from bot.slack.ingress_thread import Core

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each line of the Dockerfile, continuations joined."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def exec_form(arguments: str) -> list[str]:
    parsed = json.loads(arguments)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed), arguments
    return parsed


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: {line!r} is not pinned with =="
            key = canonicalize_name(name)
            assert key not in pins, f"requirements.lock pins {name} twice"
            pins[key] = version.strip()
    return pins


def test_every_copied_path_exists_and_reaches_the_build_context() -> None:
    ignored = [
        p.strip().rstrip("/")
        for p in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if p.strip() and not p.startswith("#")
    ]
    copies = [arguments for keyword, arguments in instructions() if keyword in ("COPY", "ADD")]
    assert copies
    for arguments in copies:
        parts = [p for p in shlex.split(arguments) if not p.startswith("--")]
        if "--from=" in arguments:
            continue  # copies from another stage, not from the repository
        *sources, _destination = parts
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
            hits = [p for p in ignored if fnmatch.fnmatch(source.rstrip("/"), p)]
            assert not hits, f"COPY {source} is excluded by .dockerignore ({hits})"


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in (".env", "*.db", ".venv/", ".git/"):
        assert pattern in ignored


def test_base_images_are_python_3_11_slim_in_two_stages() -> None:
    images = [arguments.split()[0] for keyword, arguments in instructions() if keyword == "FROM"]
    assert len(images) >= 2, "a builder stage and a runtime stage"
    assert all(image == "python:3.11-slim" for image in images)


def test_the_image_runs_a_console_script_that_pyproject_declares() -> None:
    [cmd] = [arguments for keyword, arguments in final_stage() if keyword == "CMD"]
    program, *args = exec_form(cmd)
    scripts = PYPROJECT["project"]["scripts"]
    assert program in scripts, f"CMD runs {program}, which pyproject.toml does not declare"
    module, _, attribute = scripts[program].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    assert args == ["run"]


def test_the_lock_pins_every_runtime_dependency_in_range() -> None:
    pins = locked()
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"requirements.lock lacks {requirement.name}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}"
        )
    test_only = {
        canonicalize_name(Requirement(r).name)
        for r in PYPROJECT["project"]["optional-dependencies"]["test"]
    }
    assert not test_only & set(pins), "test tools do not belong in the image"


def test_the_image_installs_from_the_lock() -> None:
    runs = " ".join(arguments for keyword, arguments in instructions() if keyword == "RUN")
    assert "-r requirements.lock" in runs and "--no-deps" in runs


def test_the_image_copies_the_app_and_not_the_emulators() -> None:
    """The build context and the COPY lines hold `bot/` only, so setuptools (which finds
    `bot*` and `emulators*`) builds a wheel without the emulators."""
    copied = [
        source
        for keyword, arguments in instructions()
        if keyword in ("COPY", "ADD") and "--from=" not in arguments
        for source in shlex.split(arguments)[:-1]
    ]
    assert "bot" in copied and not [c for c in copied if c.startswith("emulators")]
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "emulators/" in ignored
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["bot*", "emulators*"]


def test_the_app_imports_without_the_emulators() -> None:
    """Every module of `bot` imports in an install that has no `emulators` package (the
    image); only `handinger-slack sandbox` reaches for them, when it runs."""
    script = (
        "import pkgutil, sys, importlib; sys.modules['emulators'] = None; import bot; "
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(bot.__path__, 'bot.') "
        "if m.name != 'bot.__main__']; print('imported', len(sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.startswith("imported"), done.stderr


def test_the_emulators_never_import_the_app() -> None:
    """They are written from Slack's and Handinger's documentation, not from our code, so that
    the app and the emulators check each other."""
    for path in (ROOT / "emulators").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            assert not [n for n in names if n.split(".")[0] == "bot"], f"{path} imports {names}"


def test_it_runs_as_a_non_root_user() -> None:
    users = [arguments for keyword, arguments in final_stage() if keyword == "USER"]
    assert users, "the runtime stage has no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_the_database_is_on_the_data_volume() -> None:
    stage = final_stage()
    volumes = [
        v for keyword, arguments in stage if keyword == "VOLUME" for v in exec_form(arguments)
    ]
    assert volumes == ["/data"]
    assert env_of(stage)["HANDINGER_DB"] == "/data/handinger-slack.db"


def test_the_exposed_port_is_the_apps_port() -> None:
    stage = final_stage()
    [exposed] = [arguments for keyword, arguments in stage if keyword == "EXPOSE"]
    default_port = Settings.model_fields["port"].default
    assert int(exposed) == int(env_of(stage)["PORT"]) == default_port


def healthcheck_command() -> list[str]:
    [arguments] = [arguments for keyword, arguments in final_stage() if keyword == "HEALTHCHECK"]
    _, _, command = arguments.partition(" CMD ")
    return exec_form(command.strip())


def test_the_healthcheck_asks_the_apps_health_route() -> None:
    command = healthcheck_command()
    assert command[0] == "python", "slim images have no curl: the check must use Python"
    assert "/healthz" in command[-1] and "127.0.0.1" in command[-1]
    server = web_app(None, endpoint=None, health=dict, core=None)  # type: ignore[arg-type]
    routes = {resource.canonical for resource in server.router.resources()}
    assert "/healthz" in routes


@pytest.fixture
async def health_server() -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """The app's own HTTP server (its `web_app`) with a health status the test sets."""
    status: dict[str, Any] = {"ok": True}

    async def health() -> dict[str, Any]:
        return dict(status)

    core = Core(asyncio.get_running_loop())
    runner = web.AppRunner(web_app(None, endpoint=None, health=health, core=core))  # type: ignore[arg-type]
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1], status
    finally:
        await runner.cleanup()


async def test_the_healthcheck_command_passes_and_fails_with_the_app(
    health_server: tuple[int, dict[str, Any]],
) -> None:
    port, status = health_server
    _, *args = healthcheck_command()

    async def exit_code(port: int) -> int:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, env={"PORT": str(port)}, stderr=asyncio.subprocess.DEVNULL
        )
        return await asyncio.wait_for(process.wait(), 30)

    assert await exit_code(port) == 0
    status["ok"] = False  # e.g. Socket Mode not connected → 503
    assert await exit_code(port) != 0
