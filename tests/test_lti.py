"""The course as an LTI 1.3 tool (graders/course/lti): keys, roster (NRPS), score passback
(AGS), results, against a real platform over HTTP (tests/lti_platform.py): the platform on
127.0.0.1, the tool's JWKS on localhost. The graded class is test_lms.py's (scores put in the
gradebook directly, no kernel runs): Siobhán 9/9, Jürgen 5/9, Anne 7/9 on the review list,
Zoë failed, Jo no submission, Jon submitted but not graded.

The tests on that class are marked slow: nbgrader releases the course once for the module
(~20 s), then each takes 2-3 s. The key and timestamp tests need no release.
"""
import json
import re
from contextlib import contextmanager
import stat
from datetime import datetime, timedelta, timezone

import pytest

import lms_fixtures as fx
from graders.course import cli
from graders.grading import coursedir as cdir
from graders.grading.gradebook import open_gradebook
from graders.instructions import INSTRUCTIONS
from graders.course.lti import grades as lti_grades
from graders.course.lti import keys as lti_keys
from graders.course.lti import push as lti_push
from graders.course.lti.registration import register
from graders.course.lti.roster import Users, roster
from graders.course.lti.settings import LtiError, PlatformError
from helpers import ASSIGNMENT, REPO
from lti_platform import INSTRUCTOR, SCORE_TYPE, LtiPlatform, ToolJwks, member
from test_lms import graded_class, lms_course, released_template  # noqa: F401 - fixtures

SUBS = {"siobhan_obrien": "f3a1c0de-0001", "jmueller": "f3a1c0de-0002",
        "annemarie_darcy": "f3a1c0de-0003", "zoe_vdberg": "f3a1c0de-0004",
        "jsmith": "f3a1c0de-0005", "jsmith_2": "f3a1c0de-0006"}
#: What the platform shares: e-mails for some (Moodle-like), Canvas ids or logins for others.
MEMBERS = [
    member(SUBS["siobhan_obrien"], name=fx.SIOBHAN.full, email=fx.SIOBHAN.email),
    member(SUBS["jmueller"], name=fx.JURGEN.full, canvas_id=str(fx.JURGEN.canvas_id)),
    member(SUBS["annemarie_darcy"], name=fx.ANNE.full, login=fx.ANNE.sis_login_id),
    member(SUBS["zoe_vdberg"], name=fx.ZOE.full, email=fx.ZOE.email),
    member(SUBS["jsmith"], name=fx.JO.full, email=fx.JO.email),
    member(SUBS["jsmith_2"], name=fx.JON.full, email=fx.JON.email),
    member("f3a1c0de-0007", name="Private Person"),
    member("f3a1c0de-0008", name="Guest Auditor", email="guest@elsewhere.example"),
    member("f3a1c0de-0009", name="Prof Teacher", email="prof@uni.example", roles=[INSTRUCTOR]),
]
MAX = 9.0
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


# -- the platform -------------------------------------------------------------------------------
@contextmanager
def serving(course):
    """A platform on 127.0.0.1 with ``MEMBERS``, the tool's JWKS on localhost, and the course
    registered with it."""
    jwks = ToolJwks(lambda: lti_keys.jwks(course))
    platform = LtiPlatform(tool_jwks_url=jwks.url, members=list(MEMBERS)).start()
    try:
        register(course=course, issuer=platform.issuer, client_id=platform.client_id,
                 deployment_id=platform.deployment_id, token_url=platform.token_url,
                 jwks_url=platform.jwks_url, memberships_url=platform.memberships_url,
                 lineitems_url=platform.lineitems_url)
        yield course, platform
    finally:
        platform.stop()
        jwks.stop()


@pytest.fixture
def lti(graded_class):  # noqa: F811
    """The graded class registered with a running platform: ``(course, platform)``."""
    with serving(graded_class) as both:
        yield both


@pytest.fixture
def bare_lti(course):
    """A course with no release or grades, registered with a running platform."""
    with serving(course) as both:
        yield both


@pytest.fixture
def rostered(lti):
    roster(course=lti[0])
    return lti


def regrade(course, sid: str, points: dict) -> None:
    """The gradebook's points of some instructions of a graded student changed."""
    with open_gradebook(cdir.db_url(cdir.load_config(course))) as gb:
        for iid, value in points.items():
            i = INSTRUCTIONS[iid]
            gb.find_grade(i.test_cell, i.notebook, ASSIGNMENT, sid).auto_score = value
        gb.db.commit()


def sent_users(platform) -> list[str]:
    return [s["score"]["userId"] for s in platform.scores]


# -- the extra --------------------------------------------------------------------------------
def test_the_lti_lock_installs_on_the_first_release_of_each_promised_python():
    """Is every pin of requirements-lti.lock installed here at its version (make install),
    with a Requires-Python that takes 3.11.0, 3.12.0 and 3.13.0?"""
    from importlib import metadata

    from packaging.specifiers import SpecifierSet

    from graders.course.bundle import PYTHONS

    pins = [line.split("==") for line in (REPO / "requirements-lti.lock").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert {name for name, _ in pins} >= {"pylti1p3next", "lti1p3platform"}
    for name, version in pins:
        assert metadata.version(name) == version, name
        requires = SpecifierSet(metadata.metadata(name).get("Requires-Python") or "")
        assert all(requires.contains(f"{minor}.0") for minor in PYTHONS), (name, requires)


# -- keys ---------------------------------------------------------------------------------------
def test_key_file_is_made_0600_and_the_jwks_has_no_private_part(course):
    """Is the key made on first use, mode 0600, git-ignored beside it, its JWKS public only;
    and after a rotation, is the old public key still published for the grace period only?"""
    report = lti_keys.keys(course=course, show_jwks=True)
    path = course / "lti" / "tool_key.pem"
    assert report.made and report.path == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "tool_key.pem" in (course / "lti" / ".gitignore").read_text().split()
    (key,) = report.jwks["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
    assert (key["kty"], key["alg"], key["use"], key["kid"]) == ("RSA", "RS256", "sig", report.kid)
    text = "\n".join(report.lines())
    assert "PRIVATE" not in text and path.read_text() not in text

    now = datetime.now(timezone.utc)
    rotated = lti_keys.keys(course=course, rotate=True, now=now)
    assert rotated.rotated_from == report.kid and rotated.kid != report.kid
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kids = [k["kid"] for k in lti_keys.jwks(course, now=now + timedelta(days=6))["keys"]]
    assert kids == [rotated.kid, report.kid]
    kids = [k["kid"] for k in lti_keys.jwks(course, now=now + timedelta(days=8))["keys"]]
    assert kids == [rotated.kid]


def test_timestamps_move_past_the_last_by_a_whole_second():
    """Is a score's timestamp the clock's, in ISO 8601 with milliseconds, unless that is not
    a whole second after the user's last one (Moodle compares seconds)?"""
    clock = datetime(2026, 12, 6, 21, 0, 0, 250000, tzinfo=timezone.utc)
    assert lti_push.next_timestamp(None, clock) == "2026-12-06T21:00:00.250+00:00"
    assert lti_push.next_timestamp("2026-12-06T21:00:00.900+00:00", clock) == \
        "2026-12-06T21:00:01.000+00:00"
    assert lti_push.next_timestamp("2026-12-06T20:59:58.999+00:00", clock) == \
        "2026-12-06T21:00:00.250+00:00"


@pytest.mark.slow
def test_nothing_lti_is_in_nbgrader_config(lti):
    """Does registering write only files under lti/, never nbgrader_config.py?"""
    course, _ = lti
    assert "LtiTool" not in (course / "nbgrader_config.py").read_text()
    assert "client_id" not in (course / "nbgrader_config.py").read_text()
    saved = json.loads((course / "lti" / "registration.json").read_text())["platform"]
    assert saved["client_id"] == "rnn-course-tool" and saved["context"]["lineitems_url"]


# -- roster -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_roster_maps_learners_by_email_canvas_id_and_login(lti):
    """Are the learners mapped by e-mail, Canvas id and login (over three pages), each sub
    kept per issuer, the two who match nobody reported, and the instructor left out?"""
    course, platform = lti
    report = roster(course=course)
    assert report.ids == {sub: sid for sid, sub in SUBS.items()}
    assert report.how == {"siobhan_obrien": "email", "jmueller": "canvas id",
                          "annemarie_darcy": "login", "zoe_vdberg": "email",
                          "jsmith": "email", "jsmith_2": "email"}
    assert report.unmatched == [
        ("f3a1c0de-0007", "Private Person", "no e-mail or login shared"),
        ("f3a1c0de-0008", "Guest Auditor", "no student of the course has this e-mail or login")]
    assert report.others == 1
    assert Users(course).subs(platform.issuer) == SUBS
    pages = [r.path for r in platform.received if "/memberships" in r.path]
    assert len(pages) == 3 and "page=3" in pages[-1]
    assert "Not matched" in "\n".join(report.lines())
    # again: the same mapping, found by sub this time
    assert roster(course=course).how == {sid: "sub" for sid in SUBS}


# -- push ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_push_posts_the_graded_class_field_by_field(rostered):
    """Does a push create the line item, post exactly the two clean grades as the spec's score
    JSON (Completed, FullyGraded, a one-line comment, ISO 8601 timestamps), hold back the
    review-listed, failed, ungraded and non-submitting students with why, and use one token?"""
    course, platform = rostered
    report = lti_push.push(course=course, assignment=ASSIGNMENT)

    (item,) = platform.line_items.values()
    assert item == {"id": f"{platform.lineitems_url}/1", "label": "RNN Architecture",
                    "scoreMaximum": MAX, "resourceId": ASSIGNMENT, "tag": "rnn-course"}
    assert report.created_line_item and report.line_item == item["id"]
    assert [s["contentType"] for s in platform.scores] == [SCORE_TYPE] * 2
    scores = [s["score"] for s in platform.scores]
    for score in scores:
        assert set(score) == {"userId", "scoreGiven", "scoreMaximum", "comment", "timestamp",
                              "activityProgress", "gradingProgress"}
        assert TIMESTAMP.match(score["timestamp"]), score["timestamp"]
        assert (score["activityProgress"], score["gradingProgress"]) == ("Completed",
                                                                         "FullyGraded")
    assert [{k: s[k] for k in ("userId", "scoreGiven", "scoreMaximum", "comment")}
            for s in scores] == [
        {"userId": SUBS["jmueller"], "scoreGiven": 5.0, "scoreMaximum": MAX,
         "comment": "5/9 points, autograded by rnn-course"},
        {"userId": SUBS["siobhan_obrien"], "scoreGiven": 9.0, "scoreMaximum": MAX,
         "comment": "9/9 points, autograded by rnn-course"}]
    assert report.held == [
        ("annemarie_darcy", "on the review list: exploding_gradients/test_exploding_step1: "
                            "no verdict (--confirm annemarie_darcy after checking)"),
        ("jsmith", "no submission (--confirm jsmith posts 0)"),
        ("jsmith_2", "submitted, not graded yet: run rnn-course grade"),
        ("zoe_vdberg", "grading failed: vanishing_gradients.ipynb is not valid JSON")]
    assert report.not_on_platform == []
    # one token for the roster, one for the push (cached across its requests)
    assert len(platform.token_requests) == 2


@pytest.mark.slow
def test_a_second_push_sends_nothing(rostered):
    """Pushed again with nothing changed, is nothing posted, and no line item made?"""
    course, platform = rostered
    lti_push.push(course=course, assignment=ASSIGNMENT)
    requests_before = len(platform.received)
    again = lti_push.push(course=course, assignment=ASSIGNMENT)
    assert again.sent == [] and sorted(again.unchanged) == ["jmueller", "siobhan_obrien"]
    assert len(platform.scores) == 2 and len(platform.line_items) == 1
    assert platform.received[requests_before:] == []


@pytest.mark.slow
def test_held_students_go_once_confirmed(rostered):
    """Confirmed, does the review-listed student get the gradebook's score and the
    non-submitter 0, while failed and ungraded ones stay held?"""
    course, platform = rostered
    lti_push.push(course=course, assignment=ASSIGNMENT)
    report = lti_push.push(course=course, assignment=ASSIGNMENT,
                           confirm=["annemarie_darcy", "jsmith"])
    assert [(s["student"], s["scoreGiven"], s["comment"]) for s in report.sent] == [
        ("annemarie_darcy", 7.0, "7/9 points, autograded by rnn-course"),
        ("jsmith", 0.0, "no submission: 0/9 points (confirmed by the instructor)")]
    assert [sid for sid, _ in report.held] == ["jsmith_2", "zoe_vdberg"]
    assert len(platform.scores) == 4


@pytest.mark.slow
def test_a_changed_grade_is_sent_again_with_a_later_timestamp(rostered):
    """After a regrade, is only that student sent, with a timestamp at least a second after
    the last one even when the clock has not moved (Moodle's 409 otherwise)?"""
    course, platform = rostered
    clock = datetime(2026, 12, 6, 21, 0, 0, 250000, tzinfo=timezone.utc)
    lti_push.push(course=course, assignment=ASSIGNMENT, now=lambda: clock)
    regrade(course, "jmueller", {"exploding_step2": 2})
    report = lti_push.push(course=course, assignment=ASSIGNMENT, now=lambda: clock)
    assert [(s["student"], s["scoreGiven"], s["timestamp"]) for s in report.sent] == [
        ("jmueller", 7.0, "2026-12-06T21:00:01.000+00:00")]
    assert report.refused == [] and len(platform.scores) == 3
    assert lti_push.next_timestamp(None, clock) == "2026-12-06T21:00:00.250+00:00"


@pytest.mark.slow
def test_a_score_the_platform_finds_stale_is_reported_and_sent_again_later(rostered):
    """When the platform holds a newer change of a grade (409), is that student listed as
    refused, the others posted, and the score sent again by the next push?"""
    course, platform = rostered
    lti_push.push(course=course, assignment=ASSIGNMENT)
    regrade(course, "jmueller", {"exploding_step2": 2})
    regrade(course, "siobhan_obrien", {"vanishing_plot": 0})
    item = next(iter(platform.line_items))
    platform.last_timestamp[(item, SUBS["jmueller"])] = datetime(2099, 1, 1, tzinfo=timezone.utc)
    report = lti_push.push(course=course, assignment=ASSIGNMENT)
    assert [s["student"] for s in report.sent] == ["siobhan_obrien"]
    assert [sid for sid, _ in report.refused] == ["jmueller"]
    assert "newer change of this grade" in report.refused[0][1]
    del platform.last_timestamp[(item, SUBS["jmueller"])]
    again = lti_push.push(course=course, assignment=ASSIGNMENT)
    assert [(s["student"], s["scoreGiven"]) for s in again.sent] == [("jmueller", 7.0)]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["drop", "500"])
def test_a_push_that_breaks_off_is_finished_by_the_next(rostered, how):
    """The platform drops the connection (or fails) after two scores: does the push stop with
    what to do, keep the two, and does the next push post exactly the other two?"""
    course, platform = rostered
    confirm = ["annemarie_darcy", "jsmith"]
    platform.fail_after, platform.fail_how = 2, how
    with pytest.raises(PlatformError, match="after 2 of 4 scores were posted.*run the same "
                                            "command again"):
        lti_push.push(course=course, assignment=ASSIGNMENT, confirm=confirm)
    first = sent_users(platform)
    assert len(first) == 2
    platform.fail_after = None
    report = lti_push.push(course=course, assignment=ASSIGNMENT, confirm=confirm)
    assert len(report.sent) == 2 and sorted(report.unchanged) == sorted(
        sid for sid, sub in SUBS.items() if sub in first)
    assert sorted(sent_users(platform)) == sorted(
        SUBS[s] for s in ("siobhan_obrien", "jmueller", "annemarie_darcy", "jsmith"))


@pytest.mark.slow
def test_an_expired_token_is_fetched_again(rostered):
    """When the platform expires the token after the first score, does the push get a new
    one and post the rest?"""
    course, platform = rostered
    platform.expire_after = 1
    before = len(platform.token_requests)
    report = lti_push.push(course=course, assignment=ASSIGNMENT)
    assert len(report.sent) == 2 and len(platform.scores) == 2
    assert len(platform.token_requests) == before + 2
    assert [r.status for r in platform.received if r.path.endswith("/scores")] == [200, 401, 200]


def test_a_token_is_kept_until_shortly_before_expires_in(bare_lti, monkeypatch):
    """Is the access token reused while the platform's expires_in lasts, and fetched again
    (not sent and refused) once it is nearly over?"""
    from graders.course.lti import services as svc

    course, platform = bare_lti
    clock = [1000.0]
    monkeypatch.setattr(svc.time, "monotonic", lambda: clock[0])
    connector = svc.Services(course).connector
    first = connector.get_access_token(svc.AGS_SCOPES)
    clock[0] += 3000
    assert connector.get_access_token(svc.AGS_SCOPES) == first
    clock[0] += 580        # 3580 s of 3600: within the last 30 s, so a new one
    assert connector.get_access_token(svc.AGS_SCOPES) != first
    assert len(platform.token_requests) == connector.fetched == 2


def test_wrong_client_credentials_are_refused_with_a_clear_message(bare_lti, capsys):
    """A wrong client id, or a platform that has another public key: is it refused with what
    to check, exit code 2, and no token or key printed?"""
    course, platform = bare_lti
    register(course=course, issuer=platform.issuer, client_id="not-the-client",
             deployment_id=platform.deployment_id, token_url=platform.token_url,
             jwks_url=platform.jwks_url, memberships_url=platform.memberships_url,
             lineitems_url=platform.lineitems_url)
    with pytest.raises(LtiError, match=r"refused the tool's credentials \(401 invalid_client: "
                                       r"unknown client\).*client id \(not-the-client\)"):
        roster(course=course)
    assert cli.main(["lti", "roster", "--course", str(course)]) == 2
    err = capsys.readouterr().err
    assert "rnn-course lti roster: the platform refused the tool's credentials" in err
    assert "PRIVATE KEY" not in err and not any(
        f["client_assertion"] in err for f in platform.token_requests)

    register(course=course, issuer=platform.issuer, client_id=platform.client_id,
             deployment_id=platform.deployment_id, token_url=platform.token_url,
             jwks_url=platform.jwks_url, memberships_url=platform.memberships_url,
             lineitems_url=platform.lineitems_url)
    # the platform looks for the tool's key in a key set without it
    platform.conf._registration.set_tool_key_set_url(platform.jwks_url)
    with pytest.raises(LtiError, match="client assertion not verified"):
        roster(course=course)


@pytest.mark.slow
def test_the_platform_checks_what_the_spec_requires(rostered):
    """Does the test platform itself refuse a replayed assertion, a token without the score
    scope, a score over its maximum and a wrong content type (else the other tests prove
    little)?"""
    import requests

    from graders.course.lti.services import SCOPE_MEMBERSHIPS, Services

    course, platform = rostered
    services = Services(course)
    lti_push.push(course=course, assignment=ASSIGNMENT)
    item = next(iter(platform.line_items))
    token = services.connector.get_access_token([SCOPE_MEMBERSHIPS])
    form = dict(platform.token_requests[-1])
    assert requests.post(platform.token_url, data=form).json()["error"] == "invalid_client"
    score = dict(platform.scores[0]["score"], timestamp="2030-01-01T00:00:00.000+00:00")
    bearer = {"Authorization": f"Bearer {token}", "Content-Type": SCORE_TYPE}
    assert requests.post(f"{item}/scores", json=score, headers=bearer).status_code == 403
    good = services.connector.get_access_token(["https://purl.imsglobal.org/spec/lti-ags/"
                                                "scope/score"])
    bearer["Authorization"] = f"Bearer {good}"
    over = dict(score, scoreGiven=10.0)
    assert requests.post(f"{item}/scores", data=json.dumps(over), headers=bearer).status_code \
        == 400
    assert requests.post(f"{item}/scores", data=json.dumps(score), headers=dict(
        bearer, **{"Content-Type": "application/json"})).status_code == 415
    stale = dict(score, timestamp="2020-01-01T00:00:00.000+00:00")
    assert requests.post(f"{item}/scores", data=json.dumps(stale), headers=bearer).status_code \
        == 409


@pytest.mark.slow
def test_dry_run_sends_nothing(rostered):
    """Does --dry-run say what would be sent without making a line item or posting?"""
    course, platform = rostered
    report = lti_push.push(course=course, assignment=ASSIGNMENT, dry_run=True)
    assert [(s["student"], s["scoreGiven"]) for s in report.sent] == [
        ("jmueller", 5.0), ("siobhan_obrien", 9.0)]
    assert platform.scores == [] and platform.line_items == {}
    assert "would post: jmueller 5/9" in "\n".join(report.lines())
    assert lti_push.push(course=course, assignment=ASSIGNMENT).sent[0]["student"] == "jmueller"


# -- results ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_grades_shows_where_the_platform_and_the_gradebook_differ(rostered):
    """After a push and a regrade, does `lti grades` read the results back (scores and the
    comments posted) and name only the students whose grades differ (`--all`: everyone)?"""
    course, platform = rostered
    sent = {s["student"]: s["comment"]
            for s in lti_push.push(course=course, assignment=ASSIGNMENT).sent}
    held = {"annemarie_darcy": (None, 7.0)}      # on the review list: not sent
    assert lti_grades.grades(course=course, assignment=ASSIGNMENT).differences == held
    everyone = lti_grades.grades(course=course, assignment=ASSIGNMENT, show_all=True)
    assert everyone.comments == sent and sent["jmueller"]
    text = "\n".join(everyone.lines())
    assert f"  jmueller: platform 5/9, gradebook 5/9 -- {sent['jmueller']}" in text
    assert "  annemarie_darcy: platform -, gradebook 7/9 (different)" in text
    regrade(course, "siobhan_obrien", {"vanishing_plot": 0})
    report = lti_grades.grades(course=course, assignment=ASSIGNMENT)
    assert report.differences == {**held, "siobhan_obrien": (9.0, 7.0)}
    assert "siobhan_obrien: platform 9/9, gradebook 7/9" in "\n".join(report.lines())


# -- the command line ---------------------------------------------------------------------------
@pytest.mark.slow
def test_the_commands_print_reports_and_no_secret(lti, capsys):
    """Do `rnn-course lti keys|roster|push|grades` print their reports, and never a token, a
    client assertion or the private key?"""
    course, platform = lti
    c = ["--course", str(course)]
    assert cli.main(["lti", "register", *c, "--issuer", platform.issuer, "--client-id",
                     platform.client_id, "--deployment-id", platform.deployment_id,
                     "--token-url", platform.token_url, "--jwks-url", platform.jwks_url,
                     "--memberships-url", platform.memberships_url,
                     "--lineitems-url", platform.lineitems_url]) == 0
    assert cli.main(["lti", "register", *c, "--issuer", platform.issuer, "--client-id", "x",
                     "--deployment-id", "d", "--token-url", "http://lms.example/token",
                     "--jwks-url", platform.jwks_url]) == 2
    assert cli.main(["lti", "keys", "--jwks", *c]) == 0
    assert cli.main(["lti", "roster", *c]) == 0
    assert cli.main(["lti", "push", "--dry-run", *c]) == 0
    assert cli.main(["lti", "push", *c]) == 0
    assert cli.main(["lti", "grades", *c]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "LTI push of rnn_architecture: 2 posted" in text
    assert "LTI registration" in text and "(unchanged)" in text
    assert "token URL 'http://lms.example/token' is not an https:// URL" in text
    assert "LTI roster from" in text and "LTI grades of" in text
    assert platform.tokens and platform.token_requests
    secrets = [*platform.tokens, *(f["client_assertion"] for f in platform.token_requests)]
    pem = (course / "lti" / "tool_key.pem").read_text()
    secrets += [line for line in pem.splitlines() if "-----" not in line]
    assert not [s for s in secrets if s in text]
    assert "PRIVATE KEY" not in text and '"d":' not in text
