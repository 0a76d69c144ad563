"""evidence linked to inventory records

Revision ID: c6f8e351e7d8
Revises: 0cd2b26aa3d6
Create Date: 2026-12-02 07:37:55.359699

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6f8e351e7d8'
down_revision = '0cd2b26aa3d6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evidence_record_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('collection', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['evidence_documents.id'], name=op.f('fk_evidence_record_links_document_id_evidence_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_record_links')),
    sa.UniqueConstraint('document_id', 'collection', 'record_id', name=op.f('uq_evidence_record_links_document_id_collection_record_id'))
    )


def downgrade():
    op.drop_table('evidence_record_links')
