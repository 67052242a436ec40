"""dbt-duckdb plugin: every connection dbt opens gets the pipeline's run-time functions
(``pipelines.udfs``), with the purchaser key read from the environment or the key file
when the connection is made, never from the dbt project's text, and the pipeline's
memory limit and spill folder (``pipelines.warehouse.limits``). Named in profiles.yml.

dbt runs in the pipeline's process (``pipelines.transform``), which hands the plugin its
settings for the time of a build (``settings_for_build``); dbt started by hand (``dbt
build`` in the project) gets them from the environment."""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines import udfs
from pipelines.config import Settings
from pipelines.secrets import pii_key
from pipelines.warehouse import limits

# The settings of the build under way in this process, set by pipelines.transform.
settings_for_build: Settings | None = None


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        settings = settings_for_build or Settings.from_env()
        # The same memory limit and spill folder as the pipeline's own connections.
        for name, value in limits(settings).items():
            conn.execute(f"set {name} = '{value.replace(chr(39), chr(39) * 2)}'")
        udfs.register(conn, pii_key(settings))
