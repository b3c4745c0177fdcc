"""Downloads against a real HTTP server on loopback that injects faults.

Fault cases (12); each ends with the right file or with a clear error and no output file:

 1. plain success, md5 verified
 2. connection reset in the middle of the body -> retried, resumed with a Range request
 3. HTTP 500 twice, then success -> retried with back-off
 4. truncated body under a correct Content-Length (connection closed early) -> resumed
 5. a body that is always truncated -> error after the retries, no file
 6. wrong md5 -> error, no file (nor a partial file)
 7. a slow trickle past the stall time-out -> error after the retries, no file
 8. a redirect (302) -> followed
 9. 404 -> error at once (not retried), no file
10. a server that ignores Range and resends everything -> the part file restarts cleanly
11. a killed earlier run left a .part file -> resumed, and a stale .part never becomes the output
12. file:// URLs and local paths -> copied and verified; an unsupported scheme is refused
"""
from __future__ import annotations

import hashlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workflow_scripts.cli import InputError
from workflow_scripts.download import fetch

BODY = bytes(range(256)) * 4096          # 1 MiB
MD5 = hashlib.md5(BODY).hexdigest()


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: dict[str, int] = {}
        self.ranges: list[str] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802
        srv: FaultServer = self.server
        case = self.path.strip("/").split("?")[0]
        n = srv.hits[case] = srv.hits.get(case, 0) + 1
        start = 0
        rng = self.headers.get("Range")
        if rng:
            srv.ranges.append(f"{case}:{rng}")
            start = int(rng.split("=")[1].split("-")[0])
        if case == "redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.end_headers()
            return
        if case == "missing":
            self.send_error(404, "Not Found")
            return
        if case == "error500" and n <= 2:
            self.send_error(500, "Internal Server Error")
            return
        if case == "ignore_range":
            start = 0
        body = BODY[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if case in ("reset", "truncated") and n == 1 or case == "always_truncated":
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            if case == "reset":  # RST instead of FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            return
        if case == "trickle":
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(0.2)
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = FaultServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


FAST = dict(backoff=0.05, timeout=2.0, stall_seconds=0.5, min_rate=1000, retries=3)


def leftovers(dest):
    return sorted(p.name for p in dest.parent.iterdir())


def test_success_with_md5(server, tmp_path):
    srv, base = server
    out = fetch(f"{base}/ok", tmp_path / "f", md5=MD5, **FAST)
    assert out.read_bytes() == BODY and leftovers(out) == ["f"]


@pytest.mark.parametrize("case", ["reset", "truncated"])
def test_broken_transfer_is_resumed_with_a_range(server, tmp_path, case):
    srv, base = server
    out = fetch(f"{base}/{case}", tmp_path / "f", md5=MD5, **FAST)
    assert out.read_bytes() == BODY
    assert srv.hits[case] == 2 and srv.ranges and srv.ranges[0].startswith(f"{case}:bytes=")


def test_server_errors_are_retried(server, tmp_path):
    srv, base = server
    assert fetch(f"{base}/error500", tmp_path / "f", md5=MD5, **FAST).read_bytes() == BODY
    assert srv.hits["error500"] == 3


def test_always_truncated_fails_cleanly(server, tmp_path):
    srv, base = server
    with pytest.raises(InputError, match=r"always_truncated: download failed after 4 attempts"):
        fetch(f"{base}/always_truncated", tmp_path / "f", **FAST)
    assert leftovers(tmp_path / "f") == []


def test_wrong_md5_fails_and_leaves_nothing(server, tmp_path):
    srv, base = server
    with pytest.raises(InputError, match=r"md5 mismatch: expected 0{32}, got " + MD5):
        fetch(f"{base}/ok", tmp_path / "f", md5="0" * 32, **FAST)
    assert leftovers(tmp_path / "f") == []


def test_slow_trickle_times_out(server, tmp_path):
    srv, base = server
    t0 = time.time()
    with pytest.raises(InputError, match=r"stalled"):
        fetch(f"{base}/trickle", tmp_path / "f", **{**FAST, "retries": 1})
    assert time.time() - t0 < 10 and leftovers(tmp_path / "f") == []


def test_redirect_is_followed(server, tmp_path):
    srv, base = server
    assert fetch(f"{base}/redirect", tmp_path / "f", md5=MD5, **FAST).read_bytes() == BODY


def test_404_fails_at_once(server, tmp_path):
    srv, base = server
    with pytest.raises(InputError, match=r"missing: HTTP 404"):
        fetch(f"{base}/missing", tmp_path / "f", **FAST)
    assert srv.hits["missing"] == 1 and leftovers(tmp_path / "f") == []


def test_server_ignoring_range_restarts_the_part_file(server, tmp_path):
    srv, base = server
    (tmp_path / "f.part").write_bytes(b"garbage from an older run")
    out = fetch(f"{base}/ignore_range", tmp_path / "f", md5=MD5, **FAST)
    assert out.read_bytes() == BODY


def test_part_file_of_a_killed_run_is_resumed(server, tmp_path):
    srv, base = server
    (tmp_path / "f.part").write_bytes(BODY[:1000])
    out = fetch(f"{base}/ok", tmp_path / "f", md5=MD5, **FAST)
    assert out.read_bytes() == BODY and srv.ranges == ["ok:bytes=1000-"]


def test_local_sources_and_refused_schemes(tmp_path):
    src = tmp_path / "src.bed"
    src.write_bytes(BODY)
    assert fetch(f"file://{src}", tmp_path / "a", md5=MD5).read_bytes() == BODY
    assert fetch(str(src), tmp_path / "b", md5=MD5).read_bytes() == BODY
    with pytest.raises(InputError, match="no such file"):
        fetch(str(tmp_path / "nope.bed"), tmp_path / "c")
    with pytest.raises(InputError, match="unsupported URL scheme 's3'"):
        fetch("s3://bucket/key", tmp_path / "d")
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()
