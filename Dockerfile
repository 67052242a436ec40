# The image every Airflow service of docker-compose.yml runs: the project and its
# locked environment (uv.lock, with the `deploy` extra: Celery provider, Redis,
# psycopg2, asyncpg), the DAGs baked in. Every package comes from uv.lock; outside it
# are only uv itself (pinned below) and the project's build backend (hatchling), which
# uv fetches to install the project, as ./dev does.
#
#   docker build -t tracepipe-airflow .
#   docker build --build-arg PYTHON_IMAGE=registry.example/python:3.11-slim-bookworm .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ARG UV_VERSION=0.13.8
ENV UV_PROJECT_ENVIRONMENT=/opt/tracepipe/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    PATH=/opt/tracepipe/.venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    TRACEPIPE_DATA_DIR=/opt/tracepipe/data \
    PYTHONUNBUFFERED=1

RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}" \
    && useradd --uid 50000 --gid 0 --create-home --home-dir /home/airflow airflow
WORKDIR /opt/tracepipe

# Dependencies first (their layer is reused while uv.lock is unchanged), then the project.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --extra deploy --no-install-project --no-cache
COPY README.md ./
COPY pipelines ./pipelines
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
COPY deploy/airflow-init deploy/api-server ./deploy/
RUN uv sync --frozen --no-dev --extra deploy --no-cache \
    && mkdir -p /opt/tracepipe/data /opt/airflow/logs \
    && chown -R airflow:0 /opt/tracepipe/data /opt/airflow /opt/tracepipe/dbt_project \
    && chmod -R g+w /opt/tracepipe/data /opt/airflow

# /opt/tracepipe/data (landing, warehouse, releases, reports) is where docker-compose.yml
# mounts the data volume every service shares.
USER airflow
CMD ["airflow", "version"]
