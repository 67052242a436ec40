"""Deterministic, streaming generator of raw exports calibrated to GAO-16-223.

    from pipelines.generate import generate, DefectRates, UpdateRates
    summary = generate(out=Path("landing"), scale=1.0, seed=2016, defects=DefectRates(), updates=UpdateRates())

writes ``trace/``, ``seizures/``, ``licensees/`` and ``multiple_sales/`` under ``out`` in
the formats of ``shared/export-formats.md``, and the ground truth in ``out/_generator/``
(``manifest.json``, ``defects.csv``). See docs/GENERATOR.md.
"""

from pipelines.generate.core import GenerateSummary, generate
from pipelines.generate.plan import DEFAULT_SEED, DefectRates, UpdateRates, expected_figures

__all__ = ["DEFAULT_SEED", "DefectRates", "GenerateSummary", "UpdateRates", "expected_figures", "generate"]
