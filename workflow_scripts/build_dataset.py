"""Stage ``dataset``: build one configured data set with its builder.

A data set in the configuration is an instance of a builder (``builder: dhs600``,
``deepsea1000`` or ``nuc25k``) with its own name and settings, so that e.g. ``dhs600_random``
and ``dhs600_bychrom`` can be built side by side. The rule passes the settings (``--spec``) and
the files it declares, by role (``--inputs``); the builder writes ``results/datasets/{name}.h5``
(layout: :mod:`workflow_scripts.dataset_layout`). Builders: :mod:`workflow_scripts.dhs600`,
:mod:`workflow_scripts.deepsea1000`, :mod:`workflow_scripts.nuc25k`.
"""
from __future__ import annotations

from pathlib import Path

from workflow_scripts import cli, deepsea1000, dhs600, nuc25k

BUILDERS = {"dhs600": dhs600.build, "deepsea1000": deepsea1000.build, "nuc25k": nuc25k.build}


def main(args) -> None:
    builder = args.spec["builder"]
    if builder not in BUILDERS:
        raise cli.InputError(f"data set {args.name}: unknown builder {builder!r}; known: {', '.join(BUILDERS)}")
    BUILDERS[builder](args.spec, args.inputs, Path(args.output), workers=args.workers)


def build_parser():
    p = cli.parser("Build one data set (HDF5) with its builder.")
    p.add_argument("--name", required=True, help="the data set's name in the configuration")
    p.add_argument("--spec", type=cli.json_arg, required=True, help="its settings as JSON (with builder)")
    p.add_argument("--inputs", type=cli.json_arg, required=True, help="input files by role as JSON")
    p.add_argument("--output", required=True)
    p.add_argument("--workers", type=int, default=1)
    return p


if __name__ == "__main__":
    cli.run(main, build_parser())
