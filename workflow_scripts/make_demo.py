"""Stage ``make_demo``: the embedded demo inputs, made offline and deterministically from a seed.

It writes, in the formats of the real data, every file the demo sample sheets point at, all
below ``--out-dir`` (a sheet pointing elsewhere is refused: the demo never writes anywhere else):

* ``genome.fa.gz`` — a gzip FASTA named like hg19 (chr1-chr9, chrX, chrY, chrM and an
  auxiliary ``chrUn_demo``), with N gaps, soft-masked stretches and duplicated segments. chr7 is
  long and mostly N, so that DeepSEA's validation region (chr7:30,508,751-35,296,850) exists and
  the real split rules apply unchanged;
* one peak file per sample (ENCODE narrowPeak, Roadmap hotspot ``peaks.bed``, broadPeak; gzipped
  or plain; some with a track/browser line or Ensembl-style chromosome names, a few peaks on
  excluded chromosomes or running past a chromosome end), following the design columns of the
  sample sheets: ``demo_motif`` (the JASPAR 2024 matrix a TF's peaks carry) and
  ``demo_factors`` (the TFs whose sites a DNase cell type or histone mark covers; a histone mark
  without factors gets random broad domains);
* ``blacklist.bed.gz`` and ``unmappable.bed`` (the duplicated segments plus repeat-like spots);
* ``truth.tsv`` — feature, category, planted JASPAR matrix id and name, factors, peak count;
* inputs for using a trained model, on the test chromosomes (chr8, chr9): ``regions.bed`` —
  200 bp around bound TF sites (name: the TF) and random places (name: ``background``), for
  prediction and mutagenesis; ``variants.vcf.gz`` — SNVs in and around bound sites and at random,
  plus one of each case a variant reader must handle (multi-allelic, insertion, deletion, ALT
  ``.`` and ``*``, a symbolic ALT, Ensembl names ``8``/``MT``, a chromosome's first bases, a REF
  that differs from the genome, a chromosome the genome lacks). Drawn from their own random
  stream, so the other files do not depend on them.

Each bound TF site carries a cluster of four motif instances sampled from the JASPAR matrix (so
with its real degeneracy) in random orientation, each a match at p < 1e-5 against the demo's
background (as a bound site found by FIMO would be: weaker draws are drawn again, which sharpens
the weak matrices most: a third of MEF2C's free draws pass, about half of SPI1's, EBF1's, HNF1A's
and USF1's, nearly all of most others'); 30 % more sites are planted unbound as decoys (two
instances), 10 % of each TF's peaks carry no motif and a cell type's DNase peaks keep 85 %
of its factors' sites plus random peaks, so that models learn the motifs without reaching AUC 1.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyjaspar import jaspardb

from workflow_scripts import cli
from workflow_scripts.fasta import write_fasta_record
from workflow_scripts.io_utils import atomic_output
from workflow_scripts.sample_sheets import Sample, local_path, read_sample_sheet

log = cli.log.getChild("make_demo")

# name: (length, first base with sequence). chr7 is N up to 30.4 Mbp (see module docstring).
CHROMOSOMES = {"chr1": (1_700_000, 0), "chr2": (1_500_000, 0), "chr3": (1_300_000, 0),
               "chr4": (1_100_000, 0), "chr5": (1_000_000, 0), "chr6": (900_000, 0),
               "chr7": (31_700_000, 30_400_000), "chr8": (1_100_000, 0), "chr9": (1_000_000, 0),
               "chrX": (1_000_000, 0), "chrY": (300_000, 0), "chrM": (16_569, 0),
               "chrUn_demo": (60_000, 0)}
SITE_CHROMS = ("chr1", "chr2", "chr3", "chr4", "chr5", "chr6", "chr7", "chr8", "chr9", "chrX")
BACKGROUND = np.array([0.295, 0.205, 0.205, 0.295])      # A C G T, 41 % GC as in the human genome
LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)
SITES_PER_TF = 550
SLOT = 300
COPIES = 4              # motif instances per bound site
DECOY_COPIES = 2        # per unbound decoy site
DNASE_RETENTION = 0.85  # chance that a cell type's factor site is accessible in it
SITE_PVALUE = 1e-5      # every planted instance scores at least this significantly against BACKGROUND


@dataclass
class Genome:
    seq: dict[str, np.ndarray]        # ASCII letters
    usable: dict[str, tuple[int, int]]  # where sites may go


@dataclass
class Matrix:
    """A JASPAR matrix to plant: its instances must reach ``min_score`` (log-odds in bits against
    BACKGROUND), the score a background sequence reaches with probability SITE_PVALUE."""
    name: str
    probs: np.ndarray          # width x 4 (A C G T)

    def __post_init__(self):
        self.log_odds = np.log2(self.probs / BACKGROUND)
        self.min_score = score_threshold(self.log_odds, SITE_PVALUE)

    def score(self, codes: np.ndarray) -> np.ndarray:
        """Log-odds of sequences of the matrix's width (..., width; A C G T = 0..3)."""
        return self.log_odds[np.arange(len(self.probs)), codes].sum(axis=-1)


def jaspar_matrix(matrix_id: str) -> Matrix:
    motif = jaspardb(release="JASPAR2024").fetch_motif_by_id(matrix_id)
    counts = np.array([motif.counts[b] for b in "ACGT"], dtype=float).T + 0.1
    return Matrix(motif.name, counts / counts.sum(axis=1, keepdims=True))


def score_threshold(log_odds: np.ndarray, pvalue: float, step: float = 0.01) -> float:
    """The lowest log-odds score a BACKGROUND sequence reaches with probability <= ``pvalue``:
    the exact score distribution on a ``step``-bit grid, built position by position."""
    grid = np.round(log_odds / step).astype(int)
    grid -= grid.min(axis=1, keepdims=True)
    dist = np.ones(1)
    for row in grid:
        new = np.zeros(len(dist) + row.max())
        for base in range(4):
            new[row[base]:row[base] + len(dist)] += BACKGROUND[base] * dist
        dist = new
    tail = dist[::-1].cumsum()[::-1]                       # P(score >= k)
    if tail[-1] > pvalue:
        raise ValueError(f"no score of this matrix is as rare as p = {pvalue} against the background")
    threshold = (np.argmax(tail <= pvalue) + np.round(log_odds.min(axis=1) / step).sum()) * step
    return float(min(threshold, log_odds.max(axis=1).sum()))   # the grid rounds: the best must pass


def sample_instance(rng: np.random.Generator, matrix: Matrix) -> np.ndarray:
    """One instance drawn from the matrix, drawn again until it reaches ``matrix.min_score``."""
    while True:
        draws = (rng.random((64, len(matrix.probs), 1)) > matrix.probs.cumsum(axis=1)).sum(axis=2).clip(max=3)
        strong = np.flatnonzero(matrix.score(draws) >= matrix.min_score)
        if len(strong):
            return LETTERS[draws[strong[0]]]


def make_genome(rng: np.random.Generator) -> tuple[Genome, list[tuple[str, int, int]]]:
    """Random genome with N gaps, soft-masking and duplicated segments (returned as unmappable)."""
    seq, usable, unmappable = {}, {}, []
    for name, (length, first) in CHROMOSOMES.items():
        letters = np.full(length, ord("N"), dtype=np.uint8)
        letters[first:] = LETTERS[rng.choice(4, size=length - first, p=BACKGROUND)]
        body = length - first
        if body > 400_000:
            for _ in range(2):                            # assembly gaps
                gap = int(rng.integers(20_000, 60_000))
                at = first + int(rng.integers(50_000, body - gap - 50_000))
                letters[at:at + gap] = ord("N")
            for _ in range(3):                            # segmental duplications
                size = int(rng.integers(20_000, 40_000))
                a = first + int(rng.integers(0, body - size))
                b = first + int(rng.integers(0, body - size))
                letters[b:b + size] = letters[a:a + size]
                unmappable += [(name, a, a + size), (name, b, b + size)]
            for _ in range(40):                           # soft-masked repeats
                size = int(rng.integers(300, 6000))
                at = first + int(rng.integers(0, body - size))
                letters[at:at + size] |= 0x20
        seq[name] = letters
        usable[name] = (first, length)
    return Genome(seq, usable), unmappable


def reverse_complement_letters(site: np.ndarray) -> np.ndarray:
    table = np.zeros(256, np.uint8)
    for a, b in zip(b"ACGT", b"TGCA"):
        table[a] = b
    return table[site[::-1]]


def plant(genome: Genome, rng: np.random.Generator, chrom: str, center: int, matrix: Matrix,
          copies: int) -> None:
    """A homotypic cluster: ``copies`` strong instances of the matrix, 45 bp apart around
    ``center``, each in random orientation (clusters like these make real DHSs)."""
    for k in range(copies):
        site = sample_instance(rng, matrix)
        if rng.random() < 0.5:
            site = reverse_complement_letters(site)
        at = center + 45 * k - 45 * (copies - 1) // 2 - len(site) // 2
        genome.seq[chrom][at:at + len(site)] = site


class SiteSlots:
    """Positions for planted sites: slots of SLOT bp on the main chromosomes, each used once,
    so planted motifs never overlap (random, motif-less peaks may land anywhere)."""

    def __init__(self, genome: Genome, rng: np.random.Generator):
        self.rng = rng
        slots = []
        for c in SITE_CHROMS:
            first, end = genome.usable[c]
            starts = np.arange(first + 1000, end - 1000 - SLOT, SLOT)
            clean = [s for s in starts if not (genome.seq[c][s:s + SLOT] == ord("N")).any()]
            slots += [(c, int(s)) for s in clean]
        self.free = [slots[i] for i in rng.permutation(len(slots))]

    def take(self, n: int) -> list[tuple[str, int]]:
        """Centres of n unused slots (room for a cluster of COPIES motifs each)."""
        if n > len(self.free):
            raise ValueError(f"demo genome too small for {n} more sites")
        picked, self.free = self.free[:n], self.free[n:]
        return [(c, s + SLOT // 2 + int(self.rng.integers(-20, 21))) for c, s in picked]

    def anywhere(self, n: int) -> list[tuple[str, int]]:
        return [(c, s + int(self.rng.integers(0, SLOT)))
                for c, s in (self.free[i] for i in self.rng.integers(0, len(self.free), n))]


def peak_around(rng, chrom: str, center: int, width: tuple[int, int], jitter: float, size: int):
    w = int(rng.integers(*width))
    mid = center + int(rng.normal(0, jitter))
    start = max(0, mid - w // 2)
    return chrom, start, min(size, start + w), mid - start


def merge_domains(peaks: list) -> list:
    out = []
    for p in sorted(peaks):
        if out and out[-1][0] == p[0] and p[1] <= out[-1][2]:
            last = out[-1]
            out[-1] = (last[0], last[1], max(last[2], p[2]), last[3])
        else:
            out.append(p)
    return out


def format_lines(sample: Sample, peaks: list, rng: np.random.Generator) -> list[str]:
    """Peak records in the dialect the sample's file name says (narrowPeak, hotspot, broadPeak)."""
    name = str(local_path(sample.url))
    lines = []
    if sample.name.endswith(("C02", "_SRF")):
        lines.append('track type=narrowPeak name="demo" description="seq2reg demo"')
    if sample.name.endswith("C07"):
        lines.append("browser position chr1:1-100000")
    ensembl = sample.name.endswith(("C04", "_NRF1"))
    for i, (chrom, start, end, summit) in enumerate(peaks):
        signal = float(np.round(rng.gamma(4.0, 6.0), 4))
        score = int(min(1000, 100 + signal * 15))
        c = chrom[3:] if ensembl and chrom.startswith("chr") and chrom != "chrM" else chrom
        if "hotspot" in name:
            lines.append(f"{c}\t{start}\t{end}\t.\t{signal:.4f}")
        elif "broadPeak" in name:
            lines.append(f"{c}\t{start}\t{end}\tdomain{i}\t{score}\t.\t{signal:.4f}\t{signal / 3:.3f}\t-1")
        else:
            p = signal / 2
            lines.append(f"{c}\t{start}\t{end}\t.\t{score}\t.\t{signal:.4f}\t{p:.3f}\t{p * 0.8:.3f}\t{summit}")
    return lines


def write_text(path: Path, lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode()
    with atomic_output(path) as tmp:
        if path.name.endswith(".gz"):
            with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
                fh.write(data)
        else:
            tmp.write_bytes(data)


def demo_peak_file(sample: Sample, out_dir: Path) -> Path:
    """Where a demo sample's peak file goes: only ever below ``out_dir``."""
    path = local_path(sample.url)
    if path is None or not path.resolve().is_relative_to(out_dir.resolve()):
        raise cli.InputError(f"demo sample {sample.name}: {sample.url} is not below {out_dir}; the demo writes "
                             f"only there")
    return path


TEST_CHROMS = ("chr8", "chr9")


def write_use_inputs(genome: Genome, sites: dict[str, list[tuple[str, int]]], out_dir: Path,
                     rng: np.random.Generator) -> None:
    """``regions.bed`` and ``variants.vcf.gz`` on the test chromosomes (see the module docstring)."""
    bound = [(c, p, tf.removeprefix("TF_")) for tf, ps in sites.items() for c, p in ps if c in TEST_CHROMS]
    bound = [bound[i] for i in rng.permutation(len(bound))[:24]]
    sizes = {c: len(genome.seq[c]) for c in TEST_CHROMS}
    background = [(c, int(rng.integers(5000, sizes[c] - 5000)), "background")
                  for c in rng.choice(TEST_CHROMS, 8)]
    regions = sorted(bound + background)
    write_text(out_dir / "regions.bed", [f"{c}\t{p - 100}\t{p + 100}\t{name}" for c, p, name in regions])

    def base(chrom, pos):                                  # 1-based
        return chr(genome.seq[chrom][pos - 1]).upper()

    def other(letter):
        return str(rng.choice([b for b in "ACGT" if b != letter]))

    records = []
    for c, p, name in bound:                               # in and around the bound site's motifs
        for pos in p + rng.integers(-90, 91, 8):
            ref = base(c, int(pos))
            if ref != "N":
                records.append((c, int(pos), f"{name}_site", ref, other(ref)))
    for c in rng.choice(TEST_CHROMS, 60):
        pos = int(rng.integers(5000, sizes[str(c)] - 5000))
        if base(c, pos) != "N":
            records.append((str(c), pos, "random", base(c, pos), other(base(c, pos))))
    c, p, _ = bound[0]
    r = base(c, p)
    records += [(c, p, "multiallelic", r, ",".join(b for b in "ACGT" if b != r)),
                (c, p + 1, "insertion", base(c, p + 1), base(c, p + 1) + "GATTACA"),
                (c, p + 3, "deletion", base(c, p + 3) + base(c, p + 4) + base(c, p + 5), base(c, p + 3)),
                (c, p + 6, "no_alt", base(c, p + 6), "."),
                (c, p + 7, "star_allele", base(c, p + 7), "*"),
                (c, p + 8, "symbolic", base(c, p + 8), "<DEL>"),
                (c.removeprefix("chr"), p + 9, "ensembl_name", base(c, p + 9), other(base(c, p + 9))),
                ("MT", 100, "mitochondrion", chr(genome.seq["chrM"][99]).upper(), other(chr(genome.seq["chrM"][99]).upper())),
                ("chr9", 3, "chromosome_start", base("chr9", 3), other(base("chr9", 3))),
                (c, p + 10, "ref_mismatch", other(base(c, p + 10)), base(c, p + 10)),
                ("chr22", 1000, "not_in_genome", "A", "G")]
    order = {name: i for i, name in enumerate(list(CHROMOSOMES) + ["8", "MT", "chr22"])}
    records.sort(key=lambda r: (order[r[0]], r[1]))
    header = ["##fileformat=VCFv4.2", "##source=seq2reg make_demo"]
    header += [f"##contig=<ID={name},length={len(seq)}>" for name, seq in genome.seq.items()]
    header += ["#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    write_text(out_dir / "variants.vcf.gz", header + [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t." for c, p, i, r, a in records])


def make_demo(sheets: list[Path], out_dir: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    samples = {s.name: s for sheet in sheets for s in read_sample_sheet(sheet)}
    targets = {name: demo_peak_file(s, out_dir) for name, s in samples.items()}
    tfs = [s for s in samples.values() if s.category == "TF"]
    genome, unmappable = make_genome(rng)
    sizes = {c: len(s) for c, s in genome.seq.items()}
    motifs = {s.name: jaspar_matrix(s.extra["demo_motif"]) for s in tfs}
    factor_of = {s.name.removeprefix("TF_"): s.name for s in tfs}

    slots = SiteSlots(genome, rng)
    sites: dict[str, list[tuple[str, int]]] = {}
    for s in tfs:
        n_bound, n_decoy = SITES_PER_TF, int(SITES_PER_TF * 0.3)
        chunk = slots.take(n_bound + n_decoy)
        for i, (chrom, pos) in enumerate(chunk):
            plant(genome, rng, chrom, pos, motifs[s.name], COPIES if i < n_bound else DECOY_COPIES)
        sites[s.name] = chunk[:n_bound]

    peaks: dict[str, list] = {}
    for s in tfs:
        ps = [peak_around(rng, c, p, (200, 500), 25, sizes[c]) for c, p in sites[s.name]]
        ps += [peak_around(rng, c, p, (200, 500), 0, sizes[c])
               for c, p in slots.anywhere(SITES_PER_TF // 10)]
        peaks[s.name] = ps
    for s in samples.values():
        if s.category == "TF":
            continue
        factors = [factor_of[f] for f in s.extra.get("demo_factors", "").split(",") if f]
        if s.category == "DNase":
            ps = [peak_around(rng, c, p, (150, 350), 30, sizes[c])
                  for f in factors for c, p in sites[f] if rng.random() < DNASE_RETENTION]
            ps += [peak_around(rng, c, p, (150, 350), 0, sizes[c])
                   for c, p in slots.anywhere(len(ps) // 7)]
        else:
            ps = [peak_around(rng, c, p, (1000, 4000), 300, sizes[c])
                  for f in factors for c, p in sites[f] if rng.random() < 0.6]
            ps += [peak_around(rng, c, p, (2000, 20000), 0, sizes[c])
                   for c, p in slots.anywhere(150)]
            ps = merge_domains(ps)
        peaks[s.name] = ps

    for s in samples.values():
        ps = sorted(peaks[s.name])
        if s.name.endswith(("C01", "_CTCF")):           # dialect edge cases the pipeline must handle
            ps += [("chrY", 1000, 1300, 150), ("chrUn_demo", 500, 800, 150),
                   ("chrM", 100, 400, 150), ("chr1", sizes["chr1"] - 120, sizes["chr1"] + 80, 60)]
        write_text(targets[s.name], format_lines(s, ps, rng))

    with atomic_output(out_dir / "genome.fa.gz") as tmp:
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as out:
            for name, letters in genome.seq.items():
                write_fasta_record(out, name, letters)
    for name in SITE_CHROMS:                              # repeat-like unmappable spots
        first, end = genome.usable[name]
        for _ in range(15):
            at = int(rng.integers(first, end - 3000))
            unmappable.append((name, at, at + int(rng.integers(200, 3000))))
    write_text(out_dir / "unmappable.bed", [f"{c}\t{a}\t{b}" for c, a, b in sorted(unmappable)])
    blacklist = []
    for name in SITE_CHROMS:
        first, end = genome.usable[name]
        at = int(rng.integers(first, end - 10_000))
        blacklist.append((name, at, at + int(rng.integers(1000, 8000))))
    write_text(out_dir / "blacklist.bed.gz", [f"{c}\t{a}\t{b}\tHigh Signal Region" for c, a, b in blacklist])

    truth = ["feature\tlabel\tcategory\tmotif_id\tmotif_name\tfactors\tn_peaks"]
    for s in samples.values():
        motif_id = s.extra.get("demo_motif", "")
        truth.append("\t".join([s.name, s.label, s.category, motif_id,
                                motifs[s.name].name if motif_id else "",
                                s.extra.get("demo_factors", ""), str(len(peaks[s.name]))]))
    write_text(out_dir / "truth.tsv", truth)
    write_use_inputs(genome, sites, out_dir, np.random.default_rng([seed, 1]))
    log.info("demo: %d samples, genome of %d bp in %d chromosomes", len(samples),
             sum(sizes.values()), len(sizes))


def main(args) -> None:
    make_demo([Path(s) for s in args.samples], Path(args.out_dir), args.seed)


def build_parser():
    p = cli.parser("Make the embedded demo inputs (genome, peak files, masks, truth table).")
    p.add_argument("--samples", nargs="+", required=True, help="demo sample sheets")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--seed", type=int, default=7)
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
