"""Settings: defaults, validation messages an admin can act on, and secrets never shown."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import describe, main
from bot.config import ConfigError, load_settings
from bot.logs import configured_secrets
from tests.settings_env import clear_settings_env


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clear_settings_env(monkeypatch, tmp_path)


def test_defaults_match_the_design() -> None:
    settings = load_settings()
    assert settings.handinger_base_url == "https://v3.handinger.com"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.handinger_db == Path("handinger-slack.db")
    assert (settings.handinger_default_budget, settings.handinger_max_budget) == (
        "standard",
        "high",
    )
    assert settings.port == 3000
    assert settings.mode == "http"
    assert not settings.has_any_credentials


def test_app_token_selects_socket_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-abc")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("HANDINGER_API_KEY", "hdg_live_x")
    settings = load_settings()
    assert settings.mode == "socket"
    assert settings.missing_for_run() == []


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-user-token-secret")
    monkeypatch.setenv("HANDINGER_BASE_URL", "v3.handinger.com")
    monkeypatch.setenv("HANDINGER_MAX_BUDGET", "huge")
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ConfigError) as info:
        load_settings()
    problems = "\n".join(info.value.problems)
    assert "SLACK_BOT_TOKEN" in problems and "xoxb-" in problems
    assert "xoxp-user-token-secret" not in problems  # secrets are never echoed
    assert "HANDINGER_BASE_URL" in problems and "'v3.handinger.com'" in problems
    assert "HANDINGER_MAX_BUDGET" in problems and "low, standard, high, unlimited" in problems
    assert "PORT" in problems
    assert len(info.value.problems) == 4


def test_default_budget_cannot_exceed_max(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDINGER_DEFAULT_BUDGET", "unlimited")
    with pytest.raises(ConfigError, match="above HANDINGER_MAX_BUDGET"):
        load_settings()


def test_budget_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDINGER_MAX_BUDGET", "standard")
    settings = load_settings()
    assert settings.budget_allowed("low") and settings.budget_allowed("standard")
    assert not settings.budget_allowed("high") and not settings.budget_allowed("unlimited")


def test_dotenv_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HANDINGER_API_KEY=hdg_from_file\nPORT=4000\n")
    settings = load_settings()
    assert settings.handinger_api_key is not None
    assert settings.handinger_api_key.get_secret_value() == "hdg_from_file"
    assert settings.port == 4000


def test_describe_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDINGER_API_KEY", "hdg_live_supersecret")
    text = describe(load_settings())
    assert "supersecret" not in text
    assert "HANDINGER_API_KEY=(set)" in text and "SLACK_BOT_TOKEN=(unset)" in text


def test_cli_without_credentials_explains_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    for name in ("HANDINGER_API_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        assert name in out


def test_cli_help_says_what_the_app_is_and_where_to_read_more(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "Puts Handinger agent workers into Slack." in out
    assert "`/handinger <instruction>`" in out
    lines = out.splitlines()
    for command in ("run", "sandbox", "config", "manifest", "doctor"):
        [line] = [line for line in lines if line.strip().startswith(f"{command} ")]
        assert len(line.split()) > 4, line  # a real one-line description
    assert "README.md" in out and "handinger-slack <command> --help" in out


def test_cli_reports_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HANDINGER_API_KEY", "hdg_x")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err and "HANDINGER_API_KEY" not in err


def test_cli_reports_invalid_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "70000")
    assert main([]) == 2
    assert "PORT" in capsys.readouterr().err


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "  ")
    settings = load_settings()
    assert settings.slack_app_token is None and settings.slack_signing_secret is None
    assert settings.mode == "http"


def test_minimum_schedule_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().min_schedule_interval == timedelta(minutes=15)
    for value, expected in [
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("90s", timedelta(seconds=90)),
        ("600", timedelta(minutes=10)),
        ("0", None),
    ]:
        monkeypatch.setenv("HANDINGER_MIN_SCHEDULE_INTERVAL", value)
        assert load_settings().min_schedule_interval == expected, value
    monkeypatch.setenv("HANDINGER_MIN_SCHEDULE_INTERVAL", "soon")
    with pytest.raises(ConfigError) as info:
        load_settings()
    [problem] = info.value.problems
    assert problem.startswith("HANDINGER_MIN_SCHEDULE_INTERVAL: must be a length of time")
    assert "15m" in problem and "'soon'" in problem


def test_database_url_selects_postgresql_and_its_password_stays_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().postgres_url is None  # unset: the SQLite file
    monkeypatch.setenv("DATABASE_URL", "")
    assert load_settings().postgres_url is None
    url = "postgresql://app:pw-s3cret@db.internal:5432/handinger"
    monkeypatch.setenv("DATABASE_URL", url)
    settings = load_settings()
    assert settings.postgres_url == url
    assert "pw-s3cret" not in describe(settings) and "DATABASE_URL=(set)" in describe(settings)
    assert {url, "pw-s3cret"} <= set(configured_secrets(settings))  # masked in every log line
    monkeypatch.setenv("DATABASE_URL", "mysql://app:pw@db/handinger")
    with pytest.raises(ConfigError) as info:
        load_settings()
    [problem] = info.value.problems
    assert "DATABASE_URL" in problem and "postgresql://" in problem and "HANDINGER_DB" in problem
    assert "app:pw" not in problem  # the URL holds a password: never echoed
