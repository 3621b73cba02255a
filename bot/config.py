"""Settings from the environment and `.env`, validated once at start-up.

Every problem is reported at once, one line per variable, in words an admin can act on
(`ConfigError`), rather than as a pydantic traceback.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .budgets import BUDGETS, Budget

Mode = Literal["socket", "http"]

BUDGET_ORDER: dict[str, int] = {name: rank for rank, name in enumerate(BUDGETS)}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
_DURATION = re.compile(r"(\d+)\s*([smhd]?)")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(Exception):
    """The configuration cannot be used; `problems` has one human-readable line per issue."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def _check_http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise ValueError("must be an http:// or https:// URL")
    return value


class Settings(BaseSettings):
    """The app's configuration. Field names match the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_redirect_uri: str | None = None

    handinger_api_key: SecretStr | None = None
    handinger_base_url: str = "https://v3.handinger.com"
    handinger_db: Path = Path("handinger-slack.db")
    handinger_default_budget: Budget = "standard"
    handinger_max_budget: Budget = "high"
    handinger_stream_idle_timeout: float = Field(default=90.0, gt=0)
    handinger_max_file_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    handinger_schedule_admins: str = ""
    handinger_schedule_check_seconds: float = Field(default=300.0, gt=0)
    handinger_min_schedule_interval: int = 15 * 60
    handinger_reply_mode: Literal["auto", "mention"] = "auto"  # core.gathered.ReplyMode
    handinger_thread_context: bool = True
    handinger_context_messages: int = Field(default=50, ge=1, le=1000)
    handinger_context_chars: int = Field(default=12_000, ge=0)
    handinger_attachment_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    handinger_file_text_chars: int = Field(default=40_000, ge=0)

    slack_native_streaming: bool = True
    slack_assistant_greeting: str = (
        "Hi! Tell me what to do and a Handinger agent worker will get on it. "
        "Reply in this thread to steer it."
    )
    slack_assistant_prompts: str = (
        "Research a topic|Research the latest news about a topic of your choice and summarise it "
        "with sources.;Summarise a page|Read a web page I will paste and summarise it in five "
        "bullet points.;Draft a reply|Help me draft a reply to a message I will paste."
    )

    port: int = Field(default=3000, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: str = "text"

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb- (OAuth & Permissions)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError(
                "must be an app-level token starting with xapp- "
                "(Basic Information → App-Level Tokens, scope connections:write)"
            )
        return value

    @field_validator("slack_assistant_prompts")
    @classmethod
    def _prompts(cls, value: str) -> str:
        """`title|message;title|message`: up to four, each with both halves."""
        prompts = [p for p in value.split(";") if p.strip()]
        if len(prompts) > 4:
            raise ValueError("at most 4 prompts (Slack shows no more), separated by ';'")
        for prompt in prompts:
            title, _, message = prompt.partition("|")
            if not title.strip() or not message.strip():
                raise ValueError(f"each prompt is 'title|message'; got {prompt.strip()!r}")
        return value

    @property
    def assistant_prompts(self) -> list[tuple[str, str]]:
        """The assistant pane's suggested prompts as (title, message)."""
        out = []
        for prompt in self.slack_assistant_prompts.split(";"):
            title, _, message = prompt.partition("|")
            if title.strip():
                out.append((title.strip(), message.strip()))
        return out

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.strip().upper()
        level = "WARNING" if level == "WARN" else level
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.strip().lower() not in LOG_FORMATS:
            raise ValueError(f"must be one of {', '.join(LOG_FORMATS)}")
        return value.strip().lower()

    @field_validator("handinger_min_schedule_interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> object:
        """`15m`, `1h`, `900s` or `900` (seconds); `0` means no minimum."""
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        match = _DURATION.fullmatch(str(value).strip().lower())
        if not match:
            raise ValueError(
                "must be a length of time such as 15m, 1h, 900s or 900 (seconds); 0 allows any"
            )
        return int(match[1]) * _DURATION_UNITS[match[2] or "s"]

    @field_validator("slack_api_url")
    @classmethod
    def _slack_url(cls, value: str) -> str:
        _check_http_url(value)
        return value if value.endswith("/") else value + "/"

    @field_validator("handinger_base_url")
    @classmethod
    def _handinger_url(cls, value: str) -> str:
        return _check_http_url(value).rstrip("/")

    @field_validator("slack_redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        return _check_http_url(value) if value is not None else None

    @field_validator(
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "slack_client_id",
        "slack_client_secret",
        "slack_redirect_uri",
        "handinger_api_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`SLACK_APP_TOKEN=` (empty) means "not set", as admins expect from env files."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _budgets_ordered(self) -> Settings:
        if BUDGET_ORDER[self.handinger_default_budget] > BUDGET_ORDER[self.handinger_max_budget]:
            raise ValueError(
                f"HANDINGER_DEFAULT_BUDGET ({self.handinger_default_budget}) is above "
                f"HANDINGER_MAX_BUDGET ({self.handinger_max_budget})"
            )
        return self

    @model_validator(mode="after")
    def _oauth_complete(self) -> Settings:
        if (self.slack_client_id is None) != (self.slack_client_secret is None):
            raise ValueError(
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (Basic Information → "
                "App Credentials): set both for OAuth installs into many workspaces, or neither"
            )
        if self.oauth and self.slack_app_token is not None:
            raise ValueError(
                "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (OAuth installs) run in HTTP mode: "
                "unset SLACK_APP_TOKEN, or unset the client credentials for Socket Mode"
            )
        return self

    @property
    def oauth(self) -> bool:
        """Multi-workspace: installed with OAuth, each workspace's bot token from the store."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def mode(self) -> Mode:
        """Socket Mode when an app-level token is present, else HTTP mode."""
        return "socket" if self.slack_app_token is not None else "http"

    @property
    def installations_db(self) -> Path:
        """OAuth mode: the SQLite file of Slack installations and OAuth states, next to
        HANDINGER_DB (`handinger-slack.db` → `handinger-slack-installations.db`)."""
        db = self.handinger_db
        return db.with_name(f"{db.stem}-installations{db.suffix or '.db'}")

    @property
    def has_any_credentials(self) -> bool:
        return any(
            v is not None
            for v in (
                self.slack_bot_token,
                self.slack_app_token,
                self.slack_signing_secret,
                self.slack_client_id,
                self.handinger_api_key,
            )
        )

    def missing_for_run(self) -> list[str]:
        """What must still be set before the app can talk to real Slack and Handinger."""
        missing: list[str] = []
        if self.oauth:
            if self.slack_signing_secret is None:
                missing.append(
                    "SLACK_SIGNING_SECRET (Basic Information → App Credentials; OAuth installs "
                    "run in HTTP mode)"
                )
            if str(self.handinger_db) == ":memory:":
                missing.append("HANDINGER_DB as a file: OAuth installations are stored beside it")
        elif self.slack_bot_token is None:
            missing.append(
                "SLACK_BOT_TOKEN (the bot token, xoxb-…, from OAuth & Permissions), or "
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into workspaces with OAuth"
            )
        if not self.oauth and self.mode == "http" and self.slack_signing_secret is None:
            missing.append(
                "SLACK_APP_TOKEN (xapp-…, for Socket Mode) or SLACK_SIGNING_SECRET "
                "(Basic Information → App Credentials, for HTTP mode)"
            )
        if self.handinger_api_key is None:
            missing.append("HANDINGER_API_KEY (your Handinger API key, hdg_…)")
        return missing

    @property
    def schedule_admins(self) -> frozenset[str]:
        """Slack user ids allowed to cancel anyone's schedules (besides workspace admins)."""
        return frozenset(u.strip() for u in self.handinger_schedule_admins.split(",") if u.strip())

    @property
    def min_schedule_interval(self) -> timedelta | None:
        """The shortest time allowed between two runs of a repeating schedule; None: any."""
        seconds = self.handinger_min_schedule_interval
        return timedelta(seconds=seconds) if seconds > 0 else None

    def budget_allowed(self, budget: str) -> bool:
        """Whether a Slack user may ask for `budget` under HANDINGER_MAX_BUDGET."""
        return BUDGET_ORDER.get(budget, len(BUDGETS)) <= BUDGET_ORDER[self.handinger_max_budget]


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read and validate the settings, turning validation errors into a `ConfigError`."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError([_describe(error) for error in exc.errors()]) from None


def _describe(error: object) -> str:
    assert isinstance(error, dict)
    location = ".".join(str(part) for part in error.get("loc", ()))
    name = location.upper() if location else "configuration"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if error.get("type") == "literal_error":
        message = f"must be one of {', '.join(BUDGETS)}"
    value = error.get("input")
    shown = "" if "TOKEN" in name or "KEY" in name or "SECRET" in name else f" (got {value!r})"
    if not location:
        return message
    return f"{name}: {message}{shown if not isinstance(value, dict) else ''}"
