"""Templates the tests make from a solution: each graded function's body replaced by the course's stub (``#TODO``
and ``return None``, as the 2023 notebooks hand them out), and the cells the template adds."""
from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

STUB = "    #TODO\n    return None\n"
MNIST_CELL = "model = MyNet([24*24, 16, 10])\nmain_test(backpropagation, model, verbose=False, data='mnist')"


def stubbed(solution: Path, folder: Path, functions: tuple[str, ...], extra_cells: dict[str, list[str]] | None = None
            ) -> Path:
    """A copy of the notebook or .py ``solution`` with ``functions`` stubbed, ``extra_cells`` added per notebook."""
    shutil.copytree(solution, folder)
    for path in folder.iterdir():
        if path.suffix == ".py":
            path.write_text(_stub_source(path.read_text(), functions))
        elif path.suffix == ".ipynb":
            notebook = json.loads(path.read_text())
            for cell in notebook["cells"]:
                if cell["cell_type"] == "code":
                    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                    cell["source"] = _stub_source(source, functions)
            for source in (extra_cells or {}).get(path.stem, []):
                notebook["cells"].append({"cell_type": "code", "id": f"added-{len(notebook['cells'])}",
                                          "metadata": {}, "execution_count": None, "outputs": [], "source": source})
            path.write_text(json.dumps(notebook, indent=1))
    return folder


def _stub_source(source: str, functions: tuple[str, ...]) -> str:
    """``source`` with each top-level ``def NAME(...)`` of ``functions`` cut to its signature and the stub (a class
    of ``functions``: each method, ``__init__`` keeping only ``super().__init__()``)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    for node in reversed(tree.body):
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            _stub_body(lines, node, STUB)
        elif isinstance(node, ast.ClassDef) and node.name in functions:
            for method in reversed([m for m in node.body if isinstance(m, ast.FunctionDef)]):
                _stub_body(lines, method, "        super().__init__()\n        #TODO\n" if method.name == "__init__"
                           else "        #TODO\n        return None\n")
    return "".join(lines)


def _stub_body(lines: list[str], node: ast.FunctionDef, stub: str) -> None:
    body_start = node.body[0].lineno - 1
    if isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
        body_start = node.body[0].end_lineno or body_start
    lines[body_start:node.end_lineno] = [stub]
