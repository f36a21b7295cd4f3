"""``rnn-course lti serve``: the tool's web side on tornado: OIDC login and launch, the class
page (instructors, TAs), a student's bundle and own feedback report, the JWKS, dynamic
registration and deep linking. :func:`make_app` builds it, :func:`serve` runs it,
:class:`Running` runs it in a thread (tests).

Routes (``/lti`` is the launch URL the platform is given)::

    GET  /jwks                  the tool's public key set (keys.py)
    GET|POST /login             OIDC third-party login -> the platform's authorization URL
    POST /lti                   the launch (launch.py checks it): class page, student page or
                                the deep-linking answer
    GET  /report/<sid>/<page>   a feedback page: only the launched student's own (or staff's),
                                with a sandboxing Content-Security-Policy
    GET  /bundle                the assignment's student bundle, if built
    GET  /register              LTI Dynamic Registration (dynreg.py)

Who launched lives in a signed session cookie (tornado; the secret is a 0600 file under
``lti/``). It and the login's state cookie are partitioned (CHIPS: ``Partitioned; Secure;
SameSite=None``, launch.py's :func:`~.launch.set_partitioned_cookie`): inside the platform's
iframe they are third-party cookies, kept by the browser for the platform's site only, so a
browser that blocks third-party cookies still keeps them; the login, the launch and the
report and bundle requests all happen in that iframe. Opened outside it (a new tab), the tool
sees no launch. One log line per request goes to ``c.LtiTool.log_file``: status, method, path,
milliseconds; never a query string, token or cookie.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import secrets
import threading
from pathlib import Path

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

from ...grading import coursedir as cdir
from .. import verbs
from ..templating import templates
from .keys import _write_secret
from .registration import Platform
from .settings import LtiError, tool_settings

SESSION = "rnn-lti-session"
#: A feedback report may style itself and show inline images; nothing else, and it runs in
#: an opaque origin (sandbox without allow-same-origin, no scripts).
REPORT_CSP = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              "font-src data:; base-uri 'none'; form-action 'none'")
PAGE = re.compile(r"^[A-Za-z0-9_.-]+\.html$")
#: A student id in a report's URL: a name, never ``..`` (staff may ask for any student's).
STUDENT_ID = re.compile(r"^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*$")
LOG = logging.getLogger("graders.course.lti.serve")


def _render(template: str, **values) -> str:
    return templates("lti", autoescape=True).get_template(template).render(**values)


def cookie_secret(course: Path) -> bytes:
    """The session cookies' signing secret, made on first use (mode 0600); never shown."""
    path = tool_settings(course).path(course, "cookie_secret_file")
    if not path.is_file():
        _write_secret(path, secrets.token_urlsafe(48).encode("ascii"))
        from .keys import _ignore_beside
        _ignore_beside(path)
    return path.read_bytes().strip()


def _logger(course: Path) -> logging.Logger:
    path = tool_settings(course).path(course, "log_file")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not any(getattr(h, "baseFilename", None) == str(path) for h in LOG.handlers):
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False
    return LOG


def _log_request(handler: tornado.web.RequestHandler) -> None:
    r = handler.request
    LOG.info("%d %s %s %.0fms", handler.get_status(), r.method, r.path,
             1000 * r.request_time())


class Base(tornado.web.RequestHandler):
    def initialize(self, tool: "Tool"):
        self.tool = tool

    @property
    def base_url(self) -> str:
        return self.tool.public_url or f"{self.request.protocol}://{self.request.host}"

    def session(self) -> dict | None:
        raw = self.get_signed_cookie(SESSION, max_age_days=1)
        return json.loads(raw) if raw else None

    def start_session(self, data: dict) -> None:
        """Who launched, signed (tornado's ``create_signed_value``, read back with
        ``get_signed_cookie``) in a partitioned session cookie (launch.py's
        :func:`set_partitioned_cookie`, as the state cookie)."""
        from .launch import set_partitioned_cookie
        signed = self.create_signed_value(SESSION, json.dumps(data)).decode("ascii")
        set_partitioned_cookie(self, SESSION, signed)

    def message(self, status: int, title: str, text: str) -> None:
        self.set_status(status)
        self.finish(_render("message.html", title=title, text=text))

    def log_exception(self, typ, value, tb) -> None:
        """A refusal is one line in the log (no traceback); anything else as tornado does."""
        if isinstance(value, (LtiError, tornado.web.HTTPError)):
            LOG.info("refused %s %s: %s", self.request.method, self.request.path,
                     getattr(value, "log_message", None) or value)
        else:
            super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        from .launch import LaunchRefused
        if isinstance(exc, LaunchRefused):
            self.set_status(403)
            self.finish(_render("message.html", title="Launch refused", text=str(exc)))
        elif isinstance(exc, LtiError):
            self.set_status(400)
            self.finish(_render("message.html", title="The tool is not set up", text=str(exc)))
        elif isinstance(exc, tornado.web.HTTPError) and exc.log_message:
            self.finish(_render("message.html", title=self._reason, text=exc.log_message))
        else:
            self.finish(_render("message.html", title=self._reason,
                                text="the tool failed; the server's log says more"))


class Jwks(Base):
    def get(self):
        from .keys import jwks
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "max-age=300")
        self.finish(json.dumps(jwks(self.tool.course)))


class Login(Base):
    def get(self):
        self._login()

    def post(self):
        self._login()

    def _login(self):
        from .launch import login_redirect
        platform = Platform.load(self.tool.course)
        target = self.get_argument("target_link_uri", "") or f"{self.base_url}/lti"
        if not target.startswith(self.base_url):
            target = f"{self.base_url}/lti"
        self.redirect(login_redirect(self, self.tool.course, platform, target), status=302)


class LaunchHandler(Base):
    async def post(self):
        from .launch import (DEEP_LINK_REQUEST, STATE_COOKIE, clear_partitioned_cookie,
                             launch_fields, validate)
        form, cookies = launch_fields(self)
        launch = await tornado.ioloop.IOLoop.current().run_in_executor(
            None, functools.partial(validate, course=self.tool.course, form=form,
                                    cookies=cookies))
        clear_partitioned_cookie(self, STATE_COOKIE + form["state"])
        tool = self.tool
        if launch.is_staff:
            saved = tool.save_context(launch)
            self.start_session({"iss": launch.platform.issuer, "sub": launch.claims.get("sub"),
                                "role": "staff", "name": launch.name, "student": None})
            if launch.message_type == DEEP_LINK_REQUEST:
                from .deeplink import response
                return_url, token = response(course=tool.course, assignment=tool.assignment,
                                             launch=launch, launch_url=f"{self.base_url}/lti")
                self.finish(_render("deep_link.html", return_url=return_url, jwt=token,
                                    assignment=tool.assignment))
                return
            self.finish(_render("class.html", **tool.class_page(launch, saved)))
            return
        if launch.message_type == DEEP_LINK_REQUEST:
            raise tornado.web.HTTPError(403, "only an instructor can add the assignment to "
                                             "the course (deep linking)")
        if not launch.is_learner:
            raise tornado.web.HTTPError(403, "this launch has neither an instructor nor a "
                                             "learner role")
        student, how = tool.student_of(launch)
        self.start_session({"iss": launch.platform.issuer, "sub": launch.claims.get("sub"),
                            "role": "learner", "name": launch.name, "student": student})
        self.finish(_render("student.html", **tool.student_page(student, how, launch.name)))


class Report(Base):
    def get(self, student: str, page: str):
        who = self.session()
        if who is None:
            raise tornado.web.HTTPError(401, "no launch in this browser: open the tool from "
                                             "the course page first")
        if who["role"] != "staff" and who.get("student") != student:
            raise tornado.web.HTTPError(
                403, "this feedback report is another student's: you can read only your own")
        if not STUDENT_ID.match(student) or not PAGE.match(page):
            raise tornado.web.HTTPError(404, "no such feedback page (not graded yet?)")
        folder = self.tool.feedback_folder(student)
        if not (folder / page).is_file():
            raise tornado.web.HTTPError(404, "no such feedback page (not graded yet?)")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", REPORT_CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish((folder / page).read_bytes())


class Bundle(Base):
    def get(self):
        if self.session() is None:
            raise tornado.web.HTTPError(401, "no launch in this browser: open the tool from "
                                             "the course page first")
        path = self.tool.bundle_path()
        if not path.is_file():
            raise tornado.web.HTTPError(404, "no bundle has been built for this assignment yet")
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="{path.name}"')
        self.finish(path.read_bytes())


class Register(Base):
    async def get(self):
        from .dynreg import register_dynamically
        config_url = self.get_argument("openid_configuration", "")
        token = self.get_argument("registration_token", "")
        if not config_url:
            raise tornado.web.HTTPError(400, "open this URL from the platform's dynamic "
                                             "registration: openid_configuration is missing")
        platform = await tornado.ioloop.IOLoop.current().run_in_executor(
            None, functools.partial(register_dynamically, course=self.tool.course,
                                    openid_configuration=config_url,
                                    registration_token=token, tool_url=self.base_url))
        self.finish(_render("registered.html", platform=platform))


class Tool:
    """What the handlers share: the course, its assignment, and the pages' data."""

    def __init__(self, course: Path, assignment: str, public_url: str = ""):
        self.course, self.assignment, self.public_url = course, assignment, public_url.rstrip("/")
        self.config = cdir.load_config(course)
        self.lock = threading.Lock()

    def save_context(self, launch) -> dict:
        """The launch's service URLs into the registration; those that changed."""
        urls = launch.context_urls
        with self.lock:
            platform = Platform.load(self.course)
            changed = {k: v for k, v in urls.items() if platform.context.get(k) != v}
            if changed:
                platform.context.update(changed)
                platform.context["source"] = "launch"
                platform.save(self.course)
        return changed

    def class_page(self, launch, saved: dict) -> dict:
        from ..lms.grades import _assignment_max, class_grades
        from ..report import COURSE_TITLES
        from ...grading.gradebook import open_gradebook

        grades = class_grades(course=self.course, assignment=self.assignment)
        with open_gradebook(cdir.db_url(self.config)) as gb:
            names = {s.id: " ".join(x for x in (s.first_name, s.last_name) if x)
                     for s in gb.students}
        rows = []
        for sid in sorted(set(names) | set(grades)):
            g = grades.get(sid)
            if g is None:
                score = "no submission"
            elif g.points is None:
                score = g.blank_reason or "not graded"
            else:
                score = f"{g.points:g}/{g.max_points:g}" if g.max_points else f"{g.points:g}"
            rows.append({"student": sid, "name": names.get(sid, ""), "score": score,
                         "review": g.review if g else None})
        platform = Platform.load(self.course)
        return {"title": COURSE_TITLES.get(self.assignment, self.assignment),
                "assignment": self.assignment, "user": launch.name, "rows": rows,
                "maximum": _assignment_max(cdir.db_url(self.config), self.assignment),
                "saved": sorted(saved), "memberships_url": platform.memberships_url,
                "lineitems_url": platform.lineitems_url}

    def student_of(self, launch) -> tuple[str | None, str]:
        """The nbgrader id of a learner's launch: by ``sub`` in the LTI roster, else by the
        roster rules on the launch's e-mail and login claims (then kept by ``sub``)."""
        from ..lms.roster import Roster
        from .roster import Users, _known_students, _match

        sub = str(launch.claims.get("sub", ""))
        with self.lock:
            users = Users(self.course)
            mapped = users.of(launch.platform.issuer)
            if mapped.get(sub, {}).get("student"):
                return mapped[sub]["student"], "sub"
            r = Roster.load(self.course)
            member = {"email": launch.claims.get("email", ""), "message": [launch.claims]}
            sid, how = _match(member, _known_students(self.course, r), r)
            if sid is None:
                return None, how
            if any(u.get("student") == sid and s != sub for s, u in mapped.items()):
                return None, f"{sid} is already another user of this platform"
            mapped[sub] = {"student": sid, "name": launch.name,
                           "email": launch.claims.get("email", ""), "status": "Active"}
            users.save()
            return sid, how

    def feedback_folder(self, student: str) -> Path:
        return cdir.student_folder(self.config, "feedback", student, self.assignment)

    def bundle_path(self) -> Path:
        settings = tool_settings(self.course)
        return Path(self.course) / settings.bundle_file.format(assignment=self.assignment)

    def student_page(self, student: str | None, how: str, name: str) -> dict:
        from ..report import COURSE_TITLES

        pages = []
        if student:
            folder = self.feedback_folder(student)
            if folder.is_dir():
                pages = sorted(p.name for p in folder.glob("*.html") if PAGE.match(p.name))
        bundle = self.bundle_path()
        return {"title": COURSE_TITLES.get(self.assignment, self.assignment),
                "assignment": self.assignment, "student": student, "why": how, "name": name,
                "pages": pages, "bundle": bundle.name if bundle.is_file() else None}


def make_app(*, course: str | Path, assignment: str | None = None,
             public_url: str = "") -> tornado.web.Application:
    """The tool's web application for ``course`` (``public_url``: the address the platform
    reaches it by, when not what the request says, e.g. behind a proxy)."""
    course = cdir.find_course(course)
    assignment = verbs.assignment_of(course, assignment)
    _logger(course)
    tool = Tool(course, assignment, public_url)
    args = {"tool": tool}
    return tornado.web.Application([
        (r"/jwks", Jwks, args), (r"/login", Login, args), (r"/lti", LaunchHandler, args),
        (r"/report/([^/]+)/([^/]+)", Report, args), (r"/bundle", Bundle, args),
        (r"/register", Register, args)],
        cookie_secret=cookie_secret(course), log_function=_log_request, xsrf_cookies=False)


class Running:
    """The app served in a thread of its own: :attr:`url`, :meth:`stop`."""

    def __init__(self, *, course: str | Path, host: str = "localhost", port: int = 0,
                 assignment: str | None = None, public_url: str = ""):
        app = make_app(course=course, assignment=assignment, public_url=public_url)
        sockets = tornado.netutil.bind_sockets(port, host)
        self.port = sockets[0].getsockname()[1]
        self.url = public_url.rstrip("/") or f"http://{host}:{self.port}"
        started = threading.Event()

        def run():
            asyncio.set_event_loop(asyncio.new_event_loop())
            self.server = tornado.httpserver.HTTPServer(app)
            self.server.add_sockets(sockets)
            self.loop = tornado.ioloop.IOLoop.current()
            started.set()
            self.loop.start()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait()

    def stop(self) -> None:
        def halt():
            self.server.stop()
            self.loop.stop()
        self.loop.add_callback(halt)
        self.thread.join(timeout=10)


def serve(*, course: str | Path, host: str = "localhost", port: int = 8765,
          assignment: str | None = None, public_url: str = "", ready=None) -> None:
    """Serve until Ctrl-C or SIGTERM. ``ready(url)`` is called once the port is listening
    (port 0: a free one). A port in use is an :class:`LtiError` saying so, before anything
    is served."""
    import signal

    app = make_app(course=course, assignment=assignment, public_url=public_url)
    try:
        sockets = tornado.netutil.bind_sockets(port, host)
    except OSError as exc:
        raise LtiError(f"cannot listen on {host}:{port} ({exc.strerror}): another program "
                       f"uses the port? Give another with --port") from None
    url = public_url.rstrip("/") or f"http://{host}:{sockets[0].getsockname()[1]}"

    async def main():
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
            loop.add_signal_handler(sig, stop.set)
        if ready:
            ready(url)
        await stop.wait()
        server.stop()

    asyncio.run(main())
