"""Stage ``report``: one HTML page that shows a run's results (``results/report/index.html``).

It opens with a summary per data set (every model's mean ROC/PR AUCs, overall and by
category, beside the published rows, the best of each column marked, each model linked to its
section) under a navigation bar. Then one section per data set (win shares and per-target
scatters when it has several models, AUC by category, training curves) and per model (its
summary line, ROC/PR curves, readable logos of the filters that match JASPAR at E < 0.01 with
their matches, the rest behind a link); for the demo, which planted motifs the filters recovered
(``planted_motifs.tsv``); and last the inputs (data-set sizes, peak-file counts). Images are linked relative to the page, so the whole ``results``
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
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ccc;padding:6px 0;font-size:14px}
.grid{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;width:300px;font-size:12px}"""


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


def dataset_rows(paths: dict[str, Path]) -> pd.DataFrame:
    rows = []
    for name, p in paths.items():
        with h5py.File(p, "r") as f:
            rows.append({"data set": name, "builder": str(f.attrs["dataset"]), "targets": len(f.attrs["targets"]),
                         "input length": int(f.attrs["seq_length"]),
                         **{s: int(f[s]["start"].shape[0]) for s in ("train", "valid", "test")},
                         "build counts": str(f.attrs.get("build_counts", ""))})
    return pd.DataFrame(rows)


CATEGORY_COLUMNS = [f"{c}_{m}" for c in ("DNase", "ATAC", "TF", "Histone") for m in ("roc_auc", "pr_auc")]


def anchor(*parts: str) -> str:
    return "-".join(parts).replace("/", "-")


def summary_rows(summary: pd.DataFrame, dataset: str, trained: list[str]) -> str:
    """A data set's mean AUCs, one row per model (trained ones linked), the best value of each
    column marked; all-empty category columns left out."""
    columns = ["model", "n_targets", "mean_roc_auc", "mean_pr_auc", "weighted_roc_auc", "weighted_pr_auc"]
    columns += [c for c in CATEGORY_COLUMNS if c in summary and summary[c].notna().any()]
    table = summary[columns].copy()
    best = {c: table[c].max() for c in columns[2:]}
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    rows = []
    for _, r in table.iterrows():
        name = str(r["model"])
        cells = [f'<a href="#{anchor(dataset, name)}">{html.escape(name)}</a>' if name in trained
                 else f"{html.escape(name)} <small>(published)</small>", f"{r['n_targets']:.0f}"]
        for c in columns[2:]:
            v = r[c]
            text = "–" if pd.isna(v) else f"{v:.4f}"
            cells.append(f"<b>{text} ★</b>" if len(table) > 1 and not pd.isna(v) and v == best[c] else text)
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def logo_grid(page_dir: Path, logos: Path, matched: pd.DataFrame) -> str:
    """Readable logos of the filters that match a known motif, each captioned with its match."""
    cells = []
    for _, r in matched.iterrows():
        logo = logos / f"{r['filter']}.png"
        if logo.exists():
            cells.append(f"<figure>{img(page_dir, logo, 300)}<figcaption>{html.escape(r['filter'])} ~ "
                         f"{html.escape(str(r['best_name']))} ({html.escape(str(r['best_target']))}, "
                         f"E = {r['evalue']:.1e})</figcaption></figure>")
    return f"<div class='grid'>{''.join(cells)}</div>" if cells else ""


def model_section(page_dir: Path, dataset: str, model: str, files: dict[str, Path], evalue: float) -> str:
    parts = [f"<h3 id='{anchor(dataset, model)}'>{html.escape(model)} on {html.escape(dataset)}</h3>",
             f"<p>{html.escape(files['eval_summary'].read_text())}</p>", img(page_dir, files["curves"], 700)]
    if "tomtom_summary" not in files:
        return "".join(parts) + "<p>No convolution filters: no motifs for this model.</p>"
    s = pd.read_csv(files["tomtom_summary"], sep="\t")
    significant = s["significant"].fillna(False).astype(bool)
    matched = s[significant].sort_values("evalue")
    parts.append(f"<p>Motifs: {int((s['status'] == 'kept').sum())} of {len(s)} first-layer filters kept; "
                 f"{len(matched)} match JASPAR 2024 at E &lt; {evalue} (Tomtom). "
                 f"<a href='{html.escape(os.path.relpath(files['logos'].parent / 'logos.png', page_dir))}'>"
                 f"All logos</a> · <a href='{html.escape(os.path.relpath(files['tomtom_summary'], page_dir))}'>"
                 f"every filter's best match (TSV)</a></p>")
    parts.append(logo_grid(page_dir, files["logos"], matched.head(24)))
    return "".join(parts)


def dataset_section(page_dir: Path, dataset: str, files: dict, evalue: float) -> str:
    comp = {k: Path(v) for k, v in files["comparison"].items()}
    models = list(files["models"])
    parts = [f"<h2 id='{anchor(dataset)}'>Models on {html.escape(dataset)}</h2>"]
    if len(models) > 1:
        parts.append("<p>Share of targets where model A's AUC beats model B's:</p>"
                     + table_html(pd.read_csv(comp["win_shares"], sep="\t")))
    parts.append("".join(img(page_dir, comp[n], 560) for n in
                         ("scatter_roc", "scatter_pr", "compare_by_category", "training_curves")))
    for model, mf in files["models"].items():
        parts.append(model_section(page_dir, dataset, model, {k: Path(v) for k, v in mf.items()}, evalue))
    return "".join(parts)


def build_report(manifest: dict, out: Path, evalue: float, profile: str, planted: Path | None = None) -> None:
    """The page, from the files of ``manifest`` (peak counts, and per data set its file, the
    comparison's files and each model's files; see rules/report.smk)."""
    page_dir = out.parent
    datasets = manifest["datasets"]
    with_models = {d: v for d, v in datasets.items() if v["models"]}
    nav = ["<a href='#summary'>Summary</a>"]
    for d, v in with_models.items():
        nav.append(f"<a href='#{anchor(d)}'>{html.escape(d)}</a>: " + " · ".join(
            f"<a href='#{anchor(d, m)}'>{html.escape(m)}</a>" for m in v["models"]))
    truth = manifest.get("truth")
    show_planted = bool(truth and planted is not None and with_models)
    nav += (["<a href='#planted'>Planted motifs</a>"] if show_planted else []) + ["<a href='#inputs'>Inputs</a>"]
    parts = [f"<nav>{' | '.join(nav)}</nav><h1>seq2reg report</h1><p>profile <code>{html.escape(profile)}</code>"
             f" · code {html.escape(code_version())} · {time.strftime('%Y-%m-%d %H:%M')}</p>"]

    parts.append("<h2 id='summary'>Summary</h2><p>Test-set AUCs per data set: <i>mean</i> is the plain mean "
                 "over targets with at least 10 positives, <i>weighted</i> weights each target by its "
                 "positives; categories are plain means. ★ marks the best value of a column. Published rows "
                 "are the papers' own per-target AUCs averaged over the same targets: their test sets were "
                 "built from the papers' released files, ours from peaks, so they are not like-for-like.</p>")
    for d, v in with_models.items():
        summary = pd.read_csv(v["comparison"]["comparison_summary"], sep="\t")
        parts.append(f"<h3>{html.escape(d)}</h3>" + summary_rows(summary, d, list(v["models"])))
    for d, v in with_models.items():
        parts.append(dataset_section(page_dir, d, v, evalue))

    if show_planted:
        tomtoms = {f"{d}/{m}": Path(mf["tomtom"]) for d, v in with_models.items() for m, mf in v["models"].items()
                   if "tomtom" in mf}
        recovery = planted_recovery(Path(truth), tomtoms, evalue)
        with atomic_output(planted) as tmp:
            recovery.to_csv(tmp, sep="\t", index=False)
        parts.append(f"<h2 id='planted'>Planted motifs recovered (demo)</h2><p>{int(recovery['recovered'].sum())} "
                     f"of {len(recovery)} planted JASPAR matrices are matched at E &lt; {evalue} by a filter "
                     f"(filters named per model).</p>" + table_html(recovery))

    parts.append("<h2 id='inputs'>Inputs</h2><h3>Data sets</h3>" + table_html(
        dataset_rows({d: Path(v["file"]) for d, v in datasets.items()}), "{:.0f}"))
    counts = [Path(p) for p in manifest["peak_counts"].values()]
    if counts:
        parts.append("<h3>Peak files</h3><p>Lines read, kept, and dropped or skipped by reason (README, "
                     "'Bad input').</p>" + table_html(peak_counts(counts), "{:.0f}"))
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>seq2reg report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    with atomic_output(out, suffix=".html") as tmp:
        tmp.write_text(page)
    log.info("report: %s", out)


def main(args) -> None:
    build_report(json.loads(args.manifest), Path(args.output), args.evalue, args.profile,
                 Path(args.planted) if args.planted else None)


def build_parser():
    p = cli.parser("Write the HTML report of a run.")
    p.add_argument("--manifest", required=True, help="JSON: the files to show (see rules/report.smk)")
    p.add_argument("--output", required=True)
    p.add_argument("--planted", help="output: planted_motifs.tsv (demo)")
    p.add_argument("--evalue", type=float, default=0.01)
    p.add_argument("--profile", default="")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
