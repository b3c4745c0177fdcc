"""Stage ``jaspar_motifs``: a JASPAR collection (latest version of each matrix) from pyjaspar's
bundled database, offline, as a MEME motif file (Tomtom's targets)."""
from __future__ import annotations

from workflow_scripts import cli
from workflow_scripts.motif_files import jaspar_motifs, write_meme


def main(args) -> None:
    write_meme(args.output, jaspar_motifs(args.release, args.collection, args.tax_group))


def build_parser():
    p = cli.parser("Export a JASPAR collection (latest versions) from pyjaspar as MEME motifs.")
    p.add_argument("--output", required=True)
    p.add_argument("--release", default="JASPAR2024")
    p.add_argument("--collection", default="CORE")
    p.add_argument("--tax-group", default="vertebrates")
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
