"""The import graph: stages (the modules the rules run) import only libraries, never another
stage; libraries import no stage; models import no stage. So a stage can be rerun, replaced or
read on its own, and every analysis of a trained model goes through the inference library."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "workflow_scripts"


def stages() -> set[str]:
    """Modules the rules run (``python -m workflow_scripts.<stage>``)."""
    text = "\n".join(p.read_text() for p in (ROOT / "rules").glob("*.smk"))
    return set(re.findall(r"-m workflow_scripts\.([a-z_0-9]+)", text))


def imports(path: Path) -> set[str]:
    """workflow_scripts modules imported by ``path`` (first component below the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("workflow_scripts"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("workflow_scripts.")}
    return found


def test_the_rules_run_stages_that_exist():
    assert {"build_dataset", "train", "evaluate", "filter_motifs", "compare", "report"} <= stages()
    assert all((PACKAGE / f"{s}.py").exists() for s in stages())


def test_no_stage_imports_another_stage_and_no_library_imports_a_stage():
    stage_names = stages()
    arrows = []
    for path in sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "models").glob("*.py")):
        module = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        own = path.stem if path.parent == PACKAGE else None
        for target in imports(path) & stage_names:
            if target != own:
                arrows.append(f"{module} -> workflow_scripts.{target}")
    assert not arrows, "stage imported outside its own module:\n" + "\n".join(arrows)
