"""The Handinger client under hostile or failing answers, against the Handinger emulator: no
redirect off its origin, no secret in an error, honest retry counts, patient final reads."""

from __future__ import annotations

import httpx
import pytest

from bot.core.problems import diagnose
from bot.handinger import (
    BadRequestError,
    ForeignOriginError,
    HandingerClient,
    InternalServerError,
)
from bot.slack.wording import problem_text
from emulators.credentials import HANDINGER_KEY
from emulators.harness import Child
from tests.handinger_helpers import RecordingSleep, download, fault, requests, until_done

HANDINGER_ARGS = ["--turn-seconds", "0.2", "--chunks", "4"]


async def published_file(handinger_client: HandingerClient) -> tuple[str, str]:
    """A finished worker with one file: (worker id, the file's URL)."""
    worker = await until_done(
        handinger_client, (await handinger_client.create_worker("x [[file=notes.txt]]")).id
    )
    [file] = worker.files
    return worker.id, file.url


async def test_a_redirect_off_the_handinger_origin_is_never_followed(
    handinger_client: HandingerClient, handinger_control: httpx.Client, handinger_emulator: Child
) -> None:
    worker_id, url = await published_file(handinger_client)
    elsewhere = handinger_emulator.url.replace(
        "127.0.0.1", "localhost"
    )  # same server, another origin
    target = f"{elsewhere}/_foreign/{worker_id}/notes.txt"
    fault(handinger_control, method="GET", path="/files/", action="redirect", location=target)
    with pytest.raises(ForeignOriginError) as refused:
        await download(handinger_client, url, max_bytes=100_000)
    assert refused.value.url == target
    assert requests(handinger_control, path="/_foreign/") == []


async def test_a_redirect_within_the_origin_is_followed_with_the_key(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    worker_id, url = await published_file(handinger_client)
    path = f"/api/workers/{worker_id}/files/notes.txt"
    fault(handinger_control, method="GET", path="/files/", action="redirect", location=path)
    data, _ = await download(handinger_client, url, max_bytes=100_000)
    assert data.startswith(b"# notes.txt")
    hops = requests(handinger_control, "GET", path)
    assert [r["authorization"] for r in hops] == ["valid", "valid"]


async def test_only_a_retried_request_is_said_to_be_retried(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    fault(handinger_control, status=500, method="POST", path="^/api/workers$")
    with pytest.raises(InternalServerError) as once:
        await handinger_client.create_worker(
            "never doubled"
        )  # a create is not repeated after a 500
    assert once.value.attempts == 1
    assert "(500)" in _describe(once.value) and "retrying" not in _describe(once.value)

    fault(handinger_control, status=503, count=3, method="POST", path="^/api/workers$")
    with pytest.raises(InternalServerError) as thrice:
        await handinger_client.create_worker("refused three times")
    assert thrice.value.attempts == 3
    assert "after retrying" in _describe(thrice.value)


async def test_secrets_in_an_error_body_never_reach_an_explanation(
    handinger_client: HandingerClient, handinger_control: httpx.Client
) -> None:
    secrets = (HANDINGER_KEY, "xyz123secret", "xoxb-1234-5678-abcdef")
    said = (
        f"bad input; header was Authorization: Bearer {HANDINGER_KEY}; also Bearer xyz123secret, a "
        f"Slack token xoxb-1234-5678-abcdef and the key {HANDINGER_KEY} again"
    )
    fault(handinger_control, status=400, method="POST", error=said)
    with pytest.raises(BadRequestError) as refused:
        await handinger_client.create_worker("x")
    shown = _describe(refused.value)
    assert "Handinger refused the request (400)." in shown
    for secret in secrets:
        assert secret not in shown and secret not in str(refused.value)


async def test_a_patient_read_outlasts_a_burst_of_server_errors(
    handinger_client: HandingerClient, handinger_control: httpx.Client, sleeps: RecordingSleep
) -> None:
    worker = await until_done(handinger_client, (await handinger_client.create_worker("x")).id)
    path = f"^/api/workers/{worker.id}$"
    fault(handinger_control, status=500, count=5, method="GET", path=path)
    with pytest.raises(InternalServerError):
        await handinger_client.get_worker(worker.id)  # three tries, then the error
    sleeps.delays.clear()
    assert (await handinger_client.get_worker(worker.id, patient=True)).id == worker.id
    assert len(sleeps.delays) == 2

    fault(handinger_control, status=503, count=1000, method="GET", path=path)
    sleeps.delays.clear()
    with pytest.raises(InternalServerError) as gave_up:
        await handinger_client.get_worker(worker.id, patient=True)
    assert (
        handinger_client.patience <= sum(sleeps.delays) <= handinger_client.patience + 8
    )  # bounded
    assert gave_up.value.attempts == len(sleeps.delays) + 1 > 3


def _describe(error: BaseException) -> str:
    return problem_text(diagnose(error))
