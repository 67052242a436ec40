"""Audit: the expectation suites (Great Expectations) run over what was built, and decide.

Suites live in ``expectations/suites/*.json`` in GX's own suite format: one per source
(trace, seizures, licensees, multiple sales) and one for the marts. Each expectation
carries its severity in ``meta.severity``: an ``error`` that fails holds the release, a
``warning`` is reported. An expectation that could not be evaluated (a metric that
failed to compute, a column that is not there) counts as failed, never as a pass.

A suite checks one or more *batches*:

- ``relation`` + ``columns``: those columns of a warehouse table or view;
- ``query``: the rows of a SQL query over the warehouse (a string, or a list of lines),
  used for checks that are not about one table: reconciliation against the load ledger,
  lineage from a model back to the raw rows and the files they came from;
- ``builtin``: a frame computed here, for checks about the release as a whole:
  ``volume`` (row counts against the current release's manifest), ``personal_data``
  (every column of every mart to be published), ``shared_suppression`` (small counts in
  the marts meant for sharing), ``mart_coverage`` (which marts have a reconciliation
  check).

``meta.batch`` is the suite's default batch, ``meta.batches`` names further ones and an
expectation picks one with ``meta.batch``. A batch can say when it applies:
``meta.source`` on the suite (or ``requires_kinds`` on a batch) skips it quietly when no
file of that kind was loaded; ``requires`` lists relations it reads, and an ``optional``
batch whose relations do not exist yet is skipped with a warning in the report (a
required one fails instead). Expectation arguments may hold ``{"$query": sql}`` (the
values of the first column, e.g. a reference table's codes) and ``{"$date": "today"}``
or ``{"$date": "YYYY-MM-DD"}``.

No batch may hold a personal-data column: examples in the report come from the batches
(and are masked by column name besides), so personal data cannot reach them.

The outcome is a decision (publish or hold) and a validation report: JSON for the
command line and Airflow, and one self-contained HTML page for reviewers
(templates/validation.html.j2). GX Data Docs are not written: they need the network.

The modules, in the order an audit uses them:

- ``suites``: read and validate the suite files (``SuiteError``), batch lookup;
- ``inventory``: what the warehouse and the current release hold (``Context``);
- ``builtins``: the built-in batches' frames;
- ``batches``: plan and read each batch, skip what does not apply, guard personal data;
- ``incremental``: which checks look at the rows written since the audit that published
  the current release (row-local checks of a batch with ``incremental_by``), and when
  every row is checked instead;
- ``gx_runner``: run the expectations through GX (SQL on DuckDB, or pandas);
- ``examples``: examples of a failure's rows and the files they came from;
- ``results``: ``CheckResult``, ``SkippedBatch``, ``AuditResult``, ``read_summary``;
- ``decision``: publish or hold, the reasons, the warnings, the remedies;
- ``report``: validation.json and validation.html;
- ``run``: ``audit``, all of the above in order;
- ``values``: how values are shown (JSON-safe, short, slug).

This package's top level re-exports what other code uses; it holds no logic.
"""

from pipelines.audit.results import AuditResult, CheckResult, Example, SkippedBatch, read_summary
from pipelines.audit.run import audit
from pipelines.audit.suites import SuiteError, check_suite, load_suites

__all__ = [
    "AuditResult",
    "CheckResult",
    "Example",
    "SkippedBatch",
    "SuiteError",
    "audit",
    "check_suite",
    "load_suites",
    "read_summary",
]
