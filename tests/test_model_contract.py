"""The model contract (models/base.py), checked for every model of config/models.yaml.

Each model entry is built at its paper's shape (parameter count as cited) and at the ``smoke``
profile's size, which is trained through the real engine (its fit strategy) on a small data set of
its layout, saved, loaded and scored. A new model in the zoo is covered by adding its entry: no test
of its own. A model whose classifier is not a torch layer (``torch_classifier`` False) is checked
as the contract says it differs: ``forward`` gives features, only ``predict_proba`` gives targets
(after its second stage is fitted), and the receptive field is that of the features.
"""
from __future__ import annotations

import copy
import inspect
import zipfile

import numpy as np
import pytest
import torch
import yaml

from conftest import ROOT, fitted_encoding_args, write_toy_dataset
from models import MODELS, build_model, n_parameters
from models.base import SeqModel, measured_receptive_field
from models.blocks import Geometry, trace
from workflow_scripts.configuration import model_settings
from workflow_scripts.engine import TrainConfig, Trainer, TrainOutputs, fit
from workflow_scripts.inference import load_trained, predict_split, write_trained
from workflow_scripts.inference.mutations import mutant_probs, substitutions
from workflow_scripts.inference.predict import predict_batches, predict_codes
from workflow_scripts.loaders import BatchStream, SplitReader, batch_targets, make_loader

ZOO = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())
SMOKE = {**ZOO, "profile": "smoke"}
N_TARGETS = 3


def default_length(family: str) -> int:
    return inspect.signature(MODELS[family].__init__).parameters["seq_length"].default


def smoke_model(name: str, n_targets: int = N_TARGETS) -> tuple[SeqModel, dict]:
    entry = model_settings(SMOKE, name)
    torch.manual_seed(0)
    family = entry["family"]
    return build_model(family, n_targets, default_length(family), **entry["args"], **fitted_encoding_args(family)), entry


def codes(model: SeqModel, batch: int = 2) -> torch.Tensor:
    return torch.randint(0, 5, (batch, model.seq_length), generator=torch.Generator().manual_seed(1)).to(torch.uint8)


def fitted(model: SeqModel) -> SeqModel:
    """A two-stage model with its second stage fitted on random labels of random sequences (eval mode)."""
    model.eval()
    if model.fit_strategy == "two_stage":
        g = torch.Generator().manual_seed(4)
        batches = [(model.encode(codes(model, 32)), (torch.rand(32, N_TARGETS, generator=g) < 0.3).float(),
                    torch.ones(32, dtype=torch.bool)) for _ in range(2)]
        model.fit_second_stage(batches)
    return model


def test_registry():
    assert {"basset", "deepsea", "danq", "dilated"} <= set(MODELS)
    with pytest.raises(KeyError, match="unknown model family"):
        build_model("nope", 3, 100)


@pytest.mark.parametrize("name", sorted(ZOO["models"]))
def test_paper_shape_has_the_cited_parameter_count(name):
    entry = ZOO["models"][name]
    assert entry.get("cite") and entry.get("parameters"), f"{name}: every model cites its paper and parameter count"
    count = entry["parameters"]
    model = build_model(entry["family"], count["targets"], default_length(entry["family"]), **entry["args"],
                        **fitted_encoding_args(entry["family"]))
    assert n_parameters(model) == count["count"], count["source"]
    assert model.__doc__ or type(model).__module__ and inspect.getmodule(type(model)).__doc__


@pytest.mark.parametrize("name", sorted(ZOO["models"]))
def test_outputs_first_layer_and_receptive_field(name):
    model, _ = smoke_model(name)
    model = fitted(model)
    x = model.encode(codes(model))
    out = model(x)
    shape = (2, N_TARGETS, model.seq_length) if model.per_nucleotide else (2, N_TARGETS)
    assert out.shape == shape if model.torch_classifier else out.dim() == 2 and len(out) == 2
    probs = model.predict_proba(x)
    assert probs.shape == shape and ((probs >= 0) & (probs <= 1)).all()
    assert type(model).motif_layer == (model.first_block is not None)
    if model.first_block is not None:
        width, stride, padding = model.first_layer_window
        act = model.first_layer(x)
        assert act.shape[0] == 2 and act.shape[1] == model.first_block.conv.out_channels
        assert act.shape[2] == trace(model.first_block.conv, Geometry.of_input(model.seq_length)).length
        assert 0 <= padding < width and stride >= 1
        assert (act >= 0).all()                                    # after the non-linearity
    assert model.receptive_field == measured_receptive_field(model)


@pytest.mark.parametrize("name", sorted(ZOO["models"]))
def test_every_parameter_learns_from_one_training_step(name):
    model, _ = smoke_model(name)
    model.train()
    batch = codes(model, 4)
    shape = (4, N_TARGETS, model.seq_length) if model.per_nucleotide else (4, N_TARGETS)
    targets = (torch.rand(shape, generator=torch.Generator().manual_seed(2)) < 0.3).float()
    loss = model.training_step(model.encode(batch), targets, torch.ones(4, dtype=torch.bool))
    loss.backward()
    silent = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.any())]
    assert torch.isfinite(loss) and not silent, f"no gradient reaches {silent}"


@pytest.mark.parametrize("name", sorted(ZOO["models"]))
def test_smoke_training_saves_a_model_that_loads_and_predicts_the_same(name, tmp_path):
    entry = model_settings(SMOKE, name)
    family = entry["family"]
    args = {**entry["args"], **fitted_encoding_args(family)}
    probe = build_model(family, N_TARGETS, default_length(family), **args)
    data = write_toy_dataset(tmp_path / "d.h5", {"train": 48, "valid": 16, "test": 8},
                             length=default_length(family), per_nucleotide=probe.per_nucleotide)
    outputs = TrainOutputs(tmp_path / "m" / "weights.pt", tmp_path / "m" / "model.json", tmp_path / "m" / "log.tsv")
    trainer = Trainer(data, outputs, family, args, TrainConfig.from_dict(entry["train"]))
    before = copy.deepcopy(trainer.model.state_dict())
    fit(trainer)
    after = trainer.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), "training changed nothing"
    assert not outputs.checkpoint.exists() and outputs.train_log.exists()

    loaded, meta = load_trained(outputs.weights, outputs.meta, "cpu", data)
    assert meta["family"] == family and meta["targets"] == ["t0", "t1", "t2"]
    reader = SplitReader(data, "test")
    device = torch.device("cpu")
    ours = predict_split(trainer.model.eval(), reader, device, batch_size=4, rc_average=True)
    theirs = predict_split(loaded, reader, device, batch_size=4, rc_average=True)
    np.testing.assert_array_equal(ours.probs, theirs.probs)
    assert ours.probs.shape[1] == N_TARGETS and np.isfinite(theirs.loss)

    # saving again gives the same bytes: weights depend only on the tensors
    write_trained(loaded.state_dict(), meta, tmp_path / "again.pt", tmp_path / "again.json")
    assert (tmp_path / "again.pt").read_bytes() == outputs.weights.read_bytes()


@pytest.mark.parametrize("name", sorted(ZOO["models"]))
def test_mutants_by_the_fast_way_equal_whole_model_predictions(name):
    """Saturation mutagenesis and variant scoring read every model through the inference path;
    where a model allows the fast way (recomputing only what a mutation changes), it must agree
    with running each mutant whole, at the sequence's ends too: in float64 to float32's last
    bits (the method is exact), in float32 within its rounding."""
    model, _ = smoke_model(name)
    torch.manual_seed(3)
    for module in model.modules():               # weights that make every base matter
        if isinstance(module, (torch.nn.Conv1d, torch.nn.Linear)):
            torch.nn.init.normal_(module.weight, std=2 / module.weight[0].numel() ** 0.5)
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2)
    model = fitted(model)
    length = model.seq_length
    seq = np.random.default_rng(0).integers(0, 4, length).astype(np.uint8)
    seq[3] = 4
    middle = np.arange(length // 2 - 4, length // 2 + 4)
    pos, base = substitutions(seq, np.r_[0:5, middle, length - 5:length] if length < 5000 else middle)
    centre = (length - 1) // 2
    device = torch.device("cpu")
    # these weights grow activations layer by layer: float32's rounding reached 1.2e-5 on a
    # probability of deep_dilated (15 layers) on one CPU, hence the float64 check of exactness
    for dtype, tolerance in ((torch.float32, 1e-4), (torch.float64, 1e-6)):
        model.to(dtype)
        fast = mutant_probs(model, seq, pos, base, device, rc_average=True, fast=True, position=centre)
        whole = mutant_probs(model, seq, pos, base, device, rc_average=True, fast=False, position=centre)
        assert fast.shape == whole.shape == (len(pos), N_TARGETS)
        np.testing.assert_allclose(fast, whole, atol=tolerance, err_msg=str(dtype))
    assert whole.std(axis=0).max() > 1e-4, "mutations should change this model's predictions"


@pytest.mark.parametrize("name", sorted(n for n in ZOO["models"] if smoke_model(n)[0].per_nucleotide))
def test_one_bases_prediction_from_its_context_equals_the_whole_windows(name):
    """Variant scoring, mutagenesis and prediction read a per-nucleotide model at one base from
    only the context it needs (inference.predict.context_of): the same numbers, at the ends too."""
    model, _ = smoke_model(name)
    model.eval()
    x = codes(model)
    with torch.no_grad():
        whole = predict_codes(model, x, rc_average=True).numpy()
    for position in (0, 3, model.seq_length // 2, model.seq_length - 2):
        got = next(predict_batches(model, [x], torch.device("cpu"), rc_average=True, position=position))
        np.testing.assert_allclose(got, whole[..., position], atol=1e-6)


def test_labels_reach_the_loss_in_the_layout_of_the_data_set(tmp_path):
    """Per-nucleotide data sets give (B, T, L) targets, per-sequence ones (B, T)."""
    for per_nucleotide in (False, True):
        data = write_toy_dataset(tmp_path / f"{per_nucleotide}.h5", {"train": 8, "valid": 4, "test": 4},
                                 length=100, per_nucleotide=per_nucleotide)
        reader = SplitReader(data, "train")
        batch = next(iter(make_loader(BatchStream(reader, 8, shuffle=False), 0, False)))
        targets = batch_targets(batch, reader, torch.device("cpu"))
        assert targets.shape == ((8, 3, 100) if per_nucleotide else (8, 3))
        assert 0 < targets.mean() < 1


# ---------------------------------------------------------------- what a family adds to the contract
def test_danq_jaspar_starts_from_all_of_jaspar_2016_and_danqs_reverse_complements():
    from workflow_scripts.motif_files import jaspar_motifs
    entry = ZOO["models"]["danq_jaspar"]["args"]
    matrices = [m.freqs for m in jaspar_motifs(entry["jaspar_release"])]
    assert len(matrices) == entry["jaspar_init"] == 519 and len(entry["jaspar_reverse"]) == 6
    m = build_model("danq", 3, 200, conv_filters=530, conv_width=30, lstm_units=2, hidden=4,
                    **{k: entry[k] for k in ("jaspar_init", "jaspar_release", "jaspar_reverse")})
    w = m.first_block.conv.weight.detach().numpy()
    for k, freqs in [(0, matrices[0]), (518, matrices[518]), (519, matrices[19][::-1, ::-1]),
                     (524, matrices[101][::-1, ::-1])]:
        at = next(a for a in range(31 - len(freqs)) if np.allclose(w[k, :, a:a + len(freqs)], freqs.T - 0.25, atol=1e-6))
        assert 3 <= at <= 30 - len(freqs) - 3
    assert (np.abs(w[525:]) <= 0.05).all() and (m.first_block.conv.bias.detach().numpy()[:525] <= 0).all()


def test_danq_jaspar_initialisation_puts_motifs_in_kernels():
    m = build_model("danq", 3, 200, conv_filters=6, conv_width=30, lstm_units=4, hidden=8, jaspar_init=3, seed=1)
    w = m.first_block.conv.weight.detach()
    assert (w[:3].abs().max(dim=1).values > 0.3).any(dim=1).all()   # frequency - 0.25 somewhere
    assert (w[3:].abs() <= 0.05).all() and (m.first_block.conv.bias[:3] <= 0).all()


def test_superq_fits_its_forest_on_the_encoders_codes_and_keeps_it_beside_the_weights_in_skops(tmp_path):
    """Stage one (the autoencoder) ends; a rerun resumes after it into stage two (the forest on
    the codes), which is written as skops beside the weights; loading restores it, and the loaded
    model's predictions are the forest's on the encoder's codes. A crafted forest is refused."""
    import skops.io
    from models.forest import TRUSTED, positive_probs, save_forest
    from workflow_scripts.cli import InputError
    entry = model_settings(SMOKE, "superq")
    data = write_toy_dataset(tmp_path / "d.h5", {"train": 48, "valid": 16, "test": 8}, length=1000)
    outputs = TrainOutputs(tmp_path / "m" / "weights.pt", tmp_path / "m" / "model.json", tmp_path / "m" / "log.tsv")
    cfg = TrainConfig.from_dict(entry["train"])
    stage_one = Trainer(data, outputs, "superq", entry["args"], cfg)
    stage_one.train()                                  # as a job stopped after the gradient stage
    assert stage_one.state.finished and outputs.checkpoint.exists() and not outputs.weights.exists()
    assert np.isfinite(stage_one.state.history[0]["valid_loss"])          # reconstruction, not labels
    trainer = Trainer(data, outputs, "superq", entry["args"], cfg)
    fit(trainer)                                       # the rerun: no epoch again, the forest
    assert [r["valid_loss"] for r in trainer.state.history] == [r["valid_loss"] for r in stage_one.state.history]
    assert not outputs.checkpoint.exists()

    forest_file = outputs.weights.parent / "extra_state" / "forest.skops"
    assert zipfile.is_zipfile(forest_file) and skops.io.get_untrusted_types(file=forest_file) == TRUSTED
    loaded, _ = load_trained(outputs.weights, outputs.meta, "cpu", data)
    assert len(loaded.forest.estimators_) == entry["args"]["forest_trees"]
    x = loaded.encode(next(iter(make_loader(BatchStream(SplitReader(data, "test"), 8, shuffle=False), 0, False)))["codes"])
    with torch.no_grad():
        features = loaded(x).numpy()
    probs = loaded.predict_proba(x).numpy()
    np.testing.assert_array_equal(probs, positive_probs(loaded.forest, features))
    np.testing.assert_array_equal(probs, trainer.model.predict_proba(x).numpy())

    loaded.forest.estimators_[0].tree_.children_left[0] = 10 ** 6      # a node pointing outside its tree
    save_forest(loaded.forest, forest_file)
    with pytest.raises(InputError, match="node indices out of range"):
        load_trained(outputs.weights, outputs.meta, "cpu", data)
