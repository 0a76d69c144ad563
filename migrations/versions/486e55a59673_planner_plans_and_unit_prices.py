"""The planner's saved plans (a school's named change lists) and the unit prices admins
and district officers set over the index defaults

Revision ID: 486e55a59673
Revises: 7c38b43eea36
Create Date: 2026-12-02 13:43:40.281475

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '486e55a59673'
down_revision = '7c38b43eea36'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_plans_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_plans_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_school_id'), ['school_id'], unique=False)

    op.create_table('unit_prices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('amount_vnd', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount_vnd >= 0 AND amount_vnd <= 1000000000000', name=op.f('ck_unit_prices_amount_range')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_unit_prices_district_id_districts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_unit_prices_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_prices')),
    sa.UniqueConstraint('district_id', 'key', name=op.f('uq_unit_prices_district_id_key')),
    sqlite_autoincrement=True
    )


def downgrade():
    op.drop_table('unit_prices')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_school_id'))

    op.drop_table('plans')
