"""Filter motifs (Basset's method): a first layer holding real JASPAR matrices gives back those
matrices through activation thresholds, site counting, MEME output and Tomtom."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from conftest import MOTIF, write_toy_dataset
from models import build_model
from workflow_scripts.dataset_layout import build_id
from workflow_scripts.filter_motifs import MotifOutputs, filter_motifs
from workflow_scripts.inference import write_trained
from workflow_scripts.motif_files import read_meme
from workflow_scripts.sequence import encode


def save_model(model, out, args, targets, dataset):
    out.mkdir(parents=True)
    write_trained(model.state_dict(), {"family": "basset", "args": args, "targets": targets, "seq_length": 200,
                                       "dataset": build_id(dataset)}, out / "weights.pt", out / "model.json")


def test_planted_filter_is_recovered_with_sites_and_logos(tmp_path):
    data = write_toy_dataset(tmp_path / "d.h5")
    args = {"conv_filters": [2, 4, 4], "conv_widths": [len(MOTIF), 5, 3], "pool_widths": [4, 2, 2], "hidden": [8, 8]}
    model = build_model("basset", 3, 200, **args).eval()
    with torch.no_grad():
        block = model.first_block
        w = block.conv.weight
        w.zero_()
        onehot = np.eye(4)[encode(MOTIF)]                              # (w, 4)
        w[0] = torch.tensor(np.log((onehot * 0.97 + 0.01) / 0.25).T, dtype=torch.float32)
        w[1] = torch.randn_like(w[1]) * 0.01                          # a useless filter
        block.conv.bias.zero_()
        bn = block.norm
        bn.running_mean.zero_(); bn.running_var.fill_(1.0); bn.weight.fill_(1.0); bn.bias.zero_()
    save_model(model, tmp_path / "model", args, ["t0", "t1", "t2"], data)
    out = MotifOutputs(tmp_path / "out" / "filters.meme", tmp_path / "out" / "filters.tsv",
                       tmp_path / "out" / "logos", tmp_path / "out" / "logos.png")
    table = filter_motifs(tmp_path / "model" / "weights.pt", tmp_path / "model" / "model.json", data, out,
                          min_sites=10)
    motifs, background = read_meme(tmp_path / "out" / "filters.meme")
    f0 = table.set_index("filter").loc["filter0"]
    assert f0["consensus"] == MOTIF and f0["status"] == "kept"
    n_planted = 0.4 * 150                                               # test split rows carrying MOTIF
    assert 0.7 * n_planted <= f0["sites"] <= 1.6 * n_planted
    assert motifs[0].id == "filter0" and motifs[0].nsites == f0["sites"]
    assert abs(background.sum() - 1) < 1e-9 and (tmp_path / "out" / "logos" / "filter0.png").exists()
    assert (tmp_path / "out" / "logos.png").stat().st_size > 1000
    assert set(pd.read_csv(tmp_path / "out" / "filters.tsv", sep="\t")["status"]) <= {"kept", "fewer than 10 sites"}
