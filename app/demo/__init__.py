"""The demo data set: Trường Tiểu học Chu Văn An (the school of the seed documents), one
account per role, and neighbouring schools for the district's view (an empty one, Lê Lợi,
and four with generated inventories)."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from app.accounts import services as accounts
from app.accounts.models import Role
from app.demo import district as neighbours
from app.demo import evidence, inventory
from app.extensions import db
from app.schools import services as schools
from app.schools.models import School

DEMO_PASSWORD = "ChuVanAn@2023"
PROVINCE, DISTRICT = "Đắk Nông", "Đắk Song"

SCHOOLS = [
    {"code": "THCVA", "name": "Trường Tiểu học Chu Văn An", "level": "tieu_hoc", "province": PROVINCE,
     "district": DISTRICT, "students": 480, "teachers": 20, "classes": 15, "largest_class_size": 35},
    {"code": "THLL", "name": "Trường Tiểu học Lê Lợi", "level": "tieu_hoc", "province": PROVINCE,
     "district": DISTRICT, "students": 320, "teachers": 14, "classes": 10, "largest_class_size": 34},
]

# (email, full name, role, school code)
USERS = [
    ("admin@demo.edu.vn", "Quản trị hệ thống", Role.ADMIN, None),
    ("hieutruong@thcva.edu.vn", "Nguyễn Thị Hoa", Role.PRINCIPAL, "THCVA"),
    ("kiemtra@thcva.edu.vn", "Lê Thị Lan", Role.REVIEWER, "THCVA"),
    ("giaovien@thcva.edu.vn", "Trần Văn Minh", Role.STAFF, "THCVA"),
    ("phonggd@daksong.edu.vn", "Phạm Quốc Hùng", Role.DISTRICT, None),
]


def is_empty() -> bool:
    return db.session.scalar(select(func.count(School.id))) == 0


def load() -> None:
    """Load the demo into an empty database."""
    created = {data["code"]: schools.create_school(None, data) for data in SCHOOLS}
    district = created["THCVA"].district
    people = {}
    for email, full_name, role, code in USERS:
        # The published password names the school, so the strength check would refuse it.
        people[email] = accounts.create_user(
            None, email=email, full_name=full_name, password=DEMO_PASSWORD, role=role, school=created.get(code),
            district=district if role == Role.DISTRICT else None, check_strength=False)
    inventory.load(created["THCVA"])
    evidence.load(created["THCVA"], people["giaovien@thcva.edu.vn"], people["kiemtra@thcva.edu.vn"])
    rng = random.Random(4725)
    for code, name, level in neighbours.NEIGHBOURS:
        school = schools.create_school(None, neighbours.school_data(code, name, level, PROVINCE, DISTRICT, rng))
        neighbours.fill(school, rng)


def logins() -> list[tuple[str, str, str]]:
    """(role, email, password) of the demo accounts."""
    return [(role.value, email, DEMO_PASSWORD) for email, _name, role, _code in USERS]
