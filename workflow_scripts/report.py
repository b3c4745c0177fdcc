"""Stage ``report``: one HTML page that shows a run's results (``results/report/index.html``).

Sections: peak files (lines read, kept, dropped by reason), data sets (split sizes and build
counts), models (the comparison tables, win shares and plots of each data set, each model's
summary line and ROC/PR curves), motifs (filters kept, filters matching JASPAR at E < 0.01,
best matches, logos) and, for the demo, which planted motifs the filters recovered
(``planted_motifs.tsv``). Images are linked relative to the page, so the whole ``results``
directory can be copied and opened elsewhere.
"""
from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path

import h5py
import pandas as pd

from workflow_scripts import cli
from workflow_scripts.dataset_layout import code_version
from workflow_scripts.io_utils import atomic_output

log = cli.log.getChild("report")

STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee;margin:4px 0}
h2{border-bottom:2px solid #446;padding-bottom:4px;margin-top:2em}code{background:#f4f4f4;padding:1px 4px}
.ok{color:#070}.no{color:#a00}"""


def table_html(df: pd.DataFrame, floatfmt: str = "{:.4f}") -> str:
    return df.to_html(index=False, border=0, na_rep="–", escape=True,
                      float_format=lambda v: floatfmt.format(v))


def img(page_dir: Path, path: Path, width: int | None = None) -> str:
    rel = os.path.relpath(path, page_dir)
    style = f' style="width:{width}px"' if width else ""
    return f'<a href="{html.escape(rel)}"><img src="{html.escape(rel)}"{style}></a>'


def planted_recovery(truth: Path, tomtom_tables: dict[str, Path], evalue: float) -> pd.DataFrame:
    """For each planted JASPAR matrix: which models' filters match it at E < evalue."""
    t = pd.read_csv(truth, sep="\t", dtype=str).fillna("")
    planted = t[t["motif_id"] != ""]
    rows = []
    for _, r in planted.iterrows():
        row = {"feature": r["feature"], "motif_id": r["motif_id"], "motif_name": r["motif_name"]}
        for model, path in tomtom_tables.items():
            tt = pd.read_csv(path, sep="\t")
            hits = tt[(tt["Target_ID"] == r["motif_id"]) & (tt["E-value"] < evalue)]
            row[model] = ", ".join(hits.sort_values("E-value")["Query_ID"].head(3)) if len(hits) else ""
        row["recovered"] = any(row[m] for m in tomtom_tables)
        rows.append(row)
    return pd.DataFrame(rows)


def peak_counts(paths: list[Path]) -> pd.DataFrame:
    rows = []
    for p in paths:
        counts = pd.read_csv(p, sep="\t").set_index("reason")["count"].to_dict()
        rows.append({"sample": p.name.removesuffix(".counts.tsv"), **counts})
    return pd.DataFrame(rows)


def dataset_rows(paths: list[Path]) -> pd.DataFrame:
    rows = []
    for p in paths:
        with h5py.File(p, "r") as f:
            rows.append({"data set": p.stem, "targets": len(f.attrs["targets"]),
                         "input length": int(f.attrs["seq_length"]),
                         **{s: int(f[s]["start"].shape[0]) for s in ("train", "valid", "test")},
                         "build counts": str(f.attrs.get("build_counts", ""))})
    return pd.DataFrame(rows)


def build_report(results: Path, out: Path, datasets: dict[str, list[str]], truth: Path | None,
                 evalue: float, profile: str) -> None:
    page_dir = out.parent
    parts = [f"<h1>seq2reg report</h1><p>results: <code>{html.escape(str(results))}</code> · profile "
             f"<code>{html.escape(profile)}</code> · code {html.escape(code_version())} · "
             f"{time.strftime('%Y-%m-%d %H:%M')}</p>"]
    parts.append("<p>Stages: download → prepare genome and masks → normalise peaks → data sets "
                 "(dhs600, deepsea1000, nuc25k) → train → evaluate and compare → filter motifs → "
                 "Tomtom against JASPAR 2024.</p>")

    counts = sorted((results / "peaks").glob("*.counts.tsv"))
    if counts:
        parts.append("<h2>Peak files</h2>" + table_html(peak_counts(counts), "{:.0f}"))
    h5s = [results / "datasets" / f"{d}.h5" for d in datasets if (results / "datasets" / f"{d}.h5").exists()]
    if h5s:
        parts.append("<h2>Data sets</h2>" + table_html(dataset_rows(h5s), "{:.0f}"))

    tomtoms: dict[str, Path] = {}
    for dataset, models in datasets.items():
        if not models:
            continue
        ev = results / "eval" / dataset
        parts.append(f"<h2>Models on {dataset}</h2>")
        summary = ev / "comparison_summary.tsv"
        if summary.exists():
            parts.append(table_html(pd.read_csv(summary, sep="\t")))
        wins = ev / "win_shares.tsv"
        if wins.exists() and os.path.getsize(wins) > 60:
            parts.append("<p>Share of targets where model A's AUC beats model B's:</p>"
                         + table_html(pd.read_csv(wins, sep="\t")))
        parts.append("".join(img(page_dir, ev / f"{n}.png", 560) for n in
                             ("scatter_roc", "scatter_pr", "auc_by_category", "training_curves")
                             if (ev / f"{n}.png").exists()))
        for model in models:
            line = ev / model / "summary.txt"
            if line.exists():
                parts.append(f"<h3>{html.escape(model)}</h3><p>{html.escape(line.read_text())}</p>")
                parts.append(img(page_dir, ev / model / "curves.png", 700))
            motif_dir = results / "motifs" / dataset / model
            summary_tsv = motif_dir / "tomtom_summary.tsv"
            if summary_tsv.exists():
                tomtoms[f"{dataset}/{model}"] = motif_dir / "tomtom.tsv"
                s = pd.read_csv(summary_tsv, sep="\t")
                significant = s["significant"].fillna(False).astype(bool)
                parts.append(f"<p>Motifs: {int((s['status'] == 'kept').sum())} of {len(s)} filters kept; "
                             f"{int(significant.sum())} match JASPAR 2024 at E &lt; {evalue} (Tomtom).</p>")
                top = s[significant].sort_values("evalue").head(25)
                if len(top):
                    parts.append(table_html(top[["filter", "consensus", "sites", "best_target", "best_name",
                                                 "evalue"]], "{:.2e}"))
                parts.append(img(page_dir, motif_dir / "logos.png", 1000))

    if truth is not None and truth.exists() and tomtoms:
        recovery = planted_recovery(truth, tomtoms, evalue)
        with atomic_output(page_dir / "planted_motifs.tsv") as tmp:
            recovery.to_csv(tmp, sep="\t", index=False)
        parts.append(f"<h2>Planted motifs recovered (demo)</h2><p>{int(recovery['recovered'].sum())} of "
                     f"{len(recovery)} planted JASPAR matrices are matched at E &lt; {evalue} by a filter "
                     f"(filters named per model).</p>" + table_html(recovery))

    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>seq2reg report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    with atomic_output(out, suffix=".html") as tmp:
        tmp.write_text(page)
    log.info("report: %s", out)


def main(args) -> None:
    build_report(Path(args.results), Path(args.output), json.loads(args.datasets),
                 Path(args.truth) if args.truth else None, args.evalue, args.profile)


def build_parser():
    p = cli.parser("Write the HTML report of a run.")
    p.add_argument("--results", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--datasets", required=True, help='JSON {"dataset": ["model", ...]}')
    p.add_argument("--truth", help="demo truth table (planted motifs)")
    p.add_argument("--evalue", type=float, default=0.01)
    p.add_argument("--profile", default="")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
