"""README.md stays true: files it cites exist, every setting is documented once, and the card
menu row names every option the card's menu has."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end >= 0 else None]


def test_cited_repository_paths_exist() -> None:
    """A backticked path under a top-level folder is a file or folder of this repository;
    `reference/` and `seeds/` are notes outside it, so the README must not send readers there."""
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")}
    cited = set(re.findall(r"`([A-Za-z_][\w.-]*/[\w./-]*)`", README))
    checked = [path for path in cited if path.split("/")[0] in folders | {"reference", "seeds"}]
    assert checked, "the README cites repository paths"
    missing = sorted(path for path in checked if not (ROOT / path.rstrip("/")).exists())
    assert missing == []


def test_every_setting_is_in_the_configuration_table_once() -> None:
    rows = re.findall(r"^\| `([A-Z_]+)` \|", section("Configuration"), re.M)
    assert len(rows) == len(set(rows)), sorted(r for r in rows if rows.count(r) > 1)
    assert {name.upper() for name in Settings.model_fields} <= set(rows)


def test_the_card_menu_row_names_every_menu_option() -> None:
    render = (ROOT / "bot" / "slack" / "render.py").read_text(encoding="utf-8")
    labels = re.findall(r'option\("([^"]+)", "\w+"\)', render)
    assert len(labels) >= 3
    [row] = [line for line in README.splitlines() if line.startswith("| The finished card's ⋯")]
    for label in labels:
        assert f"**{label}**" in row, label
