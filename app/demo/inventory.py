"""The inventory of Trường Tiểu học Chu Văn An as its plan 18/KH-THCVA (2022–2023) lists
it, entered through the inventory services. With the evidence of 1.1, 1.2, 2.1, 2.2 and
2.3.a it scores Group 1 = 32 (Mức 1) and Group 2 = 58 (Mức 2), as the school did."""

from __future__ import annotations

from app.inventory import services
from app.inventory.services import COLLECTIONS
from app.schools.models import School

GRADES = ("1", "2", "3", "4", "5")
CLASSROOMS = [f"Phòng học {grade}{section}" for grade in GRADES for section in "ABC"]  # 15 classes
CONNECTED = CLASSROOMS[:8]  # 8 of 15 classrooms have Internet and a working TV (53%)

ROOMS = [
    *({"name": name, "kind": "classroom", "internet": name in CONNECTED} for name in CLASSROOMS),
    {"name": "Phòng Tin học", "kind": "computer_lab", "internet": True},
    {"name": "Văn phòng", "kind": "office", "internet": True},
    {"name": "Phòng họp hội đồng", "kind": "office", "internet": True},
    {"name": "Thư viện", "kind": "library", "internet": False},
]

# (name, url, category, acquisition, capabilities) — the 19 applications in use.
SOFTWARE_IN_USE = [
    ("Hệ thống quản trị và lưu trữ nhà trường fbot", "https://fbot.esoft.edu.vn", "management", "rented",
     ["student_records", "staff_records", "facility_management", "school_health", "accounting",
      "sector_database_sync"]),
    ("Quản lý văn bản điều hành (eOffice)", "https://qlvb.daknong.gov.vn", "management", "provided",
     ["document_management"]),
    ("Quản lý nhân sự ngành giáo dục", "http://daknong.quanlynhansu.net.vn", "management", "provided",
     ["staff_records"]),
    ("Cơ sở dữ liệu ngành giáo dục", "https://truong.csdl.moet.gov.vn", "management", "provided",
     ["student_records", "sector_database_sync"]),
    ("MISA QLTS – quản lý tài sản", "https://qlts.misa.vn", "management", "rented", ["facility_management"]),
    ("MISA SME – quản lý tài chính", "https://sme.misa.vn", "management", "rented", ["accounting"]),
    ("Vietbiblio – quản lý thư viện", "http://vietbiblio.vuc.vn", "library", "rented", ["e_library"]),
    ("Phần mềm phổ cập giáo dục", "http://pcgd.moet.gov.vn", "management", "provided", []),
    ("Phần mềm kiểm định chất lượng", "https://xbot.com.vn", "management", "rented", []),
    ("Google Drive – hồ sơ chuyên môn", "https://drive.google.com", "management", "free", ["document_management"]),
    ("Google Trang tính – số liệu hằng ngày", "https://docs.google.com/spreadsheets", "management", "free", []),
    ("Zalo – nhóm phụ huynh và CBGV", "https://chat.zalo.me", "communication", "free", ["parent_connection"]),
    ("Facebook – trang của trường", "https://www.facebook.com", "communication", "free", ["parent_connection"]),
    ("Google Biểu mẫu – khảo sát ý kiến", "https://docs.google.com/forms", "communication", "free", []),
    ("Dịch vụ công Kho bạc", "https://dvc.vst.mof.gov.vn", "service", "provided", []),
    ("Avina – soạn bài giảng điện tử", "https://avinasolutions.com", "teaching", "bought", []),
    ("Google Meet", "https://meet.google.com", "teaching", "free", ["online_teaching"]),
    ("Zoom", "https://zoom.us", "teaching", "free", ["online_teaching"]),
    ("Kho học liệu hoclieu.vn, olm.vn", "https://hoclieu.vn", "teaching", "free", ["e_library"]),
]

# The 5 the plan lists as needed but missing.
SOFTWARE_MISSING = [
    ("Trang thông tin điện tử của trường", "school_website"),
    ("Phần mềm xếp thời khoá biểu", "timetable"),
    ("Phần mềm trộn đề kiểm tra", "question_bank"),
    ("Phần mềm quản lý hoạt động dạy học, kiểm tra, đánh giá (LMS)", "lms"),
    ("Phần mềm tổ chức thi trên máy tính", "computer_based_testing"),
]

TEACHERS = [
    "Nguyễn Văn An", "Trần Thị Bích", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Vũ Thị Giang",
    "Đặng Văn Hải", "Bùi Thị Hạnh", "Đỗ Văn Khánh", "Hồ Thị Lan", "Ngô Văn Long", "Dương Thị Mai",
    "Lý Văn Nam", "Phan Thị Oanh", "Trịnh Văn Phúc", "Mai Thị Quyên", "Tạ Văn Sơn", "Cao Thị Thu",
    "Lương Văn Uy", "Trần Văn Minh",
]
BUILDS_MATERIALS = {"Trần Văn Minh", "Hồ Thị Lan"}  # 2 of 20 teachers (10%)
DT_TEAM = {"Nguyễn Thị Hoa": "Trưởng ban", "Lê Thị Lan": "Phó ban", "Trần Văn Minh": "Thành viên – GV Tin học"}


def _equipment(rooms: dict) -> list[dict]:
    items = []
    for number in range(1, 26):  # the lab: 25 desktops, 4 of them broken
        items.append({"kind": "desktop", "name": "Máy tính để bàn phòng Tin học", "room_id": rooms["Phòng Tin học"],
                      "status": "broken" if number > 21 else "in_use", "funding_source": "Ngân sách"})
    tv_rooms = CONNECTED + CLASSROOMS[8:12]  # 12 TVs: 8 in connected classrooms, 4 in rooms not yet connected
    items += [{"kind": "tv", "name": "Tivi Samsung 55 inch", "room_id": rooms[name], "funding_source": "Xã hội hoá"}
              for name in tv_rooms]
    items += [{"kind": "projector", "name": "Máy chiếu Epson EB-X06", "room_id": rooms[name]}
              for name in ("Phòng họp hội đồng", "Thư viện")]
    items += [{"kind": "desktop", "name": "Máy tính văn phòng", "room_id": rooms["Văn phòng"]} for _ in range(2)]
    items += [{"kind": "laptop", "name": "Máy tính xách tay", "room_id": rooms["Văn phòng"]} for _ in range(3)]
    return items


def _staff() -> list[dict]:
    people = [{"full_name": name, "position": "teacher", "training_account": True, "uses_teaching_software": True,
               "builds_digital_materials": name in BUILDS_MATERIALS, "dt_team_role": DT_TEAM.get(name)}
              for name in TEACHERS]
    people += [
        {"full_name": "Nguyễn Thị Hoa", "position": "manager", "email": "hieutruong@thcva.edu.vn",
         "phone": "0912 345 678", "training_account": True, "dt_team_role": DT_TEAM["Nguyễn Thị Hoa"]},
        {"full_name": "Lê Thị Lan", "position": "manager", "email": "kiemtra@thcva.edu.vn",
         "phone": "0987 654 321", "training_account": True, "dt_team_role": DT_TEAM["Lê Thị Lan"]},
        {"full_name": "Phạm Văn Tài", "position": "staff"},
    ]
    return people


MATERIALS = [  # approved by the department only: not yet counted in 1.4
    {"title": "Bài giảng điện tử Toán 3 – Phép nhân", "subject": "Toán", "grade": 3, "kind": "e_lecture",
     "approved_by_department": True},
    {"title": "Video Tiếng Việt 2 – Tập đọc", "subject": "Tiếng Việt", "grade": 2, "kind": "video",
     "approved_by_department": True},
]

# "Kết nối mạng Internet: 03 đường truyền" in the school's plan.
NETWORK_LINES = [
    {"provider": "VNPT", "kind": "fiber", "download_mbps": 150, "upload_mbps": 150, "monthly_cost_vnd": 500_000,
     "contract_no": "HĐ-VNPT-2022/118", "started_on": "2022-08-15"},
    {"provider": "Viettel", "kind": "fiber", "download_mbps": 100, "upload_mbps": 100, "monthly_cost_vnd": 300_000,
     "contract_no": "HĐ-VTL-2021/045", "started_on": "2021-09-01"},
    {"provider": "Viettel", "kind": "mobile", "download_mbps": 30, "upload_mbps": 10, "monthly_cost_vnd": 120_000,
     "notes": "Bộ phát 4G dự phòng cho phòng Tin học"},
]


def load(school: School) -> None:
    """Enter the demo inventory into ``school`` (an empty one)."""
    created_rooms = services.create_records(None, school, COLLECTIONS["rooms"], ROOMS)
    rooms = {room.name: room.id for room in created_rooms}
    services.create_records(None, school, COLLECTIONS["equipment"], _equipment(rooms))
    services.create_records(None, school, COLLECTIONS["network-lines"], NETWORK_LINES)
    software = [{"name": name, "url": url, "category": category, "acquisition": acquisition,
                 "capabilities": capabilities} for name, url, category, acquisition, capabilities in SOFTWARE_IN_USE]
    software += [{"name": name, "category": "management" if key != "lms" else "teaching", "status": "missing",
                  "capabilities": [key]} for name, key in SOFTWARE_MISSING]
    services.create_records(None, school, COLLECTIONS["software"], software)
    services.create_records(None, school, COLLECTIONS["staff"], _staff())
    services.create_records(None, school, COLLECTIONS["materials"], MATERIALS)
