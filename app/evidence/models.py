"""Evidence documents (minh chứng): a decision, plan, regulation, screenshot… or a link,
with its file versions and its links to the criteria it proves.

Bytes live in the storage (app.storage) as ``StoredObject``s, one per school and content
hash; a document's ``EvidenceFile`` rows are its versions, each pointing at an object.
Documents and criterion links are never deleted, only marked removed, so their codes and
history stay."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import enum_type
from app.extensions import UTCDateTime, db, utcnow
from app.inventory.models import LABELS, NEVER_REUSED_IDS, LabelledEnum, SchoolRecord, keep_derived_columns
from app.schools.models import School
from app.scope import Scope
from app.storage.models import StoredObject


class DocType(LabelledEnum):
    DECISION = "decision"
    PLAN = "plan"
    REGULATION = "regulation"
    REPORT = "report"
    MINUTES = "minutes"
    CONTRACT = "contract"
    INVOICE = "invoice"
    SCREENSHOT = "screenshot"
    PHOTO = "photo"
    LINK = "link"
    OTHER = "other"


class LinkStatus(LabelledEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class TextStatus(LabelledEnum):
    """Where reading a file's text stands (search inside documents, OCR)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    OCR_OFF = "ocr_off"  # a scan, and this server has no OCR


LABELS.update({
    DocType: {
        "decision": _l("Decision"), "plan": _l("Plan"), "regulation": _l("Regulation"), "report": _l("Report"),
        "minutes": _l("Minutes"), "contract": _l("Contract"), "invoice": _l("Invoice"),
        "screenshot": _l("Screenshot"), "photo": _l("Photo"), "link": _l("Link"), "other": _l("Other")},
    LinkStatus: {"pending": _l("Awaiting review"), "accepted": _l("Accepted"), "rejected": _l("Rejected")},
    TextStatus: {"pending": _l("Reading the text…"), "done": _l("Text read"), "failed": _l("Text could not be read"),
                 "ocr_off": _l("Scan not read: OCR is off on this server")},
})


class EvidenceDocument(SchoolRecord, db.Model):
    """One piece of evidence of a school year. ``removed_at`` set: deleted (a principal
    can restore it); it then counts nowhere."""

    __tablename__ = "evidence_documents"
    __table_args__ = (
        Index("ix_evidence_documents_school_year", "school_id", "school_year", "removed_at"),
        NEVER_REUSED_IDS,
    )

    SEARCHED = ("title", "number", "issuer", "description", "url")
    SORT_KEYS = {"title_sort": "title"}

    title: Mapped[str] = mapped_column(String(300))
    title_sort: Mapped[str] = mapped_column(Text, default="")
    doc_type: Mapped[DocType] = mapped_column(enum_type(DocType, "doc_type"), default=DocType.OTHER)
    number: Mapped[str] = mapped_column(String(60), default="")
    issued_on: Mapped[date | None]
    issuer: Mapped[str] = mapped_column(String(200), default="")
    school_year: Mapped[str] = mapped_column(String(9))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The document of an earlier school year this one was carried over from (see carry_over).
    carried_from_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_documents.id", ondelete="SET NULL"))

    created_by = relationship("User", foreign_keys=[created_by_id])
    files: Mapped[list[EvidenceFile]] = relationship(back_populates="document", order_by="EvidenceFile.version")
    links: Mapped[list[EvidenceLink]] = relationship(back_populates="document", order_by="EvidenceLink.id")
    record_links: Mapped[list[EvidenceRecordLink]] = relationship(
        back_populates="document", order_by="EvidenceRecordLink.id", cascade="all, delete-orphan")

    @property
    def current_file(self) -> EvidenceFile | None:
        return self.files[-1] if self.files else None

    @property
    def live_links(self) -> list[EvidenceLink]:
        return [link for link in self.links if link.removed_at is None]

    @property
    def codes(self) -> list[str]:
        return [link.code for link in self.live_links]

    def __str__(self) -> str:
        return self.title


class EvidenceFile(db.Model):
    """Version ``version`` (1, 2, …) of a document's file. The same bytes are never two
    versions of one document."""

    __tablename__ = "evidence_files"
    __table_args__ = (
        UniqueConstraint("document_id", "version"),
        UniqueConstraint("document_id", "object_id"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("evidence_documents.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    object_id: Mapped[int] = mapped_column(ForeignKey("stored_objects.id", ondelete="RESTRICT"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text_status: Mapped[TextStatus] = mapped_column(enum_type(TextStatus, "text_status"),
                                                    default=TextStatus.PENDING)
    text: Mapped[str] = mapped_column(Text, default="")
    ocr_used: Mapped[bool] = mapped_column(default=False)
    # What reading the text found, for the upload form to offer: number, issued_on,
    # issuer, doc_type and suggested criteria codes.
    found: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    document: Mapped[EvidenceDocument] = relationship(back_populates="files")
    object: Mapped[StoredObject] = relationship(lazy="joined")
    uploaded_by = relationship("User")
    school: Mapped[School] = relationship()

    @property
    def sha256(self) -> str:
        return self.object.sha256

    @property
    def size(self) -> int:
        return self.object.size

    @property
    def content_type(self) -> str:
        return self.object.content_type

    def access_scope(self) -> Scope:
        return Scope(school_id=self.school_id, district_id=self.school.district_id)


class EvidenceLink(db.Model):
    """A document offered as proof of a criterion or sub-item (``criterion``), under its
    evidence code (``H1-1.3-02``, unique in the school year, kept when the link is removed
    and given back when it returns), with its review status."""

    __tablename__ = "evidence_links"
    __table_args__ = (
        UniqueConstraint("document_id", "criterion"),
        UniqueConstraint("school_id", "school_year", "code"),
        Index("ix_evidence_links_school_year_criterion", "school_id", "school_year", "criterion"),
        NEVER_REUSED_IDS,
    )
    feeds_score = True

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("evidence_documents.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    school_year: Mapped[str] = mapped_column(String(9))
    criterion: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    status: Mapped[LinkStatus] = mapped_column(enum_type(LinkStatus, "link_status"), default=LinkStatus.PENDING)
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    document: Mapped[EvidenceDocument] = relationship(back_populates="links")
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])

    __mapper_args__ = {"version_id_col": version}


class EvidenceRecordLink(db.Model):
    """A document that concerns an inventory record too (the LMS's software record, the
    computer lab): ``collection`` is the inventory collection's name ("software",
    "rooms", …). The record may be deleted later; the link then says so."""

    __tablename__ = "evidence_record_links"
    __table_args__ = (UniqueConstraint("document_id", "collection", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("evidence_documents.id", ondelete="CASCADE"))
    collection: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int] = mapped_column(Integer)

    document: Mapped[EvidenceDocument] = relationship(back_populates="record_links")


keep_derived_columns(EvidenceDocument)
