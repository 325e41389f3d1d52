"""Throwaway databases for tests: a SQLite file, and PostgreSQL when CALLQUEUE_TEST_PG is set.

Every test that takes `db_url`, `empty_db_url` or `engine` runs once per backend. Under CI
(`CI=true`) a missing CALLQUEUE_TEST_PG is an error, so PostgreSQL tests never skip silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from callqueue import bootstrap

PG_URL = os.environ.get("CALLQUEUE_TEST_PG", "").strip()
SHARED = Path(__file__).resolve().parents[2] / "shared"
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run a CI build that would skip PostgreSQL; keep logs out of the user's home."""
    os.environ.setdefault(
        "CALLQUEUE_LOG", str(Path(config.rootpath) / ".pytest_cache" / "test.log")
    )
    os.environ.setdefault(
        "CALLQUEUE_DESK_STATE", str(Path(config.rootpath) / ".pytest_cache" / "desk.json")
    )
    if os.environ.get("CI", "").lower() == "true" and not PG_URL:
        raise pytest.UsageError(
            "CI=true but CALLQUEUE_TEST_PG is not set: PostgreSQL tests must run"
        )


def _admin() -> Engine:
    return create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")


def _create_pg_database(template: str | None = None) -> str:
    name = f"cq_test_{uuid.uuid4().hex[:12]}"
    admin = _admin()
    with admin.connect() as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated, seeded PostgreSQL database that per-test databases are copied from."""
    if not PG_URL:
        yield None
        return
    url = _create_pg_database()
    bootstrap.open_database(url).dispose()
    yield make_url(url).database
    _drop_pg_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind this run of the test uses."""
    return str(request.param)


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    url = _create_pg_database()
    yield url
    _drop_pg_database(url)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, pg_template: str | None) -> Iterator[str]:
    """The URL of a migrated database holding the seed catalog."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
        bootstrap.open_database(url).dispose()
        yield url
        return
    url = _create_pg_database(template=pg_template)
    yield url
    _drop_pg_database(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated, seeded database."""
    eng = bootstrap.open_database(db_url)
    yield eng
    eng.dispose()


def index_definitions(engine: Engine) -> dict[str, str | None]:
    """Each index's name and the CREATE INDEX text the database itself keeps for it."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        else:
            rows = conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            )
        return {name: definition for name, definition in rows}
