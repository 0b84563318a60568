"""Settings read from the environment (prefix ``RAPPORT_``) or a ``.env`` file."""

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can tune; defaults run on SQLite with no other service."""

    model_config = SettingsConfigDict(env_prefix="RAPPORT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./rapport.db"
    # Unset: the key generated for the database (core/instance.py); set: it always wins.
    secret_key: str | None = None
    dev_mode: bool = False  # accept an insecure session key (local development only)
    broker_url: str | None = None  # redis://… or amqp://…; unset: jobs run inside `serve`
    jobs_embedded: bool = True  # `serve` runs the worker, relay and scheduler when no broker
    job_queue_prefix: str = "rapport"  # queue (and Redis key) namespace
    job_worker_threads: int = 4
    job_max_attempts: int = 8
    job_min_backoff_ms: int = 1_000
    job_max_backoff_ms: int = 300_000
    job_poll_seconds: float = 0.5
    background_transaction_seconds: float = 1.0  # a job's transaction longer than this is logged
    sqlite_busy_timeout_ms: int = 10_000  # how long a write waits for SQLite's lock, then 503
    log_level: str = "INFO"
    log_json: bool | Literal["auto"] = "auto"  # auto: JSON lines unless stderr is a terminal
    metrics_token: str | None = None  # set: /metrics wants "Authorization: Bearer <token>"
    max_body_bytes: int = 1_000_000
    default_page_size: int = 50
    max_page_size: int = 500
    idempotency_ttl_hours: int = 24
    default_region: str = "US"
    import_dir: str | None = None  # uploads waiting for import; unset: <tmp>/rapport-imports
    secure_cookies: bool = False


@lru_cache
def get_settings() -> Settings:
    """Settings are read once per process; tests clear the cache to change them."""
    return Settings()
