"""The conda environments of envs/ pin the same versions as requirements.txt."""
from __future__ import annotations

import re

import yaml

from conftest import ROOT


def pins(lines):
    return {m.group(1).lower().replace("_", "-"): m.group(2)
            for m in (re.match(r"\s*-?\s*([A-Za-z0-9_.-]+)==([^\s#]+)", line) for line in lines) if m}


def test_conda_environments_match_the_pip_pins():
    wanted = pins((ROOT / "requirements.txt").read_text().splitlines())
    for env in sorted((ROOT / "envs").glob("*.yaml")):
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
        got = pins(pip)
        assert got, env
        for name, version in got.items():
            assert wanted.get(name) == version, f"{env.name}: {name}=={version}, requirements.txt has {wanted.get(name)}"
