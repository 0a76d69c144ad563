"""Evidence carried over from an earlier school year names its original

Revision ID: 1d0d40c7fc3c
Revises: 149e709ed522
Create Date: 2026-12-02 11:02:09.950396

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1d0d40c7fc3c'
down_revision = '149e709ed522'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evidence_documents', schema=None, **never_reused_ids()) as batch_op:
        batch_op.add_column(sa.Column('carried_from_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_evidence_documents_carried_from_id_evidence_documents'),
                                    'evidence_documents', ['carried_from_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('evidence_documents', schema=None, **never_reused_ids()) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_evidence_documents_carried_from_id_evidence_documents'),
                                 type_='foreignkey')
        batch_op.drop_column('carried_from_id')


def never_reused_ids() -> dict:
    """On SQLite a rebuilt table keeps AUTOINCREMENT (see revision 62fcd9f5aa71)."""
    if op.get_bind().dialect.name == "sqlite":
        return {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}}
    return {}
