"""The supply chain (issue 20, point 8): what is installed is what was locked.

`make venv` (and so CI) installs from requirements-dev.lock and the image from requirements.lock,
each package at its locked version and every file checked against its locked hashes (pip's
hash-checking mode refuses anything unpinned or unhashed, a dependency's dependency included).
Here: the locks hold every dependency pyproject.toml names, at a version it allows, with
hashes; the two agree; and the Makefile and the Dockerfile install from them and nothing else.
A dependency added to pyproject.toml without `make lock` fails here before it fails a build.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.docker import instructions

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"

_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Locked:
    version: str
    hashes: int


def read_lock(path: Path) -> dict[str, Locked]:
    """A pip-compile lock: each `name==version \\` line, with the `--hash` lines under it."""
    entries: dict[str, Locked] = {}
    name = version = None
    hashes = 0
    for line in [*path.read_text().splitlines(), "end==0"]:
        entry = _ENTRY.match(line)
        if entry:
            if name is not None and version is not None:
                entries[name] = Locked(version, hashes)
            name, version, hashes = canonicalize_name(entry[1]), entry[2], 0
        else:
            hashes += len(_HASH.findall(line))
    return entries


def declared(*groups: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    for group in groups:
        requirements += [Requirement(text) for text in project["optional-dependencies"][group]]
    build = [Requirement(text) for text in PYPROJECT["build-system"]["requires"]]
    return requirements + build


@pytest.mark.parametrize(
    ("lock", "groups"), [(LOCK, ()), (DEV_LOCK, ("dev",))], ids=["image", "make and CI"]
)
def test_every_dependency_is_locked_at_an_allowed_version_with_its_hashes(
    lock: Path, groups: tuple[str, ...]
) -> None:
    entries = read_lock(lock)
    assert entries, f"{lock.name} holds no locked package"
    unhashed = sorted(name for name, entry in entries.items() if entry.hashes == 0)
    assert unhashed == [], f"{lock.name}: locked without a hash"
    for requirement in declared(*groups):
        entry = entries.get(canonicalize_name(requirement.name))
        assert entry is not None, f"{requirement.name} is not in {lock.name}: run `make lock`"
        assert requirement.specifier.contains(entry.version, prereleases=True), (
            f"{lock.name} locks {requirement.name} {entry.version}, but pyproject.toml asks for "
            f"{requirement.specifier}: run `make lock`"
        )


def test_the_image_and_ci_lock_the_same_versions() -> None:
    image, ci = read_lock(LOCK), read_lock(DEV_LOCK)
    differ = {
        name: (entry.version, ci[name].version if name in ci else None)
        for name, entry in image.items()
        if name not in ci or ci[name].version != entry.version
    }
    assert differ == {}, "requirements-dev.lock is made with -c requirements.lock"


def test_make_and_the_image_install_from_the_locks_in_hash_checking_mode() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(STAMP): ", 1)[1].split("\n\n", 1)[0]
    installs = [line.strip() for line in recipe.splitlines() if "pip install" in line]
    assert installs[0].endswith("--require-hashes -r requirements-dev.lock"), installs
    assert all("--no-deps" in line for line in installs[1:]), installs

    runs = [" ".join(command.value) for command in instructions("RUN")]
    pip = [part.strip() for run in runs for part in run.split("&&") if "pip install" in part]
    assert pip[0] == "pip install --require-hashes -r requirements.lock", pip
    assert all("--no-deps" in part and "--no-build-isolation" in part for part in pip[1:]), pip
    assert "make venv" in (ROOT / ".ci" / "run").read_text()
