"""A scikit-learn random forest as a second-stage classifier: fitted on features, multi-output
over the targets, and persisted safely with skops (no pickle: loading a file runs no code).

skops loads only types it trusts; of a fitted forest it does not trust ``sklearn.tree._tree.Tree``,
whose raw node indices scikit-learn follows without bounds checks (a crafted file could make
``predict`` read out of bounds). :func:`load_forest` trusts that one type, then checks every
tree's indices (children after their parent and inside the tree, features inside the input)
before the forest is used; any other type in the file is refused.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from workflow_scripts.cli import InputError
from workflow_scripts.io_utils import atomic_output

TRUSTED = ["sklearn.tree._tree.Tree"]


def make_forest(trees: int, max_leaves: int | None, max_features, seed: int):
    from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier(n_estimators=trees, max_leaf_nodes=max_leaves, max_features=max_features,
                                  random_state=seed, n_jobs=torch.get_num_threads())


def fit_forest(forest, features: np.ndarray, labels: np.ndarray):
    """Fit on (N, F) features and (N, T) 0/1 labels; predictions then run in one thread, which
    sums the trees in a fixed order (threads would sum them in the order they finish)."""
    forest.fit(features, labels)
    forest.n_jobs = 1
    return forest


def positive_probs(forest, features: np.ndarray) -> np.ndarray:
    """(N, T) float32 probability of label 1 per target (0 for a target with no positive in the
    forest's training rows, 1 for one with no negative)."""
    probs, classes = forest.predict_proba(features), forest.classes_
    if forest.n_outputs_ == 1:
        probs, classes = [probs], [classes]
    out = np.zeros((len(features), len(probs)), np.float32)
    for t, (p, c) in enumerate(zip(probs, classes)):
        hit = np.flatnonzero(c == 1)
        if len(hit):
            out[:, t] = p[:, hit[0]]
    return out


def save_forest(forest, path: str | Path) -> None:
    import skops.io
    with atomic_output(path, suffix=".skops") as tmp:
        skops.io.dump(forest, tmp)


def load_forest(path: str | Path):
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException
    from sklearn.ensemble import RandomForestClassifier
    try:
        forest = skops.io.load(path, trusted=TRUSTED)
    except UntrustedTypesFoundException as err:
        raise InputError(f"{path}: refused, it holds types a random forest does not ({err})") from None
    except (OSError, zipfile.BadZipFile) as err:
        raise InputError(f"{path}: not a readable skops file ({err})") from None
    if not isinstance(forest, RandomForestClassifier):
        raise InputError(f"{path}: not a random forest but a {type(forest).__name__}")
    for k, tree in enumerate(est.tree_ for est in forest.estimators_):
        if not valid_tree(tree, forest.n_features_in_):
            raise InputError(f"{path}: tree {k} has node indices out of range; the file is damaged or crafted")
    forest.n_jobs = 1
    return forest


def valid_tree(tree, n_features: int) -> bool:
    """Every node's children come after it and inside the tree (so walks end inside it), every
    split reads a feature of the input, and there is a value for every node."""
    n = tree.node_count
    nodes = np.arange(n)
    left, right, feature = tree.children_left, tree.children_right, tree.feature
    leaf = (left == -1) & (right == -1)
    inner_ok = (left > nodes) & (left < n) & (right > nodes) & (right < n) & (feature >= 0) & (feature < n_features)
    return (len(left) == len(right) == len(feature) == n and tree.value.shape[0] == n
            and bool(np.all(leaf | inner_ok)))
