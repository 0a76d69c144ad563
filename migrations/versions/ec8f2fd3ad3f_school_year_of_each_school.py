"""School year of each school

Revision ID: ec8f2fd3ad3f
Revises: 62fcd9f5aa71
Create Date: 2026-11-28 19:11:18.689991

Existing schools start in the calendar's school year of the day the migration runs (a
year begins on 1 August), the year their live score was already computed for.
"""
from datetime import date

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ec8f2fd3ad3f'
down_revision = '62fcd9f5aa71'
branch_labels = None
depends_on = None


def _calendar_school_year(today: date) -> str:
    start = today.year if today.month >= 8 else today.year - 1
    return f"{start}-{start + 1}"


def upgrade():
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('school_year', sa.String(length=9), nullable=False,
                                      server_default=_calendar_school_year(date.today())))
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.alter_column('school_year', server_default=None)


def downgrade():
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_column('school_year')
