"""Stage ``download``: fetch one file (http, https, ftp, file:// or a local path) into the cache.

The file is written to ``{dest}.part`` and renamed onto ``dest`` only after it is verified:
its size against the server's Content-Length (or FTP SIZE) and its md5 when one is given.
A killed or failed job therefore never leaves a file that a rerun would accept; a rerun resumes
the ``.part`` file where the server allows byte ranges.

Retries with exponential back-off cover connection errors, resets, truncated bodies, read
time-outs, stalled transfers (less than ``min_rate`` bytes/s over ``stall_seconds``) and HTTP 5xx,
408 and 429. Other HTTP errors (404, 403, ...) and md5 mismatches fail at once with a clear error.
"""
from __future__ import annotations

import ftplib
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import requests
import urllib3

from workflow_scripts import cli
from workflow_scripts.cli import InputError
from workflow_scripts.io_utils import md5sum
from workflow_scripts.sample_sheets import local_path

log = cli.log.getChild("download")
RETRY_STATUS = {408, 429, 500, 502, 503, 504}
BLOCK = 1 << 16


class TransientError(Exception):
    """A failure worth retrying (network trouble, server overload, truncated transfer)."""


class Progress:
    """Logs progress of a long transfer every ``every`` seconds and watches for stalls."""

    def __init__(self, url: str, total: int | None, start: int, stall_seconds: float,
                 min_rate: float, every: float = 10.0):
        self.url, self.total, self.done, self.every = url, total, start, every
        self.stall_seconds, self.min_rate = stall_seconds, min_rate
        self.t0 = self.last_log = self.window_t = time.monotonic()
        self.window_bytes = 0

    def add(self, n: int) -> None:
        self.done += n
        self.window_bytes += n
        now = time.monotonic()
        if now - self.window_t >= self.stall_seconds:
            rate = self.window_bytes / (now - self.window_t)
            if rate < self.min_rate:
                raise TransientError(f"transfer stalled ({rate:.0f} B/s over "
                                     f"{now - self.window_t:.0f} s, minimum {self.min_rate:.0f} B/s)")
            self.window_t, self.window_bytes = now, 0
        if now - self.last_log >= self.every:
            self.last_log = now
            pct = f" ({100 * self.done / self.total:.1f} %)" if self.total else ""
            log.info("%s: %.1f MB%s at %.1f MB/s", self.url, self.done / 1e6, pct,
                     self.done / 1e6 / max(now - self.t0, 1e-9))


def _http_attempt(url: str, part: Path, timeout: float, stall_seconds: float,
                  min_rate: float) -> int | None:
    """One HTTP(S) attempt, resuming ``part``; returns the expected total size (None: unknown)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Accept-Encoding": "identity"}          # the file's own bytes, never re-encoded
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with requests.get(url, headers=headers, stream=True, timeout=(timeout, timeout),
                          allow_redirects=True) as r:
            if r.status_code == 416 and have:      # range past the end: start again
                part.unlink()
                raise TransientError("server refused the resume range")
            if r.status_code in RETRY_STATUS:
                raise TransientError(f"HTTP {r.status_code} {r.reason}")
            if r.status_code >= 400:
                raise InputError(f"{url}: HTTP {r.status_code} {r.reason}")
            resumed = r.status_code == 206
            if have and not resumed:
                have = 0                            # server ignored the range: full body follows
            length = r.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            progress = Progress(url, total, have, stall_seconds, min_rate)
            with open(part, "ab" if resumed else "wb") as out:
                while chunk := r.raw.read1(BLOCK, decode_content=False):   # what has arrived
                    out.write(chunk)
                    progress.add(len(chunk))
            return total
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
            urllib3.exceptions.HTTPError, OSError) as err:
        raise TransientError(f"{type(err).__name__}: {err}") from None


def _ftp_attempt(url: str, part: Path, timeout: float, stall_seconds: float,
                 min_rate: float) -> int | None:
    """One FTP attempt, resuming ``part`` with REST; returns the server's SIZE if it has one."""
    u = urlparse(url)
    have = part.stat().st_size if part.exists() else 0
    try:
        with ftplib.FTP(timeout=timeout) as ftp:
            ftp.connect(u.hostname, u.port or 21)
            ftp.login(u.username or "anonymous", u.password or "anonymous@")
            ftp.voidcmd("TYPE I")
            try:
                total = ftp.size(u.path)
            except ftplib.error_perm:
                total = None
            progress = Progress(url, total, have, stall_seconds, min_rate)
            with open(part, "ab") as out:
                def write(block: bytes) -> None:
                    out.write(block)
                    progress.add(len(block))
                ftp.retrbinary(f"RETR {u.path}", write, blocksize=BLOCK, rest=have or None)
            return total
    except ftplib.error_perm as err:
        raise InputError(f"{url}: FTP error {err}") from None
    except (OSError, EOFError, ftplib.error_temp, ftplib.error_reply) as err:
        raise TransientError(f"{type(err).__name__}: {err}") from None


def fetch(url: str, dest: str | Path, *, md5: str | None = None, retries: int = 5,
          backoff: float = 2.0, timeout: float = 60.0, stall_seconds: float = 60.0,
          min_rate: float = 1024.0) -> Path:
    """Download ``url`` to ``dest``; ``dest`` appears only once the file is complete and verified."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    source = local_path(url)
    if source is not None:
        if not source.is_file():
            raise InputError(f"{url}: no such file")
        shutil.copyfile(source, part)
    else:
        attempt = _ftp_attempt if urlparse(url).scheme == "ftp" else _http_attempt
        for tries in range(1, retries + 2):
            try:
                total = attempt(url, part, timeout, stall_seconds, min_rate)
                size = part.stat().st_size
                if total is not None and size != total:
                    raise TransientError(f"received {size} of {total} bytes")
                break
            except TransientError as err:
                if tries > retries:
                    part.unlink(missing_ok=True)
                    raise InputError(f"{url}: download failed after {tries} attempts: {err}") from None
                wait = backoff * 2 ** (tries - 1)
                log.warning("%s: attempt %d failed (%s); retrying in %.1f s", url, tries, err, wait)
                time.sleep(wait)
            except InputError:
                part.unlink(missing_ok=True)
                raise
    if md5:
        got = md5sum(part)
        if got != md5.lower():
            part.unlink(missing_ok=True)
            raise InputError(f"{url}: md5 mismatch: expected {md5.lower()}, got {got}")
    part.replace(dest)
    log.info("%s -> %s (%d bytes)", url, dest, dest.stat().st_size)
    return dest


def main(args) -> None:
    fetch(args.url, args.output, md5=args.md5, retries=args.retries, backoff=args.backoff,
          timeout=args.timeout, stall_seconds=args.stall_seconds, min_rate=args.min_rate)


def build_parser():
    p = cli.parser("Download one file into the download cache, verified and atomic.")
    p.add_argument("--url", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--md5")
    p.add_argument("--retries", type=int, default=5)
    p.add_argument("--backoff", type=float, default=2.0, help="first retry wait in seconds (doubles)")
    p.add_argument("--timeout", type=float, default=60.0, help="connect and read time-out (s)")
    p.add_argument("--stall-seconds", type=float, default=60.0)
    p.add_argument("--min-rate", type=float, default=1024.0, help="bytes/s below which a transfer stalls")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
