"""The doctor's Handinger check: is the API key accepted?"""

from __future__ import annotations

from ..config import Settings
from ..handinger import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    HandingerClient,
    HandingerError,
    NotFoundError,
    PermissionDeniedError,
)
from .check import TIMEOUT, Check

PROBE_WORKER_ID = "t_org_doctor_w_00000000000000000000000000"
"""Shaped like a real worker id (`t_org_<org>_w_<ULID>`) but never issued: a 404 for it means
the key was accepted."""


async def check_handinger(settings: Settings) -> Check:
    name = "Handinger key"
    if settings.handinger_api_key is None:
        return Check(name, "skip", "skipped: HANDINGER_API_KEY is not set")
    base = settings.handinger_base_url
    client = HandingerClient(
        settings.handinger_api_key.get_secret_value(),
        base,
        timeout=TIMEOUT,
        connect_timeout=5.0,
        max_retries=0,
    )
    try:
        await client.get_worker(PROBE_WORKER_ID)
    except NotFoundError:
        return Check(name, "ok", f"accepted by {base}")
    except (AuthenticationError, PermissionDeniedError) as error:
        return Check(
            name,
            "fail",
            f"rejected by {base} (HTTP {error.status_code})",
            "check HANDINGER_API_KEY (and that HANDINGER_BASE_URL is the API it belongs to)",
        )
    except APIStatusError as error:
        return Check(name, "fail", f"{base} answered HTTP {error.status_code}: {error}")
    except APIConnectionError as error:
        return Check(name, "fail", f"cannot reach {base}: {error}", "check HANDINGER_BASE_URL")
    except HandingerError as error:
        return Check(name, "fail", f"unexpected answer from {base}: {error}")
    finally:
        await client.aclose()
    return Check(name, "ok", f"accepted by {base}")
