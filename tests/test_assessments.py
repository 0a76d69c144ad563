"""The yearly process through the API: review, submission, the principal's approval that
seals the year, what a sealed year refuses, reopening, and the transition table walked
for every role."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import delete, select, update

from app.accounts.models import Role
from app.assessments.models import Assessment, AssessmentStatus, SealedResult
from app.assessments.sealing import canonical, sha256_of
from app.assessments.services import TRANSITIONS
from app.audit.models import AuditEvent
from app.evidence.models import EvidenceDocument
from app.extensions import db
from app.inventory.models import Room
from app.notifications.models import Notification
from app.storage import storage
from tests import files
from tests.builders import bearer


@pytest.fixture()
def school_people(build):
    school = build.school(code="CVA", name="Trường Tiểu học Chu Văn An")
    people = {role: build.user(role, school=school) for role in (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL)}
    people["reviewer2"] = build.user(Role.REVIEWER, school=school)
    tokens = {role: build.token(person) for role, person in people.items()}
    return school, people, tokens


class Api:
    def __init__(self, app, school, tokens):
        self.http, self.school, self.tokens = app.test_client(), school, tokens
        self.year = school.school_year
        self.base = f"/api/v1/schools/{school.id}"

    def upload(self, who, criteria, name="qd.pdf", content=None, **form):
        body = {"title": form.pop("title", name), "doc_type": "decision", "criteria": criteria, **form,
                "file": [(io.BytesIO(content or files.pdf(name)), name)]}
        answer = self.http.post(f"{self.base}/evidence", headers=bearer(self.tokens[who]), data=body,
                                content_type="multipart/form-data")
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    def review(self, who, evidence_id, criterion, decision, comment=""):
        return self.http.post(f"{self.base}/assessments/{self.year}/review", headers=bearer(self.tokens[who]),
                              json={"evidence_id": evidence_id, "criterion": criterion, "decision": decision,
                                    "comment": comment})

    def act(self, who, action, **body):
        return self.http.post(f"{self.base}/assessments/{self.year}/{action}", headers=bearer(self.tokens[who]),
                              json=body)

    def get(self, who, path):
        return self.http.get(f"{self.base}/{path}", headers=bearer(self.tokens[who]))

    def add(self, who, collection, **values):
        answer = self.http.post(f"{self.base}/{collection}", headers=bearer(self.tokens[who]), json=values)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()


def _ready(api):
    """A year with a classroom, a projector and four accepted documents (the mandatory
    conditions of both groups)."""
    room = api.add(Role.STAFF, "rooms", name="6A", kind="classroom", internet=True)
    api.add(Role.STAFF, "equipment", kind="projector", name="Máy chiếu 6A", status="in_use", room_id=room["id"])
    documents = [api.upload(Role.STAFF, [code], name=f"tai-lieu-{code}.pdf") for code in ("1.1", "1.2", "2.1", "2.2")]
    for document, code in zip(documents, ("1.1", "1.2", "2.1", "2.2"), strict=True):
        assert api.review(Role.REVIEWER, document["id"], code, "accepted").status_code == 200
    return room, documents


def test_the_year_goes_from_draft_to_approved_and_the_seal_holds_what_was_approved(app, backend, school_people, read):
    school, people, tokens = school_people
    api = Api(app, school, tokens)
    draft = api.get(Role.PRINCIPAL, f"assessments/{api.year}").get_json()
    assert (draft["status"], draft["version"], draft["sealed"]) == ("draft", 0, None)
    room, documents = _ready(api)

    assert api.act(Role.STAFF, "start-review", version=0).get_json()["status"] == "in_review"
    assert api.act(Role.STAFF, "submit").status_code == 403  # staff collect; the review team submits
    submitted = api.act(Role.REVIEWER, "submit").get_json()
    assert submitted["status"] == "submitted" and submitted["actions"] == []  # a reviewer's part is done
    before = api.get(Role.PRINCIPAL, "score").get_json()
    view = api.get(Role.PRINCIPAL, f"assessments/{api.year}").get_json()
    assert set(view["actions"]) == {"send_back", "approve"}
    approved = api.act(Role.PRINCIPAL, "approve", version=view["version"], fingerprint=view["fingerprint"],
                       since=view["since"])
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["status"] == "approved" and body["sealed"]["approved_by"] == people[Role.PRINCIPAL].full_name

    # The seal: its hash is over its canonical JSON, and the manifest in storage holds it.
    seal = read(lambda: db.session.scalar(select(SealedResult).where(SealedResult.school_id == school.id)))
    assert seal.sha256 == body["sealed"]["sha256"] == sha256_of(seal.snapshot)
    manifest = read(lambda: json.loads(storage().open(seal.manifest_key).read()))
    assert manifest == {"snapshot_sha256": seal.sha256, "snapshot": seal.snapshot}
    sealed_files = {entry["file"]["sha256"] for entry in seal.snapshot["evidence"]}
    assert sealed_files == {document["files"][0]["sha256"] for document in documents}
    assert [link["status"] for entry in seal.snapshot["evidence"] for link in entry["links"]] == ["accepted"] * 4
    assert seal.snapshot["facts"]["counts"]["equipped_classrooms"] == 1

    # Later the projector breaks: the live inventory changes, the approved year does not.
    [projector] = api.get(Role.STAFF, "equipment").get_json()["items"]
    changed = api.http.patch(f"{api.base}/equipment/{projector['id']}", headers=bearer(tokens[Role.STAFF]),
                             json={"status": "broken"})
    assert changed.status_code == 200
    after = api.get(Role.PRINCIPAL, f"score?year={api.year}").get_json()
    sealed_17 = next(c for c in after["criteria"] if c["code"] == "1.7")
    assert sealed_17["points"] == next(c for c in before["criteria"] if c["code"] == "1.7")["points"] > 0
    assert after["sealed"]["sha256"] == seal.sha256
    assert canonical(after) == canonical({**before, "sealed": after["sealed"]})

    # What it sealed refuses changes: a new link, a new version, a review — all 409.
    sealed = api.http.post(f"{api.base}/evidence/{documents[0]['id']}/links", headers=bearer(tokens[Role.STAFF]),
                           json={"criterion": "1.3"})
    assert sealed.status_code == 409 and sealed.get_json()["error"]["code"] == "assessment_sealed"
    assert "mở lại" in sealed.get_json()["error"]["message"]
    new_version = api.http.post(f"{api.base}/evidence/{documents[0]['id']}/files", headers=bearer(tokens[Role.STAFF]),
                                data={"file": (io.BytesIO(files.pdf("khac")), "khac.pdf")})
    assert new_version.status_code == 409
    assert api.review("reviewer2", documents[0]["id"], "1.1", "rejected", "muộn").status_code == 409
    late = api.http.post(f"{api.base}/evidence", headers=bearer(tokens[Role.STAFF]),
                         data={"title": "Muộn", "doc_type": "other"}, content_type="multipart/form-data")
    assert late.status_code == 409
    assert api.act(Role.PRINCIPAL, "approve").status_code == 409  # already approved

    # Reopening needs a reason; then the live score counts again and the seal stays on record.
    assert api.act(Role.PRINCIPAL, "reopen").status_code == 400
    reopened = api.act(Role.PRINCIPAL, "reopen", reason="Máy chiếu 6A hỏng, chấm lại 1.7")
    assert reopened.get_json()["status"] == "in_review" and reopened.get_json()["sealed"] is None
    live = api.get(Role.PRINCIPAL, f"score?year={api.year}").get_json()
    assert "sealed" not in live
    assert next(c for c in live["criteria"] if c["code"] == "1.7")["points"] < sealed_17["points"]
    told = read(lambda: db.session.execute(select(Notification.user_id, Notification.kind)
                                         .where(Notification.school_id == school.id)).all())
    assert (people[Role.STAFF].id, "assessment_reopened") in told
    assert (people[Role.PRINCIPAL].id, "assessment_submitted") in told


def test_approval_is_blocked_by_evidence_awaiting_review_or_rejected(app, school_people):
    school, _people, tokens = school_people
    api = Api(app, school, tokens)
    _ready(api)
    shot = api.upload(Role.STAFF, ["1.3"], name="man-hinh.png", content=files.png(), doc_type="screenshot")
    api.act(Role.STAFF, "start-review")
    blocked = api.act(Role.PRINCIPAL, "approve")
    assert blocked.status_code == 409
    error = blocked.get_json()["error"]
    assert error["code"] == "approval_blocked"
    assert error["blockers"] == [{"kind": "pending", "criterion": "1.3", "code": "H1-1.3-01",
                                  "evidence_id": shot["id"], "title": "man-hinh.png"}]
    api.review(Role.REVIEWER, shot["id"], "1.3", "rejected", "Ảnh mờ")
    assert api.act(Role.PRINCIPAL, "approve").get_json()["error"]["blockers"][0]["kind"] == "rejected"
    api.http.delete(f"{api.base}/evidence/{shot['id']}/links/1.3", headers=bearer(tokens[Role.STAFF]))
    assert api.act(Role.PRINCIPAL, "approve").status_code == 200


def test_the_principal_sees_unmet_conditions_and_unevidenced_points_before_approving(app, school_people):
    school, _people, tokens = school_people
    api = Api(app, school, tokens)
    room = api.add(Role.STAFF, "rooms", name="6A", kind="classroom", internet=True)
    api.add(Role.STAFF, "equipment", kind="tv", name="TV 6A", status="in_use", room_id=room["id"])
    view = api.get(Role.PRINCIPAL, f"assessments/{api.year}").get_json()
    kinds = {(warning["kind"], warning.get("group") or warning.get("criterion")) for warning in view["warnings"]}
    assert {("mandatory", "1"), ("mandatory", "2"), ("unevidenced", "1.7")} <= kinds


def test_an_approval_of_what_changed_after_the_page_was_opened_is_refused_with_the_change(app, school_people):
    school, _people, tokens = school_people
    api = Api(app, school, tokens)
    _ready(api)
    api.act(Role.STAFF, "start-review")
    seen = api.get(Role.PRINCIPAL, f"assessments/{api.year}").get_json()
    # Meanwhile a staff member adds a document and a reviewer accepts it.
    extra = api.upload(Role.STAFF, ["1.3"], name="zoom.pdf")
    api.review(Role.REVIEWER, extra["id"], "1.3", "accepted")
    refused = api.act(Role.PRINCIPAL, "approve", version=seen["version"], fingerprint=seen["fingerprint"],
                      since=seen["since"])
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "changed_since_viewed"
    assert {"evidence.created", "evidence.reviewed"} <= {change["action"] for change in error["changes"]}
    # A stale version is refused too, naming what changed it.
    api.act(Role.REVIEWER, "submit")
    stale = api.act(Role.PRINCIPAL, "approve", version=seen["version"])
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale_version"
    now = api.get(Role.PRINCIPAL, f"assessments/{api.year}").get_json()
    assert api.act(Role.PRINCIPAL, "approve", version=now["version"], fingerprint=now["fingerprint"],
                   since=now["since"]).status_code == 200


def test_a_seal_is_counted_afresh_even_after_a_change_made_past_the_portal(app, school_people, read):
    """A fix typed straight into the database renews no score stamp: the approval still
    recounts, refuses what the page showed from the cache, and the next page shows and
    seals the recount."""
    school, _people, tokens = school_people
    api = Api(app, school, tokens)
    room, _documents = _ready(api)
    api.act(Role.STAFF, "start-review")
    api.act(Role.REVIEWER, "submit")
    seen = api.get(Role.PRINCIPAL, f"assessments/{api.year}").get_json()

    def cut_the_internet():
        db.session.execute(update(Room).where(Room.id == room["id"]).values(internet=False))
        db.session.commit()
    read(cut_the_internet)

    refused = api.act(Role.PRINCIPAL, "approve", version=seen["version"], fingerprint=seen["fingerprint"],
                      since=seen["since"])
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "changed_since_viewed"
    now = api.get(Role.PRINCIPAL, f"assessments/{api.year}").get_json()
    assert api.act(Role.PRINCIPAL, "approve", version=now["version"], fingerprint=now["fingerprint"],
                   since=now["since"]).status_code == 200
    seal = read(lambda: db.session.scalar(select(SealedResult).where(SealedResult.school_id == school.id)))
    assert seal.snapshot["facts"]["counts"]["equipped_classrooms"] == 0


def test_a_rejection_notifies_the_uploader_and_a_new_version_goes_back_to_review(app, school_people, read):
    school, people, tokens = school_people
    api = Api(app, school, tokens)
    shot = api.upload(Role.STAFF, ["1.3"], name="man-hinh.png", content=files.png(), doc_type="screenshot")
    assert api.review(Role.STAFF, shot["id"], "1.3", "accepted").status_code == 403
    rejected = api.review(Role.REVIEWER, shot["id"], "1.3", "rejected", "Ảnh mờ, không thấy tên phần mềm")
    assert rejected.get_json()["status"] == "rejected"
    notes = read(lambda: [(n.user_id, n.kind, n.params["comment"]) for n in db.session.scalars(
        select(Notification).where(Notification.school_id == school.id))])
    assert notes == [(people[Role.STAFF].id, "evidence_rejected", "Ảnh mờ, không thấy tên phần mềm")]
    api.http.post(f"{api.base}/evidence/{shot['id']}/files", headers=bearer(tokens[Role.STAFF]),
                  data={"file": (io.BytesIO(files.png(color="teal")), "man-hinh-ro.png")})
    again = api.get(Role.STAFF, f"evidence/{shot['id']}").get_json()
    assert again["links"][0]["status"] == "pending"
    assert api.review(Role.REVIEWER, shot["id"], "1.3", "accepted").get_json()["status"] == "accepted"


def test_review_of_another_years_or_schools_evidence_is_not_found(app, school_people, build):
    school, _people, tokens = school_people
    api = Api(app, school, tokens)
    other = build.school()
    other_staff = build.token(build.user(Role.STAFF, school=other))
    theirs = Api(app, other, {Role.STAFF: other_staff}).upload(Role.STAFF, ["1.1"])
    assert api.review(Role.REVIEWER, theirs["id"], "1.1", "accepted").status_code == 404
    assert api.get(Role.REVIEWER, "assessments/2022-23").status_code == 404
    assert api.http.get(f"/api/v1/schools/{other.id}/assessments/{api.year}",
                        headers=bearer(tokens[Role.PRINCIPAL])).status_code == 404


def test_where_the_bucket_locks_objects_the_sealed_files_get_a_retention_date(app, school_people, s3_server, read):
    from datetime import datetime, timedelta

    import boto3

    from tests.conftest import s3_settings

    client = boto3.client("s3", endpoint_url=s3_server.url, aws_access_key_id="testing",
                          aws_secret_access_key="testing-secret", region_name="us-east-1")
    bucket = f"portal-locked-{school_people[0].id}-{datetime.now().microsecond}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    school, _people, tokens = school_people
    with s3_settings(app, S3_ENDPOINT_URL=s3_server.url, S3_BUCKET=bucket):
        api = Api(app, school, tokens)
        _, documents = _ready(api)
        api.act(Role.STAFF, "start-review")
        assert api.act(Role.PRINCIPAL, "approve").status_code == 200
        seal = read(lambda: db.session.scalar(select(SealedResult).where(SealedResult.school_id == school.id)))
        keys = [seal.manifest_key, *(entry["file"]["key"] for entry in seal.snapshot["evidence"])]
        approved_at = datetime.fromisoformat(seal.snapshot["approved_at"])
        for key in keys:  # (HEAD, since moto's server answers GetObjectRetention badly)
            head = client.head_object(Bucket=bucket, Key=key)
            assert head["ObjectLockMode"] == "GOVERNANCE"
            assert abs(head["ObjectLockRetainUntilDate"] - (approved_at + timedelta(days=3650))) < timedelta(minutes=1)
        # Locked: deleting a sealed file's version is refused by the store itself.
        version = client.head_object(Bucket=bucket, Key=keys[1])["VersionId"]
        with pytest.raises(client.exceptions.ClientError):
            client.delete_object(Bucket=bucket, Key=keys[1], VersionId=version)
    assert len(documents) == 4


# --- the table, walked -------------------------------------------------------------------

ROLES = (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL, Role.DISTRICT)


def _year_in(app, school, status: AssessmentStatus) -> None:
    """The school's current year in ``status``, with a sealed result of today's state when
    the status is one of the sealed ones."""
    from app.assessments.sealing import live_content, sha256_of
    from app.extensions import utcnow
    from app.schools.models import School

    with app.test_request_context():
        row = Assessment(school_id=school.id, school_year=school.school_year, status=status)
        db.session.add(row)
        db.session.flush()
        if status.sealed:
            snapshot = {**live_content(db.session.get(School, school.id), school.school_year)[0],
                        "approved_by": {"id": None, "name": "Hiệu trưởng", "email": ""},
                        "approved_at": utcnow().isoformat(), "audit_head": None}
            seal = SealedResult(assessment_id=row.id, school_id=school.id, school_year=school.school_year,
                                snapshot=snapshot, sha256=sha256_of(snapshot))
            db.session.add(seal)
            db.session.flush()
            row.sealed_id = seal.id
        db.session.commit()


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
@pytest.mark.parametrize("status", list(AssessmentStatus))
@pytest.mark.parametrize("role", ROLES)
def test_every_transition_for_every_role_and_state(app, build, read, action, status, role):
    school = build.school()
    actor = build.user(role, school=None if role == Role.DISTRICT else school,
                       district=school.district if role == Role.DISTRICT else None)
    step = TRANSITIONS[action]
    _year_in(app, school, status)
    if status == AssessmentStatus.RECOGNISED or (action == "recognise" and status == AssessmentStatus.EVALUATED):
        with app.test_request_context():  # recognition reads the evaluation it recognises
            from app.assessments.models import Evaluation

            row = db.session.scalar(select(Assessment).where(Assessment.school_id == school.id))
            db.session.add(Evaluation(assessment_id=row.id, sealed_id=row.sealed_id, items={},
                                      score=row.sealed.snapshot["score"]))
            db.session.commit()
    body = {"items": []} if action == "evaluate" else {"reason": "Lý do"}
    answer = app.test_client().post(
        f"/api/v1/schools/{school.id}/assessments/{school.school_year}/{action.replace('_', '-')}",
        headers=bearer(build.token(actor)), json=body)
    final = read(lambda: db.session.scalar(select(Assessment.status).where(Assessment.school_id == school.id)))
    if role not in step.roles:
        assert answer.status_code == 403 and final == status
    elif status not in step.sources:
        assert answer.status_code == 409 and final == status
    else:
        assert answer.status_code == 200, answer.get_json()
        assert final == step.target


@pytest.mark.real_commits
def test_an_approval_and_a_concurrent_evidence_change_never_both_succeed(app):
    """A staff member is linking evidence (holding the year's lock) when the principal
    approves what they saw before: the approval waits, then sees the change and is
    refused with it; nothing is sealed. (Real commits, two connections, as two servers.)"""
    import threading

    from app.accounts.models import User
    from app.assessments import services
    from app.assessments.models import check_year_open
    from app.assessments.sealing import fingerprint, live_content
    from app.evidence import services as evidence
    from app.evidence.models import EvidenceDocument
    from app.schools.models import School
    from tests.builders import Builder

    build = Builder(app)
    with app.app_context():
        school = build.school()
        school_id, year = school.id, school.school_year
        staff_id = build.user(Role.STAFF, school=school).id
        principal_id = build.user(Role.PRINCIPAL, school=school).id
    with app.test_request_context(method="POST"):
        staff, school = db.session.get(User, staff_id), db.session.get(School, school_id)
        document_id = evidence.create_document(staff, school, {"title": "Kế hoạch dạy học trực tuyến",
                                                               "doc_type": "plan"}).id
        services.transition(staff, db.session.get(School, school_id), year, "start_review")
        seen = fingerprint(live_content(db.session.get(School, school_id), year)[0])
    locked, go, outcome = threading.Event(), threading.Event(), {}

    def link_while_holding_the_lock():
        with app.test_request_context(method="POST"):
            check_year_open(school_id, year)  # what link_criterion does first
            locked.set()
            go.wait(10)
            evidence.link_criterion(db.session.get(User, staff_id), db.session.get(EvidenceDocument, document_id),
                                    "1.1")

    def approve():
        with app.test_request_context(method="POST"):
            try:
                services.transition(db.session.get(User, principal_id), db.session.get(School, school_id), year,
                                    "approve", expected=seen)
                outcome["approval"] = "approved"
            except services.ChangedSinceViewed as error:
                outcome["approval"] = [change["action"] for change in error.more["changes"]]

    linker = threading.Thread(target=link_while_holding_the_lock)
    try:
        linker.start()
        assert locked.wait(10)
        approver = threading.Thread(target=approve)
        approver.start()
        approver.join(0.5)  # it waits for the lock (had it got past it, the link below would be refused)
        go.set()
        linker.join(20)
        approver.join(20)
        assert "evidence.linked" in outcome["approval"]
        with app.app_context():
            assert db.session.scalar(select(Assessment.status).where(Assessment.school_id == school_id)) \
                == AssessmentStatus.IN_REVIEW
            assert db.session.scalar(select(SealedResult.id).where(SealedResult.school_id == school_id)) is None
    finally:  # the school and its people stay (the audit trail names them); its year's records go
        go.set()
        with app.app_context():
            db.session.execute(delete(EvidenceDocument).where(EvidenceDocument.school_id == school_id))
            db.session.execute(delete(Assessment).where(Assessment.school_id == school_id))
            db.session.commit()


def test_any_sequence_of_transitions_by_any_roles_follows_the_table(app, build):
    """A state machine: whatever the school's people try in whatever order, each try is
    allowed exactly when the table says, and the state is the table's target."""
    from hypothesis import settings
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

    from app.accounts.models import User
    from app.assessments import services
    from app.errors import PortalError
    from app.schools.models import School

    class Year(RuleBasedStateMachine):
        @initialize()
        def school(self):
            school = build.school()
            self.school_id, self.year = school.id, school.school_year
            self.people = {role: build.user(role, school=None if role == Role.DISTRICT else school,
                                            district=school.district if role == Role.DISTRICT else None).id
                           for role in ROLES}
            self.status = AssessmentStatus.DRAFT

        @rule(action=st.sampled_from(sorted(TRANSITIONS)), role=st.sampled_from(ROLES))
        def act(self, action, role):
            step = TRANSITIONS[action]
            with app.test_request_context(method="POST"):
                actor, school = db.session.get(User, self.people[role]), db.session.get(School, self.school_id)
                try:
                    if action == "evaluate":
                        services.evaluate(actor, school, self.year, [])
                    else:
                        services.transition(actor, school, self.year, action, reason="Lý do")
                except PortalError as error:
                    db.session.rollback()
                    assert role not in step.roles or self.status not in step.sources, error.message
                    assert error.status == (403 if role not in step.roles else 409)
                else:
                    assert role in step.roles and self.status in step.sources
                    self.status = step.target
                stored = db.session.scalar(select(Assessment.status).where(Assessment.school_id == self.school_id))
            assert (stored or AssessmentStatus.DRAFT) == self.status

    run_state_machine_as_test(Year, settings=settings(max_examples=15, stateful_step_count=12, deadline=None))


def test_assessments_verify_finds_a_changed_seal_a_lost_manifest_and_a_removed_audit_entry(app, backend, school_people,
                                                                                           read):
    from sqlalchemy import text

    school, _people, tokens = school_people
    api = Api(app, school, tokens)
    _ready(api)
    api.act(Role.STAFF, "start-review")
    assert api.act(Role.PRINCIPAL, "approve").status_code == 200
    runner = app.test_cli_runner()

    def verify():
        with app.test_request_context():
            return runner.invoke(args=["assessments", "verify"])
    intact = verify()
    assert intact.exit_code == 0 and "sealed results intact" in intact.output
    seal = read(lambda: db.session.scalar(select(SealedResult).where(SealedResult.school_id == school.id)))
    anchor = seal.snapshot["audit_head"]
    assert anchor and anchor["id"] > 0

    with app.test_request_context():  # someone edits the sealed points in the database
        changed = dict(seal.snapshot, year="1999-2000")
        db.session.execute(text("UPDATE sealed_results SET snapshot = :snapshot, score = :score WHERE id = :id"),
                           {"snapshot": json.dumps(changed), "id": seal.id,
                            "score": json.dumps({**seal.score, "overall_level": 3})})
        db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": anchor["id"]})
        db.session.commit()
        storage().delete(seal.manifest_key)
    broken = verify()
    assert broken.exit_code == 1
    assert "does not hash to its SHA-256" in broken.output
    assert "the score the district's pages read differs from the snapshot's" in broken.output
    assert f"audit entry {anchor['id']}, the newest at approval, was removed" in broken.output
    assert "manifest" in broken.output and "missing" in broken.output


# --- what a careless or hostile user may send ----------------------------------------------

def test_only_the_current_year_changes_and_a_year_must_be_written_plainly(app, school_people):
    school, _people, tokens = school_people
    api = Api(app, school, tokens)
    for year, status in (("2001-2002", 409), ("2026-2027%0A", 404), ("٢٠٢٦-٢٠٢٧", 404)):
        answer = api.http.post(f"{api.base}/assessments/{year}/start-review", headers=bearer(tokens[Role.STAFF]),
                               json={})
        assert answer.status_code == status, (year, answer.get_json())
    assert api.act(Role.STAFF, "start-review").get_json()["status"] == "in_review"  # the current year does


def test_control_characters_never_reach_a_seal_a_report_or_a_log(app, school_people, read):
    school, _people, tokens = school_people
    api = Api(app, school, tokens)
    refused = api.http.post(f"{api.base}/evidence", headers=bearer(tokens[Role.STAFF]),
                            data={"title": "Kế hoạch\x01", "doc_type": "plan"}, content_type="multipart/form-data")
    assert refused.status_code == 400 and "title" in refused.get_json()["error"]["fields"]
    shot = api.upload(Role.STAFF, ["1.3"], name="anh.png", content=files.png(), doc_type="screenshot")
    rejected = api.review(Role.REVIEWER, shot["id"], "1.3", "rejected", "mờ\u0002 quá")  # JSON: refused outright
    assert rejected.status_code == 400
    assert api.act(Role.STAFF, "start-review", reason="bắt\u200b đầu").status_code == 200
    reasons = read(lambda: [event.details.get("reason") for event in db.session.scalars(
        select(AuditEvent).where(AuditEvent.school_id == school.id, AuditEvent.action == "assessment.start_review"))])
    assert reasons == ["bắt đầu"]


def test_carried_evidence_keeps_who_made_it_so_they_still_cannot_review_it(app, school_people, read):
    from app.assessments import services
    from app.schools.models import School

    school, people, tokens = school_people
    api = Api(app, school, tokens)
    with app.test_request_context():
        db.session.get(School, school.id).school_year = "2025-2026"
        db.session.commit()
    staffs = api.upload(Role.STAFF, ["2.1"], name="quyet-dinh.pdf")
    # The principal corrects its title: they changed what a review judges.
    assert api.http.patch(f"{api.base}/evidence/{staffs['id']}", headers=bearer(tokens[Role.PRINCIPAL]),
                          json={"title": "Quyết định thành lập Ban chỉ đạo"}).status_code == 200
    with app.test_request_context(method="POST"):
        year, carried = services.start_year(people[Role.PRINCIPAL], db.session.get(School, school.id), [staffs["id"]])
    assert (year, carried) == ("2026-2027", 1)
    copy = read(lambda: db.session.scalar(select(EvidenceDocument)
                                          .where(EvidenceDocument.carried_from_id == staffs["id"])))
    api.year = year
    assert api.review(Role.STAFF, copy.id, "2.1", "accepted").status_code == 403  # made it
    assert api.review(Role.PRINCIPAL, copy.id, "2.1", "accepted").status_code == 403  # changed it, last year
    assert api.review("reviewer2", copy.id, "2.1", "accepted").status_code == 200


# --- the district's external evaluation ------------------------------------------------------

def test_the_district_evaluates_the_sealed_year_within_the_ceilings_and_recognises_its_levels(app, school_people,
                                                                                              build, read):
    from app.assessments.sealing import sealed_facts
    from app.framework.engine import score
    from app.framework.services import framework

    school, people, tokens = school_people
    api = Api(app, school, tokens)
    _ready(api)
    api.add(Role.STAFF, "software", name="Google Meet", category="teaching", acquisition="free", status="in_use",
            capabilities=["online_teaching"])
    api.act(Role.STAFF, "start-review")
    assert api.act(Role.PRINCIPAL, "approve").status_code == 200
    seal = read(lambda: db.session.scalar(select(SealedResult).where(SealedResult.school_id == school.id)))
    with app.test_request_context():  # the sealed facts give the sealed score back
        assert score(framework(), sealed_facts(seal.snapshot)).to_dict() == seal.snapshot["score"]

    officer = build.user(Role.DISTRICT, district=school.district)
    api.tokens["district"] = build.token(officer)
    other = build.school(district="Cư Jút")
    api.tokens["elsewhere"] = build.token(build.user(Role.DISTRICT, district=other.district))
    evaluate = f"{api.base}/assessments/{api.year}/evaluate"

    def send(who, items):
        return api.http.post(evaluate, headers=bearer(api.tokens[who]), json={"items": items})
    assert send("elsewhere", []).status_code == 404  # another district's school
    assert send(Role.PRINCIPAL, []).status_code == 403  # a school never evaluates itself
    above = send("district", [{"code": "1.3.a", "points": 7, "reason": "x"}])
    assert above.status_code == 400 and "items.0.points" in above.get_json()["error"]["fields"]
    no_reason = send("district", [{"code": "1.3.a", "points": 3}])
    assert no_reason.status_code == 400 and "1.3.a" in no_reason.get_json()["error"]["fields"]["items.0.points"]
    unknown = send("district", [{"code": "9.9.z", "points": 0, "reason": "x"}])
    assert unknown.status_code == 400

    evaluated = send("district", [{"code": "1.3.a", "points": 3, "reason": "Chỉ dùng Google Meet một học kỳ"},
                                  {"code": "1.7.a", "points": 2, "reason": "Máy chiếu phòng 6A hỏng khi kiểm tra"}])
    assert evaluated.status_code == 200, evaluated.get_json()
    body = evaluated.get_json()
    assert body["status"] == "evaluated"
    assert body["evaluation"]["items"]["1.3.a"] == {"points": 3, "reason": "Chỉ dùng Google Meet một học kỳ"}
    claimed = {group["code"]: group["points"] for group in seal.snapshot["score"]["groups"]}
    assert {group["code"]: group["points"] for group in body["evaluation"]["groups"]} == {
        "1": claimed["1"] - (6 - 3) - (8 - 2), "2": claimed["2"]}
    # The school sees it, with the reasons; its sealed claim stays as it was.
    seen = api.get(Role.STAFF, f"assessments/{api.year}").get_json()
    assert seen["evaluation"]["items"]["1.7.a"]["reason"] == "Máy chiếu phòng 6A hỏng khi kiểm tra"
    assert api.get(Role.STAFF, f"score?year={api.year}").get_json()["sealed"]["sha256"] == seal.sha256

    recognised = api.http.post(f"{api.base}/assessments/{api.year}/recognise", headers=bearer(api.tokens["district"]),
                               json={})
    assert recognised.get_json()["status"] == "recognised"
    assert recognised.get_json()["evaluation"]["recognised"] == {"1": 1, "2": 1}
    assert send("district", []).status_code == 409  # recognised: no more evaluation
    assert api.act(Role.PRINCIPAL, "reopen", reason="x").status_code == 409
