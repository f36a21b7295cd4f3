"""``rnn-course lti serve`` (graders/course/lti/web.py): OIDC login and launch, the class page,
a student's own report, dynamic registration and deep linking, against the real test platform
over HTTP (tests/lti_platform.py): the platform on 127.0.0.1, the tool on localhost (two sites).

The protocol tests drive both with ``requests`` (a session keeping cookies); one test drives a
real headless Chromium (Debian's chromium + chromedriver), with its default settings (third-party
cookies blocked), through the platform's page that embeds the tool in an iframe, where the
tool's state and session cookies are third-party cookies kept only because they are
partitioned (CHIPS: ``Partitioned; Secure; SameSite=None``). The graded class is test_lms.py's (Siobhán 9/9, Jürgen 5/9, Anne 7/9 on the
review list, Zoë failed, Jo no submission, Jon not graded), released and given nbgrader's
feedback once for the module (slow: ~30 s); the tests then take about a second each.
"""
import html
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

import lms_fixtures as fx
from graders.course import verbs
from graders.course.lti.registration import Platform, register
from graders.course.lti.roster import Users, roster
from graders.course.lti.web import REPORT_CSP, Running
from helpers import ASSIGNMENT
from lti_platform import INSTRUCTOR, LEARNER, TA, LtiPlatform
from test_lms import graded_class, released_template  # noqa: F401 - fixtures
from test_lti import MEMBERS, SUBS

PROF = "f3a1c0de-0009"
USERS = {
    "prof": {"sub": PROF, "roles": [INSTRUCTOR], "name": "Prof Teacher",
             "email": "prof@uni.example"},
    "ta": {"sub": "f3a1c0de-0010", "roles": [TA], "name": "Tess Assistant"},
    "siobhan": {"sub": SUBS["siobhan_obrien"], "roles": [LEARNER], "name": fx.SIOBHAN.full,
                "email": fx.SIOBHAN.email},
    "juergen": {"sub": SUBS["jmueller"], "roles": [LEARNER], "name": fx.JURGEN.full},
    "stranger": {"sub": "f3a1c0de-0077", "roles": [LEARNER], "name": "Not Enrolled",
                 "email": "nobody@elsewhere.example"},
}
#: Student HTML inside a report that would run if the report were served on the tool's origin.
INJECTED = '<script>document.title = "PWNED"; document.body.id = "pwned";</script>'


class Browser(requests.Session):
    """requests keeps ``Secure`` cookies for https only; browsers also send them to
    http://localhost (a secure context), as this session does."""

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def form_of(page: str) -> tuple[str, dict]:
    """The action and hidden fields of the page's one form."""
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page).group(1))
    fields = {html.unescape(n): html.unescape(v) for n, v in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}
    return action, fields


def launch(platform, user: str, message: str = "resource", session=None):
    """One launch as a browser makes it: platform -> tool login -> platform authorization ->
    the form posted to the tool. ``(tool's answer, the posted fields, the session)``."""
    s = session or Browser()
    page = s.get(platform.start_url(user, message), timeout=30)
    assert page.status_code == 200, page.text
    action, fields = form_of(page.text)
    assert set(fields) == {"id_token", "state"}
    return s.post(action, data=fields, timeout=30), fields, s


# -- the class, the tool and the platform, once for the module ---------------------------------
@pytest.fixture(scope="module")
def graded(released_template, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("launch")
    course = tmp / "course"
    shutil.copytree(released_template, course)
    graded_class._get_wrapped_function()(course, tmp)
    pages = verbs.feedback(course=course, assignment=ASSIGNMENT)
    assert pages, "nbgrader wrote no feedback"
    page = course / "feedback" / "siobhan_obrien" / ASSIGNMENT / "exploding_gradients.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", INJECTED + "</body>"),
                    encoding="utf-8")
    return course


@pytest.fixture(scope="module")
def site(graded):
    """The tool on localhost, the platform on 127.0.0.1, the course registered without the
    context's service URLs (the instructor's launch brings them); Jürgen mapped by an earlier
    roster, Siobhán not yet (her launch's e-mail finds her)."""
    tool = Running(course=graded)
    platform = LtiPlatform(tool_jwks_url=f"{tool.url}/jwks", tool_login_url=f"{tool.url}/login",
                           tool_launch_url=f"{tool.url}/lti", members=list(MEMBERS),
                           users=USERS).start()
    register(course=graded, issuer=platform.issuer, client_id=platform.client_id,
             deployment_id=platform.deployment_id, token_url=platform.token_url,
             jwks_url=platform.jwks_url, auth_url=platform.auth_url)
    users = Users(graded)
    users.of(platform.issuer)[SUBS["jmueller"]] = {"student": "jmueller", "name": "J",
                                                   "email": "", "status": "Active"}
    users.save()
    assert tool.url.startswith("http://localhost:") and platform.base.startswith("http://127.")
    yield graded, tool, platform
    platform.stop()
    tool.stop()


def refused(response, *words) -> str:
    assert response.status_code == 403, (response.status_code, response.text)
    text = html.unescape(re.search(r'<p id="message">(.*?)</p>', response.text, re.S).group(1))
    assert all(w in text for w in words), text
    return text


# -- the protocol ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_instructor_launch_shows_the_class_and_saves_the_service_urls(site):
    """Does an instructor's launch pass every check, show each student with the gradebook's
    score, save the context's NRPS and AGS URLs from the launch claims (so that `lti roster`
    then works without them having been registered), and log one calm line per request?"""
    course, tool, platform = site
    assert Platform.load(course).memberships_url == ""
    answer, fields, _ = launch(platform, "prof")
    assert answer.status_code == 200, answer.text
    sent = platform.launches[-1]
    assert sent["https://purl.imsglobal.org/spec/lti/claim/roles"] == [INSTRUCTOR]
    rows = dict(re.findall(r'<tr data-student="([^"]+)">(.*?)</tr>', answer.text, re.S))
    assert set(rows) == {"siobhan_obrien", "jmueller", "annemarie_darcy", "zoe_vdberg",
                         "jsmith", "jsmith_2"}
    assert "<td>9/9</td>" in rows["siobhan_obrien"] and "<td>5/9</td>" in rows["jmueller"]
    assert "no verdict" in rows["annemarie_darcy"]
    assert "not valid JSON" in html.unescape(rows["zoe_vdberg"])
    saved = Platform.load(course)
    assert (saved.memberships_url, saved.lineitems_url, saved.context["source"]) == (
        platform.memberships_url, platform.lineitems_url, "launch")
    assert 'id="saved"' in answer.text
    report = roster(course=course)        # the token endpoint fetches the tool's /jwks
    assert report.ids[SUBS["siobhan_obrien"]] == "siobhan_obrien"
    log = (course / "lti" / "serve.log").read_text()
    assert re.search(r"200 POST /lti \d+ms", log) and "302 GET /login" in log
    assert fields["id_token"] not in log and "state-" not in log and "nonce" not in log


def set_cookies(response) -> dict[str, str]:
    """The Set-Cookie headers of ``response`` (each as sent) by cookie name."""
    return {h.split("=", 1)[0]: h for h in response.raw.headers.getlist("Set-Cookie")}


PARTITIONED = ("Path=/", "Secure", "HttpOnly", "SameSite=None", "Partitioned")


@pytest.mark.slow
def test_cookies_are_partitioned(site):
    """Are the login's state cookie and the launch's session cookie partitioned (CHIPS:
    ``Partitioned; Secure; SameSite=None``, HttpOnly, the whole site's path), the state
    cookie deleted by the launch with the same attributes, and the session still read back?"""
    _, tool, platform = site
    s = Browser()
    login = s.get(platform.login_url("siobhan"), allow_redirects=False, timeout=30)
    assert login.status_code == 302
    (state,) = set_cookies(login).values()
    assert state.startswith("lti1p3-state-") and "Expires=" in state, state
    assert set(PARTITIONED) <= {a.strip() for a in state.split(";")[1:]}, state
    page = s.get(login.headers["Location"], timeout=30)
    action, fields = form_of(page.text)
    answer = s.post(action, data=fields, timeout=30)
    assert answer.status_code == 200, answer.text
    sent = set_cookies(answer)
    assert set(sent) == {"lti1p3-" + fields["state"], "rnn-lti-session"}, sent
    gone, session = sent["lti1p3-" + fields["state"]], sent["rnn-lti-session"]
    assert gone.startswith(f"lti1p3-{fields['state']}=;") and "Max-Age=0" in gone, gone
    for header in (gone, session):
        assert set(PARTITIONED) <= {a.strip() for a in header.split(";")[1:]}, header
    assert "Expires=" not in session and session.startswith("rnn-lti-session=2|"), session
    assert s.get(f"{tool.url}/report/siobhan_obrien/exploding_gradients.html").status_code == 200


@pytest.mark.slow
def test_teaching_assistant_launch_shows_the_class(site):
    _, _, platform = site
    course, tool, platform = site
    answer, _, s = launch(platform, "ta")
    assert answer.status_code == 200 and 'id="class"' in answer.text
    assert '<tr data-student="jmueller">' in answer.text and 'id="student"' not in answer.text
    # staff read any student's report, but a student id of ".." leaves no folder
    assert s.get(f"{tool.url}/report/jmueller/exploding_gradients.html").status_code == 200
    outside = course / ASSIGNMENT / "outside.html"   # feedback/../<assignment>/
    outside.parent.mkdir(exist_ok=True)
    outside.write_text("<p>not a report</p>")
    try:
        assert s.get(f"{tool.url}/report/%2E%2E/outside.html").status_code == 404
    finally:
        outside.unlink()


@pytest.mark.slow
def test_student_reads_only_their_own_report_sandboxed(site):
    """Is a learner found by the launch's e-mail (and kept by sub), shown their own feedback
    pages and no bundle until one is built; is a report served with the sandboxing CSP, and
    another student's report refused with 403 and a clear message?"""
    course, tool, platform = site
    answer, _, s = launch(platform, "siobhan")
    assert answer.status_code == 200, answer.text
    assert '<code id="student">siobhan_obrien</code>' in answer.text
    assert 'id="no-bundle"' in answer.text
    mapped = Users(course).of(platform.issuer)[SUBS["siobhan_obrien"]]
    assert mapped["student"] == "siobhan_obrien"
    links = re.findall(r'href="(/report/[^"]+)"', answer.text)
    assert links == [f"/report/siobhan_obrien/{nb}.html" for nb in ("exploding_gradients",
                                                                    "vanishing_gradients")]
    own = s.get(tool.url + links[0])
    assert own.status_code == 200
    assert own.headers["Content-Security-Policy"] == REPORT_CSP
    policy = [p.strip() for p in own.headers["Content-Security-Policy"].split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert "allow-same-origin" not in own.headers["Content-Security-Policy"]
    assert "siobhan_obrien" in own.text and INJECTED in own.text
    assert own.headers["X-Content-Type-Options"] == "nosniff"

    other = s.get(f"{tool.url}/report/jmueller/exploding_gradients.html")
    assert "another student" in refused(other, "only your own")
    assert s.get(f"{tool.url}/report/siobhan_obrien/..%2Fnbgrader_config.py").status_code == 404
    assert Browser().get(tool.url + links[0]).status_code == 401

    from graders.course.bundle import bundle
    built = bundle(course=course, assignment=ASSIGNMENT, to=course / "bundle" / f"{ASSIGNMENT}.zip")
    again, _, s = launch(platform, "siobhan", session=s)
    assert 'id="bundle" href="/bundle"' in again.text
    download = s.get(f"{tool.url}/bundle")
    assert download.content == built.read_bytes()
    assert download.headers["Content-Type"] == "application/zip"


@pytest.mark.slow
def test_a_learner_not_on_the_roster_is_told_so(site):
    _, _, platform = site
    answer, _, _ = launch(platform, "stranger")
    assert answer.status_code == 200 and 'id="unknown"' in answer.text
    assert "rnn-course lti roster" in answer.text


@pytest.mark.slow
def test_bad_signature_is_refused(site):
    """Is an id_token signed by another key (with the platform's kid) refused?"""
    _, _, platform = site
    platform.tamper_next = {"wrong_key": True}
    answer, _, _ = launch(platform, "prof")
    refused(answer, "signature does not verify")


@pytest.mark.slow
def test_replayed_nonce_is_refused(site):
    """Is the same id_token posted twice refused the second time, even with the state cookie
    put back (the nonce is accepted once), and refused without the cookie?"""
    _, tool, platform = site
    answer, fields, s = launch(platform, "siobhan")
    assert answer.status_code == 200
    refused(s.post(f"{tool.url}/lti", data=fields), "state cookie")
    s.cookies.set("lti1p3-" + fields["state"], fields["state"])
    refused(s.post(f"{tool.url}/lti", data=fields), "already used", "replay")


@pytest.mark.slow
def test_launch_without_the_login_state_cookie_is_refused(site):
    _, tool, platform = site
    page = Browser().get(platform.start_url("prof"))
    action, fields = form_of(page.text)
    refused(Browser().post(action, data=fields), "state cookie")


@pytest.mark.slow
@pytest.mark.parametrize("claims, words", [
    ({"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "deployment-9"},
     ("deployment-9", "not recognised")),
    ({"aud": "another-tool", "azp": "another-tool"}, ("another tool",)),
    ({"aud": ["rnn-course-tool", "another-tool"], "azp": "another-tool"}, ("azp",)),
    ({"iss": "https://evil.example"}, ("issuer",)),
], ids=["deployment", "audience", "azp", "issuer"])
def test_wrong_deployment_audience_or_issuer_is_refused(site, claims, words):
    _, _, platform = site
    platform.tamper_next = {"claims": claims}
    answer, _, _ = launch(platform, "prof")
    refused(answer, *words)


@pytest.mark.slow
def test_deep_linking_adds_the_assignment_with_its_line_item(site):
    """Does an instructor's deep-linking launch answer with a form posting a JWT, signed with
    the tool's key, that the platform verifies against the tool's JWKS, holding one
    ltiResourceLink whose line item push.py finds (resourceId, tag) and the gradebook's
    maximum; and is a learner's deep-linking launch refused?"""
    _, tool, platform = site
    answer, _, s = launch(platform, "prof", message="deeplink")
    assert answer.status_code == 200, answer.text
    action, fields = form_of(answer.text)
    assert action == f"{platform.base}/deep_link_return" and set(fields) == {"JWT"}
    back = s.post(action, data=fields)
    assert back.status_code == 200, back.text
    assert '<p class="added">Added: RNN Architecture</p>' in back.text
    (claims,) = platform.deep_links
    (item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item == {"type": "ltiResourceLink", "title": "RNN Architecture",
                    "url": f"{tool.url}/lti",
                    "lineItem": {"scoreMaximum": 9.0, "label": "RNN Architecture",
                                 "resourceId": ASSIGNMENT, "tag": "rnn-course"}}
    assert claims["iss"] == platform.client_id and claims["aud"] == [platform.issuer]

    answer, _, _ = launch(platform, "siobhan", message="deeplink")
    refused(answer, "only an instructor")


def test_dynamic_registration_writes_the_registration(course):
    """Does the tool, opened by the platform with openid_configuration and a registration
    token, read the configuration, register itself (login, launch and JWKS URLs, AGS and NRPS
    scopes, resource-link and deep-linking messages), save the client id and deployment the
    platform gave, and answer with the page that closes the platform's dialog; and is a used
    registration token, or another platform once registered, refused?"""
    tool = Running(course=course)
    platform = LtiPlatform(tool_jwks_url="").start()
    try:
        page = requests.get(platform.registration_url(f"{tool.url}/register"), timeout=30)
        assert page.status_code == 200, page.text
        assert "org.imsglobal.lti.close" in page.text and "postMessage" in page.text
        (sent,) = platform.registrations
        assert sent["initiate_login_uri"] == f"{tool.url}/login"
        assert sent["redirect_uris"] == [f"{tool.url}/lti"]
        assert sent["jwks_uri"] == f"{tool.url}/jwks"
        assert set(sent["scope"].split()) == {
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"}
        config = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
        assert config["target_link_uri"] == f"{tool.url}/lti"
        assert {m["type"] for m in config["messages"]} == {"LtiResourceLinkRequest",
                                                            "LtiDeepLinkingRequest"}
        saved = Platform.load(course)
        assert saved.client_id == platform.client_id and saved.client_id.startswith("dyn-")
        assert (saved.issuer, saved.deployment_id, saved.auth_url, saved.token_url,
                saved.jwks_url) == (platform.issuer, platform.deployment_id, platform.auth_url,
                                    platform.token_url, platform.jwks_url)
        stale = requests.get(f"{tool.url}/register?" + platform.registration_url("").split(
            "?", 1)[1].replace(platform.registration_token, "used-token"), timeout=30)
        assert stale.status_code == 400 and "HTTP 401" in stale.text
        other = LtiPlatform(tool_jwks_url="").start()
        try:
            taken = requests.get(other.registration_url(f"{tool.url}/register"), timeout=30)
            assert taken.status_code == 400 and "registered with" in taken.text
            assert other.registrations == [] and Platform.load(course).client_id == saved.client_id
        finally:
            other.stop()
        jwks = requests.get(f"{tool.url}/jwks", timeout=30).json()
        assert [set(k) for k in jwks["keys"]] == [{"kty", "n", "e", "kid", "alg", "use"}]
    finally:
        platform.stop()
        tool.stop()


# -- the platform run by hand (README: "Trying it without an LMS") ------------------------------
RNN_COURSE = Path(sys.executable).parent / "rnn-course"


class ServeCommand:
    """``rnn-course lti serve --port 0`` as the README runs it: the command by its path, the
    virtualenv not activated; :attr:`url` read from its first line."""

    def __init__(self, course: Path, port: int = 0):
        self.proc = subprocess.Popen([str(RNN_COURSE), "lti", "serve", "--course", str(course),
                                      "--port", str(port)], cwd=course, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={"PATH": "/usr/bin:/bin", "HOME": str(course)})
        self.first = self.proc.stdout.readline()
        found = re.match(r"LTI tool of .* on (http://localhost:\d+): ", self.first)
        assert found, (self.first, self.proc.stderr.read() if self.proc.poll() is not None
                       else "")
        self.url = found.group(1)

    def stop(self) -> tuple[str, str]:
        """SIGTERM, as a service manager stops it: ``(rest of stdout, stderr)``."""
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=15)
        assert self.proc.returncode == 0 and "Traceback" not in err, err
        assert out.endswith("LTI tool stopped\n"), out
        return out, err


@pytest.mark.slow
def test_the_platform_run_by_hand_registers_launches_and_takes_grades(graded, tmp_path):
    """Does ``python tests/lti_platform.py --tool URL --course DIR`` register a running tool by
    dynamic registration, print one course-page URL per user (the class's students from the
    gradebook, and the instructor), does the printed instructor URL launch the tool in its
    iframe and show the class, a student's URL that student's own page; do roster and push
    then work against it (one line per score printed); and does Ctrl-C stop it calmly?"""
    from graders.course.lti import push as lti_push

    course = tmp_path / "course"      # the module's class, registered with nobody yet
    shutil.copytree(graded, course, ignore=shutil.ignore_patterns("lti"))
    tool = ServeCommand(course)
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("lti_platform.py")), "--tool", tool.url,
         "--port", "0", "--course", str(course)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        head = []
        for line in proc.stdout:
            head.append(line)
            if line.startswith("Ctrl-C"):
                break
        text = "".join(head)
        assert "Registered the tool at " + tool.url in text, (text, proc.stderr.read())
        opens = re.findall(r"^open (\S+) as the (instructor|student (\S+))", text, re.M)
        urls = {who.split()[-1] if sid else who: url for url, who, sid in opens}
        assert set(urls) == {"instructor", "siobhan_obrien", "jmueller", "annemarie_darcy",
                             "zoe_vdberg", "jsmith", "jsmith_2"}, text
        assert len(head) <= 12, text                        # calm: a few lines

        s = Browser()
        page = s.get(urls["instructor"], timeout=30)
        src = html.unescape(re.search(r'<iframe id="tool"[^>]*src="([^"]+)"', page.text).group(1))
        assert src.startswith(f"{tool.url}/login?")
        action, fields = form_of(s.get(src, timeout=30).text)   # login -> /auth -> the form
        answer = s.post(action, data=fields, timeout=30)
        assert answer.status_code == 200 and 'id="class"' in answer.text, answer.text
        rows = dict(re.findall(r'<tr data-student="([^"]+)">(.*?)</tr>', answer.text, re.S))
        assert "<td>9/9</td>" in rows["siobhan_obrien"] and "<td>5/9</td>" in rows["jmueller"]

        s = Browser()
        src = html.unescape(re.search(r'<iframe id="tool"[^>]*src="([^"]+)"',
                                      s.get(urls["siobhan_obrien"], timeout=30).text).group(1))
        action, fields = form_of(s.get(src, timeout=30).text)
        mine = s.post(action, data=fields, timeout=30)
        assert '<code id="student">siobhan_obrien</code>' in mine.text, mine.text

        report = roster(course=course)
        assert sorted(report.ids.values()) == sorted(rows), report.lines()
        sent = lti_push.push(course=course, assignment=ASSIGNMENT).sent
        assert sorted((x["student"], x["scoreGiven"]) for x in sent) == [
            ("jmueller", 5.0), ("siobhan_obrien", 9.0)]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        watchdog.cancel()
        # a second tool on the same port: one line saying so, nothing served, exit 2
        busy = subprocess.run([str(RNN_COURSE), "lti", "serve", "--course", str(course),
                               "--port", tool.url.rsplit(":", 1)[1]], cwd=course,
                              capture_output=True, text=True, timeout=60)
        tool.stop()
    assert busy.returncode == 2 and busy.stdout == "", (busy.stdout, busy.stderr)
    assert re.fullmatch(r"rnn-course lti serve: cannot listen on localhost:\d+ \(.*\): another "
                        r"program uses the port\? Give another with --port\n", busy.stderr)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert "launch: prof (Instructor)" in out and "launch: siobhan_obrien (Learner)" in out
    assert "score: Siobhán O'Brien 9.0/9.0" in out and out.endswith("platform stopped\n"), out


# -- a real browser -------------------------------------------------------------------------------
def _chromium(prefs: dict | None = None):
    """Headless Chromium with a fresh profile: third-party cookies blocked (its default, and
    more and more students' browsers'), unless ``prefs`` say otherwise."""
    import shutil as sh

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path, browser = sh.which("chromedriver"), sh.which("chromium")
    if not driver_path or not browser:
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test "
                    "installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    if prefs:
        options.add_experimental_option("prefs", prefs)
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def _message(driver) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 30).until(
        ec.presence_of_element_located((By.ID, "message"))).text


@pytest.mark.slow
def test_launches_inside_the_platforms_iframe_in_chromium(site):
    """In headless Chromium with its default settings (third-party cookies BLOCKED), on the
    platform's page (127.0.0.1) embedding the tool (localhost) in an iframe: does the
    instructor's launch show the class (the partitioned state cookie kept across the login
    and the launch), are the tool's cookies in the platform's partition only (none left of the
    state; the tool opened outside the platform's page sees no launch), and does a student's
    launch show their report, whose own script does not run? With ALL cookies blocked, is the
    launch refused saying the state cookie is missing?"""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    _, tool, platform = site
    report = f"{tool.url}/report/siobhan_obrien/exploding_gradients.html"
    driver = _chromium()
    try:
        wait = WebDriverWait(driver, 30)
        driver.get(platform.course_page_url("prof"))
        wait.until(ec.frame_to_be_available_and_switch_to_it((By.ID, "tool")))
        table = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR,
                                                             "#class, #message")))
        assert table.get_attribute("id") == "class", table.text     # else: why refused
        assert "siobhan_obrien" in table.text and "9/9" in table.text
        driver.switch_to.default_content()

        cookies = [c for c in driver.execute_cdp_cmd("Storage.getCookies", {})["cookies"]
                   if c["domain"] == "localhost"]
        assert [c["name"] for c in cookies] == ["rnn-lti-session"], cookies
        (session,) = cookies
        assert (session.get("partitionKey") or {}).get("topLevelSite") == \
            "http://127.0.0.1", session         # the platform's site (no port: a site)
        assert session["secure"] and session["httpOnly"] and session["sameSite"] == "None"
        driver.get(report)      # the tool on its own: not the platform's partition
        assert "no launch in this browser" in driver.find_element(By.TAG_NAME, "body").text

        driver.get(platform.course_page_url("siobhan"))
        wait.until(ec.frame_to_be_available_and_switch_to_it((By.ID, "tool")))
        assert wait.until(ec.presence_of_element_located((By.ID, "student"))).text == \
            "siobhan_obrien"
        driver.find_element(By.LINK_TEXT, "exploding_gradients.html").click()
        wait.until(lambda d: "/report/" in d.execute_script("return location.href"))
        time.sleep(0.5)
        body = driver.find_element(By.TAG_NAME, "body")
        assert "siobhan" in body.text
        assert body.get_attribute("id") != "pwned" and driver.title != "PWNED"
    finally:
        driver.quit()

    strict = _chromium({"profile.default_content_setting_values.cookies": 2})
    try:
        strict.get(platform.course_page_url("prof"))
        WebDriverWait(strict, 30).until(ec.frame_to_be_available_and_switch_to_it(
            (By.ID, "tool")))
        text = _message(strict)
        assert "state cookie" in text and "missing" in text and "partitioned" in text, text
    finally:
        strict.quit()
