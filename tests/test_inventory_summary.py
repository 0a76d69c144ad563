"""The inventory summary, in the layout of the tables of a school's plan: software in use
and missing, equipment and infrastructure held and missing, equipment by kind and
status and by room, Internet lines with their total bandwidth; as a page and as XLSX."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from app.accounts.models import Role


@pytest.fixture()
def school_with_inventory(client, build):
    school = build.school()
    lab = build.record("rooms", school, name="Phòng Tin học", kind="computer_lab", internet=True)
    classroom = build.record("rooms", school, name="Phòng học 1A", kind="classroom")
    build.records("equipment", school, [
        *({"kind": "desktop", "name": f"Máy tính {n}", "room_id": lab.id} for n in range(20)),
        {"kind": "desktop", "name": "Máy tính hỏng", "room_id": lab.id, "status": "broken"},
        {"kind": "desktop", "name": "Máy tính dự phòng", "room_id": lab.id, "status": "spare"},
        {"kind": "tv", "name": "Tivi 1A", "room_id": classroom.id},
        {"kind": "projector", "name": "Máy chiếu cũ", "status": "retired"},
        {"kind": "printer", "name": "Máy in văn phòng"},
    ])
    build.records("software", school, [
        {"name": "VnEdu", "category": "management", "url": "https://vnedu.vn"},
        {"name": "Google Meet", "category": "teaching"},
        {"name": "Phần mềm trộn đề", "category": "teaching", "status": "missing"},
        {"name": "LMS", "category": "teaching", "status": "planned"},
        {"name": "Phần mềm cũ", "category": "other", "status": "retired"},
    ])
    build.records("network-lines", school, [
        {"provider": "VNPT", "download_mbps": 150, "upload_mbps": 150, "monthly_cost_vnd": 500000},
        {"provider": "Viettel", "download_mbps": 100, "upload_mbps": 50.5, "monthly_cost_vnd": 300000},
        {"provider": "FPT", "download_mbps": 80, "upload_mbps": 80, "monthly_cost_vnd": 250000, "status": "ended"},
    ])
    client.login(build.user(Role.STAFF, school=school).email)
    return client, school


def section(page: str, key: str) -> list[str]:
    """The text of each row (header, body, total) of one summary table."""
    part = page.split(f'data-testid="summary-{key}"', 1)[1].split("</section>", 1)[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", row.split(">", 1)[1]).split()) for row in part.split("<tr")[1:]]


def test_the_summary_page_counts_what_the_inventory_holds_and_lacks(school_with_inventory):
    client, school = school_with_inventory
    page = client.get(f"/schools/{school.id}/inventory/summary").get_data(as_text=True)
    figures = " ".join(re.sub(r"<[^>]+>", " ", page.split('data-testid="summary-figures"', 1)[1]
                              .split("</dl>", 1)[0]).split())
    assert ("Phần mềm và ứng dụng đang sử dụng 2 Phần mềm và ứng dụng cần trang bị nhưng còn thiếu 2 "
            "Số loại trang thiết bị CNTT và hạ tầng đã có 5 ") in figures  # lines, lab, desktops, TV, printer
    assert figures.endswith("(Mbps) 250")  # the ended line does not count

    software = section(page, "software")
    assert "Phần mềm cũ" not in " ".join(software) and len(software) == 5
    assert "Dạy và học Phần mềm trộn đề Cần nhưng còn thiếu" in software

    infrastructure = section(page, "infrastructure")
    assert "Đường truyền Internet đang hoạt động 2 Có" in infrastructure
    assert "Phòng máy tính (Tin học) 1 Có" in infrastructure
    assert "Máy tính để bàn 21 Có" in infrastructure  # 20 in use + 1 spare; the broken one is not held
    assert "Máy chiếu 0 Không" in infrastructure  # only a retired one
    assert "Bảng tương tác 0 Không" in infrastructure

    kinds = section(page, "kinds")
    assert kinds[0].startswith("Loại Đang sử dụng Hỏng")
    assert "Máy tính để bàn 20 1 0 1 0 22" in kinds
    assert kinds[-1] == "Tổng cộng 22 1 0 1 1 25"

    rooms = section(page, "rooms")
    assert "Phòng Tin học Phòng máy tính (Tin học) Có 21 1 22" in rooms
    assert "Không có phòng 1 0 2" in rooms  # the printer is usable, the retired projector is not
    assert rooms[-1] == "Tổng cộng 23 1 25"

    lines = section(page, "lines")
    assert "Viettel Cáp quang (FTTH) 100 50,5 300.000 Đang hoạt động" in lines
    assert lines[-1] == "Tổng các đường truyền đang hoạt động 250 200,5 800.000"


def test_the_summary_xlsx_holds_the_same_tables(school_with_inventory):
    client, school = school_with_inventory
    response = client.get(f"/schools/{school.id}/inventory/summary.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Số liệu chính", "Phần mềm và ứng dụng", "Trang thiết bị CNTT và hạ tầng",
                               "Thiết bị theo loại, trạng thái", "Thiết bị theo phòng", "Đường truyền Internet"]
    figures = {row[0]: row[1] for row in book["Số liệu chính"].iter_rows(min_row=2, values_only=True)}
    assert figures["Phần mềm và ứng dụng đang sử dụng"] == 2
    assert figures["Tổng băng thông tải xuống của các đường truyền đang hoạt động (Mbps)"] == 250
    lines = list(book["Đường truyền Internet"].iter_rows(values_only=True))
    assert lines[-1] == ("Tổng các đường truyền đang hoạt động", None, 250, 200.5, 800000, None)
    kinds = list(book["Thiết bị theo loại, trạng thái"].iter_rows(values_only=True))
    assert ("Máy tính để bàn", 20, 1, 0, 1, 0, 22) in kinds


def test_an_empty_inventory_has_a_summary_of_what_is_missing(client, build):
    school = build.school()
    client.login(build.user(Role.PRINCIPAL, school=school).email)
    page = client.get(f"/schools/{school.id}/inventory/summary").get_data(as_text=True)
    assert "Đường truyền Internet đang hoạt động 0 Không" in section(page, "infrastructure")
    kinds = page.split('data-testid="summary-kinds"', 1)[1].split("</section>", 1)[0]
    assert "Chưa có dữ liệu." in kinds and "<table" not in kinds
    assert client.get(f"/schools/{school.id}/inventory/summary.xlsx").status_code == 200
