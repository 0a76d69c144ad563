"""The sealed score beside each seal, for the district's pages (a copy of the snapshot's
score, filled for the seals made before); one portal-wide unit price per key; a saved
plan's version (two editors never overwrite each other)

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
                 sa.column("score", sa.JSON))
BATCH = 200


def upgrade():
    op.add_column("sealed_results", sa.Column("score", sa.JSON(), nullable=True))
    connection = op.get_bind()
    last = 0
    while True:  # a batch at a time: snapshots can be large
        rows = connection.execute(sa.select(SEALS.c.id, SEALS.c.snapshot).where(SEALS.c.id > last)
                                  .order_by(SEALS.c.id).limit(BATCH)).all()
        if not rows:
            break
        for seal_id, snapshot in rows:
            connection.execute(SEALS.update().where(SEALS.c.id == seal_id).values(score=snapshot["score"]))
        last = rows[-1][0]
    # A unique constraint lets NULL district_ids repeat: the portal-wide prices need their own.
    op.add_column("plans", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_index("uq_unit_prices_portal_key", "unit_prices", ["key"], unique=True,
                    sqlite_where=sa.text("district_id IS NULL"), postgresql_where=sa.text("district_id IS NULL"))


def downgrade():
    op.drop_index("uq_unit_prices_portal_key", table_name="unit_prices")
    with op.batch_alter_table("plans", schema=None, **never_reused_ids()) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table('sealed_results', schema=None, **never_reused_ids()) as batch_op:
        batch_op.drop_column('score')


def never_reused_ids() -> dict:
    """On SQLite a rebuilt table keeps AUTOINCREMENT (see revision 62fcd9f5aa71)."""
    if op.get_bind().dialect.name == "sqlite":
        return {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}}
    return {}
