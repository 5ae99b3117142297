"""Output folders written whole or not at all, under a lock, never touching a file a run did not write.

Used by every writer of a folder: results of ``run``, ``compare`` and ``sweep`` (and ``res.write``),
and ``dataset build`` (docs/model.md, "Outputs").

How a folder is written (:func:`write_folder`):

1. The target is checked first: an empty name, a file, a dataset folder (``dataset.toml``) or
   a folder holding scenario files (``*.toml``) is refused.
2. The folder is locked (``flock`` on the folder itself; a second run waits for the first).
   Staging folders that a killed run left behind are removed.
3. Every file is written into a staging folder *inside* the target, so the final moves are
   renames on one file system (a mount point or a symlink to another disk works).
4. The swap: the manifest ``.tradesim-manifest.json`` first records the union of the old and
   new files (so an interrupted swap leaves nothing unaccounted for); the marker file
   (``run.json`` for results, ``dataset.toml`` for a dataset) is removed, then the old run's
   files that this run does not write; the new files are renamed into place with the marker
   last; the manifest then lists the new files only. A folder with its marker is always one
   whole run; a folder without it was interrupted and the next run into it finishes the cleanup.

Files the manifest does not list are never removed or overwritten: a new output whose name
is taken by such a file is refused (exit 2) before anything moves. Results folders written by
tradesim before the manifest existed (a ``run.json`` from tradesim, no manifest) have the
outputs this run replaces adopted as the run's own.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .errors import InputError, Problem

__all__ = ["write_folder", "check_target", "MANIFEST", "STAGING_PREFIX", "LOCK_WAIT_SECONDS"]

MANIFEST = ".tradesim-manifest.json"
STAGING_PREFIX = ".tradesim-staging-"
#: How long a run waits for another run writing into the same folder before giving up.
LOCK_WAIT_SECONDS = 300.0
#: The file whose presence says the folder holds one whole run: moved in last, removed first.
MARKERS = {"results": "run.json", "dataset": "dataset.toml"}
#: How many names a refusal lists before "and N more".
SHOWN = 10

T = TypeVar("T")

_replace = os.replace  # every move of the swap goes through here (tests slow it down or make it fail)


def write_folder(target: str | Path, write: Callable[[Path], T], kind: str = "results", force: bool = False,
                 option: str = "--out") -> T:
    """Write a folder with ``write(staging)`` and swap the files it made into ``target`` under a lock.

    Parameters
    ----------
    target
        The folder to write (created with its parents if missing).
    write
        Writes every file into the staging folder it is given; may return a value (passed on).
    kind
        ``"results"`` (run, compare, sweep) or ``"dataset"`` (``dataset build``). A dataset is
        written only into a missing or empty folder, or with ``force`` over a folder that an
        earlier build wrote (it carries the build's manifest), which is then replaced whole.
    force
        See ``kind``.
    option
        The option or argument that named ``target``, for messages.

    Returns
    -------
    What ``write`` returned.

    Raises
    ------
    InputError
        The target is refused (one problem per reason), or another run holds it too long.
    OSError
        The folder cannot be created or written (disk full, read-only, ...): nothing moved.
    """
    check_target(target, kind, option)
    target = Path(target)
    created = _make_folder(target)
    try:
        with _locked(target, option):
            _remove_stale_staging(target)
            old = _read_manifest(target, kind)
            _check_dataset_target(target, old, kind, force, option)
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target))
            try:
                outcome = write(staging)
                new_files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
                owned = _owned_files(target, old, new_files, kind)
                _refuse_clashes(target, owned, new_files, option)
                _swap(target, staging, owned, new_files, old.get("dirs", []) if old else [], kind)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        for folder in reversed(created):  # a first run that fails leaves no folder behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return outcome


def check_target(target: str | Path, kind: str = "results", option: str = "--out") -> None:
    """Refuse a target folder that no run may write into; see :func:`write_folder`.

    Raises
    ------
    InputError
        An empty name, an existing file, a dataset folder, or a folder holding scenario files.
    """
    if str(target).strip() == "":
        raise InputError([Problem(option, "", "is empty: name the folder to write (an unset shell variable?)")])
    target = Path(target)
    try:
        target.exists()
    except (OSError, ValueError) as exc:  # a name too long, a folder on the way that cannot be searched, a NUL
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError([Problem(str(target)[:200], option, f"cannot be used as a folder: {why}")]) from None
    if target.exists() and not target.is_dir():
        raise InputError([Problem(str(target), option, "is a file, not a folder")])
    if not target.is_dir():
        return
    if kind == "results" and (target / "dataset.toml").exists():
        raise InputError([Problem(str(target), option, "is a dataset folder (it has dataset.toml): results would "
                                  "overwrite its tables; choose another folder")])
    scenarios = sorted(p.name for p in target.glob("*.toml")) if kind == "results" else []
    if scenarios:
        raise InputError([Problem(str(target), option, f"holds scenario files ({_names(scenarios)}): choose a "
                                  "folder of its own for results")])


def _make_folder(target: Path) -> list[Path]:
    """Create ``target`` and missing parents; return the folders created, outermost first."""
    missing = []
    folder = target.absolute()
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a folder")
    missing.reverse()
    created = []
    for path in missing:
        try:
            path.mkdir()
            created.append(path)
        except FileExistsError:  # another run made it just now: not ours to remove
            if not path.is_dir():
                raise
    return created


@contextlib.contextmanager
def _locked(target: Path, option: str):
    """Hold an exclusive lock on the folder itself (POSIX flock; no lock where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, documented
        yield
        return
    fd = os.open(target, os.O_RDONLY)
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InputError([Problem(str(target), option, f"another tradesim run has been writing into "
                                              f"this folder for over {LOCK_WAIT_SECONDS:.0f} s; try again, or "
                                              "choose another folder")]) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _remove_stale_staging(target: Path) -> None:
    """Under the lock no other run stages here: any staging folder is a killed run's."""
    for stale in target.glob(STAGING_PREFIX + "*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)


def _read_manifest(target: Path, kind: str) -> dict | None:
    path = target / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files, dirs = manifest["files"], manifest.get("dirs", [])
        if manifest.get("tool") != "tradesim" or not _names_list(files) or not _names_list(dirs):
            raise ValueError
        # a hand-edited "../x" (or a name through a symlink out of the folder) never names a file of ours
        manifest["files"] = [f for f in files if _inside(target, f)]
        manifest["dirs"] = [d for d in dirs if _inside(target, d)]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError, OSError):
        raise InputError([Problem(str(path), "", "is not a tradesim manifest that can be read: remove it only if "
                                  "no tradesim output is in this folder")]) from None
    if manifest.get("kind", "results") != kind:
        what = "a dataset" if manifest.get("kind") == "dataset" else "results"
        raise InputError([Problem(str(target), "", f"holds {what} written by tradesim: choose another folder")])
    return manifest


def _names_list(value) -> bool:
    """A list of plain relative names (no NUL), as a manifest holds."""
    return isinstance(value, list) and all(isinstance(v, str) and v and "\0" not in v for v in value)


def _inside(target: Path, name: str) -> bool:
    """``name`` is a plain relative path that stays inside ``target`` (symlinks followed)."""
    parts = Path(name).parts
    if not parts or Path(name).is_absolute() or ".." in parts:
        return False
    return (target / name).resolve().is_relative_to(target.resolve())


def _check_dataset_target(target: Path, old: dict | None, kind: str, force: bool, option: str) -> None:
    if kind != "dataset":
        return
    present = sorted(p.relative_to(target).as_posix() for p in target.rglob("*")
                     if (p.is_file() or p.is_symlink()) and p.name != MANIFEST and not _in_staging(p, target))
    if not present:
        return
    if not force:
        raise InputError([Problem(str(target), option, "is not empty: choose a new folder (--force replaces a "
                                  "dataset that an earlier 'dataset build' wrote there)")])
    if old is None:
        raise InputError([Problem(str(target), option, "was not written by 'dataset build' (it has no build "
                                  "manifest): --force replaces only a folder an earlier build wrote")])
    foreign = sorted(set(present) - set(old["files"]))
    if foreign:
        raise InputError([Problem(str(target), option, f"holds files the earlier build did not write "
                                  f"({_names(foreign)}): move them away before --force replaces the dataset")])


def _in_staging(path: Path, target: Path) -> bool:
    return path.relative_to(target).parts[0].startswith(STAGING_PREFIX)


def _owned_files(target: Path, old: dict | None, new_files: list[str], kind: str) -> list[str]:
    """The files in ``target`` that tradesim wrote: the manifest's, or a pre-manifest tradesim run's outputs."""
    if old is not None:
        return list(old["files"])
    run_json = target / "run.json"
    if kind == "results" and run_json.is_file():
        try:
            legacy = json.loads(run_json.read_text(encoding="utf-8")).get("tool") == "tradesim"
        except (ValueError, UnicodeDecodeError, AttributeError):
            legacy = False
        if legacy:  # written before manifests: what this run replaces was written by tradesim
            return [name for name in new_files if (target / name).is_file()]
    return []


def _refuse_clashes(target: Path, owned: list[str], new_files: list[str], option: str) -> None:
    """A new output whose name a file (or folder) that tradesim did not write already has is refused."""
    owned = set(owned)
    clashes, blocked, outside = [], [], []
    for name in new_files:
        path = target / name
        parents = _parents(name)
        if any((target / p).is_symlink() or not _inside(target, p) for p in parents):
            outside.append(name)  # a linked subfolder: the file would land outside the folder
        elif any((target / p).exists() and not (target / p).is_dir() for p in parents):
            blocked.append(name)
        elif name not in owned and (path.exists() or path.is_symlink()):
            clashes.append(name)
    problems = []
    if clashes:
        problems.append(Problem(str(target), option, f"already holds {_names(clashes)}, not written by a tradesim "
                                "run: nothing was replaced; move them away or choose another folder"))
    if blocked:
        problems.append(Problem(str(target), option, f"has a file where a folder is needed for {_names(blocked)}: "
                                "nothing was replaced; move it away or choose another folder"))
    if outside:
        problems.append(Problem(str(target), option, f"has a linked subfolder, so {_names(outside)} would be "
                                "written outside it: nothing was replaced; remove the link or choose another folder"))
    if problems:
        raise InputError(problems)


def _parents(name: str) -> list[str]:
    parts = name.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _swap(target: Path, staging: Path, owned: list[str], new_files: list[str], old_dirs: list[str],
          kind: str) -> None:
    """Move the staged files into place; the marker goes last and the manifest keeps account throughout."""
    marker = MARKERS[kind]
    needed_dirs = sorted({d for name in new_files for d in _parents(name)})
    created_dirs = [d for d in needed_dirs if not (target / d).is_dir()]
    ours_dirs = sorted(set(old_dirs) | set(created_dirs))
    _write_manifest(target, staging, kind, sorted(set(owned) | set(new_files)), ours_dirs, "writing")
    if marker in owned:  # first: from here until the new marker is in, the folder says it is incomplete
        _remove(target / marker)
    for name in owned:
        if name not in new_files:
            _remove(target / name)
    for d in created_dirs:
        (target / d).mkdir(parents=True, exist_ok=True)
    for name in sorted(new_files, key=lambda n: n == marker):  # the marker last
        _replace(staging / name, target / name)
    kept_dirs = []
    for d in sorted(ours_dirs, key=lambda d: -d.count("/")):
        with contextlib.suppress(OSError):  # a folder of ours that still holds files stays
            if not any((target / d).iterdir()):
                (target / d).rmdir()
                continue
        if (target / d).is_dir():
            kept_dirs.append(d)
    _write_manifest(target, staging, kind, new_files, sorted(kept_dirs), "complete")


def _remove(path: Path) -> None:
    if path.is_file() or path.is_symlink():
        path.unlink()


def _write_manifest(target: Path, staging: Path, kind: str, files: list[str], dirs: list[str], state: str) -> None:
    manifest = {"tool": "tradesim", "kind": kind, "state": state, "files": files, "dirs": dirs,
                "note": "Files tradesim wrote into this folder; a later run replaces only these."}
    tmp = staging / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    _replace(tmp, target / MANIFEST)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
