"""A portal as two districts have used it for a year, entered through the services as
its people would: Trường Tiểu học Chu Văn An (the demo's inventory and evidence) reviewed,
approved and sealed its last school year, which the district evaluated and recognised,
then started this year carrying its lasting documents over; a neighbour in the same
district and two schools of another district (one sealed and evaluated) beside it; an
index file loaded, unit prices, a saved plan, API tokens (one revoked), notifications (some
read), a refused sign-in, and the audit trail of all of it. The upgrade test fills older
databases from it (tests/test_upgrades.py)."""

from __future__ import annotations

import io
import random
from datetime import date

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app import notifications
from app.accounts import services as accounts
from app.accounts.models import Role
from app.assessments import services as assessments
from app.demo import district as neighbours
from app.demo import evidence as demo_evidence
from app.demo import inventory as demo_inventory
from app.evidence import services as evidence
from app.evidence.models import EvidenceDocument
from app.extensions import db
from app.framework.services import builtin_files, store_framework
from app.inventory import services as inventory
from app.inventory.models import Equipment, Room, Software
from app.planner import plans, prices
from app.schools import services as schools
from app.schools.years import calendar_school_year, previous_school_year
from tests import files
from tests.builders import PASSWORD

PROVINCE = "Đắk Nông"
OTHER_DISTRICT = "Krông Nô"


def fill(app) -> None:
    """Enter the portal's data into ``app``'s empty database (at head)."""
    with app.test_request_context():
        people = _people_and_schools(app)
        _last_year_of_chu_van_an(people)
        _this_year_of_chu_van_an(people)
        _other_district(people)
        _around(people)


def _user(role: Role, email: str, name: str, **place):
    return accounts.create_user(None, email=email, full_name=name, password=PASSWORD, role=role, **place)


def _people_and_schools(app) -> dict:
    admin = _user(Role.ADMIN, "quantri@daknong.edu.vn", "Quản trị hệ thống")
    store_framework(admin, builtin_files()[app.config["FRAMEWORK"]])  # the province loads the index file
    cva = schools.create_school(admin, {"code": "THCVA", "name": "Trường Tiểu học Chu Văn An", "level": "tieu_hoc",
                                        "district": "Đắk Song", "province": PROVINCE, "students": 480,
                                        "teachers": 20, "classes": 15, "largest_class_size": 35})
    cva.school_year = previous_school_year(calendar_school_year(date.today()))  # it joined last year
    db.session.commit()
    people = {"admin": admin, "cva": cva,
              "principal": _user(Role.PRINCIPAL, "hieutruong@thcva.edu.vn", "Nguyễn Thị Hoa", school=cva),
              "reviewer": _user(Role.REVIEWER, "kiemtra@thcva.edu.vn", "Lê Thị Lan", school=cva),
              "staff": _user(Role.STAFF, "giaovien@thcva.edu.vn", "Trần Văn Minh", school=cva),
              "officer": _user(Role.DISTRICT, "phonggd@daksong.edu.vn", "Phạm Quốc Hùng", district=cva.district)}
    rng = random.Random(4725)
    code, name, level = neighbours.NEIGHBOURS[0]
    people["neighbour"] = schools.create_school(
        admin, neighbours.school_data(code, name, level, PROVINCE, "Đắk Song", rng))
    neighbours.fill(people["neighbour"], rng)
    return people


def _last_year_of_chu_van_an(people: dict) -> None:
    """Inventory and evidence entered, reviewed, approved and sealed; evaluated and
    recognised by the district."""
    cva, staff, reviewer, principal = people["cva"], people["staff"], people["reviewer"], people["principal"]
    year = cva.school_year
    demo_inventory.load(cva)
    demo_evidence.load(cva, staff, reviewer)
    documents = {document.title: document for document in db.session.scalars(
        select(EvidenceDocument).where(EvidenceDocument.school_id == cva.id))}
    for title, code in (("Quyết định ban hành Quy chế sử dụng hệ thống quản trị nhà trường", "2.3.a"),
                        ("Ảnh chụp màn hình tiết học trực tuyến lớp 5A qua Google Meet", "1.3.a")):
        evidence.review_link(reviewer, documents[title], code, {"decision": "accepted"})
    zalo = documents["Ảnh chụp nhóm Zalo liên lạc với phụ huynh lớp 3B"]
    evidence.review_link(reviewer, zalo, "2.4.a", {"decision": "rejected",
                                                  "comment": "Ảnh không thấy tên lớp, chụp lại giúp."})
    evidence.unlink_criterion(staff, zalo, "2.4.a")
    lab = db.session.scalar(select(Room).where(Room.school_id == cva.id, Room.name == "Phòng Tin học"))
    evidence.set_records(staff, documents["Kế hoạch tổ chức dạy học trực tuyến năm học 2022-2023"],
                         [("rooms", lab.id)])
    db.session.commit()
    tv = db.session.scalars(select(Equipment).where(Equipment.school_id == cva.id, Equipment.kind == "tv")).first()
    inventory.update_record(staff, tv, {"status": "broken", "notes": "Hỏng nguồn, chờ sửa"})
    inventory.delete_record(staff, db.session.scalar(select(Software).where(
        Software.school_id == cva.id, Software.name == "Zoom")))
    db.session.commit()

    assessments.transition(staff, cva, year, "start_review")
    assessments.transition(reviewer, cva, year, "submit")
    assessments.transition(principal, cva, year, "approve")
    notifications.mark_read(principal.id)
    officer = people["officer"]
    sealed = assessments.assessment_of(cva, year).in_force
    lowered = next(item for criterion in sealed.snapshot["score"]["criteria"] for item in criterion.get("items") or ()
                   if item["points"])
    assessments.evaluate(officer, cva, year, [{"code": lowered["code"], "points": 0,
                                               "reason": "Chưa thấy minh chứng trong hồ sơ lưu."}])
    assessments.transition(officer, cva, year, "recognise")


def _this_year_of_chu_van_an(people: dict) -> None:
    """This year started with the lasting documents carried over, one new document, a
    saved plan and a price the district set."""
    cva, staff, principal = people["cva"], people["staff"], people["principal"]
    lasting = [document.id for document in assessments.carry_candidates(cva)
               if document.doc_type in assessments.LASTING_TYPES]
    assessments.start_year(principal, cva, lasting)
    evidence.create_document(staff, cva, {"title": "Kế hoạch chuyển đổi số năm học mới", "doc_type": "plan",
                                          "number": "21/KH-THCVA", "issuer": "Trường Tiểu học Chu Văn An",
                                          "criteria": ["2.2"]},
                             [FileStorage(io.BytesIO(files.pdf("Ke hoach 21/KH-THCVA")), filename="KH-21.pdf")])
    plan = plans.create_plan(principal, cva, "Trang bị phòng học", [
        {"kind": "repair_equipment", "count": 1}, {"kind": "equip_classrooms", "count": 2},
        {"kind": "add_evidence", "criterion": "1.1"}])
    plans.update_plan(principal, plan, name="Trang bị phòng học năm nay")
    prices.set_prices(people["officer"], cva.district_id, {"repair": 2_500_000})
    prices.set_prices(people["admin"], None, {"repair": 3_000_000})


def _other_district(people: dict) -> None:
    """Krông Nô: a school that sealed its year (with its inventory only) and was
    evaluated, and one that has only its inventory."""
    admin, rng = people["admin"], random.Random(2024)
    made = []
    for code, name, level in neighbours.NEIGHBOURS[1:3]:
        school = schools.create_school(admin, neighbours.school_data(code, name, level, PROVINCE, OTHER_DISTRICT,
                                                                       rng))
        neighbours.fill(school, rng)
        made.append(school)
    sealed = made[0]
    principal = _user(Role.PRINCIPAL, "hieutruong@nguyendu.edu.vn", "Võ Thị Nga", school=sealed)
    officer = _user(Role.DISTRICT, "phonggd@krongno.edu.vn", "Đinh Văn Sáu", district=sealed.district)
    assessments.transition(principal, sealed, sealed.school_year, "start_review")
    assessments.transition(principal, sealed, sealed.school_year, "approve")
    assessments.evaluate(officer, sealed, sealed.school_year, [])
    people["other_principal"] = principal


def _around(people: dict) -> None:
    """Tokens for the school's software, one revoked; a sign-in refused."""
    accounts.issue_token(people["staff"], "Đồng bộ phần mềm quản lý")
    revoked, _raw = accounts.issue_token(people["principal"], "Máy tính cũ")
    accounts.revoke_token(people["principal"], revoked)
    try:
        accounts.authenticate("giaovien@thcva.edu.vn", "sai-mat-khau", "192.168.1.23")
    except accounts.InvalidCredentials:
        pass
    notifications.mark_read(people["other_principal"].id)
