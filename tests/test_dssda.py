"""The DSSDA ladder's cost (models/dssda.py): what each row reaches, and what the noiseless ladder
reduces to. The contract tests (test_model_contract.py) cover the rest."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from models import build_model

SMALL = dict(conv_filters=[4] * 5, conv_widths=[5, 3, 3, 3, 3], hidden=[8, 8])


def ladder(noise: float = 0.3):
    torch.manual_seed(0)
    return build_model("dssda", 3, 100, noise=noise, **SMALL).train()


def batch(rows: int = 8):
    g = torch.Generator().manual_seed(1)
    x = F.one_hot(torch.randint(0, 4, (rows, 100), generator=g), 4).permute(0, 2, 1).float()
    return x, (torch.rand(rows, 3, generator=g) < 0.3).float()


def step(model, x, targets, labelled):
    """Loss and gradients of one training step, the noise drawn from a fixed seed."""
    model = copy.deepcopy(model)
    torch.manual_seed(5)
    loss = model.training_step(x, targets, labelled)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_unlabelled_rows_reach_the_unsupervised_cost_and_never_the_supervised_one():
    model, (x, targets) = ladder(), batch()
    labelled = torch.arange(8) < 3
    loss, grads = step(model, x, targets, labelled)
    relabelled = targets.clone()
    relabelled[~labelled] = 1 - relabelled[~labelled]
    loss2, grads2 = step(model, x, relabelled, labelled)
    assert loss2 == loss and all(torch.equal(grads[n], grads2[n]) for n in grads)
    changed = x.clone()
    changed[7] = changed[7].roll(1, dims=0)                     # another sequence in an unlabelled row
    loss3, _ = step(model, changed, targets, labelled)
    assert abs(loss3 - loss) > 1e-4


def test_without_labels_the_loss_is_the_denoising_cost_and_trains_the_decoder():
    model, (x, targets) = ladder(), batch()
    loss, grads = step(model, x, targets, torch.zeros(8, dtype=torch.bool))
    assert loss > 0
    decoder = {n: g for n, g in grads.items() if n.startswith(("decoder.", "denoise."))}
    assert decoder and all(g.abs().sum() > 0 for g in decoder.values())
    assert grads["head.output.weight"].abs().sum() > 0                # the top's reconstruction reads the output
    with_labels, _ = step(model, x, targets, torch.ones(8, dtype=torch.bool))
    clean = F.binary_cross_entropy_with_logits(copy.deepcopy(model)(x), targets)
    assert abs((with_labels - loss) - clean) > 1e-3              # the supervised cost reads the corrupted output


def test_without_noise_the_supervised_cost_is_the_clean_alexnets_and_prediction_is_alexnets():
    """sigma = 0: the corrupted encoder is the clean one, so the loss with labels minus the loss
    without is AlexNet's cross-entropy (batch statistics); the decoder reads the same z either
    way. The batch norm running statistics move once per step, as one AlexNet forward moves them."""
    model, (x, targets) = ladder(noise=0.0), batch()
    everyone, none = torch.ones(8, dtype=torch.bool), torch.zeros(8, dtype=torch.bool)
    with_labels, _ = step(model, x, targets, everyone)
    without, _ = step(model, x, targets, none)
    alexnet = copy.deepcopy(model)
    expected = F.binary_cross_entropy_with_logits(alexnet(x), targets)
    torch.testing.assert_close(with_labels - without, expected.detach(), atol=1e-5, rtol=1e-5)

    stepped = copy.deepcopy(model)
    stepped.training_step(x, targets, everyone)
    for ours, theirs in zip(stepped.modules(), alexnet.modules()):
        if isinstance(ours, torch.nn.BatchNorm1d):
            torch.testing.assert_close(ours.running_mean, theirs.running_mean)
            torch.testing.assert_close(ours.running_var, theirs.running_var)
            assert ours.num_batches_tracked == theirs.num_batches_tracked == 1

    plain = build_model("alexnet", 3, 100, dropout=0.0, **SMALL).eval()
    missing, unexpected = plain.load_state_dict(stepped.state_dict(), strict=False)
    assert not missing and all(k.startswith(("decoder.", "denoise.")) for k in unexpected)
    stepped.eval()
    torch.testing.assert_close(stepped(x), plain(x))
    torch.testing.assert_close(stepped(x), stepped(x))         # prediction is deterministic
