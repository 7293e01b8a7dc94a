"""The migrations build exactly the schema of `schema.py`, on both backends, and run again harmlessly."""

from __future__ import annotations

from importlib import resources
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from smsplatform.store import partitions
from smsplatform.store.database import create_engine, migrate
from smsplatform.store.schema import metadata


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(resources.files("smsplatform.store") / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _sqlite_literal(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text.strip("'")


def _default_differs(
    context: MigrationContext,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """SQLite reflects `DEFAULT ''` as `('')`: compare the literal, not its spelling. Alembic's own
    comparison everywhere else."""
    if context.dialect.name != "sqlite" or inspected_default is None or rendered_metadata_default is None:
        return None
    return _sqlite_literal(inspected_default) != _sqlite_literal(rendered_metadata_default)


def _not_a_partition(name: str | None, type_: str, parent_names: Any) -> bool:
    """The message table's day partitions (PostgreSQL) are the platform's to make, not the metadata's."""
    return not (type_ == "table" and name is not None and partitions.is_partition_name(name))


def _partitioned_fk(diff: Any) -> bool:
    """On PostgreSQL the partitioned message table has no foreign key to `sends` (migration 0014)."""
    return bool(
        diff[0] == "add_fk" and diff[1].parent.name == "messages" and diff[1].column_keys == ["send_id"]
    )


def test_a_migrated_database_matches_the_metadata(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            options = {
                "compare_type": True,
                "compare_server_default": _default_differs,
                "include_name": _not_a_partition,
            }
            context = MigrationContext.configure(conn, opts=options)
            diffs: list[Any] = [d for d in compare_metadata(context, metadata) if not _partitioned_fk(d)]
            assert context.get_current_revision() == _head()
    finally:
        engine.dispose()
    assert diffs == []


def test_migrating_again_changes_nothing(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == _head()
            named = sa.inspect(conn).get_table_names()
            tables = {name for name in named if not partitions.is_partition_name(name)} - {"alembic_version"}
    finally:
        engine.dispose()
    assert tables == set(metadata.tables)


def test_migrate_creates_a_fresh_sqlite_database(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        migrate(engine)
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) - {"alembic_version"} == set(metadata.tables)
    finally:
        engine.dispose()
