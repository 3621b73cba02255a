"""File names made safe for Slack, and worker-side paths recovered from file entries."""

from __future__ import annotations

from bot.core.files import file_path, human_size, safe_filename
from bot.handinger.models import WorkerFile


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
