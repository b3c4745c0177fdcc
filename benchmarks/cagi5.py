"""A real-data check without hg19: a trained model's variant effects against Kircher et al. 2019's
saturation-mutagenesis MPRA (the CAGI5 regulation challenge), Spearman correlation per element.

    python benchmarks/cagi5.py --model results/models/dhs600/basset --target HepG2 --out benchmarks/out/cagi5
    python benchmarks/cagi5.py --model DIR --target K562 --cell-type F9=HepG2 --cell-type TERT=HEK293 ...

Data (tests/data/cagi5/, provenance in tests/data/SOURCES.md): the 44,658 GRCh37 variants with
measured log2 effects (``Coefficient``) and the hg19 sequence of 14 of the elements (188-602 bp).
Each element becomes a contig of a small FASTA named after it, each variant of it a TSV row on
that contig (local position ``Pos - start_pos``; an element name's condition suffix is dropped:
``TERT-GBM`` -> ``TERT``, ``SORT1.2`` -> ``SORT1``); variants without a GRCh37 position (11), of elements without a
sequence or outside it are counted and dropped. The variants are then scored by the pipeline's own
``variant_effects`` stage (REF checked against the element sequence; windows longer than the
element are N beyond it, as near a chromosome end). Predicted effect = ``diff`` (alt - ref
probability) averaged over the model's targets whose name contains the element's cell type
(``--target``, or ``--cell-type ELEMENT=SUBSTRING`` per element: the MPRA's cell line, Kircher et
al. 2019 Table 1, or its nearest match among the model's targets: the user chooses).

Not like-for-like with CAGI5 submissions: those saw more genome context and were ranked on
held-out variants with their own metrics. Writes ``variants.tsv``, ``elements.fa``, the scored
``effects.h5``, ``correlations.tsv`` (element, cell type, targets used, n, Spearman rho, p) and
``correlations.png``.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pysam
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from workflow_scripts.variant_effects import score_file  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "cagi5"


def element_of(name: str) -> str:
    """Element name without its condition or replicate suffix."""
    return re.split(r"[-.]", name)[0]


def prepare(out: Path, data: Path = DATA, conditions: list[str] | None = None) -> dict:
    """Writes ``elements.fa`` (+ .fai) and ``variants.tsv`` (chrom = element; only the given
    element/condition names, default all); returns counts."""
    out.mkdir(parents=True, exist_ok=True)
    with open(data / "cagi5_element_ref_seqs_hg19.csv") as handle:
        seqs = {r["regulatory_element"]: (r["ref_sequence"], int(r["start_pos"]))
                for r in csv.DictReader(handle) if not r["regulatory_element"].endswith("MOD")}
    with open(out / "elements.fa", "w") as fa:
        for name, (seq, _) in seqs.items():
            fa.write(f">{name}\n{seq}\n")
    pysam.faidx(str(out / "elements.fa"))
    counts: Counter = Counter()
    with gzip.open(data / "kircher2019_elements_grch37.tsv.gz", "rt") as src, open(out / "variants.tsv", "w") as dst:
        dst.write("chrom\tpos\tid\tref\talt\tcondition\tcoefficient\n")
        for n, row in enumerate(csv.DictReader(src, delimiter="\t")):
            element = element_of(row["Element"])
            if conditions and row["Element"] not in conditions:
                continue
            if not row["Pos"].isdigit():          # 11 variants have no GRCh37 position (NA)
                counts["no_position"] += 1
                continue
            if element not in seqs:
                counts["no_sequence"] += 1
                continue
            seq, start = seqs[element]
            local = int(row["Pos"]) - start
            if not 1 <= local <= len(seq):
                counts["outside_sequence"] += 1
                continue
            counts["in_sequence"] += 1
            dst.write(f"{element}\t{local}\tv{n}\t{row['Ref']}\t{row['Alt']}\t{row['Element']}\t{row['Coefficient']}\n")
    return dict(counts)


def correlations(effects: Path, variants: Path, cell_types: dict[str, str], default: str) -> list[dict]:
    measured = {}
    with open(variants) as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            measured[row["id"]] = (row["condition"], float(row["coefficient"]))
    with h5py.File(effects) as h5:
        targets = list(h5["targets"].asstr()[:])
        ids = h5["variants/id"].asstr()[:]
        diff = h5["diff"][:]
    rows = []
    for condition in sorted({measured[i][0] for i in ids}):
        cell = cell_types.get(condition, cell_types.get(element_of(condition), default))
        columns = [j for j, t in enumerate(targets) if cell.lower() in t.lower()]
        keep = np.array([measured[i][0] == condition for i in ids])
        row = {"condition": condition, "cell_type": cell, "targets": len(columns), "n": int(keep.sum()),
               "spearman": np.nan, "p": np.nan}
        if columns and keep.sum() > 2:
            predicted = diff[keep][:, columns].mean(axis=1)
            truth = np.array([measured[i][1] for i in ids[keep]])
            rho, p = spearmanr(predicted, truth)
            row.update(spearman=float(rho), p=float(p))
        rows.append(row)
    return rows


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 0.45), 4))
    ax.bar([r["condition"] for r in rows], [r["spearman"] for r in rows], color="tab:blue")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(ylabel="Spearman rho (predicted diff vs measured log2 effect)", title=title)
    ax.tick_params(axis="x", rotation=90)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, required=True, help="a trained model's directory")
    p.add_argument("--target", required=True, help="substring of the model's target names: the cell type")
    p.add_argument("--cell-type", action="append", default=[], metavar="ELEMENT=SUBSTRING")
    p.add_argument("--out", type=Path, default=Path("benchmarks/out/cagi5"))
    p.add_argument("--conditions", nargs="+", help="only these element/condition names (default: all 20 with a sequence)")
    p.add_argument("--no-rc-average", action="store_true")
    args = p.parse_args()
    counts = prepare(args.out, conditions=args.conditions)
    if not counts.get("in_sequence"):
        p.error(f"no variant of {args.conditions} has a sequence here")
    summary = score_file(args.out / "variants.tsv", args.model / "weights.pt", args.model / "model.json",
                         args.out / "elements.fa", args.out / "effects.h5", args.out / "scoring.json",
                         ref_mismatch="skip", rc_average=not args.no_rc_average)
    if any("=" not in item for item in args.cell_type):
        p.error("--cell-type takes ELEMENT=SUBSTRING, e.g. --cell-type F9=HepG2")
    cells = dict(item.split("=", 1) for item in args.cell_type)
    rows = correlations(args.out / "effects.h5", args.out / "variants.tsv", cells, args.target)
    with open(args.out / "correlations.tsv", "w") as out:
        out.write("\t".join(rows[0]) + "\n")
        out.writelines("\t".join(str(v) for v in r.values()) + "\n" for r in rows)
    plot(rows, args.out / "correlations.png", f"CAGI5 / Kircher 2019 — {args.model}")
    rhos = [r["spearman"] for r in rows if not np.isnan(r["spearman"])]
    print(json.dumps({"variants": counts, "scored": summary["scored"], "skipped": summary["skipped"],
                      "conditions": len(rows), "median_spearman": float(np.median(rhos)) if rhos else None},
                     indent=2))
    for r in rows:
        print(f"{r['condition']:>16} {r['cell_type']:>10} targets {r['targets']:>3} n {r['n']:>5} "
              f"rho {r['spearman']:+.3f}")


if __name__ == "__main__":
    main()
