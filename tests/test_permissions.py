"""Every route, for every role and for anonymous visitors, on records of their own school
(or district) and of another one, answers as this table says.

The table is written here independently of app.accounts.policy: a route the table does
not list fails the test, so a new route cannot ship without a decision about who may use
it. Mutating requests carry no CSRF token and no valid body, so an allowed role gets a
400 and nothing changes, while a refused one gets 403 / 404 / a sign-in prompt."""

from __future__ import annotations

import io

import pytest
from flask import url_for

from app.accounts import services
from app.accounts.models import Role

PUBLIC = "public"
METRICS_TOKEN = "the metrics token"  # no session of any role: only Prometheus' bearer token (tests/test_ops.py)
ALL = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
ADMIN_PRINCIPAL = frozenset({Role.ADMIN, Role.PRINCIPAL})
INVENTORY_EDITORS = frozenset({Role.STAFF, Role.PRINCIPAL, Role.ADMIN})
EVIDENCE_EDITORS = frozenset({Role.STAFF, Role.PRINCIPAL, Role.ADMIN})
EVIDENCE_REVIEWERS = frozenset({Role.REVIEWER, Role.PRINCIPAL})
AUDIT_READERS = frozenset({Role.ADMIN, Role.PRINCIPAL, Role.DISTRICT})
PLAN_SAVERS = frozenset({Role.STAFF, Role.PRINCIPAL})
PRICE_SETTERS = frozenset({Role.ADMIN, Role.DISTRICT})
# URL parameters naming evidence: a document, one of its file versions, a criterion it is linked to.
EVIDENCE = {"evidence_id", "file_id", "criterion"}
COLLECTIONS = ("rooms", "equipment", "network-lines", "software", "materials", "staff")
# A record of each inventory collection: URL parameter → (collection, data to build one,
# the field that names it).
INVENTORY = {
    "room_id": ("rooms", {"kind": "classroom"}, "name"),
    "equipment_id": ("equipment", {"kind": "tv"}, "name"),
    "line_id": ("network-lines", {}, "provider"),
    "software_id": ("software", {"category": "communication"}, "name"),
    "material_id": ("materials", {}, "title"),
    "staff_id": ("staff", {}, "full_name"),
}

# (endpoint, method) → roles allowed (scope aside), or PUBLIC.
ROUTES = {
    ("static", "GET"): PUBLIC,
    ("dashboard.home", "GET"): ALL,
    ("ops.healthz", "GET"): PUBLIC,
    ("ops.readyz", "GET"): PUBLIC,
    ("ops.metrics", "GET"): METRICS_TOKEN,
    ("accounts.login", "GET"): PUBLIC,
    ("accounts.login", "POST"): PUBLIC,
    ("accounts.logout", "POST"): ALL,
    ("accounts.set_language", "POST"): PUBLIC,
    ("accounts.account", "GET"): ALL,
    ("accounts.change_password", "GET"): ALL,
    ("accounts.change_password", "POST"): ALL,
    ("accounts.create_token", "POST"): ALL,
    ("accounts.revoke_token", "POST"): ALL,
    ("accounts.users", "GET"): ADMIN_PRINCIPAL,
    ("accounts.create_user", "GET"): ADMIN_PRINCIPAL,
    ("accounts.create_user", "POST"): ADMIN_PRINCIPAL,
    ("accounts.edit_user", "GET"): ADMIN_PRINCIPAL,
    ("accounts.edit_user", "POST"): ADMIN_PRINCIPAL,
    ("accounts.set_user_password", "POST"): ADMIN_PRINCIPAL,
    ("schools.index", "GET"): ALL,
    ("schools.create", "GET"): ADMIN,
    ("schools.create", "POST"): ADMIN,
    ("schools.detail", "GET"): ALL,
    ("schools.edit", "GET"): ADMIN_PRINCIPAL,
    ("schools.edit", "POST"): ADMIN_PRINCIPAL,
    ("assessments.new_year", "GET"): ADMIN_PRINCIPAL,
    ("assessments.new_year", "POST"): ADMIN_PRINCIPAL,
    ("schools.districts", "GET"): frozenset({Role.ADMIN, Role.DISTRICT}),
    ("schools.create_district", "GET"): ADMIN,
    ("schools.create_district", "POST"): ADMIN,
    ("schools.edit_district", "GET"): ADMIN,
    ("schools.edit_district", "POST"): ADMIN,
    ("api-docs.openapi_json", "GET"): PUBLIC,
    ("api_auth.create_token", "POST"): PUBLIC,
    ("api_auth.revoke_token", "DELETE"): ALL,
    ("api_auth.me", "GET"): ALL,
    ("api_schools.list_schools", "GET"): ALL,
    ("api_schools.create_school", "POST"): ADMIN,
    ("api_schools.get_school", "GET"): ALL,
    ("api_schools.update_school", "PATCH"): ADMIN_PRINCIPAL,
    ("inventory.equipment_bulk", "POST"): INVENTORY_EDITORS,
    ("inventory.equipment_labels", "GET"): ALL,
    ("inventory.equipment_labels", "POST"): ALL,
    ("inventory.summary", "GET"): ALL,
    ("inventory.summary_export", "GET"): ALL,
    ("inventory.import_page", "GET"): INVENTORY_EDITORS,
    ("inventory.import_page", "POST"): INVENTORY_EDITORS,
    ("inventory.import_template", "GET"): INVENTORY_EDITORS,
    **{route: roles for name in COLLECTIONS for key in [name.replace("-", "_")] for route, roles in (
        ((f"inventory.{key}", "GET"), ALL),
        ((f"inventory.{key}_export", "GET"), ALL),
        ((f"inventory.{key}_record", "GET"), ALL),
        ((f"inventory.{key}_new", "GET"), INVENTORY_EDITORS),
        ((f"inventory.{key}_new", "POST"), INVENTORY_EDITORS),
        ((f"inventory.{key}_edit", "GET"), INVENTORY_EDITORS),
        ((f"inventory.{key}_edit", "POST"), INVENTORY_EDITORS),
        ((f"inventory.{key}_delete", "POST"), INVENTORY_EDITORS),
        ((f"inventory.{key}_deleted", "GET"), ADMIN_PRINCIPAL),
        ((f"inventory.{key}_restore", "POST"), ADMIN_PRINCIPAL),
    )},
    ("evidence.index", "GET"): ALL,
    ("evidence.export", "GET"): ALL,
    ("evidence.deleted", "GET"): ADMIN_PRINCIPAL,
    ("evidence.restore", "POST"): ADMIN_PRINCIPAL,
    ("evidence.new", "GET"): EVIDENCE_EDITORS,
    ("evidence.new", "POST"): EVIDENCE_EDITORS,
    ("evidence.upload", "POST"): EVIDENCE_EDITORS,
    ("evidence.new_link", "GET"): EVIDENCE_EDITORS,
    ("evidence.new_link", "POST"): EVIDENCE_EDITORS,
    ("evidence.record", "GET"): ALL,
    ("evidence.status", "GET"): ALL,
    ("evidence.download", "GET"): ALL,
    ("evidence.preview", "GET"): ALL,
    ("evidence.details", "POST"): EVIDENCE_EDITORS,
    ("evidence.add_file", "POST"): EVIDENCE_EDITORS,
    ("evidence.link", "POST"): EVIDENCE_EDITORS,
    ("evidence.unlink", "POST"): EVIDENCE_EDITORS,
    ("evidence.review", "POST"): EVIDENCE_REVIEWERS,
    ("evidence.delete", "POST"): EVIDENCE_EDITORS,
    ("reports.self_assessment_xlsx", "GET"): ALL,
    ("reports.self_assessment_pdf", "GET"): ALL,
    ("reports.catalogue_xlsx", "GET"): ALL,
    ("reports.catalogue_pdf", "GET"): ALL,
    ("api_evidence.list_evidence", "GET"): ALL,
    ("api_evidence.create_evidence", "POST"): EVIDENCE_EDITORS,
    ("api_evidence.get_evidence", "GET"): ALL,
    ("api_evidence.update_evidence", "PATCH"): EVIDENCE_EDITORS,
    ("api_evidence.delete_evidence", "DELETE"): EVIDENCE_EDITORS,
    ("api_evidence.restore_evidence", "POST"): ADMIN_PRINCIPAL,
    ("api_evidence.add_evidence_file", "POST"): EVIDENCE_EDITORS,
    ("api_evidence.download_evidence_file", "GET"): ALL,
    ("api_evidence.link_evidence", "POST"): EVIDENCE_EDITORS,
    ("api_evidence.unlink_evidence", "DELETE"): EVIDENCE_EDITORS,
    ("api_evidence.review_evidence_link", "POST"): EVIDENCE_REVIEWERS,
    ("framework.scorecard", "GET"): ALL,
    ("packages.download", "GET"): ALL,
    ("packages.verify", "GET"): ALL,
    ("packages.verify", "POST"): ALL,
    ("audit.index", "GET"): AUDIT_READERS,
    ("audit.export", "GET"): AUDIT_READERS,
    ("api_score.get_score", "GET"): ALL,
    ("api_districts.list_districts", "GET"): frozenset({Role.ADMIN, Role.DISTRICT}),
    ("api_districts.district_scores", "GET"): frozenset({Role.ADMIN, Role.DISTRICT}),
    ("api_districts.district_flags", "GET"): frozenset({Role.ADMIN, Role.DISTRICT}),
    ("districts.district", "GET"): frozenset({Role.ADMIN, Role.DISTRICT}),
    ("districts.export", "GET"): frozenset({Role.ADMIN, Role.DISTRICT}),
    ("districts.flags", "GET"): frozenset({Role.ADMIN, Role.DISTRICT}),
    ("districts.provinces", "GET"): frozenset({Role.ADMIN}),
    ("districts.province", "GET"): frozenset({Role.ADMIN}),
    ("assessments.current", "GET"): ALL,
    ("assessments.detail", "GET"): ALL,
    ("assessments.criterion_page", "GET"): ALL,
    # The world's "action" is start_review; each transition's roles are walked in test_assessments.py.
    ("assessments.act", "POST"): frozenset({Role.STAFF, Role.REVIEWER, Role.PRINCIPAL}),
    ("assessments.review", "POST"): EVIDENCE_REVIEWERS,
    ("assessments.evaluation", "POST"): frozenset({Role.DISTRICT}),
    ("api_score.evaluate_assessment", "POST"): frozenset({Role.DISTRICT}),
    ("api_score.recognise_assessment", "POST"): frozenset({Role.DISTRICT}),
    ("assessments.queue", "GET"): EVIDENCE_REVIEWERS,
    ("notifications.index", "GET"): ALL,
    ("notifications.read_all", "POST"): ALL,
    ("notifications.open_one", "POST"): ALL,
    ("api_score.get_assessment", "GET"): ALL,
    ("api_score.review_assessment_evidence", "POST"): EVIDENCE_REVIEWERS,
    # The gate lets the school's people through; each transition's own roles are
    # app.assessments.services.TRANSITIONS (walked in tests/test_assessments.py).
    ("api_score.start_review_assessment", "POST"): frozenset({Role.STAFF, Role.REVIEWER, Role.PRINCIPAL}),
    ("api_score.submit_assessment", "POST"): frozenset({Role.REVIEWER, Role.PRINCIPAL}),
    ("api_score.send_back_assessment", "POST"): frozenset({Role.PRINCIPAL}),
    ("api_score.approve_assessment", "POST"): frozenset({Role.PRINCIPAL}),
    ("api_score.reopen_assessment", "POST"): frozenset({Role.PRINCIPAL}),
    ("api_inventory.import_inventory", "POST"): INVENTORY_EDITORS,
    ("api_planner.whatif", "POST"): ALL,
    ("api_planner.next_level", "GET"): ALL,
    ("api_planner.unit_prices", "GET"): ALL,
    ("api_planner.set_unit_prices", "PUT"): PRICE_SETTERS,
    ("api_planner.list_plans", "GET"): ALL,
    ("api_planner.create_plan", "POST"): PLAN_SAVERS,
    ("api_planner.get_plan", "GET"): ALL,
    ("api_planner.update_plan", "PUT"): PLAN_SAVERS,
    ("api_planner.delete_plan", "DELETE"): PLAN_SAVERS,
    ("planner.page", "GET"): ALL,
    ("planner.plan_list", "GET"): ALL,
    ("planner.save_plan", "POST"): PLAN_SAVERS,
    ("planner.plan_page", "GET"): ALL,
    ("planner.delete_plan", "POST"): PLAN_SAVERS,
    ("planner.export_plan", "GET"): ALL,
    ("planner.compare", "GET"): ALL,
    ("planner.unit_prices", "GET"): PRICE_SETTERS,
    ("planner.unit_prices", "POST"): PRICE_SETTERS,
    **{route: roles for name in COLLECTIONS for route, roles in (
        ((f"api_inventory.list_{name}", "GET"), ALL),
        ((f"api_inventory.create_{name}", "POST"), INVENTORY_EDITORS),
        ((f"api_inventory.get_{name}", "GET"), ALL),
        ((f"api_inventory.update_{name}", "PATCH"), INVENTORY_EDITORS),
        ((f"api_inventory.delete_{name}", "DELETE"), INVENTORY_EDITORS),
    )},
}


def reachable(role: Role, param: str, target: str) -> bool:
    """Whether a user of ``role`` may reach the ``target`` ("own" or "other") record that
    URL parameter ``param`` names: own school, own district, own tokens; admins reach
    every school, district and user, but never another person's tokens."""
    if param in ("token_id", "notification_id"):
        return target == "own"
    if param == "province":  # a name, not a record: what the role may do decides
        return True
    if role == Role.ADMIN:
        return True
    if target == "other":
        return False
    if param == "district_id":
        return role == Role.DISTRICT
    return True


def expected(endpoint: str, method: str, role: Role | None, params: set[str], target: str) -> str:
    roles = ROUTES[(endpoint, method)]
    if roles == PUBLIC:
        return "allowed"
    if roles == METRICS_TOKEN:
        return "sign in"
    if role is None:
        return "sign in"
    if not all(reachable(role, param, target) for param in params - {"year"}):
        return "not found"
    return "allowed" if role in roles else "forbidden"


def outcome(response) -> str:
    if response.status_code == 401 or (response.status_code in (302, 303)
                                       and "/login" in response.headers.get("Location", "")):
        return "sign in"
    return {403: "forbidden", 404: "not found"}.get(response.status_code,
                                                    "error" if response.status_code >= 500 else "allowed")


@pytest.fixture()
def world(app, build, monkeypatch):
    """Two schools in two districts; a user of every role at the first; inventory records
    and an evidence document (a PNG, linked to 1.1, uploaded by a staff member who plays
    no role in the table) in each school."""
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "metrics-token-of-the-permission-walk")
    own_school = build.school(code="OWN", district="Đắk Song")
    other_school = build.school(code="OTHER", district="Cư Jút")
    actors = {role: build.user(role, school=own_school if role.belongs_to_school else None,
                               district=own_school.district if role == Role.DISTRICT else None)
              for role in Role}
    other_person = build.user(Role.STAFF, school=other_school)
    own_person = build.user(Role.STAFF, school=own_school)
    uploaders = {"own": own_person, "other": other_person}

    def inventory_of(school) -> dict:
        return {param: build.record(name, school, {**data, label: "Bản ghi"}).id
                for param, (name, data, label) in INVENTORY.items()}

    def evidence_of(target: str) -> dict:
        """A new evidence document of the ``target`` school: its URL parameters."""
        from werkzeug.datastructures import FileStorage

        from app.evidence import services as evidence
        from app.extensions import db
        from app.schools.models import School
        from tests import files

        school = {"own": own_school, "other": other_school}[target]
        with app.test_request_context():
            document = evidence.create_document(
                uploaders[target], db.session.get(School, school.id), {"title": "Minh chứng", "criteria": ["1.1"]},
                [FileStorage(io.BytesIO(files.png()), filename="anh.png")])
            return {"evidence_id": document.id, "file_id": document.files[0].id, "criterion": "1.1"}
    return {
        "actors": actors,
        "schools": {"own": own_school, "other": other_school},
        "build": build,
        "evidence_of": evidence_of,
        "own": {"school_id": own_school.id, "district_id": own_school.district_id, "year": own_school.school_year,
                "action": "start_review", "province": own_school.district.province,
                "user_id": own_person.id, "plan_id": _plan_for(app, own_school), **inventory_of(own_school),
                **evidence_of("own")},
        "other": {"school_id": other_school.id, "district_id": other_school.district_id,
                  "year": other_school.school_year, "action": "start_review",
                  "province": other_school.district.province,
                  "notification_id": _notification_for(app, other_person),
                  "user_id": other_person.id, "token_id": build.token_id(other_person),
                  "plan_id": _plan_for(app, other_school), **inventory_of(other_school),
                  **evidence_of("other")},
    }


def _plan_for(app, school) -> int:
    """A saved plan of ``school`` (one build_studio change)."""
    from app.extensions import db
    from app.planner.models import Plan

    with app.test_request_context():
        plan = Plan(school_id=school.id, school_year=school.school_year, name="Kế hoạch",
                    changes=[{"kind": "build_studio"}])
        db.session.add(plan)
        db.session.commit()
        return plan.id


def _notification_for(app, person) -> int:
    from app.extensions import db
    from app.notifications import notify
    from app.notifications.models import Notification

    with app.test_request_context():
        notify([person.id], "evidence_rejected", school_id=person.school_id, url="/", reviewer="A", code="H1-1.1-01",
               title="T", comment="C")
        db.session.commit()
        return db.session.scalar(db.select(Notification.id).order_by(Notification.id.desc()).limit(1))


@pytest.mark.long
def test_every_route_answers_each_role_as_the_table_says(app, world, make_client):
    rules = [rule for rule in app.url_map.iter_rules()]
    listed = {(rule.endpoint, method) for rule in rules for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert listed - ROUTES.keys() == set(), "routes missing from the permission table"
    assert ROUTES.keys() - listed == set(), "the table lists routes that no longer exist"

    clients = {None: make_client()}
    for role, actor in world["actors"].items():
        clients[role] = make_client()
        assert clients[role].login(actor.email).status_code == 302

    mismatches = []
    for rule in rules:
        params = set(rule.arguments) - {"filename"}
        targets = ["own", "other"] if params else ["none"]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role, client in clients.items():
                for target in targets:
                    got = _request(app, client, rule, method, role, target, world)
                    want = expected(rule.endpoint, method, role, params, target)
                    if got != want:
                        mismatches.append(f"{method} {rule.rule} as {role and role.value or 'anonymous'} "
                                          f"on {target}: {got}, expected {want}")
    assert mismatches == []


def _api_token(world, role) -> str:
    """A live API token of ``role``'s actor, kept for the next requests; a new one once a
    request has revoked it (DELETE /auth/token revokes the one it is sent with). Call in a
    request context."""
    tokens = world.setdefault("tokens", {})
    if role not in tokens or services.token_for(tokens[role]) is None:
        tokens[role] = services.issue_token(world["actors"][role], "matrix")[1]
    return tokens[role]


def _request(app, client, rule, method, role, target, world) -> str:
    values = {"filename": "css/portal.css"}
    if target != "none":
        values.update(world[target])
    if method == "DELETE":  # an allowed DELETE really deletes: give it a record of its own
        for param in set(rule.arguments) & INVENTORY.keys():
            name, data, label = INVENTORY[param]
            data = {**data, label: f"{rule.rule} {role} {target}"}
            values[param] = world["build"].record(name, world["schools"][target], data).id
        if set(rule.arguments) & EVIDENCE:
            values.update(world["evidence_of"](target))
        if "plan_id" in rule.arguments:
            values["plan_id"] = _plan_for(app, world["schools"][target])
    with app.test_request_context():
        if target == "own" and "notification_id" in rule.arguments:
            values["notification_id"] = _notification_for(app, world["actors"].get(role) or world["actors"][Role.STAFF])
        if target == "own" and "token_id" in rule.arguments:
            owner = world["actors"].get(role) or world["actors"][Role.STAFF]
            values["token_id"] = services.issue_token(owner, "own")[0].id
        url = url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
        raw_token = _api_token(world, role) if role and url.startswith("/api/") else None
    if url.startswith("/api/"):
        headers = {}
        if raw_token:
            headers["Authorization"] = "Bearer " + raw_token
        body = {"json": {}} if method in ("POST", "PATCH") else {}
        response = client.http.open(url, method=method, headers=headers, **body)
    elif method == "GET":
        response = client.get(url)
    else:
        response = client.http.open(url, method=method, data={})  # no CSRF token
    return outcome(response)
