"""The Handinger client under hostile or failing answers, against the Handinger emulator: no
redirect off its origin, no secret in an error, honest retry counts, patient final reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

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
from tests.handinger_helpers import KEY, RecordingSleep, download, fault, requests, until_done
from tests.procs import ServerProcess, running


@pytest.fixture(scope="module")
def emulator() -> Iterator[ServerProcess]:
    args = ["--port", "0", "--api-key", KEY, "--turn-seconds", "0.2", "--chunks", "4"]
    with running("emulators.handinger", args) as server:
        yield server


@pytest.fixture
def control(emulator: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        http.post("/_emulator/reset").raise_for_status()
        yield http


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def client(
    emulator: ServerProcess, control: httpx.Client, sleeps: RecordingSleep
) -> AsyncIterator[HandingerClient]:
    async with HandingerClient(KEY, emulator.url, sleep=sleeps, max_retries=2) as c:
        yield c


async def published_file(client: HandingerClient) -> tuple[str, str]:
    """A finished worker with one file: (worker id, the file's URL)."""
    worker = await until_done(client, (await client.create_worker("x [[file=notes.txt]]")).id)
    [file] = worker.files
    return worker.id, file.url


async def test_a_redirect_off_the_handinger_origin_is_never_followed(
    client: HandingerClient, control: httpx.Client, emulator: ServerProcess
) -> None:
    worker_id, url = await published_file(client)
    elsewhere = emulator.url.replace("127.0.0.1", "localhost")  # same server, another origin
    target = f"{elsewhere}/_foreign/{worker_id}/notes.txt"
    fault(control, method="GET", path="/files/", action="redirect", location=target)
    with pytest.raises(ForeignOriginError) as refused:
        await download(client, url, max_bytes=100_000)
    assert refused.value.url == target
    assert requests(control, path="/_foreign/") == []


async def test_a_redirect_within_the_origin_is_followed_with_the_key(
    client: HandingerClient, control: httpx.Client
) -> None:
    worker_id, url = await published_file(client)
    path = f"/api/workers/{worker_id}/files/notes.txt"
    fault(control, method="GET", path="/files/", action="redirect", location=path)
    data, _ = await download(client, url, max_bytes=100_000)
    assert data.startswith(b"# notes.txt")
    hops = requests(control, "GET", path)
    assert [r["authorization"] for r in hops] == ["valid", "valid"]


async def test_only_a_retried_request_is_said_to_be_retried(
    client: HandingerClient, control: httpx.Client
) -> None:
    fault(control, status=500, method="POST", path="^/api/workers$")
    with pytest.raises(InternalServerError) as once:
        await client.create_worker("never doubled")  # a create is not repeated after a 500
    assert once.value.attempts == 1
    assert "(500)" in _describe(once.value) and "retrying" not in _describe(once.value)

    fault(control, status=503, count=3, method="POST", path="^/api/workers$")
    with pytest.raises(InternalServerError) as thrice:
        await client.create_worker("refused three times")
    assert thrice.value.attempts == 3
    assert "after retrying" in _describe(thrice.value)


async def test_secrets_in_an_error_body_never_reach_an_explanation(
    client: HandingerClient, control: httpx.Client
) -> None:
    secrets = (KEY, "xyz123secret", "xoxb-1234-5678-abcdef")
    said = (
        f"bad input; header was Authorization: Bearer {KEY}; also Bearer xyz123secret, a "
        f"Slack token xoxb-1234-5678-abcdef and the key {KEY} again"
    )
    fault(control, status=400, method="POST", error=said)
    with pytest.raises(BadRequestError) as refused:
        await client.create_worker("x")
    shown = _describe(refused.value)
    assert "Handinger refused the request (400)." in shown
    for secret in secrets:
        assert secret not in shown and secret not in str(refused.value)


async def test_a_patient_read_outlasts_a_burst_of_server_errors(
    client: HandingerClient, control: httpx.Client, sleeps: RecordingSleep
) -> None:
    worker = await until_done(client, (await client.create_worker("x")).id)
    path = f"^/api/workers/{worker.id}$"
    fault(control, status=500, count=5, method="GET", path=path)
    with pytest.raises(InternalServerError):
        await client.get_worker(worker.id)  # three tries, then the error
    sleeps.delays.clear()
    assert (await client.get_worker(worker.id, patient=True)).id == worker.id
    assert len(sleeps.delays) == 2

    fault(control, status=503, count=1000, method="GET", path=path)
    sleeps.delays.clear()
    with pytest.raises(InternalServerError) as gave_up:
        await client.get_worker(worker.id, patient=True)
    assert client.patience <= sum(sleeps.delays) <= client.patience + 8  # bounded
    assert gave_up.value.attempts == len(sleeps.delays) + 1 > 3


def _describe(error: BaseException) -> str:
    return problem_text(diagnose(error))
