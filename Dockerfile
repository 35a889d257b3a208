# syntax=docker/dockerfile:1
# crmbridge: the web app (gunicorn) and, with another command, the worker. Build from the repository root:
#
#   docker build -t crmbridge:latest .
#
# Stage 1 builds the taskpane with Node.js from package-lock.json; stage 2 builds the wheel with that taskpane in it;
# the image itself is a slim Python with the wheel installed, running as an unprivileged user.

FROM node:20-bookworm-slim AS taskpane
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
COPY addin/ addin/
COPY scripts/lib/build-taskpane.mjs scripts/lib/
RUN node scripts/lib/build-taskpane.mjs

FROM python:3.12-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md package.json package-lock.json ./
COPY scripts/lib/ scripts/lib/
COPY addin/ addin/
COPY backend/crmbridge/ backend/crmbridge/
COPY --from=taskpane /src/addin/taskpane/dist/ addin/taskpane/dist/
# The taskpane is built already (stage 1): setup.py packs it instead of building it again.
ENV CRMBRIDGE_TASKPANE_BUILT=1
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    CRMBRIDGE_INSTANCE_PATH=/var/lib/crmbridge \
    PROMETHEUS_MULTIPROC_DIR=/tmp/crmbridge-metrics
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /var/lib/crmbridge crmbridge \
    && mkdir -p /var/lib/crmbridge \
    && chown crmbridge:crmbridge /var/lib/crmbridge
COPY --from=wheel /wheels/ /wheels/
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001:10001
WORKDIR /var/lib/crmbridge
EXPOSE 8000
# Liveness only (/healthz): readiness (/readyz) is for the load balancer, so a database outage does not restart it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['PORT']}/healthz\", timeout=4)"]
CMD ["crmbridge", "serve"]
