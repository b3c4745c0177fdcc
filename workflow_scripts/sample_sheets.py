"""Sample sheets: the TSV files that name every peak file a data set is built from.

Format (tab-separated, one header line, ``#`` lines ignored):

=============  ========  =====================================================================
column         required  meaning
=============  ========  =====================================================================
name           yes       sample name; becomes a file name, so only ``[A-Za-z0-9._-]`` (max 128)
category       yes       ``DNase``, ``TF`` or ``Histone``
url            yes       http(s)://, ftp://, file:// URL or a local path (relative to the
                         working directory)
md5            no        expected md5 of the downloaded file (32 hex digits)
label          no        target name in the outputs (default: ``name``), e.g. DeepSEA's
                         ``GM12878|CTCF|None``; used to match published per-target AUCs
allow_empty    no        ``yes`` if an empty peak file is acceptable for this sample
=============  ========  =====================================================================

Other columns are kept and ignored by the pipeline (the demo sheets carry their design there).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from workflow_scripts.cli import InputError, located

CATEGORIES = ("DNase", "TF", "Histone")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
REMOTE_SCHEMES = ("http", "https", "ftp")
REQUIRED = ("name", "category", "url")


@dataclass(frozen=True)
class Sample:
    name: str
    category: str
    url: str
    md5: str | None = None
    label: str = ""
    allow_empty: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def check_safe_name(name: str, where: str = "") -> str:
    """Refuse names that could escape a directory or confuse a shell."""
    if not SAFE_NAME.match(name) or ".." in name:
        raise InputError(f"{where}unsafe sample name {name!r}: use only letters, digits, "
                         f"'.', '_' and '-' (at most 128, not starting with '.' or '-', no '..')")
    return name


def url_kind(url: str) -> str:
    """'remote' (http/https/ftp), 'file' (file:// URL) or 'local' (a path); else InputError."""
    parsed = urlparse(url)
    if parsed.scheme in REMOTE_SCHEMES:
        if not parsed.netloc:
            raise InputError(f"URL {url!r} has no host")
        return "remote"
    if parsed.scheme == "file":
        return "file"
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and url[1:3] in (":\\", ":/")):
        if not url.strip():
            raise InputError("empty URL")
        return "local"
    raise InputError(f"unsupported URL scheme {parsed.scheme!r} in {url!r}: "
                     f"use http, https, ftp, file:// or a local path")


def local_path(url: str) -> Path | None:
    """The file behind a file:// URL or local path; None for remote URLs."""
    kind = url_kind(url)
    if kind == "file":
        return Path(urlparse(url).path)
    if kind == "local":
        return Path(url)
    return None


def download_key(url: str) -> str:
    """Cache file name for ``url``: its readable base name plus a short hash of the whole URL.

    The same URL in two sheets gets the same key, so it is downloaded once.
    """
    base = Path(urlparse(url).path).name or "download"
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".-")[:80] or "download"
    digest = hashlib.sha1(url.encode()).hexdigest()[:10]
    return f"{digest}_{base}"


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("yes", "true", "1", "y")


def read_sample_sheet(path: str | Path) -> list[Sample]:
    """Read and validate a sample sheet; every problem names the file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: sample sheet not found")
    lines = path.read_text().splitlines()
    header: list[str] | None = None
    samples: list[Sample] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = [c.strip() for c in cells]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise located(path, number, f"header lacks column(s) {', '.join(missing)}", line)
            continue
        if len(cells) != len(header):
            raise located(path, number, f"expected {len(header)} tab-separated cells, found "
                                        f"{len(cells)}", line)
        row = dict(zip(header, (c.strip() for c in cells)))
        try:
            name = check_safe_name(row["name"])
            if row["category"] not in CATEGORIES:
                raise InputError(f"category {row['category']!r} is not one of {', '.join(CATEGORIES)}")
            url_kind(row["url"])
            md5 = row.get("md5") or None
            if md5 and not MD5.match(md5):
                raise InputError(f"md5 {md5!r} is not 32 hex digits")
        except InputError as err:
            raise located(path, number, str(err), line) from None
        if name in seen:
            raise located(path, number, f"sample name {name!r} already used on line {seen[name]}", line)
        seen[name] = number
        extra = {k: v for k, v in row.items()
                 if k not in REQUIRED + ("md5", "label", "allow_empty")}
        samples.append(Sample(name=name, category=row["category"], url=row["url"],
                              md5=md5.lower() if md5 else None, label=row.get("label") or name,
                              allow_empty=_truthy(row.get("allow_empty", "")), extra=extra))
    if not samples:
        raise InputError(f"{path}: sample sheet has no samples")
    return samples
