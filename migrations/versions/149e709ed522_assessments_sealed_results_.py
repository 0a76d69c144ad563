"""Assessments of a school year, the results their approvals sealed, notifications, and
the audit trail's hash chain (with ids never reused)

Revision ID: 149e709ed522
Revises: c6f8e351e7d8
Create Date: 2026-12-02 10:45:10.749346

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '149e709ed522'
down_revision = 'c6f8e351e7d8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('status', sa.Enum('draft', 'in_review', 'submitted', 'approved', 'evaluated', 'recognised', name='assessment_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('sealed_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_assessments_changed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_assessments_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('school_id', 'school_year', name=op.f('uq_assessments_school_id_school_year')),
    sqlite_autoincrement=True
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_notifications_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_unread', ['user_id', 'read_at', 'id'], unique=False)

    op.create_table('sealed_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sealed_by_id', sa.Integer(), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('manifest_key', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_sealed_results_assessment_id_assessments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_sealed_results_school_id_schools'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sealed_by_id'], ['users.id'], name=op.f('fk_sealed_results_sealed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_results')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('sealed_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sealed_results_assessment_id'), ['assessment_id'], unique=False)

    # The two tables point at each other: the assessment's foreign key comes once both exist.
    with op.batch_alter_table('assessments', schema=None, **never_reused_ids()) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_assessments_sealed_id_sealed_results'), 'sealed_results',
                                    ['sealed_id'], ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('audit_events', schema=None, **never_reused_ids()) as batch_op:
        batch_op.add_column(sa.Column('previous_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('entry_hash', sa.String(length=64), nullable=True))



def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('entry_hash')
        batch_op.drop_column('previous_hash')

    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_assessments_sealed_id_sealed_results'), type_='foreignkey')

    with op.batch_alter_table('sealed_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sealed_results_assessment_id'))

    op.drop_table('sealed_results')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_unread')

    op.drop_table('notifications')
    op.drop_table('assessments')


def never_reused_ids() -> dict:
    """On SQLite a rebuilt table keeps AUTOINCREMENT (see revision 62fcd9f5aa71)."""
    if op.get_bind().dialect.name == "sqlite":
        return {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}}
    return {}
