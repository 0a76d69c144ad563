"""The district's external evaluations of approved assessments

Revision ID: 74d19433c6b2
Revises: 1d0d40c7fc3c
Create Date: 2026-12-02 11:54:14.965338

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '74d19433c6b2'
down_revision = '1d0d40c7fc3c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('sealed_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('score', sa.JSON(), nullable=False),
    sa.Column('evaluated_by_id', sa.Integer(), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recognised', sa.JSON(), nullable=True),
    sa.Column('recognised_by_id', sa.Integer(), nullable=True),
    sa.Column('recognised_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_evaluations_assessment_id_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['evaluated_by_id'], ['users.id'], name=op.f('fk_evaluations_evaluated_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recognised_by_id'], ['users.id'], name=op.f('fk_evaluations_recognised_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sealed_id'], ['sealed_results.id'], name=op.f('fk_evaluations_sealed_id_sealed_results'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluations')),
    sa.UniqueConstraint('assessment_id', name=op.f('uq_evaluations_assessment_id')),
    sqlite_autoincrement=True
    )


def downgrade():
    op.drop_table('evaluations')
