"""Pagination of HTML lists: counted and sliced in the database, page numbers from the
URL clamped so no typed number can overflow a query."""

from __future__ import annotations

from flask import request
from flask_sqlalchemy.pagination import Pagination

from app.extensions import db

PER_PAGE = 25
MAX_PAGE = 1_000_000


def page_number() -> int:
    """The ``page`` query parameter as 1..MAX_PAGE (anything else reads as page 1)."""
    number = request.args.get("page", 1, type=int) or 1
    return min(max(number, 1), MAX_PAGE)


def paginate(query, per_page: int = PER_PAGE) -> Pagination:
    """The requested page of ``query``; past the last page it is empty, never an error."""
    return db.paginate(query, page=page_number(), per_page=per_page, error_out=False)


def search_text() -> str:
    """The ``q`` search parameter, trimmed and at most 100 characters."""
    return request.args.get("q", "").strip()[:100]


class ListPage:
    """A page of a list already in memory, with what the ``pager`` macro reads (``page``,
    ``pages``, ``total``, ``iter_pages``); past the last page it is empty."""

    def __init__(self, items: list, per_page: int = PER_PAGE):
        self.page, self.per_page, self.total = page_number(), per_page, len(items)
        start = (self.page - 1) * per_page
        self.items = items[start:start + per_page]
        self.pages = max(1, -(-self.total // per_page))

    def iter_pages(self, edge: int = 2, around: int = 2):
        """Page numbers to link, ``None`` where some are left out (as Flask-SQLAlchemy's)."""
        shown = [number for number in range(1, self.pages + 1)
                 if number <= edge or number > self.pages - edge or abs(number - self.page) <= around]
        previous = 0
        for number in shown:
            if number - previous > 1:
                yield None
            yield number
            previous = number
