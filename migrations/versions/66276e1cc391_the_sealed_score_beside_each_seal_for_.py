"""The sealed score beside each seal, for the district's pages (a copy of the snapshot's
score, filled for the seals made before) and, beside every stored score (live, sealed,
evaluated), its groups' figures alone, which a province's summary reads; one portal-wide
unit price per key; a saved plan's version (two editors never overwrite each other)

Revision ID: 66276e1cc391
Revises: 486e55a59673
Create Date: 2026-12-02 14:23:53.063875

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '66276e1cc391'
down_revision = '486e55a59673'
branch_labels = None
depends_on = None

SEALS = sa.table("sealed_results", sa.column("id", sa.Integer), sa.column("snapshot", sa.JSON),
                 sa.column("score", sa.JSON), sa.column("groups", sa.JSON))
# Tables holding a score (the API's shape), by their key column.
SCORED = {"school_scores": "school_id", "sealed_results": "id", "evaluations": "id"}
BATCH = 200
# app.framework.models.GROUP_FIGURES as of this revision.
GROUP_FIGURES = ("code", "points", "max", "level", "recognised_level", "evidenced_points")


def upgrade():
    op.add_column("sealed_results", sa.Column("score", sa.JSON(), nullable=True))
    for name in SCORED:
        op.add_column(name, sa.Column("groups", sa.JSON(), nullable=True))
    connection = op.get_bind()
    for seal_id, snapshot in _batches(connection, SEALS, "id", SEALS.c.snapshot):
        connection.execute(SEALS.update().where(SEALS.c.id == seal_id).values(score=snapshot["score"]))
    for name, key in SCORED.items():
        table = sa.table(name, sa.column(key, sa.Integer), sa.column("score", sa.JSON), sa.column("groups", sa.JSON))
        for row_id, score in _batches(connection, table, key, table.c.score):
            groups = [{field: group.get(field) for field in GROUP_FIGURES} for group in (score or {}).get("groups", [])]
            connection.execute(table.update().where(table.c[key] == row_id).values(groups=groups))
    op.add_column("plans", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    # A unique constraint lets NULL district_ids repeat: the portal-wide prices need their own.
    op.create_index("uq_unit_prices_portal_key", "unit_prices", ["key"], unique=True,
                    sqlite_where=sa.text("district_id IS NULL"), postgresql_where=sa.text("district_id IS NULL"))


def _batches(connection, table, key: str, column):
    """(key, value of ``column``) of every row, a batch at a time (snapshots can be large)."""
    last = 0
    while True:
        rows = connection.execute(sa.select(table.c[key], column).where(table.c[key] > last)
                                  .order_by(table.c[key]).limit(BATCH)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def downgrade():
    op.drop_index("uq_unit_prices_portal_key", table_name="unit_prices")
    with op.batch_alter_table("school_scores", schema=None) as batch_op:
        batch_op.drop_column("groups")
    with op.batch_alter_table("evaluations", schema=None, **never_reused_ids()) as batch_op:
        batch_op.drop_column("groups")
    with op.batch_alter_table("plans", schema=None, **never_reused_ids()) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table('sealed_results', schema=None, **never_reused_ids()) as batch_op:
        batch_op.drop_column('groups')
        batch_op.drop_column('score')


def never_reused_ids() -> dict:
    """On SQLite a rebuilt table keeps AUTOINCREMENT (see revision 62fcd9f5aa71)."""
    if op.get_bind().dialect.name == "sqlite":
        return {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}}
    return {}
