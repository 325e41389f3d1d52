"""Open a database ready for work: connected, migrated, and holding the catalog."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from callqueue import db
from callqueue.catalog_edit import load_catalog
from callqueue.models import CatalogItem
from callqueue.resources import bundled


def catalog_seed_path() -> Path:
    """The catalog file an empty database is loaded with."""
    return bundled("seeds") / "catalog.toml"


def open_database(url: str, *, busy_timeout_ms: int = 15_000) -> Engine:
    """An engine on `url`, migrated and seeded on first use.

    An empty database is migrated to the newest revision and loaded with the catalog. An
    older SQLite file (one desk) is upgraded in place; a shared PostgreSQL database is
    upgraded only by `callqueue db upgrade`, so desks never race a migration.

    Args:
        url: the SQLAlchemy URL.
        busy_timeout_ms: SQLite lock wait.

    Returns:
        The engine.

    Raises:
        db.DatabaseError: the database cannot be reached or needs an explicit upgrade.
    """
    engine = db.make_engine(url, busy_timeout_ms=busy_timeout_ms)
    db.check_connection(engine)
    current = db.current_revision(engine)
    if current != db.head_revision():
        if current is None and not db.is_empty(engine):
            raise db.DatabaseError(
                f"数据库 {db.safe_url(engine.url)} 中已有其他数据表，不是 callqueue 数据库"
            )
        if current is not None and engine.dialect.name != "sqlite":
            raise db.DatabaseError(
                f"数据库结构版本 {current} 较旧，请管理员先运行：callqueue db upgrade"
            )
        db.upgrade(engine)
    seed_catalog(engine)
    return engine


def seed_catalog(engine: Engine) -> bool:
    """Load the bundled catalog into a database that has none; True when it did."""
    with db.session_scope(engine, write=True) as session:
        if session.exec(select(CatalogItem.id).limit(1)).first() is not None:
            return False
        load_catalog(session, path=catalog_seed_path(), actor="seed")
        return True
