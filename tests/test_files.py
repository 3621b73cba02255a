"""File names made safe for Slack, worker-side paths recovered from file entries, and how a
thread is told about files that did not arrive."""

from __future__ import annotations

from typing import get_args

from bot.core.files import file_path, safe_filename
from bot.core.ports import FileProblem, FileTrouble
from bot.handinger.models import WorkerFile
from bot.slack.wording import file_problem_text, human_size, upload_comment


def test_nested_paths_are_flattened_readably() -> None:
    assert safe_filename("reports/q3/summary.md", "text/markdown") == "reports-q3-summary.md"
    assert safe_filename("/abs/path\\\\win.txt", "text/plain") == "abs-path-win.txt"


def test_traversal_control_and_reserved_characters_are_removed() -> None:
    assert safe_filename("../../etc/passwd", "text/plain") == "etc-passwd.txt"
    assert safe_filename("a\x00b\x1b[31mc.txt", "text/plain") == "ab[31mc.txt"
    assert safe_filename('what?<is>:"this"|*.md', "text/markdown") == "what__is___this___.md"
    assert safe_filename("...", "application/pdf") == "file.pdf"
    assert safe_filename("", "image/png") == "file.png"


def test_the_declared_media_type_gives_a_missing_extension() -> None:
    assert safe_filename("chart", "image/png") == "chart.png"
    assert safe_filename("data", "application/x-unknown") == "data"


def test_names_are_capped_but_keep_their_extension() -> None:
    name = safe_filename("x" * 500 + ".csv", "text/csv")
    assert len(name) <= 120 and name.endswith(".csv")


def test_file_path_prefers_the_filename_then_the_url() -> None:
    assert file_path(WorkerFile(filename="a/b.md", url="/whatever")) == "a/b.md"
    url = "https://h.example/api/workers/w/files/reports%2Fq3%2Fsummary.md"
    assert file_path(WorkerFile(url=url)) == "reports/q3/summary.md"
    assert file_path(WorkerFile(url="https://cdn.example/x/y.png")) == "y.png"


def test_human_size() -> None:
    assert human_size(512) == "512 bytes"
    assert human_size(100 * 1024 * 1024) == "100.0 MB"


def test_every_file_problem_has_its_words() -> None:
    """The core says what went wrong with a file as data; the Slack adapter words each kind."""
    for trouble in get_args(FileTrouble):
        text = file_problem_text(FileProblem(trouble, ("a.md", "b.png")))
        assert text.startswith("a.md, b.png ") and text.endswith((".", ": ")), text
    too_large = FileProblem("too-large", ("big.bin",), limit_bytes=100 * 1024 * 1024)
    assert "larger than the 100.0 MB limit" in file_problem_text(too_large)
    foreign = FileProblem("foreign", ("x.png",), url="https://cdn.example/\u202ex.png")
    assert file_problem_text(foreign).endswith("https://cdn.example/x.png")


def test_uploads_say_which_turn_they_come_from() -> None:
    assert upload_comment("Plot it", 1) == "File from the turn “Plot it”"
    long = upload_comment("x" * 200, 3)
    assert long.startswith("Files from the turn “") and long.endswith("…”") and len(long) < 110
