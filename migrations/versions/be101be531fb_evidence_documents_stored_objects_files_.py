"""evidence documents, stored objects, files and criterion links; school counters

Revision ID: be101be531fb
Revises: 13bba0e8eed9
Create Date: 2026-12-02 07:17:00.339869

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'be101be531fb'
down_revision = '13bba0e8eed9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('school_counters',
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=40), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_school_counters_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('school_id', 'prefix', name=op.f('pk_school_counters'))
    )
    op.create_table('stored_objects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_stored_objects_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_objects')),
    sa.UniqueConstraint('school_id', 'sha256', name=op.f('uq_stored_objects_school_id_sha256'))
    )
    op.create_table('evidence_documents',
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('title_sort', sa.Text(), nullable=False),
    sa.Column('doc_type', sa.Enum('decision', 'plan', 'regulation', 'report', 'minutes', 'contract', 'invoice', 'screenshot', 'photo', 'link', 'other', name='doc_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('search', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_evidence_documents_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['removed_by_id'], ['users.id'], name=op.f('fk_evidence_documents_removed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_evidence_documents_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_documents')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('evidence_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_documents_school_id'), ['school_id'], unique=False)
        batch_op.create_index('ix_evidence_documents_school_year', ['school_id', 'school_year', 'removed_at'], unique=False)

    op.create_table('evidence_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text_status', sa.Enum('pending', 'done', 'failed', 'ocr_off', name='text_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('ocr_used', sa.Boolean(), nullable=False),
    sa.Column('found', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['evidence_documents.id'], name=op.f('fk_evidence_files_document_id_evidence_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['object_id'], ['stored_objects.id'], name=op.f('fk_evidence_files_object_id_stored_objects'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_evidence_files_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_evidence_files_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_files')),
    sa.UniqueConstraint('document_id', 'object_id', name=op.f('uq_evidence_files_document_id_object_id')),
    sa.UniqueConstraint('document_id', 'version', name=op.f('uq_evidence_files_document_id_version')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_files_object_id'), ['object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_files_school_id'), ['school_id'], unique=False)

    op.create_table('evidence_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=False),
    sa.Column('criterion', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'rejected', name='link_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_evidence_links_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['evidence_documents.id'], name=op.f('fk_evidence_links_document_id_evidence_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_evidence_links_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_evidence_links_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_links')),
    sa.UniqueConstraint('document_id', 'criterion', name=op.f('uq_evidence_links_document_id_criterion')),
    sa.UniqueConstraint('school_id', 'school_year', 'code', name=op.f('uq_evidence_links_school_id_school_year_code')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('evidence_links', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_links_school_year_criterion', ['school_id', 'school_year', 'criterion'], unique=False)

    # Asset tag counters become one series each of the school counters.
    op.execute("INSERT INTO school_counters (school_id, prefix, last_number) "
               "SELECT school_id, prefix, last_number FROM asset_tag_counters")
    op.drop_table('asset_tag_counters')


def downgrade():
    op.create_table('asset_tag_counters',
    sa.Column('school_id', sa.INTEGER(), nullable=False),
    sa.Column('prefix', sa.VARCHAR(length=16), nullable=False),
    sa.Column('last_number', sa.INTEGER(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_asset_tag_counters_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('school_id', 'prefix', name=op.f('pk_asset_tag_counters'))
    )
    op.execute("INSERT INTO asset_tag_counters (school_id, prefix, last_number) "
               "SELECT school_id, prefix, last_number FROM school_counters WHERE prefix NOT LIKE '%/%'")
    with op.batch_alter_table('evidence_links', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_links_school_year_criterion')

    op.drop_table('evidence_links')
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_files_school_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_files_object_id'))

    op.drop_table('evidence_files')
    with op.batch_alter_table('evidence_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_documents_school_year')
        batch_op.drop_index(batch_op.f('ix_evidence_documents_school_id'))

    op.drop_table('evidence_documents')
    op.drop_table('stored_objects')
    op.drop_table('school_counters')
