"""Stage ``tomtom``: match motifs (first-layer filters) against JASPAR, as MEME's Tomtom does.

``distance: pearson`` (the default, and what DanQ and DSSDA used) is a re-implementation of
MEME Tomtom 5.x's default "complete scores" method (Gupta et al. 2007; MEME ``src/tomtom.c``):

1. motifs get a pseudocount (``freq * nsites + 0.1 * background``) / (``nsites + 0.1``);
2. every query column is scored against every column of every target and of every target's
   reverse complement with Pearson's correlation coefficient;
3. each query column's scores are shifted by their median over all target columns (so an
   unaligned column scores 0), then all scores are scaled and rounded to integers 0..100;
4. the null distribution of the summed score of any run of query columns is built by dynamic
   programming from those per-column score distributions (each query column aligned to a
   random target column), and from it the distribution of the best score over all
   ``query + target - 1`` alignments and both strands, per target width;
5. a target's best alignment (at least ``min_overlap`` columns; ties go to the larger overlap)
   gets the p-value of its score; E = p x number of targets; q-values by Benjamini-Hochberg over
   the query's matches (both strands).

``distance: euclidean`` uses memelite's fast Tomtom (Euclidean scores only).

Output ``tomtom.tsv`` has MEME's columns (Query_ID, Target_ID, Optimal_offset, p-value,
E-value, q-value, Overlap, Query_consensus, Target_consensus, Orientation), one row per query and
target (the better strand) with E-value <= ``report_evalue``; ``tomtom_summary.tsv`` lists per
query (per filter, joined to filters.tsv: consensus, sites, information content) the best named
match, its E-value and whether it is significant (E < ``evalue``).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba as nb
import numpy as np
import pandas as pd

from workflow_scripts import cli
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.motif_files import Motif, consensus, read_meme

log = cli.log.getChild("tomtom")
BINS = 100
COLUMNS = ["Query_ID", "Target_ID", "Optimal_offset", "p-value", "E-value", "q-value", "Overlap",
           "Query_consensus", "Target_consensus", "Orientation"]


def with_pseudocount(freqs: np.ndarray, nsites: float, background: np.ndarray, pseudo: float) -> np.ndarray:
    return (freqs * nsites + pseudo * background) / (nsites + pseudo)


def reverse_complement_freqs(freqs: np.ndarray) -> np.ndarray:
    return freqs[::-1, ::-1].copy()          # A C G T -> T G C A, columns reversed


def centred_columns(freqs: np.ndarray) -> np.ndarray:
    """Columns minus their mean (0.25) divided by their norm; uniform columns stay 0."""
    c = freqs - 0.25
    norm = np.sqrt((c * c).sum(1, keepdims=True))
    return np.divide(c, norm, out=np.zeros_like(c), where=norm != 0)


@nb.njit(cache=True, nogil=True)
def _scale(shifted):
    small, large = shifted.min(), shifted.max()
    if large == small:
        small = large - 1
    offset = np.floor(small)
    scale = np.floor(BINS / (large - offset))
    scaled = np.empty(shifted.shape, np.int64)
    hist = np.zeros((shifted.shape[0], BINS + 1))
    for i in range(shifted.shape[0]):
        for j in range(shifted.shape[1]):
            v = int(np.floor((shifted[i, j] - offset) * scale + 0.5))   # MEME's nint (v >= 0)
            scaled[i, j] = v
            hist[i, v] += 1.0
    return scaled, offset, scale, hist / shifted.shape[1]


def shift_and_scale(scores: np.ndarray) -> tuple[np.ndarray, float, float, np.ndarray]:
    """MEME's median shift per query column, then scaling to integers 0..BINS.

    Returns the scaled scores, MEME's offset and scale, and each query column's histogram of
    scaled scores over all target columns (its null distribution).
    """
    n = scores.shape[1]
    i1 = max(int(np.floor(0.5 * n)) - 1, 0)
    i2 = max(int(np.ceil(0.5 * n)) - 1, i1)
    part = np.partition(scores, sorted({i1, i2}), axis=1)   # n is even with both strands: i1 == i2
    scaled, offset, scale, hist = _scale(scores - ((part[:, i1] + part[:, i2]) / 2.0)[:, None])
    return scaled, float(offset), float(scale), hist


@nb.njit(cache=True, nogil=True)
def _run_pmfs(hist, wq, n_values):
    """pmf of the summed scaled score of query columns [s, e] for every s <= e.

    hist[c, v] = fraction of target columns giving query column c the scaled score v.
    Returns pmf (wq*(wq+1)/2, BINS*wq + 1) and index[s, e] -> row.
    """
    size = BINS * wq + 1
    pmf = np.zeros((wq * (wq + 1) // 2, size))
    index = np.full((wq, wq), -1, np.int64)
    row = 0
    old = np.zeros(size)
    new = np.zeros(size)
    for start in range(wq - 1, -1, -1):
        new[:] = 0.0
        new[0] = 1.0
        top = 0
        for i in range(wq - start):
            old[:] = new
            new[:] = 0.0
            c = start + i
            for v in range(n_values):
                w = hist[c, v]
                if w == 0.0:
                    continue
                for k in range(top + 1):        # branch-free, so it vectorises
                    new[k + v] += old[k] * w
            top += BINS
            pmf[row, :] = new
            index[start, start + i] = row
            row += 1
    return pmf, index


def alignment_ranges(wq: int, width: int) -> list[tuple[int, int]]:
    """Query columns [s, e] covered by each of the wq + width - 1 alignments with a target."""
    out = []
    for i in range(wq + width - 1):
        if i < wq:
            s = wq - i - 1
            out.append((s, min(wq, s + width) - 1))
        else:
            out.append((0, min(wq, width + wq - i - 1) - 1))
    return out


@nb.njit(cache=True, nogil=True)
def _log_below(pmf, rows, shifts, ks):
    """log P(X_r < k) for each needed pmf row r (placed ``shifts[r]`` higher) and each k."""
    out = np.empty((len(rows), len(ks)))
    size = pmf.shape[1]
    tail = np.empty(size + 1)
    for i in range(len(rows)):
        row = pmf[rows[i]]
        tail[size] = 0.0
        for j in range(size - 1, -1, -1):          # tail[j] = P(X >= j), summed from the top
            tail[j] = tail[j + 1] + row[j]
        for m in range(len(ks)):
            j = ks[m] - shifts[i]
            survival = 1.0 if j <= 0 else (0.0 if j >= size else tail[j])
            out[i, m] = np.log1p(-min(survival, 1.0)) if survival < 1.0 else -np.inf
    return out


def best_score_pvalues(pmf: np.ndarray, index: np.ndarray, wq: int, widths: np.ndarray,
                       offset_scale: float, strands: int, width_index: np.ndarray, k: np.ndarray) -> np.ndarray:
    """P(best complete score over all alignments and strands >= k) for each target.

    MEME builds the distribution of the best score alignment by alignment; the best of
    independent scores has P(max < k) = prod_a P(X_a < k), so we sum log1p(-P(X_a >= k)) and
    take -expm1 of the sum, which keeps p-values of 1e-30 accurate. Only the scores that occur
    are looked up. ``k`` is the complete score minus ``wq * offset_scale`` (MEME's index, where
    the pmf of query columns [s, e] sits ``-offset_scale * (wq - 1 - (e - s))`` higher);
    ``width_index[t]`` points into ``widths``.
    """
    ranges = [alignment_ranges(wq, int(w)) for w in widths]
    needed = sorted({r for rs in ranges for r in rs})
    row_of = {r: i for i, r in enumerate(needed)}
    rows = np.array([index[s, e] for s, e in needed], np.int64)
    shifts = np.array([-int(np.rint(offset_scale * (wq - 1 - (e - s)))) for s, e in needed], np.int64)
    ks, k_inverse = np.unique(k, return_inverse=True)
    log_below = _log_below(pmf, rows, shifts, ks)
    totals = np.stack([log_below[[row_of[r] for r in rs]].sum(axis=0) for rs in ranges])
    return -np.expm1(strands * totals)[width_index, k_inverse]


@nb.njit(cache=True, nogil=True)
def _best_alignments(scaled, col_start, widths, wq, min_overlap, offset_scale):
    """Best complete score, offset and overlap of the query against each target (one strand)."""
    n = len(widths)
    score = np.empty(n)
    offset = np.empty(n, np.int64)
    overlap = np.empty(n, np.int64)
    for t in range(n):
        wt = widths[t]
        mo = min(min_overlap, wq, wt)
        best, best_ov, best_off = np.inf, -1, 0
        for config in range(mo, wq + wt - mo + 1):
            if config <= wq:
                qc, tc = wq - config, 0
            else:
                qc, tc = 0, config - wq
            total = 0.0
            ov = 0
            while qc < wq and tc < wt:
                total += scaled[qc, col_start[t] + tc]
                qc += 1
                tc += 1
                ov += 1
            value = -np.rint(total + ov * offset_scale)
            if value < best or (value == best and ov > best_ov):
                best, best_ov, best_off = value, ov, config - wq
        score[t], offset[t], overlap[t] = -best, best_off, best_ov
    return score, offset, overlap


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p, kind="stable")
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    out = np.empty_like(q)
    out[order] = q
    return out


class PearsonTomtom:
    """Tomtom with Pearson scores against a fixed set of targets (both strands)."""

    def __init__(self, targets: list[Motif], background: np.ndarray, pseudo: float = 0.1, min_overlap: int = 5):
        self.targets, self.background, self.pseudo, self.min_overlap = targets, background, pseudo, min_overlap
        forms = []
        for m in targets:                          # forward at even, reverse complement at odd rows
            f = with_pseudocount(m.freqs, m.nsites, background, pseudo)
            forms += [f, reverse_complement_freqs(f)]
        self.widths = np.array([len(f) for f in forms], np.int64)
        self.col_start = np.concatenate([[0], np.cumsum(self.widths)[:-1]]).astype(np.int64)
        self.unit_columns = centred_columns(np.concatenate(forms))
        self.forms = forms
        self.consensus = np.array([consensus(f) for f in forms], dtype=object)
        self.ids = np.array([m.id for m in targets], dtype=object)
        self.strand = np.tile([0, 1], len(targets))
        self.id_rank = np.repeat(np.argsort(np.argsort(self.ids.astype(str))), 2)
        self.unique_widths, self.width_index = np.unique(self.widths, return_inverse=True)

    def match(self, query: Motif) -> dict[str, np.ndarray]:
        """Every target (better strand) for one query, in MEME's order, as column arrays."""
        q = with_pseudocount(query.freqs, query.nsites, self.background, self.pseudo)
        wq = len(q)
        scaled, offset, scale, hist = shift_and_scale(centred_columns(q) @ self.unit_columns.T)
        pmf, index = _run_pmfs(hist, wq, BINS + 1)
        score, off, overlap = _best_alignments(scaled, self.col_start, self.widths,
                                               wq, self.min_overlap, offset * scale)
        k = np.rint(score - wq * offset * scale).astype(np.int64)
        p = best_score_pvalues(pmf, index, wq, self.unique_widths, offset * scale, 2, self.width_index, k)
        p = p.astype(np.float32).astype(np.float64)      # MEME keeps p-values as float
        q_values = benjamini_hochberg(p)
        # MEME's order: p ascending, overlap descending, then "+id" < "-id" (strand, then id)
        order = np.lexsort((self.id_rank, self.strand, -overlap, p))
        _, first = np.unique(order // 2, return_index=True)      # better strand of each target
        keep = order[np.sort(first)]
        n = len(self.targets)
        return {"Query_ID": np.full(len(keep), query.id, dtype=object), "Target_ID": self.ids[keep // 2],
                "Optimal_offset": off[keep], "p-value": p[keep], "E-value": p[keep] * n,
                "q-value": q_values[keep], "Overlap": overlap[keep],
                "Query_consensus": np.full(len(keep), consensus(q), dtype=object),
                "Target_consensus": self.consensus[keep],
                "Orientation": np.where(keep % 2 == 0, "+", "-")}


def tomtom_pearson(queries: list[Motif], targets: list[Motif], background: np.ndarray, *,
                   pseudo: float = 0.1, min_overlap: int = 5, workers: int | None = None) -> pd.DataFrame:
    """All query-target pairs (better strand), MEME's columns."""
    engine = PearsonTomtom(targets, background, pseudo, min_overlap)
    if not queries:
        return pd.DataFrame(columns=COLUMNS)
    with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:   # numba parts release the GIL
        parts = list(pool.map(engine.match, queries))
    return pd.DataFrame({c: np.concatenate([part[c] for part in parts]) for c in COLUMNS})


def tomtom_euclidean(queries: list[Motif], targets: list[Motif]) -> pd.DataFrame:
    """memelite's Tomtom (Euclidean distance), in MEME's columns."""
    from memelite.tomtom import tomtom
    if not queries:
        return pd.DataFrame(columns=COLUMNS)
    p, scores, offsets, overlaps, strands = tomtom([q.freqs.T for q in queries], [t.freqs.T for t in targets],
                                                   n_jobs=os.cpu_count() or 1)
    rows = []
    for i, q in enumerate(queries):
        qv = benjamini_hochberg(p[i])
        for j, t in enumerate(targets):
            strand = int(strands[i, j])
            form = t.freqs if strand == 0 else reverse_complement_freqs(t.freqs)
            rows.append((q.id, t.id, int(offsets[i, j]), float(p[i, j]), float(p[i, j]) * len(targets),
                         float(qv[j]), int(overlaps[i, j]), consensus(q.freqs), consensus(form),
                         "+" if strand == 0 else "-"))
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["Query_ID", "p-value"], kind="stable")


SUMMARY_COLUMNS = ["query", "best_target", "best_name", "evalue", "significant", "n_significant"]


def summarise_matches(table: pd.DataFrame, queries: list[Motif], names: dict[str, str], evalue: float) -> pd.DataFrame:
    """Per query: best match, its name and E-value, and whether it is significant."""
    best = table.sort_values("p-value", kind="stable").drop_duplicates("Query_ID").set_index("Query_ID")
    n_significant = table[table["E-value"] < evalue].groupby("Query_ID").size()
    rows = []
    for q in queries:
        if q.id in best.index:
            b = best.loc[q.id]
            rows.append([q.id, b["Target_ID"], names.get(b["Target_ID"], ""), b["E-value"],
                         bool(b["E-value"] < evalue), int(n_significant.get(q.id, 0))])
        else:
            rows.append([q.id, "", "", np.nan, False, 0])
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def with_filter_table(summary: pd.DataFrame, filters: Path) -> pd.DataFrame:
    """The per-filter table of filter_motifs (consensus, sites, information content) with the
    best match added; filters dropped before Tomtom keep their reason."""
    table = pd.read_csv(filters, sep="\t")
    return table.merge(summary.rename(columns={"query": "filter"}), on="filter", how="left")


def main(args) -> None:
    queries, background = read_meme(args.query) if Path(args.query).stat().st_size else ([], np.full(4, 0.25))
    targets, _ = read_meme(args.targets)
    if args.distance == "pearson":
        table = tomtom_pearson(queries, targets, background, pseudo=args.pseudo, min_overlap=args.min_overlap)
    else:
        table = tomtom_euclidean(queries, targets)
    names = {t.id: t.name for t in targets}
    summary = summarise_matches(table, queries, names, args.evalue)
    if args.filters:
        summary = with_filter_table(summary, Path(args.filters))
    with atomic_output(args.output) as tmp:
        table[table["E-value"] <= args.report_evalue].to_csv(tmp, sep="\t", index=False, float_format="%g")
    with atomic_output(args.summary) as tmp:
        summary.to_csv(tmp, sep="\t", index=False, float_format="%g")
    log.info("%d of %d motifs match a target at E < %g (%s)", int(summary["significant"].sum()),
             len(queries), args.evalue, args.distance)


def build_parser():
    p = cli.parser("Tomtom: match query motifs against target motifs (MEME formats).")
    p.add_argument("--query", required=True, help="query motifs (MEME)")
    p.add_argument("--targets", required=True, help="target motifs (MEME), e.g. JASPAR 2024")
    p.add_argument("--output", required=True, help="tomtom.tsv")
    p.add_argument("--summary", required=True, help="per-query best matches")
    p.add_argument("--filters", help="filters.tsv of filter_motifs, to join the best matches to")
    p.add_argument("--distance", choices=["pearson", "euclidean"], default="pearson")
    p.add_argument("--min-overlap", type=int, default=5)
    p.add_argument("--pseudo", type=float, default=0.1)
    p.add_argument("--evalue", type=float, default=0.01, help="significance threshold for the summary")
    p.add_argument("--report-evalue", type=float, default=10.0, help="rows written to tomtom.tsv")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
