"""Schools and districts: admin pages, the principal's yearly counts, district scoping."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.extensions import db
from app.schools.models import District, School

NEW_SCHOOL = {"name": "Trường THCS Nguyễn Du", "code": "thcsnd", "level": "thcs", "students": "620",
              "teachers": "38", "classes": "16", "largest_class_size": "42"}


def school_count(read) -> int:
    return read(lambda: db.session.scalar(select(func.count(School.id))))


def test_admin_adds_a_district_then_a_school_in_it(client, build, read):
    client.login(build.user(Role.ADMIN).email)
    assert client.post("/districts/new", {"name": "Cư Jút", "province": "Đắk Nông"}).status_code == 302
    district = read(lambda: db.session.scalar(select(District).where(District.name == "Cư Jút")))
    response = client.post("/schools/new", {**NEW_SCHOOL, "district_id": district.id})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Trường THCS Nguyễn Du" in page and "THCSND" in page and "Cư Jút" in page


def test_duplicate_school_code_is_refused_and_nothing_is_added(client, build, read):
    existing = build.school(code="THCSND")
    client.login(build.user(Role.ADMIN).email)
    before = school_count(read)
    response = client.post("/schools/new", {**NEW_SCHOOL, "district_id": existing.district_id})
    assert response.status_code == 400
    assert "Đã có trường với mã này." in response.get_data(as_text=True)
    assert school_count(read) == before


def test_bad_numbers_get_a_vietnamese_message_next_to_the_field(client, build, read):
    district_id = build.school().district_id
    client.login(build.user(Role.ADMIN).email)
    before = school_count(read)
    for field, value, message in (("students", "nhiều", "Hãy nhập một số nguyên."),
                                  ("teachers", "-3", "Một số nguyên từ 0 đến 100000."),
                                  ("largest_class_size", "700", "Sĩ số lớp đông nhất không thể lớn hơn"),
                                  ("code", "có dấu!", "Từ 2 đến 32 chữ cái")):
        response = client.post("/schools/new", {**NEW_SCHOOL, "district_id": district_id, field: value})
        html = response.get_data(as_text=True)
        assert response.status_code == 400, field
        assert 'class="invalid-feedback"' in html and message in html, field
    assert school_count(read) == before


def test_principal_updates_the_counts_of_their_school_only(client, build, read):
    school = build.school(name="Trường Tiểu học Chu Văn An")
    client.login(build.user(Role.PRINCIPAL, school=school).email)
    form = client.get(f"/schools/{school.id}/edit").get_data(as_text=True)
    assert 'name="students"' in form and 'name="code"' not in form and 'name="name"' not in form
    response = client.post(f"/schools/{school.id}/edit", {"students": "500", "teachers": "21", "classes": "15",
                                                          "largest_class_size": "36"})
    assert response.status_code == 302
    saved = read(lambda: db.session.get(School, school.id))
    assert (saved.students, saved.teachers, saved.largest_class_size) == (500, 21, 36)
    assert saved.name == "Trường Tiểu học Chu Văn An"
    change = read(lambda: db.session.scalar(select(AuditEvent).where(AuditEvent.action == "school.updated",
                                                                     AuditEvent.object_id == school.id)))
    assert change.details["changes"]["students"] == [300, 500]


def test_district_officer_lists_only_the_schools_of_their_district(client, build):
    mine = build.school(name="Trường Tiểu học Lê Lợi", district="Đắk Song")
    build.school(name="Trường Tiểu học Kim Đồng", district="Krông Nô")
    client.login(build.user(Role.DISTRICT, district=mine.district).email)
    page = client.get("/schools").get_data(as_text=True)
    assert "Trường Tiểu học Lê Lợi" in page and "Kim Đồng" not in page


def test_same_district_name_in_two_provinces_are_two_districts(build, read):
    first = build.school(district="Châu Thành", province="Tiền Giang")
    second = build.school(district="Châu Thành", province="Bến Tre")
    assert first.district_id != second.district_id


def test_schools_list_is_searchable_and_paginated(client, build):
    for number in range(30):
        build.school(code=f"PAGE{number:02d}", name=f"Trường Phân Trang {number:02d}")
    client.login(build.user(Role.ADMIN).email)
    first = client.get("/schools?q=phân trang").get_data(as_text=True)
    assert first.count("Trường Phân Trang") == 25 and "Tổng cộng 30" in first
    second = client.get("/schools?q=phân trang&page=2").get_data(as_text=True)
    assert second.count("Trường Phân Trang") == 5
