"""`qa.hazm_data`: hazm's tables come from a per-version cache file, so serving and the CLI
start without importing hazm (~1.8 s), and the cached data is exactly hazm's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa import hazm_data

REPO = Path(__file__).resolve().parents[1]
# Normalises a text with hazm ligatures, Arabic letters and a stop word, then reports
# whether hazm was imported on the way.
PROBE = (
    "import sys, json; from qa.text import normalize, tokens; "
    "print(json.dumps([normalize('ﷲ ﻻ ۱۲ علي كتاب'), tokens('این کتاب ﷼'), 'hazm' in sys.modules]))"
)


def run_probe(cache: Path) -> list[object]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_cached_data_is_hazms_own() -> None:
    fresh = hazm_data.from_hazm()
    assert hazm_data.load() == fresh
    assert fresh.translation[ord("ك")] == "ک" and fresh.translation[ord("ي")] == "ی"
    assert ("﷼", "ریال") in fresh.replacements
    assert "این" in fresh.stopwords


def test_the_second_process_reads_the_cache_without_importing_hazm(tmp_path: Path) -> None:
    first = run_probe(tmp_path)
    assert first[:2] == ["الله لا 12 علی کتاب", ["کتاب", "ریال"]]
    assert first[2] is True  # no cache yet: hazm imported once, the file written
    (cache_file,) = (tmp_path / "qa-persian").glob("hazm-*.json")
    assert hazm_data.hazm_version() in cache_file.name
    second = run_probe(tmp_path)
    assert second == [*first[:2], False]


@pytest.mark.parametrize("content", ["{not json", '{"format": 1, "hazm": "0.0.0"}', '{"format": 1}', ""])
def test_a_bad_or_foreign_cache_file_is_rebuilt(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "qa-persian"
    folder.mkdir()
    cache_file = folder / f"hazm-{hazm_data.hazm_version()}.json"
    cache_file.write_text(content, encoding="utf-8")
    assert run_probe(tmp_path) == ["الله لا 12 علی کتاب", ["کتاب", "ریال"], True]
    assert json.loads(cache_file.read_text(encoding="utf-8"))["hazm"] == hazm_data.hazm_version()


def test_an_unwritable_cache_dir_costs_only_the_import(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    assert run_probe(blocker) == ["الله لا 12 علی کتاب", ["کتاب", "ریال"], True]
