# syntax=docker/dockerfile:1
#
# One image per service, from the repository root:
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=engagements .
# The image holds that service, handover-kit and handover-shared, with their locked dependencies.

# Builder and runtime share one base, so the venv's interpreter path is valid in both.
ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
COPY --from=uv /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src

# Third-party dependencies first: this layer is rebuilt only when the lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    : "${SERVICE:?pass --build-arg SERVICE=engagements, talent or kpi}" \
    && uv sync --frozen --no-dev --no-editable --no-install-workspace --package "handover-${SERVICE}"

# With --frozen, uv needs only the members it installs, so other services' changes do not bust this layer.
COPY pyproject.toml uv.lock ./
COPY shared shared
COPY services/kit services/kit
COPY services/${SERVICE} services/${SERVICE}
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "handover-${SERVICE}"


FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="handover-${SERVICE}"

# A numeric id, so Kubernetes can verify runAsNonRoot from the image alone.
RUN groupadd --system --gid 10001 handover \
    && useradd --system --uid 10001 --gid handover --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin handover

# Owned by root: the service can read its code but not change it.
COPY --from=builder /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HANDOVER_SERVICE=${SERVICE}

USER 10001:10001

# Exec-form CMD cannot expand a build arg; the shell execs, so the server receives the stop signal.
CMD ["sh", "-c", "exec \"handover-${HANDOVER_SERVICE}\" serve"]
