"""The Python API: `from qa import ...` names, a light `import qa`, and the README's example run as written."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, qa_env


def test_supported_names_resolve() -> None:
    import qa

    for name in qa.__all__:
        assert getattr(qa, name) is not None, name
    from qa import AskRequest, Pipeline, Settings
    from qa.pipeline import Pipeline as Defined

    assert Pipeline is Defined and AskRequest.__module__ == "qa.schema" and Settings.__module__ == "qa.settings"
    with pytest.raises(AttributeError):
        qa.NoSuchName  # noqa: B018


def test_import_qa_loads_no_models_or_store() -> None:
    code = "import sys, qa; print(sorted(m for m in ('qa.pipeline', 'index.embed', 'chromadb', 'torch') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=qa_env(ROOT / "unused"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_the_package_says_it_is_typed() -> None:
    assert (ROOT / "qa" / "py.typed").is_file()
    assert '"py.typed"' in (ROOT / "pyproject.toml").read_text()


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"^### Python\n.*?^```python\n(.*?)^```", text, re.S | re.M)
    assert found, "README has no ### Python section with a python code block"
    return found.group(1)


@pytest.mark.slow
def test_readme_example_runs(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "qa" / "sample_corpus", tmp_path / "articles")
    (tmp_path / "example.py").write_text(readme_example())
    r = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=900, env=qa_env(tmp_path / "unused"))
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert lines[0] == "5 articles added"
    assert lines[1].startswith("September (score ")
    assert lines[2].startswith("[1] ") and "September" in lines[2]
