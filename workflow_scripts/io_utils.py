"""Small file helpers shared by every stage: atomic outputs, (b)gzip-aware reading, checksums."""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from workflow_scripts.cli import InputError

GZIP_MAGIC = b"\x1f\x8b"
UMASK = os.umask(0o022)
os.umask(UMASK)


def remove_stale_temporaries(dest: Path) -> None:
    """Delete what a killed earlier writer of ``dest`` left: ``.{name}.XXXXXXXX.tmp*`` beside it
    (Snakemake runs one job per output at a time, so nobody else is writing them)."""
    pattern = re.compile(rf"^\.{re.escape(dest.name)}\.[a-z0-9_]{{8}}\.tmp")
    if dest.parent.is_dir():
        for stale in dest.parent.iterdir():
            if pattern.match(stale.name):
                shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(dest: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; rename it onto ``dest`` only if the block succeeds.

    A killed or failed job therefore never leaves a file at ``dest`` that a rerun would accept,
    and the temporaries a killed job left (a multi-GB ``.tmp.h5``, say) are removed by the next
    writer. ``suffix`` keeps an extension on the temporary name for tools that look at it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=f".tmp{suffix}", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~UMASK)      # mkstemp makes 0600 files; outputs get the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(dest: str | Path) -> Iterator[Path]:
    """Like :func:`atomic_output` for a directory of outputs."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        yield tmp
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def is_gzipped(path: str | Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a plain, gzip or bgzip text file for reading (decided by content, not name)."""
    if is_gzipped(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def md5sum(path: str | Path, block: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def read_meta(meta_path: str | Path) -> dict:
    """A trained model's ``model.json`` (workflow_scripts/inference/model_files.py)."""
    try:
        return json.loads(Path(meta_path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{meta_path}: not a readable model.json ({err})") from None
