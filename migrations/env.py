"""Alembic environment wired to the SQLModel metadata of callqueue.models."""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Engine
from sqlmodel import SQLModel

import callqueue.models  # noqa: F401  (registers every table on SQLModel.metadata)
from callqueue.db import make_engine

config = context.config
if config.config_file_name and not config.attributes.get("engine"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    url = (
        context.get_x_argument(as_dictionary=True).get("db")
        or os.environ.get("CALLQUEUE_DB")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("Set CALLQUEUE_DB or pass -x db=URL")
    return make_engine(url)


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_as_batch=True,  # SQLite can only ALTER by copying the table
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it."""
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live connection, in one transaction."""
    engine = _engine()
    with engine.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
