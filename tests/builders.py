"""Builders for test data, through the same services the app uses."""

from __future__ import annotations

import itertools

from app.accounts import services as accounts
from app.accounts.models import Role
from app.extensions import db
from app.inventory import services as inventory
from app.schools import services as schools
from app.schools.models import School

PASSWORD = "correct-horse-battery"


def bearer(token: str) -> dict:
    """Headers authorising an API request with ``token``."""
    return {"Authorization": f"Bearer {token}"}
_numbers = itertools.count(1)


class Builder:
    """Each call runs in its own short request context and commits; the returned records
    keep their loaded attributes for the test to use."""

    def __init__(self, app):
        self.app = app

    def school(self, code=None, district="Đắk Song", province="Đắk Nông", **fields):
        number = next(_numbers)
        data = {"code": code or f"SCH{number}", "name": fields.pop("name", f"Trường Tiểu học Số {number}"),
                "level": "tieu_hoc", "district": district, "province": province,
                "students": 300, "teachers": 20, "classes": 10, "largest_class_size": 35, **fields}
        with self.app.test_request_context():
            return schools.create_school(None, data)

    def user(self, role: Role | str, school=None, district=None, email=None, password=PASSWORD, **fields):
        role = Role(role)
        email = email or f"{role.value}{next(_numbers)}@example.edu.vn"
        with self.app.test_request_context():
            return accounts.create_user(None, email=email, full_name=fields.get("full_name", f"Người dùng {email}"),
                                        password=password, role=role, school=school, district=district)

    def record(self, collection: str, school, data: dict | None = None, **fields):
        """An inventory record of ``collection`` (e.g. "rooms") in ``school``."""
        with self.app.test_request_context():  # the school as this request's session has it, as a view would
            school = db.session.get(School, school.id)
            return inventory.create_record(None, school, inventory.COLLECTIONS[collection], {**(data or {}), **fields})

    def records(self, collection: str, school, items: list[dict]) -> list:
        with self.app.test_request_context():
            school = db.session.get(School, school.id)
            return inventory.create_records(None, school, inventory.COLLECTIONS[collection], items)

    def token_id(self, user) -> int:
        with self.app.test_request_context():
            return accounts.issue_token(user, "test")[0].id

    def token(self, user) -> str:
        with self.app.test_request_context():
            return accounts.issue_token(user, "test")[1]
