"""The fingerprint of the code and rules a release is built by: the dbt project (models,
macros, seeds, tests), the expectation suites and the pipeline's own code. The plan
(``steps.inputs_fingerprint``) and the incremental audit (``audit.incremental``) both
read it; it imports nothing of the steps, so an audit need not load the ingest."""

from __future__ import annotations

import hashlib

from pipelines.config import PROJECT_ROOT

# What a release is built from, besides the data: a change to any of these is a reason
# to build a new release.
CODE_PARTS = (
    "dbt_project/dbt_project.yml",
    "dbt_project/models",
    "dbt_project/macros",
    "dbt_project/seeds",
    "dbt_project/tests",
    "expectations",
    "pipelines",
)


def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for part in CODE_PARTS:
        root = PROJECT_ROOT / part
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
