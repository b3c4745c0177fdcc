"""Shared command-line plumbing: logging to the rule's log file and clear errors for bad input.

Every stage's ``main`` is wrapped by :func:`run`. An :class:`InputError` (bad user input: a
malformed line, a missing file, an unsafe name) ends the job with a one-line message that names
the file and line, never a traceback; anything else is a bug and keeps its traceback, which is
written to the rule's log file too.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

log = logging.getLogger("seq2reg")


class InputError(Exception):
    """Bad user input. The message must say which file (and line) and what is wrong."""


def located(path: str | Path, line_number: int | None, message: str, line: str | None = None) -> InputError:
    """An InputError that names ``path:line_number`` and quotes the offending line."""
    where = f"{path}:{line_number}" if line_number is not None else str(path)
    quoted = "" if line is None else "\n  line: " + repr(line.rstrip("\r\n"))
    return InputError(f"{where}: {message}{quoted}")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--log", help="also write the log to this file")
    return p


def json_arg(text: str):
    """argparse type for parameters passed by a rule as a JSON string."""
    return json.loads(text)


def setup_logging(log_file: str | None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a"))
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run(main: Callable[[argparse.Namespace], None], p: argparse.ArgumentParser,
        argv: Sequence[str] | None = None) -> None:
    """Parse arguments, set up logging and run ``main``; InputError -> message and exit 2."""
    args = p.parse_args(argv)
    setup_logging(getattr(args, "log", None))
    try:
        main(args)
    except InputError as err:
        log.error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except Exception:
        log.exception("failed with an unexpected error (a bug: please report it with this log)")
        sys.exit(1)
