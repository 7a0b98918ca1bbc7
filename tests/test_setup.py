"""Set-up leaves a venv that starts fast (issue 18): every run-time module is byte-compiled.

Where PYTHONDONTWRITEBYTECODE is set (this machine, many containers and CI images) Python never writes a .pyc,
so a module without an up-to-date one is compiled from source on every start: a clean clone's `agora run` took
7.5-8.8 s instead of 2-3 s because uv, which scripts/setup.sh installs with, does not byte-compile. The first test
checks the venv the tests run in (in CI, the one `scripts/setup.sh --dev` just made); the second runs the part of
scripts/setup.sh that compiles Agora's own modules, in a copy of them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
# Agora's top-level packages (pyproject.toml: [tool.setuptools.packages.find]; `agora` lives in simulator/)
PACKAGES = ("simulator", "agents", "mechanisms", "api")
# scripts/setup.sh skips the packages' own test folders: nothing imports them at run time
TEST_FOLDER = re.compile(r"/tests?/")


def run_time_distributions() -> set[str]:
    """Agora's run-time dependencies and theirs, recursively (no extras), by canonical name."""
    seen: set[str] = set()
    todo = ["agora"]
    while todo:
        name = todo.pop()
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # a requirement whose marker does not apply here is not installed
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            canonical = re.sub(r"[-_.]+", "-", requirement.name).lower()
            if canonical not in seen:
                seen.add(canonical)
                todo.append(canonical)
    return seen


def is_compiled(source: Path) -> bool:
    """Whether ``source`` has a .pyc that Python would load as it is (PEP 552 header: flags, then the source's
    mtime and size for a timestamp-checked one; a hash-checked one is taken as up to date)."""
    try:
        header = Path(importlib.util.cache_from_source(str(source))).read_bytes()[:16]
    except OSError:
        return False
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
        return False
    if int.from_bytes(header[4:8], "little") != 0:
        return True
    stat = source.stat()
    return (int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF)


def test_every_run_time_module_of_this_venv_is_byte_compiled():
    names = run_time_distributions()
    assert {"mesa", "numpy", "pandas", "scipy", "pydantic", "typer"} <= names  # the walk found the dependencies
    missing: dict[str, list[str]] = {}
    checked = 0
    for name in sorted(names):
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in distribution.files or []:
            if file.suffix != ".py" or TEST_FOLDER.search("/" + file.as_posix()) or file.parts[0] == "..":
                continue
            path = Path(file.locate())
            if path.exists():
                checked += 1
                if not is_compiled(path):
                    missing.setdefault(name, []).append(file.as_posix())
    assert checked > 1000, checked
    assert not missing, "not byte-compiled (run scripts/setup.sh): " + "; ".join(
        f"{name}: {len(files)} files, e.g. {files[0]}" for name, files in missing.items())


def test_setup_script_byte_compiles_agoras_own_modules(tmp_path):
    """scripts/setup.sh on an installed venv (its stamp up to date) compiles the repo's packages and nothing more."""
    (tmp_path / "scripts").mkdir()
    for name in ("pyproject.toml", "scripts/setup.sh"):
        shutil.copy(ROOT / name, tmp_path / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    # the stamp of an install already done: setup.sh skips installing (no network) and only compiles
    stamp = hashlib.sha256((tmp_path / "pyproject.toml").read_bytes() + (tmp_path / "scripts/setup.sh").read_bytes())
    (tmp_path / ".venv" / ".setup-stamp-run").write_text(stamp.hexdigest() + "\n")
    sources = [path for package in PACKAGES for path in (tmp_path / package).rglob("*.py")]
    assert len(sources) > 50 and not any(map(is_compiled, sources))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "installing" not in done.stdout, done.stdout  # the stamp held: nothing was installed
    assert [path.relative_to(tmp_path).as_posix() for path in sources if not is_compiled(path)] == []
