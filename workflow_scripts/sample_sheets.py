"""Sample sheets: the TSV files that name every peak file a data set is built from.

Format (tab-separated, one header line, ``#`` lines ignored):

=============  ========  =====================================================================
column         required  meaning
=============  ========  =====================================================================
name           yes       sample name; becomes a file name, so only ``[A-Za-z0-9._-]`` (max 128)
category       yes       ``DNase``, ``ATAC`` (both: accessibility), ``TF`` or ``Histone``
url            yes       http(s)://, ftp://, file:// URL or a local path (relative to the
                         working directory)
md5            no        expected md5 of the downloaded file (32 hex digits)
label          no        target name in the outputs (default: ``name``), e.g. DeepSEA's
                         ``GM12878|CTCF|None``; used to match published per-target AUCs
allow_empty    no        ``yes`` if an empty peak file is acceptable for this sample
=============  ========  =====================================================================

Other columns are kept and ignored by the pipeline (the demo sheets carry their design there).
The file is UTF-8 text; a byte-order mark at its start is ignored.

Names are unique. Labels normally are too; a label may repeat only as DeepSEA's feature names do
(``config/hg19/samples_features.tsv`` has 54 such names, e.g. ``K562|CTCF|None`` five times: the
same cell, factor and treatment from different labs): every row with it must give it in the
``label`` column, be of the same category, and have a different URL. Targets with a repeated
label keep their sheet order, and the k-th occurrence is matched with the k-th of the same name
in published AUC tables (``compare.occurrence_key``). Refused, naming both lines: a label that is
also another sample's default label (its name), a label repeated across categories, and a label
repeated with the same URL (one peak file as two targets).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from workflow_scripts.cli import InputError, located

CATEGORIES = ("DNase", "ATAC", "TF", "Histone")
ACCESSIBILITY = ("DNase", "ATAC")       # chromatin accessibility: merged into dhs600 features
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
    sheet: str = field(default="", compare=False, hash=False)     # the sheet it was read from
    line: int = field(default=0, compare=False, hash=False)       # and its line there

    @property
    def source(self) -> str:
        """What the user wrote, for error messages: ``sample N from SHEET:LINE (url URL)``."""
        where = f" from {self.sheet}:{self.line}" if self.sheet else ""
        return f"sample {self.name}{where} (url {self.url})"


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


def _repeated_label(sample: Sample, explicit: bool, other: Sample, other_explicit: bool,
                    other_line: int) -> str | None:
    """Why ``sample`` may not repeat the label of ``other`` (line ``other_line``), or None."""
    label = sample.label
    if not explicit:
        return (f"label {label!r} (this sample's name, as it has no label) is also the label of line "
                f"{other_line}: target names would collide; give one of the two samples another label")
    if not other_explicit:
        return (f"label {label!r} is the name, and so the label, of sample {other.name} on line "
                f"{other_line}: target names would collide; give one of the two samples another label")
    if sample.category != other.category:
        return (f"label {label!r} is already used on line {other_line} for a {other.category} "
                f"sample: a label may repeat only within one category (as DeepSEA's repeated TF "
                f"features do); give this {sample.category} sample another label")
    if sample.url == other.url:
        return (f"label {label!r} and url repeat line {other_line}: the same peak file would be two "
                f"targets; remove one of the two rows")
    return None


def read_sample_sheet(path: str | Path) -> list[Sample]:
    """Read and validate a sample sheet; every problem names the file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: sample sheet not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")                  # -sig: a leading byte-order mark is dropped
    except UnicodeDecodeError as err:
        number = raw[:err.start].count(b"\n") + 1
        raise located(path, number, "not UTF-8 text: save the sample sheet as UTF-8 (tab-separated "
                                    "text)") from None
    lines = text.splitlines()
    header: list[str] | None = None
    samples: list[Sample] = []
    seen: dict[str, int] = {}
    labels: dict[str, list[tuple[int, Sample, bool]]] = {}      # label -> (line, sample, explicit)
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
        sample = Sample(name=name, category=row["category"], url=row["url"],
                        md5=md5.lower() if md5 else None, label=row.get("label") or name,
                        allow_empty=_truthy(row.get("allow_empty", "")), extra=extra,
                        sheet=str(path), line=number)
        explicit = bool(row.get("label"))
        for other_line, other, other_explicit in labels.get(sample.label, []):
            problem = _repeated_label(sample, explicit, other, other_explicit, other_line)
            if problem:
                raise located(path, number, problem, line)
        labels.setdefault(sample.label, []).append((number, sample, explicit))
        samples.append(sample)
    if not samples:
        raise InputError(f"{path}: sample sheet has no samples")
    return samples
