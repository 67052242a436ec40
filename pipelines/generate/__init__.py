"""Deterministic, streaming generator of raw exports calibrated to GAO-16-223.

    from pipelines.generate import generate, DefectRates
    summary = generate(out=Path("landing"), scale=1.0, seed=2016, defects=DefectRates())

writes ``trace/``, ``seizures/``, ``licensees/`` and ``multiple_sales/`` under ``out`` in
the formats of ``shared/export-formats.md``, and the ground truth in ``out/_generator/``
(``manifest.json``, ``defects.csv``). See docs/GENERATOR.md.
"""

from pipelines.generate.core import GenerateSummary, generate
from pipelines.generate.plan import DEFAULT_SEED, DefectRates, expected_figures

__all__ = ["DEFAULT_SEED", "DefectRates", "GenerateSummary", "expected_figures", "generate"]
