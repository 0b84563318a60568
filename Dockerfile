# Rapport in one image: `rapport serve` by default; `worker` and `migrate` from the same image
# (see compose.yaml). The build runs the install commands of `make setup`: `uv sync --frozen`
# (without the dev tools) and scripts/assets.sh for the front-end libraries.

# --- front-end libraries, from package-lock.json ---------------------------------------------
FROM node:22-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/assets.sh scripts/assets.sh
RUN bash scripts/assets.sh

# --- the application -----------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/app/.venv/bin:$PATH
RUN pip install --no-cache-dir uv \
    && useradd --create-home --uid 10001 --user-group rapport \
    && mkdir -p /data /var/lib/rapport/imports \
    && chown rapport:rapport /data /var/lib/rapport/imports
WORKDIR /app
# Dependencies first (a layer that changes only with uv.lock), then the project itself.
COPY pyproject.toml uv.lock README.md LICENSE ./
RUN uv sync --frozen --no-dev --no-install-project
COPY alembic.ini ./
COPY migrations ./migrations
COPY src ./src
RUN uv sync --frozen --no-dev
COPY --from=assets /app/src/rapport/web/static/vendor ./src/rapport/web/static/vendor

USER rapport
# SQLite in a volume when no RAPPORT_DATABASE_URL is given; compose.yaml uses PostgreSQL.
ENV RAPPORT_DATABASE_URL=sqlite:////data/rapport.db \
    RAPPORT_IMPORT_DIR=/var/lib/rapport/imports
VOLUME ["/data", "/var/lib/rapport/imports"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
ENTRYPOINT ["rapport"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
