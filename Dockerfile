# handinger-slack: Handinger agent workers in Slack.
#
#   docker build -t handinger-slack .
#   docker run -d --name handinger-slack --env-file .env -v handinger-data:/data handinger-slack
#
# Socket Mode (SLACK_APP_TOKEN set) needs no inbound port; HTTP mode serves /slack/events on
# $PORT (3000). Both modes serve /healthz, which the HEALTHCHECK below polls. State (SQLite,
# WAL mode) lives on the /data volume.

# ---- builder: a venv with the pinned dependencies and the app -------------------------------
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first, from the lock, so that code changes do not reinstall them.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
# Only the app: the emulators (emulators/) are for tests and the sandbox, so setuptools finds
# only `bot` here and the image never ships them.
COPY bot ./bot
RUN pip install --no-deps . \
    && pip check

# ---- runtime: the venv, a non-root user, and a volume for the database ----------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HANDINGER_DB=/data/handinger-slack.db \
    PORT=3000

RUN groupadd --system --gid 10001 handinger \
    && useradd --system --uid 10001 --gid handinger --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin handinger \
    && mkdir -p /app /data \
    && chown handinger:handinger /app /data

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001
VOLUME ["/data"]
EXPOSE 3000

# python:slim has no curl: ask /healthz with the standard library. 503 (Socket Mode not
# connected) and connection errors both exit non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

CMD ["handinger-slack", "run"]
