"""The project's text speaks of the product, never of how it was worked on (no work sessions or issue numbers)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "runs", "node_modules", "__pycache__"}
BINARY = (".png", ".jpg", ".jpeg", ".gif", ".ico", ".pdf", ".safetensors", ".onnx", ".bin", ".pt", ".npy", ".npz", ".xz", ".gz", ".zip", ".pyc")
DATA_DIRS = ("eval/data/", "tests/data/")
# Built from parts so that this file's own source does not match it.
_S, _I = "sess" + "ions?", "iss" + "ues?"
WORK_NOTE = re.compile(
    rf"\b{_S}\s*#?\d|\b{_I}\s*#?\d|\b(this|that|a later|an earlier|the next|the last|previous|earlier|later)\s+{_S[:-2]}\b",
    re.IGNORECASE,
)


def _files() -> list[str]:
    try:
        r = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=30)
        if r.returncode == 0:
            return [p for p in r.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
    except (OSError, subprocess.SubprocessError):
        pass
    found = []
    for d, dirs, names in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.endswith(".egg-info")]
        found += [(Path(d) / n).relative_to(ROOT).as_posix() for n in names]
    return found


def _checked(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    if path.endswith(BINARY) or name == "tokenizer.json" or path.endswith(".jsonl"):
        return False
    return not (path.startswith(DATA_DIRS) and path.endswith(".json"))


def test_no_word_of_how_the_project_was_worked_on() -> None:
    hits = []
    for path in filter(_checked, _files()):
        try:
            data = (ROOT / path).read_bytes()
        except OSError:  # listed by git but gone from the tree
            continue
        if b"\0" in data:
            continue
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if WORK_NOTE.search(line):
                hits.append(f"{path}:{n}: {line.strip()[:120]}")
    assert not hits, "work notes in the project's text:\n" + "\n".join(hits)
