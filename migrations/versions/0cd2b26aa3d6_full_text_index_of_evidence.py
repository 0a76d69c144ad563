"""full-text index of evidence

The searchable words of each evidence document (app.evidence.search), indexed by the
database itself: on SQLite an FTS5 table over them, kept in step by triggers; on
PostgreSQL a stored tsvector column with a GIN index.

The documents already there are indexed too, so that the evidence a school uploaded
before the upgrade is found.

Revision ID: 0cd2b26aa3d6
Revises: be101be531fb
Create Date: 2026-12-02 07:32:38.485747

"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0cd2b26aa3d6'
down_revision = 'be101be531fb'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evidence_search',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['evidence_documents.id'], name=op.f('fk_evidence_search_document_id_evidence_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_evidence_search'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE evidence_search ADD COLUMN body_tsv tsvector "
                   "GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED")
        op.execute("CREATE INDEX ix_evidence_search_body_tsv ON evidence_search USING gin (body_tsv)")
    else:
        op.execute("CREATE VIRTUAL TABLE evidence_search_fts USING fts5("
                   "body, content='evidence_search', content_rowid='document_id')")
        op.execute("CREATE TRIGGER evidence_search_fts_insert AFTER INSERT ON evidence_search BEGIN "
                   "INSERT INTO evidence_search_fts (rowid, body) VALUES (new.document_id, new.body); END")
        op.execute("CREATE TRIGGER evidence_search_fts_delete AFTER DELETE ON evidence_search BEGIN "
                   "INSERT INTO evidence_search_fts (evidence_search_fts, rowid, body) "
                   "VALUES ('delete', old.document_id, old.body); END")
        op.execute("CREATE TRIGGER evidence_search_fts_update AFTER UPDATE ON evidence_search BEGIN "
                   "INSERT INTO evidence_search_fts (evidence_search_fts, rowid, body) "
                   "VALUES ('delete', old.document_id, old.body); "
                   "INSERT INTO evidence_search_fts (rowid, body) VALUES (new.document_id, new.body); END")
    index_documents()


# app.evidence.search.reindex and app.search.fold, as of this revision.
WORD = re.compile(r"[0-9a-z]+")
MAX_BODY = 400_000
BATCH = 200


def fold(text):
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


def body_of(parts):
    """The searchable words of a document: each once, in order, cut at a word."""
    body = " ".join(dict.fromkeys(WORD.findall(fold(" ".join(part or "" for part in parts)))))
    return body[:MAX_BODY].rsplit(" ", 1)[0] if len(body) > MAX_BODY else body


def index_documents():
    """A row of searchable words for every document already there (its fields and its
    current file, the highest version), a batch of documents at a time."""
    connection = op.get_bind()
    last = 0
    while True:
        documents = connection.execute(sa.text(
            "SELECT d.id, d.title, d.number, d.issuer, d.description, d.url, f.filename, f.text "
            "FROM evidence_documents d LEFT JOIN evidence_files f ON f.document_id = d.id AND f.version = "
            "(SELECT max(version) FROM evidence_files WHERE document_id = d.id) "
            "WHERE d.id > :last ORDER BY d.id LIMIT :batch"), {"last": last, "batch": BATCH}).all()
        if not documents:
            return
        connection.execute(sa.text("INSERT INTO evidence_search (document_id, body) VALUES (:id, :body)"),
                           [{"id": row[0], "body": body_of(row[1:])} for row in documents])
        last = documents[-1][0]


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER evidence_search_fts_{trigger}")
        op.execute("DROP TABLE evidence_search_fts")
    op.drop_table('evidence_search')
