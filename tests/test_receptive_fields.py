"""Receptive fields of the per-nucleotide models (workflow_scripts/receptive_fields.py): on untrained
smoke-size models, the gradient never leaves the analytic field and the effective field is no wider."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import ROOT, write_toy_dataset
from models import build_model
from workflow_scripts.configuration import model_settings
from workflow_scripts.dataset_layout import build_id
from workflow_scripts.inference import write_trained
from workflow_scripts.receptive_fields import (effective_field, gradient_norms, probe_positions, receptive_fields,
                                               shortest_span)

SMOKE = {**yaml.safe_load((ROOT / "config" / "models.yaml").read_text()), "profile": "smoke"}
LENGTH = 25000


def smoke(name: str, seq_length: int = LENGTH):
    entry = model_settings(SMOKE, name)
    torch.manual_seed(0)
    return build_model(entry["family"], 3, seq_length, **entry["args"]), entry


@pytest.mark.parametrize("name", ["conv3_nuc", "dilated_dilpool", "bilstm_nuc"])
def test_gradient_stays_inside_the_analytic_field_and_the_effective_field_is_narrower(name):
    model, _ = smoke(name)
    codes = np.random.default_rng(0).integers(0, 4, LENGTH).astype(np.uint8)
    at = probe_positions(LENGTH, 3, seed=0)
    outputs = torch.zeros(len(at), LENGTH)
    outputs[torch.arange(len(at)), torch.as_tensor(at)] = 1
    norms = gradient_norms(model, codes, 1, outputs)
    field = model.receptive_field
    for row, position in zip(norms, at):
        reached = np.flatnonzero(row > 0)
        assert len(reached) and reached[-1] - reached[0] + 1 <= field
        assert np.all(np.abs(reached - position) < field)          # zero outside the analytic field
    result = effective_field(model, codes, 1, at)
    assert result.analytic == field and 0 < result.effective <= field
    assert result.share_in_analytic == pytest.approx(1.0)
    if name == "bilstm_nuc":                                         # the whole window, barely used
        assert field == LENGTH and result.effective < field / 2


def test_guptas_dilated_layout_never_joins_neighbouring_chunks_and_the_demo_layout_does():
    """models/dilated.py: with stride 10 and dilations 3/9/27/81 a base in 10 bp chunk j sees only
    chunks j + 3k; the demo profile's stride-1 layout sees every base of its field."""
    length, position = 2000, 1005                                   # chunk 100
    codes = np.random.default_rng(0).integers(0, 4, length).astype(np.uint8)
    outputs = torch.zeros(1, length)
    outputs[0, position] = 1
    paper, _ = smoke("dilated", length)
    chunks = np.flatnonzero(gradient_norms(paper, codes, 1, outputs)[0] > 0) // 10
    offsets = set(np.unique(chunks) - position // 10)
    assert {0, 3, -3} <= offsets and all(k % 3 == 0 for k in offsets)
    demo = build_model("dilated", 3, length, **model_settings({**SMOKE, "profile": "demo"}, "dilated")["args"])
    reached = np.flatnonzero(gradient_norms(demo, codes, 1, outputs)[0] > 0)
    assert len(reached) == demo.receptive_field == 329 and position in reached


def test_shortest_span():
    assert shortest_span(np.array([0, 0, 1, 8, 1, 0, 0.0]), 0.95) == 3
    assert shortest_span(np.array([0, 10, 0, 0, 0, 0, 0.0]), 0.95) == 1
    assert shortest_span(np.array([1, 1, 1, 1.0]), 0.5) == 2
    assert shortest_span(np.zeros(5), 0.95) == 0


def test_stage_writes_one_panel_per_model_and_the_table(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5", {"train": 4, "valid": 6, "test": 2}, length=2000, per_nucleotide=True)
    models = {}
    for name in ("conv7", "bilstm_nuc"):
        model, entry = smoke(name, 2000)
        meta = {"family": entry["family"], "args": entry["args"], "targets": ["t0", "t1", "t2"],
                "seq_length": 2000, "dataset": build_id(data)}
        models[name] = (tmp_path / name / "weights.pt", tmp_path / name / "model.json")
        (tmp_path / name).mkdir()
        write_trained(model.state_dict(), meta, *models[name])
    table = receptive_fields(data, models, tmp_path / "rf.png", tmp_path / "rf.tsv", seed=3, positions=4, share=0.95)
    assert (tmp_path / "rf.png").stat().st_size > 0
    written = pd.read_csv(tmp_path / "rf.tsv", sep="\t")
    assert list(written["model"]) == ["conv7", "bilstm_nuc"] and written["window"].nunique() == 1
    assert (table["effective_field"] <= table["analytic_field"]).all()
    assert list(table["analytic_field"]) == [460, 2000]
