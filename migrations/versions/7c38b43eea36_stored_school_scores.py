"""Each school's last computed score, stored for the district's pages (filled by
`flask scores refresh`, then kept by every change)

Revision ID: 7c38b43eea36
Revises: 74d19433c6b2
Create Date: 2026-12-02 12:17:19.950715

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c38b43eea36'
down_revision = '74d19433c6b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('school_scores',
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('stamp', sa.String(length=32), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('score', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_school_scores_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('school_id', name=op.f('pk_school_scores'))
    )


def downgrade():
    op.drop_table('school_scores')
