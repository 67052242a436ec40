# The image every Airflow service of docker-compose.yml runs: the same locked
# environment as ./dev, with the project installed, the DAGs baked in.
FROM python:3.11-slim-bookworm

ENV UV_VERSION=0.13.8 \
    UV_PROJECT_ENVIRONMENT=/opt/tracepipe/.venv \
    PATH=/opt/tracepipe/.venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    TRACEPIPE_DATA_DIR=/data

RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /opt/tracepipe
COPY pyproject.toml uv.lock README.md ./
COPY pipelines ./pipelines
COPY dags ./dags
COPY dbt_project ./dbt_project
COPY expectations ./expectations
RUN uv sync --frozen --no-dev \
    && uv pip install --python /opt/tracepipe/.venv/bin/python "apache-airflow-providers-celery" "psycopg2-binary" "redis"
RUN useradd --uid 50000 --create-home airflow && mkdir -p /data /opt/airflow \
    && chown -R airflow /data /opt/airflow
USER airflow
