"""Search inside evidence: a document's title, number, issuer, description, link and the
text read from its current file, found without diacritics ("quyet dinh" finds "Quyết
định") through the database's own full-text index — SQLite FTS5, PostgreSQL ``tsvector``
with a GIN index — ranked, with the passage that matched.

``evidence_search`` keeps one row per document: its words folded (app.search.fold) and
split on anything but letters and digits, so both databases index the same words
("11/QĐ-CVA" is 11, qd, cva). The migration builds the index itself: an FTS5 table kept
in step by triggers on SQLite, a stored ``tsvector`` column on PostgreSQL; neither is in
the models (``is_index_name`` tells the migration checks to leave them be)."""

from __future__ import annotations

import html
import re
from functools import lru_cache

from markupsafe import Markup
from sqlalchemy import ForeignKey, Text, and_, case, delete, func, literal_column, select, text
from sqlalchemy.orm import Mapped, mapped_column

from app.evidence.models import EvidenceDocument, EvidenceFile
from app.extensions import db
from app.search import MAX_WORDS, fold

WORD = re.compile(r"[0-9a-z]+")
MAX_WORD = 40
# Folded words kept per document, each once: a PostgreSQL tsvector holds at most 1 MB.
MAX_BODY = 400_000
# Characters of a file's text searched for the passage shown (the start of a document).
PASSAGE_SCAN = 50_000
FTS_TABLE = "evidence_search_fts"
TSVECTOR_COLUMN = "body_tsv"
TSVECTOR_INDEX = "ix_evidence_search_body_tsv"


def is_index_name(name: str | None, type_: str, _parents=None) -> bool:
    """Whether ``name`` belongs to the full-text index the migration manages by hand."""
    return bool(name) and ((type_ == "table" and name.startswith(FTS_TABLE))
                           or (type_ == "column" and name == TSVECTOR_COLUMN)
                           or (type_ == "index" and name == TSVECTOR_INDEX))


class EvidenceSearch(db.Model):
    """The searchable words of one evidence document."""

    __tablename__ = "evidence_search"

    document_id: Mapped[int] = mapped_column(ForeignKey("evidence_documents.id", ondelete="CASCADE"),
                                             primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")


def words_of(text_: str) -> list[str]:
    return WORD.findall(fold(text_))


def reindex(document) -> None:
    """Refresh ``document``'s searchable words from its fields and its current file's text
    (in the current transaction)."""
    current = document.current_file
    parts = [document.title, document.number, document.issuer, document.description, document.url,
             current.filename if current else "", current.text if current else ""]
    words = dict.fromkeys(words_of(" ".join(part or "" for part in parts)))  # each once, in order
    body = " ".join(words)
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY].rsplit(" ", 1)[0]
    db.session.execute(delete(EvidenceSearch).where(EvidenceSearch.document_id == document.id))
    db.session.add(EvidenceSearch(document_id=document.id, body=body))
    db.session.flush()


def query_words(typed: str) -> list[str]:
    """The words of a search (at most MAX_WORDS, each at most MAX_WORD characters)."""
    return [word[:MAX_WORD] for word in words_of(typed)][:MAX_WORDS]


def hits(typed: str):
    """The documents holding every word of ``typed`` (each word may be the start of a
    longer one): a subquery with their ``document_id``, and the expression ranking them
    (lower first) once joined to evidence_documents. None when ``typed`` has no words."""
    words = query_words(typed)
    if not words:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        # Matched through the GIN index. The planner does not count the cost of unpacking
        # each row's tsvector, and prefers a sequential scan when most documents match
        # (40 ms against 6 ms for 10,000): it is told not to, for this transaction.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        query = func.to_tsquery("simple", " & ".join(f"{word}:*" for word in words))
        vector = literal_column(f"evidence_search.{TSVECTOR_COLUMN}")
        # Ranked: documents whose own fields (title, number, issuer…) hold every word first;
        # scoring each match's whole text would cost more than the search itself.
        in_fields = and_(*(EvidenceDocument.search.contains(word, autoescape=True) for word in words))
        found = select(EvidenceSearch.document_id).where(vector.bool_op("@@")(query)).subquery("hits")
        return found, case((in_fields, 0), else_=1)
    match = " AND ".join(f'"{word}"*' for word in words)
    # "+rowid": SQLite must run the full-text match once and join its rows, not run it once
    # per document of the school.
    found = (select(literal_column("+rowid").label("document_id"), literal_column("rank").label("rank"))
             .select_from(text(FTS_TABLE))
             .where(text(f"{FTS_TABLE} MATCH :match").bindparams(match=match)).subquery("hits"))
    return found, found.c.rank


@lru_cache(maxsize=4096)
def _folded_char(char: str) -> str:
    return " " if char.isspace() else (fold(char) or " ")[0]


def passage(source: str, typed: str, width: int = 200) -> Markup | None:
    """The part of ``source`` (original text, with diacritics) around the first word of
    ``typed`` found in it, the words marked; None when none is found."""
    words = query_words(typed)
    if not source or not words:
        return None
    source = source[:PASSAGE_SCAN]
    # Fold character by character so positions in the folded text are positions in the source.
    folded = "".join(map(_folded_char, source))
    spans = sorted((match.start(), match.end()) for word in words
                   for match in re.finditer(rf"(?<![0-9a-z]){re.escape(word)}", folded))
    if not spans:
        return None
    start = max(0, spans[0][0] - width // 3)
    end = min(len(source), start + width)
    pieces, at = [], start
    for left, right in spans:
        if left < at or right > end:
            continue
        pieces.append(html.escape(source[at:left], quote=False))
        pieces.append(f"<mark>{html.escape(source[left:right], quote=False)}</mark>")
        at = right
    pieces.append(html.escape(source[at:end], quote=False))
    text_ = " ".join("".join(pieces).split())
    # The text is escaped piece by piece above; only the <mark> tags are markup.
    return Markup(("… " if start else "") + text_ + (" …" if end < len(source) else ""))  # nosec B704: escaped above


def passages(documents, typed: str, fields: bool = True) -> dict[int, Markup]:
    """Where each of a page of ``documents`` matches ``typed``, by document id: in its own
    fields (title, number, issuer; left out when ``fields`` is off, for a page that shows
    them anyway), its description, or the start of its current file's text — the texts
    read in one query, PASSAGE_SCAN characters each."""
    if not query_words(typed):
        return {}
    current = [document.current_file.id for document in documents if document.current_file]
    texts = dict(db.session.execute(select(EvidenceFile.id, func.substr(EvidenceFile.text, 1, PASSAGE_SCAN))
                                    .where(EvidenceFile.id.in_(current))).all()) if current else {}
    found = {}
    for document in documents:
        own = " · ".join(part for part in (document.title, document.number, document.issuer) if part)
        if not fields and passage(own, typed):
            continue
        text_ = texts.get(document.current_file.id, "") if document.current_file else ""
        for source in ((own,) if fields else ()) + (document.description, text_):
            if (shown := passage(source, typed)) is not None:
                found[document.id] = shown
                break
    return found
