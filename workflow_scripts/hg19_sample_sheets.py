"""Maintenance tool (not a pipeline rule): the hg19 sample sheets from the published tables.

* ``config/hg19/samples_dhs600.tsv`` — Basset's 164 DNase samples (125 ENCODE + 39 Roadmap), in
  Basset's target order, labelled as Basset labels them;
* ``config/hg19/samples_features.tsv`` — DeepSEA's 919 features (125 DNase, 690 TF, 104 histone)
  in DeepSEA's order, labelled with DeepSEA's feature names (``cell|target|treatment``), so that
  evaluation can match the published per-target AUCs.

Sample names must be safe file names and unique, so features get ``f{index:03d}_`` plus their
name with unsafe characters replaced. The ENCODE DNase files appear in both sheets under the same
URL and are downloaded once.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from workflow_scripts import cli
from workflow_scripts.io_utils import atomic_output

HEADER = "name\tcategory\turl\tlabel\n"


def safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_.-")


def write_sheet(path: Path, comment: str, rows) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(f"# {comment}\n" + HEADER + "".join("\t".join(r) + "\n" for r in rows))


def main(args) -> None:
    basset = pd.read_csv(args.basset, sep="\t", dtype=str).sort_values("basset_index", key=lambda s: s.astype(int))
    write_sheet(Path(args.out_dir) / "samples_dhs600.tsv",
                "Basset's 164 DNase samples (DSSDA's 600 bp data set); made by workflow_scripts/hg19_sample_sheets.py",
                [(r.sample_id, "DNase", r.url, r.basset_label) for r in basset.itertuples()])
    deepsea = pd.read_csv(args.deepsea, sep="\t", dtype=str).sort_values("index", key=lambda s: s.astype(int))
    write_sheet(Path(args.out_dir) / "samples_features.tsv",
                "DeepSEA's 919 features (deepsea1000, nuc25k); made by workflow_scripts/hg19_sample_sheets.py",
                [(f"f{int(r.index):03d}_{safe(r.feature_name)}", r.category, r.url, r.feature_name)
                 for r in deepsea.itertuples()])


def build_parser():
    p = cli.parser("Write the hg19 sample sheets from the published sample tables.")
    p.add_argument("--basset", default="resources/published/basset_dnase_samples.tsv")
    p.add_argument("--deepsea", default="resources/published/deepsea_features.tsv")
    p.add_argument("--out-dir", default="config/hg19")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
