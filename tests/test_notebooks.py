"""The example notebooks run top to bottom in a real Jupyter kernel (nbclient + ipykernel), so the Python API
(``import agora``) they show works; docs/notebooks/quickstart.ipynb asserts in its own cells that every world's
run has theory beside simulation with no empty cell."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))


def test_there_is_a_quickstart_notebook():
    assert ROOT / "docs" / "notebooks" / "quickstart.ipynb" in NOTEBOOKS


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_code_cell_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError naming the cell and its traceback
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code)
    errors = [out for cell in code for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert errors == []
    shown = [out["data"].get("text/plain", "") for cell in code for out in cell.get("outputs", [])
             if out.get("output_type") == "execute_result"]
    tables = [text for text in shown if "quantity" in text and "gap" in text]
    if path.stem == "quickstart":  # one theory/simulation table per world, shown by the check() cells
        assert len(tables) == 6, shown
