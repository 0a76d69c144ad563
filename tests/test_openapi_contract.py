"""The API answers as its OpenAPI document says. schemathesis reads ``/api/v1/openapi.json``
and calls every operation in it in-process (so an endpoint added later is covered without
a change here), with generated valid and invalid input, as every role, on the demo school:
no answer is a server error, every status is documented, and every body has the
documented content type and schema (errors included: ``{"error": {...}}``).

Its stateful phase then follows the document's links (app.api.links) as each role in its
own school and district: sequences such as create a room, read it, change it, delete it;
open an evidence document of the list, link it to a criterion, review the link; read the
year's assessment, then submit or approve it — under the same checks."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from sqlalchemy.orm import close_all_sessions

from app import demo
from app.accounts import services as accounts
from app.accounts.models import ApiToken, Role, User
from app.accounts.policy import url_parameters
from app.extensions import db
from app.schools.models import School
from tests.builders import bearer

EXAMPLES = 5  # per operation, valid or invalid input; each example is sent as every role
SCENARIOS = 15  # per role in the stateful phase, each a chain of linked calls
STEPS = 8  # at most, per scenario
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class RoleTokens:
    """A live API token for each demo account; one revoked by a request (``DELETE
    /auth/token`` is fuzzed too) is replaced before the next example."""

    def __init__(self, app):
        self.app = app
        with app.test_request_context():
            users = db.session.scalars(select(User).where(User.email.in_(
                [email for _role, email, _password in demo.logins()]))).all()
            self.user_ids = {user.role: user.id for user in users}
        assert set(self.user_ids) == set(Role)
        self.tokens: dict[Role, tuple[int, str]] = {}

    def headers(self) -> list[dict]:
        """Authorization headers of every role, then none (anonymous)."""
        with self.app.test_request_context():
            live = set(db.session.scalars(select(ApiToken.id).where(
                ApiToken.id.in_([token_id for token_id, _raw in self.tokens.values()]),
                ApiToken.revoked_at.is_(None))))
            for role, user_id in self.user_ids.items():
                if self.tokens.get(role, (None,))[0] not in live:
                    token, raw = accounts.issue_token(db.session.get(User, user_id), "contract test")
                    self.tokens[role] = (token.id, raw)
        return [bearer(raw) for _id, raw in self.tokens.values()] + [{}]

    def header(self, role: Role) -> dict:
        """The Authorization header of ``role``'s account (a live token)."""
        self.headers()
        return bearer(self.tokens[role][1])

    def home(self, role: Role) -> dict:
        """Path parameters that put ``role``'s account at home: its school (the demo school
        for a district officer or an admin), that school's year and its district."""
        with self.app.test_request_context():
            user = db.session.get(User, self.user_ids[role])
            school = user.school or db.session.scalar(select(School).where(School.code == "THCVA"))
            return {"school_id": school.id, "year": school.school_year,
                    "district_id": user.district_id or school.district_id}


@pytest.fixture()
def demo_school(app):
    """The demo school and its accounts, and the id of one of its records for every URL
    parameter (so generated requests also reach existing records, not only 404s)."""
    with app.test_request_context():
        demo.load()
        school = db.session.scalar(select(School).where(School.code == "THCVA"))
        known = {"school_id": school.id}
        for param, model in url_parameters().items():
            school_id = getattr(model, "school_id", None)
            if param not in known and school_id is not None:
                known[param] = db.session.scalar(select(model.id).where(school_id == school.id).limit(1))
    return RoleTokens(app), {param: value for param, value in known.items() if value is not None}


def operations(app):
    """Every operation the served document describes, as schemathesis reads it."""
    document = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in document.get_all_operations()]


@pytest.mark.long
def test_every_operation_answers_as_documented_for_every_role(app, demo_school, subtests):
    tokens, known = demo_school

    for operation in operations(app):
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE))

        @given(case=cases, existing=st.booleans())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def answers_as_documented(case, existing):
            if existing and case.path_parameters:  # reach real records too, not only 404s
                case.path_parameters = {name: known.get(name, value) for name, value in case.path_parameters.items()}
            for headers in tokens.headers():
                case.call_and_validate(headers=headers, checks=CHECKS)

        with subtests.test(operation.label):
            answers_as_documented()


def test_the_document_links_a_created_record_to_what_can_be_done_with_it(app):
    """A client learns from the document where the id of a room it created goes."""
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    links = paths["/api/v1/schools/{school_id}/rooms"]["post"]["responses"]["201"]["links"]
    item = "#/paths/~1api~1v1~1schools~1{school_id}~1rooms~1{room_id}/"
    assert {link["operationRef"] for link in links.values()} == {item + "get", item + "patch", item + "delete"}
    assert all(link["parameters"] == {"room_id": "$response.body#/id", "school_id": "$request.path.school_id"}
               for link in links.values())
    review = paths["/api/v1/schools/{school_id}/evidence/{evidence_id}/links"]["post"]["responses"]["201"]["links"]
    assert {link["parameters"]["criterion"] for link in review.values()} == {"$response.body#/criterion"}


def stateful_schema(app):
    """The served document with only its own links (schemathesis's guessed ones off)."""
    config = SchemathesisConfig.from_dict({"phases": {"stateful": {
        "inference": {"algorithms": []}, "generation": {"mode": "positive"}}}})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


@pytest.mark.long
def test_linked_operations_answer_as_documented_for_every_role(app, demo_school, subtests):
    """Each role in a subtest of its own, on one load of the demo (every scenario is rolled
    back, so no role sees what another's created)."""
    tokens, _known = demo_school
    machine = stateful_schema(app).as_state_machine()
    for role in Role:
        with subtests.test(role=role.value):
            follow_links_as(app, machine, tokens, role)


def follow_links_as(app, machine, tokens: RoleTokens, role: Role) -> None:
    """Scenarios of the state ``machine`` (chains of linked calls) as ``role``, each from
    the demo data and the role's home, under CHECKS."""
    home = tokens.home(role)

    class Workflow(machine):
        def setup(self):
            # Each scenario starts from the demo data: what the previous one created, sealed
            # or deleted is rolled back (Hypothesis replays scenarios and expects the same answers).
            self.headers = tokens.header(role)  # issued before, so kept after the scenario
            with app.app_context():
                self.scenario = db.session.get_bind().begin_nested()

        def teardown(self):
            close_all_sessions()
            self.scenario.rollback()

        def step(self, input):
            # A scenario starts at home (the school, year and district of the account), then
            # follows the links from what the API answered.
            if input.transition is None and input.case.path_parameters:
                input.case.path_parameters = {name: home.get(name, value)
                                              for name, value in input.case.path_parameters.items()}
            return super().step(input)

        def get_call_kwargs(self, case):
            return {"headers": self.headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(settings=settings(max_examples=SCENARIOS, stateful_step_count=STEPS, deadline=None,
                                   derandomize=True, database=None, suppress_health_check=list(HealthCheck)))


def test_an_id_beyond_the_database_range_is_not_found_for_every_method(app, build):
    """Werkzeug answers 405 when a converter refuses a value after a rule of the same path
    for another method was tried; an impossible id must read as "no such record"."""
    token = build.token(build.user(Role.ADMIN))
    http = app.test_client()
    for method in ("GET", "PATCH", "DELETE"):
        answer = http.open(f"/api/v1/schools/1/rooms/{2**31}", method=method, json={}, headers=bearer(token))
        assert answer.status_code == 404, method
        assert answer.get_json()["error"]["code"] == "not_found"
