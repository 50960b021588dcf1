"""The benchmarks stay runnable: each one's imports resolve against the current code.

They are not run here (tests never measure time); this only catches a benchmark left behind by
a rename, which nothing else would notice until someone needs the figures.
"""

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*_bench.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_module_imports(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # runs the imports, not the benchmark (guarded by __main__)
    assert callable(getattr(module, "main", None))
