"""dbt-duckdb plugin: every connection dbt opens gets the pipeline's run-time functions
(``pipelines.udfs``), with the purchaser key read from the environment or the key file
when the connection is made, never from the dbt project's text. Named in profiles.yml."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines import udfs
from pipelines.config import Settings
from pipelines.secrets import pii_key


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        udfs.register(conn, pii_key(Settings.from_env()))
