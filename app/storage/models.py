"""The database's record of the bytes in the store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import UTCDateTime, db, utcnow
from app.storage import object_key


class StoredObject(db.Model):
    """Bytes of one school in the storage, addressed by their SHA-256; written to the
    storage before this row. Never deleted while a file refers to it."""

    __tablename__ = "stored_objects"
    __table_args__ = (UniqueConstraint("school_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def key(self) -> str:
        return object_key(self.school_id, self.sha256)
