"""Notebooks the tests write: a .py submission handed in as notebooks, split into cells the way students split it."""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat

TRAINING_CELL = ("model = MyMLP()\nprint('TRAINING FOR MINUTES')\nimport time\ntime.sleep(600)\n"
                 "history = train(30, None, model, None, None)")
CPU_CHECKS = ("interface", "backpropagation_one_sample", "backpropagation_mini_batch", "rules", "grad_check", "train",
              "train_manual_update", "MyMLP", "load_cifar")


def write_notebook(path: Path, cells: list[str]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Assignment")] + [nbformat.v4.new_code_cell(c) for c in cells]
    path.write_text(nbformat.writes(notebook))
    return path


def cells_of(module_source: str) -> list[str]:
    """A module split the way students split it: one cell per top-level definition (imports in the first)."""
    tree = ast.parse(module_source)
    lines = module_source.splitlines()
    starts = [node.lineno - 1 - len(getattr(node, "decorator_list", [])) for node in tree.body
              if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    bounds = [0, *starts, len(lines)]
    return ["\n".join(lines[a:b]).strip() for a, b in zip(bounds, bounds[1:]) if "\n".join(lines[a:b]).strip()]


def notebook_twin(py_folder: Path, folder: Path, extra_cells=("%matplotlib inline", "!pip install torch")) -> Path:
    """The .py submission in ``py_folder`` handed in as notebooks: same definitions over several cells, with
    magics, a shell line and a training cell at top level."""
    folder.mkdir(parents=True, exist_ok=True)
    for module in ("backpropagation", "gradient_descent"):
        cells = [*extra_cells, *cells_of((py_folder / f"{module}.py").read_text()), TRAINING_CELL]
        write_notebook(folder / f"{module}.ipynb", cells)
    return folder
