"""The Handinger emulator stays quiet when a client stops a download halfway, as clients with a
size cap do: an aborted download is normal traffic, not a server error with a traceback."""

from __future__ import annotations

import httpx

from emulators.credentials import HANDINGER_KEY
from emulators.harness import HANDINGER, running
from tests.e2e import wait_until


def test_an_aborted_large_download_prints_no_traceback() -> None:
    with (
        running(HANDINGER, ["--port", "0", "--turn-seconds", "0.1"]) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {HANDINGER_KEY}"}, timeout=30
        ) as http,
    ):
        worker = http.post("/api/workers", json={"input": "go [[filesize=500000000]]"}).json()
        path = f"/api/workers/{worker['id']}"
        wait_until(lambda: not http.get(path).json()["running"], what="the turn's end")
        with http.stream("GET", f"{path}/files/big.bin") as response:
            assert response.status_code == 200
            for index, _ in enumerate(response.iter_raw()):
                if index == 3:
                    break  # leaving the block closes the connection mid-body

        def download_done() -> bool:
            log = http.get("/_emulator/requests").json()
            return any(e["path"].endswith("/big.bin") and e["finished"] for e in log)

        wait_until(download_done, what="the server to notice the abort")
        assert http.get(path).status_code == 200  # and it serves on
    errors = server.text
    assert "Traceback" not in errors and "Error handling request" not in errors, errors
