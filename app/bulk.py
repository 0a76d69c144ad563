"""Inserting many rows of one table in the current transaction, for imports.

PostgreSQL gets the rows by COPY, with ids drawn from the table's sequence first: for
thousands of rows it is several times faster than INSERT statements, whose text the
driver must build and parse. Other databases (SQLite) get one INSERT ... RETURNING per
page of rows. Either way Python-side column defaults are applied and the ids come back
in the order of the rows. Nothing here runs ORM events: callers set what those would."""

from __future__ import annotations

import json

import psycopg
from sqlalchemy import JSON, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db


def insert_rows(model: type, rows: list[dict]) -> list[int]:
    """Insert ``rows`` (column key → value) into ``model``'s table; return their new ids
    (none for a table without an ``id`` column)."""
    if not rows:
        return []
    numbered = "id" in model.__table__.columns
    if db.session.get_bind().dialect.name == "postgresql":
        return _copy(model.__table__, rows, numbered)
    if not numbered:
        db.session.execute(insert(model), rows)
        return []
    return list(db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))


def _copy(table, rows: list[dict], numbered: bool) -> list[int]:
    connection = db.session.connection()
    ids = sorted(connection.scalars(select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
                                    .select_from(func.generate_series(1, len(rows))))) if numbered else []
    rows = [{**row, "id": new_id} for new_id, row in zip(ids, rows, strict=True)] if numbered else rows
    given = set().union(*rows)
    columns = [column for column in table.columns if column.key in given or column.default is not None]
    dialect = connection.dialect
    convert = [_as_json if isinstance(column.type, JSON) else column.type.bind_processor(dialect)
               for column in columns]
    names = ", ".join(dialect.identifier_preparer.quote(column.name) for column in columns)
    statement = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
    try:
        with connection.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                values = [row[column.key] if column.key in row else _default(column) for column in columns]
                copy.write_row([process(value) if process and value is not None else value
                                for process, value in zip(convert, values, strict=True)])
    except psycopg.errors.IntegrityError as error:  # as SQLAlchemy reports it for its own statements
        raise IntegrityError(statement, None, error) from error
    return ids


def _as_json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _default(column):
    default = column.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg
