"""A real LTI 1.3 platform for tests/test_lti.py: HTTP on 127.0.0.1 (a random port) in a thread.

Built on ``lti1p3platform`` for what it offers: the platform's registration and key pair, its
JWKS, signing and checking its access tokens (``Registration``), and checking the signature of
the tool's client assertion against the tool's JWKS fetched from the tool's URL
(``LTI1P3PlatformConfAbstract.tool_validate_and_decode``). Everything else is this file's own,
because the library has no server, storage or token endpoint, and skips checks the
specifications require:

* token endpoint (IMS Security Framework 1.0, RFC 7523): ``grant_type=client_credentials``,
  ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``; the
  assertion's ``iss`` = ``sub`` = client id, ``aud`` = the token URL, ``exp`` in the future,
  a ``jti`` never seen before (the library does not check ``aud``, ``iss``/``sub``, ``jti``);
  scopes granted only if requested and allowed (the library grants any known one);
* every service checks that the token carries *its* scope (403 otherwise; the library accepts
  any one scope), 401 for a missing, unknown or expired token;
* AGS: line-item container with paging and ``Link: <...>; rel="next"`` (quoted, RFC 8288),
  creation, scores with every field validated (the library validates none) and Moodle's 409
  for a timestamp not newer (to the second) than the user's last, results;
* NRPS memberships with the same paging;
* test controls: fail (drop the connection or answer 500) after N scores, expire tokens, a
  token lifetime, and everything it received kept for inspection.

The launch side (tests/test_lti_launch.py), messages built with lti1p3platform's
``LTIAdvantageMessageLaunchAbstract`` (user, resource link, context, AGS, NRPS and deep-linking
claims; signing), the checks and routing this file's own:

* ``/start`` (302) and ``/course`` (a page with the tool in an iframe) begin a third-party
  initiated OIDC login at the tool's login URL (``iss``, ``login_hint``, ``target_link_uri``,
  ``lti_message_hint``, ``client_id``);
* ``/auth``, the OIDC authorization endpoint, checks the tool's redirect (``scope=openid``,
  ``response_type=id_token``, ``response_mode=form_post``, ``prompt=none``, the client id, a
  registered ``redirect_uri``, a known ``login_hint``, a state and a nonce) and answers with a
  form auto-POSTing the signed ``id_token`` and the state to the tool; ``tamper_next`` changes
  the next message (claims, or a signature by another key) for the refusal tests;
* Dynamic Registration: ``/.well-known/openid-configuration`` and ``/register`` (the bearer
  registration token, once; the client registration's fields checked), a new client id and
  deployment answered;
* ``/deep_link_return``: the tool's ``LtiDeepLinkingResponse`` verified against the tool's JWKS
  (fetched), its ``iss``/``aud``/``exp``/deployment/nonce checked, the content items kept.

By hand (README, "Trying it without an LMS"): ``python tests/lti_platform.py --tool
http://localhost:8765 [--port 8766] [--course DIR]`` serves it on 127.0.0.1 with the course's
gradebook students (else the sample class) and an instructor ``prof``, registers the running
tool by dynamic registration (else prints the ``rnn-course lti register`` command), prints
one course-page URL per user and one line per launch and score, and stops on Ctrl-C.
"""
from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM, SCOPE_LINEITEM_RO = AGS + "lineitem", AGS + "lineitem.readonly"
SCOPE_RESULT, SCOPE_SCORE = AGS + "result.readonly", AGS + "score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ALL_SCOPES = {SCOPE_LINEITEM, SCOPE_LINEITEM_RO, SCOPE_RESULT, SCOPE_SCORE, SCOPE_NRPS}
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
TA = "http://purl.imsglobal.org/vocab/lis/v2/membership#TeachingAssistant"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
DEEP_LINK = "deeplink"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
CANVAS_LOGIN = "https://www.instructure.com/canvas_user_login_id"

LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
RESULTS_TYPE = "application/vnd.ims.lis.v2.resultcontainer+json"
MEMBERS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
SCORE_FIELDS = {"userId", "scoreGiven", "scoreMaximum", "comment", "timestamp",
                "activityProgress", "gradingProgress", "submission"}


def new_rsa_pem() -> tuple[str, str]:
    """(private PEM, public PEM) of a fresh 2048-bit RSA key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode("ascii")


class _Conf(LTI1P3PlatformConfAbstract):
    """lti1p3platform's platform configuration: one registration, the tool's JWKS by URL."""

    def init_platform_config(self, *, registration: Registration) -> None:
        self._registration = registration

    def get_registration_by_params(self, **kwargs) -> Registration:
        return self._registration


class Refused(Exception):
    def __init__(self, status: int, body: dict | str, headers: dict | None = None):
        super().__init__(status, body)
        self.status, self.body, self.headers = status, body, headers or {}


@dataclass
class Received:
    """One request as the platform saw it."""

    method: str
    path: str
    headers: dict
    body: bytes
    status: int = 0


# -- the launch side -------------------------------------------------------------------------------
def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'</head><body>{body}</body></html>')


class _Launch(LTIAdvantageMessageLaunchAbstract):
    """lti1p3platform's launch message builder; the tool's redirect is the preflight."""

    def __init__(self, conf, preflight: dict):
        super().__init__(None, conf)
        self.preflight = preflight

    def get_preflight_response(self) -> dict:
        return self.preflight

    def render_launch_form(self, launch_data: dict, **kwargs) -> dict:
        return launch_data


def _launch_form(action: str, fields: dict) -> str:
    inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                     for k, v in fields.items())
    return _page("Launching", f'<form id="launch" method="post" action="{escape(action)}">'
                 f'{inputs}<noscript><button>Continue</button></noscript></form>'
                 f'<script>document.getElementById("launch").submit()</script>')


class _LaunchSide:
    """The launch side of :class:`LtiPlatform`: OIDC authorization, Dynamic Registration, the
    deep-linking return."""

    def _authorize_launch(self, query: dict):
        """The OIDC authorization endpoint: the tool's redirect checked, the id_token posted."""
        def bad(why: str):
            return Refused(400, {"error": "invalid_request", "error_description": why})

        for name, want in (("scope", "openid"), ("response_type", "id_token"),
                           ("response_mode", "form_post"), ("prompt", "none")):
            if query.get(name) != want:
                raise bad(f"{name} must be {want}")
        if query.get("client_id") != self.client_id:
            raise Refused(400, {"error": "unauthorized_client"})
        if query.get("redirect_uri") != self.tool_launch_url:
            raise bad("redirect_uri is not registered")
        user = self.users.get(query.get("login_hint", ""))
        if user is None:
            raise Refused(400, {"error": "login_required"})
        if not query.get("nonce") or not query.get("state"):
            raise bad("state and nonce are required")
        self.conf._registration.set_launch_url(self.tool_launch_url)
        launch = _Launch(self.conf, {"nonce": query["nonce"], "state": query["state"],
                                     "redirect_uri": query["redirect_uri"],
                                     "client_id": query["client_id"]})
        launch.set_user_data(user["sub"], list(user["roles"]), full_name=user.get("name"),
                             email_address=user.get("email"))
        if user.get("login"):        # as Canvas shares it: the tool's roster rules use it
            launch.set_extra_claims({CANVAS_LOGIN: user["login"]})
        launch.set_resource_link_claim("rl-rnn-1", title="RNN Architecture")
        launch.set_launch_context_claim(self.context_id, context_types=[
            "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
            context_title="RNN 101", context_label="RNN")
        launch.set_ags(self.lineitems_url)
        launch.set_nrps(self.memberships_url)
        if query.get("lti_message_hint") == DEEP_LINK:
            launch.set_dl(f"{self.base}/deep_link_return", title="Add an activity",
                          accept_types={"ltiResourceLink"}, extra_data={"opaque": "dl-42"})
        tamper, self.tamper_next = self.tamper_next, {}
        if tamper.get("claims"):
            launch.set_extra_claims(tamper["claims"])
        fields = launch.lti_launch()
        claims = _unverified(fields["id_token"])
        if tamper.get("wrong_key"):
            import jwt
            header = jwt.get_unverified_header(fields["id_token"])
            fields["id_token"] = jwt.encode(claims, new_rsa_pem()[0], algorithm="RS256",
                                            headers={"kid": header["kid"]})
        self.launches.append(claims)
        self.log(f"launch: {query['login_hint']} ({_role(user['roles'])})"
                 + (", deep linking" if query.get("lti_message_hint") == DEEP_LINK else ""))
        return 200, _launch_form(fields["launch_url"], {"id_token": fields["id_token"],
                                                         "state": fields["state"]}), \
            "text/html; charset=utf-8", {}

    def _course_page(self, user: str, message: str) -> str:
        """The course's page: the tool in an iframe, launched as ``user``; links to the others."""
        others = " · ".join(f'<a href="{escape(self.course_page_url(u))}">{escape(u)}</a>'
                            for u in self.users if u != user)
        who = self.users.get(user)
        if who is None:
            return _page("RNN 101", f"<h1>RNN 101</h1><p>Launch the tool as: {others}</p>")
        deep = (f' · <a href="{escape(self.course_page_url(user, DEEP_LINK))}">add the '
                f'assignment (deep linking)</a>' if INSTRUCTOR in who["roles"] else "")
        return _page("RNN 101", f'<p>RNN 101, as <b>{escape(who.get("name") or user)}</b> '
                     f'({_role(who["roles"])}){deep} · as another user: {others}</p>'
                     f'<iframe id="tool" title="rnn-course" style="width:100%;height:600px" '
                     f'src="{escape(self.login_url(user, message))}"></iframe>')

    def openid_configuration(self) -> dict:
        return {"issuer": self.issuer, "authorization_endpoint": self.auth_url,
                "token_endpoint": self.token_url, "jwks_uri": self.jwks_url,
                "registration_endpoint": f"{self.base}/register",
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", *sorted(ALL_SCOPES)],
                "response_types_supported": ["id_token"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["iss", "sub", "name", "email"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "rnn-test-platform", "version": "1",
                    "messages_supported": [{"type": "LtiResourceLinkRequest"},
                                           {"type": "LtiDeepLinkingRequest"}]}}

    def _register_tool(self, h, body: bytes):
        """The Dynamic Registration endpoint: the token once, the registration checked."""
        auth = h.headers.get("Authorization", "").split()
        with self.lock:
            if auth != ["Bearer", self.registration_token]:
                raise Refused(401, {"error": "invalid_token"})
            self.registration_token = secrets.token_urlsafe(16)   # used: another next time
        if h.headers.get("Content-Type", "").split(";")[0] != "application/json":
            raise Refused(415, {"error": "application/json expected"})
        reg = json.loads(body)

        def bad(why: str):
            return Refused(400, {"error": "invalid_client_metadata", "error_description": why})

        if reg.get("application_type") != "web" or reg.get("response_types") != ["id_token"]:
            raise bad("application_type web and response_types [id_token] required")
        if not {"implicit", "client_credentials"} <= set(reg.get("grant_types", [])):
            raise bad("grant_types must hold implicit and client_credentials")
        if reg.get("token_endpoint_auth_method") != "private_key_jwt":
            raise bad("token_endpoint_auth_method must be private_key_jwt")
        for name in ("initiate_login_uri", "jwks_uri"):
            if not str(reg.get(name, "")).startswith("http"):
                raise bad(f"{name} missing")
        if not reg.get("redirect_uris"):
            raise bad("redirect_uris missing")
        tool = reg.get(TOOL_CONFIGURATION) or {}
        if not tool.get("target_link_uri") or not tool.get("domain"):
            raise bad("lti-tool-configuration needs domain and target_link_uri")
        if not {m.get("type") for m in tool.get("messages", [])} >= {
                "LtiResourceLinkRequest", "LtiDeepLinkingRequest"}:
            raise bad("messages must include resource link and deep linking")
        with self.lock:
            self.client_id = f"dyn-{secrets.token_hex(4)}"
            self.deployment_id = f"dyn-deployment-{len(self.registrations) + 1}"
            self.tool_jwks_url, self.tool_login_url = reg["jwks_uri"], reg["initiate_login_uri"]
            self.tool_launch_url = reg["redirect_uris"][0]
            self.conf._registration.set_client_id(self.client_id)
            self.conf._registration.set_deployment_id(self.deployment_id)
            self.conf._registration.set_tool_key_set_url(self.tool_jwks_url)
            self.registrations.append(reg)
        answer = {**reg, "client_id": self.client_id,
                  TOOL_CONFIGURATION: {**tool, "deployment_id": self.deployment_id}}
        return 200, answer, "application/json", {}

    def _deep_link_return(self, body: bytes):
        """The tool's deep-linking response, verified against the tool's JWKS (fetched)."""
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
        self.conf._registration.set_tool_key_set(None)
        try:
            claims = self.conf.tool_validate_and_decode(form.get("JWT", ""))
        except Exception as exc:
            raise Refused(400, {"error": f"deep-linking JWT not verified: "
                                         f"{type(exc).__name__}: {exc}"}) from None
        aud = claims.get("aud")
        checks = [(claims.get("iss") == self.client_id, "iss is not the client id"),
                  (self.issuer in (aud if isinstance(aud, list) else [aud]),
                   "aud is not the platform"),
                  (isinstance(claims.get("exp"), int) and claims["exp"] > time.time(),
                   "expired"),
                  (bool(claims.get("nonce")), "no nonce"),
                  (claims.get("https://purl.imsglobal.org/spec/lti/claim/message_type")
                   == "LtiDeepLinkingResponse", "not a deep-linking response"),
                  (claims.get("https://purl.imsglobal.org/spec/lti/claim/deployment_id")
                   == self.deployment_id, "another deployment"),
                  (claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/data")
                   == {"opaque": "dl-42"}, "the request's data not sent back")]
        for ok, why in checks:
            if not ok:
                raise Refused(400, {"error": why})
        self.deep_links.append(claims)
        items = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", [])
        return 200, _page("Added", "".join(f'<p class="added">Added: {escape(i.get("title", ""))}'
                                           f'</p>' for i in items)), "text/html; charset=utf-8", {}



def _role(roles) -> str:
    names = [r.rsplit("#", 1)[-1] for r in roles]
    return ", ".join(names) or "no role"


def _unverified(token: str) -> dict:
    import jwt
    return jwt.decode(token, options={"verify_signature": False})



@dataclass
class LtiPlatform(_LaunchSide):
    """The platform; :meth:`start` serves it, :meth:`stop` ends it."""

    tool_jwks_url: str
    client_id: str = "rnn-course-tool"
    deployment_id: str = "deployment-1"
    context_id: str = "rnn-101"
    members: list = field(default_factory=list)
    page_size: int = 3
    allowed_scopes: set = field(default_factory=lambda: set(ALL_SCOPES))
    token_ttl: int = 3600
    allow_over_maximum: bool = False
    #: After this many accepted scores, fail every score request: "drop" or "500".
    fail_after: int | None = None
    fail_how: str = "drop"
    #: After this many accepted scores, expire every token issued so far (once).
    expire_after: int | None = None
    #: The tool's login and launch URLs (the launch URL: its one registered redirect URI).
    tool_login_url: str = ""
    tool_launch_url: str = ""
    #: login_hint -> {"sub", "roles", "name", "email", "login"}: who can launch.
    users: dict = field(default_factory=dict)
    #: One line of what happened (a launch, a registration, a score): the CLI prints them.
    log: object = field(default=lambda line: None, repr=False)
    #: The port to listen on (0: any free one).
    port: int = 0

    def __post_init__(self):
        self.private_pem, self.public_pem = new_rsa_pem()
        self.line_items: dict[str, dict] = {}
        self.scores: list[dict] = []              # every accepted score, in order
        self.results: dict[tuple[str, str], dict] = {}
        self.last_timestamp: dict[tuple[str, str], datetime] = {}
        self.tokens: dict[str, dict] = {}         # token -> {"scopes", "expires"}
        self.token_requests: list[dict] = []      # the form of every token request
        self.seen_jti: set[str] = set()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        #: Changes to the next launch message: {"claims": {...}, "wrong_key": bool}.
        self.tamper_next: dict = {}
        self.launches: list[dict] = []            # every id_token's claims, as sent
        self.registration_token = secrets.token_urlsafe(16)
        self.registrations: list[dict] = []       # client registrations accepted
        self.deep_links: list[dict] = []          # verified deep-linking responses

    # -- serving ------------------------------------------------------------------------------
    def start(self) -> "LtiPlatform":
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                platform._handle(self, "GET")

            def do_POST(self):
                platform._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        registration = (Registration().set_iss(self.issuer).set_client_id(self.client_id)
                        .set_deployment_id(self.deployment_id)
                        .set_platform_private_key(self.private_pem)
                        .set_platform_public_key(self.public_pem)
                        .set_tool_key_set_url(self.tool_jwks_url))
        if self.tool_launch_url:
            registration.set_launch_url(self.tool_launch_url)
            registration.set_deeplink_launch_url(self.tool_launch_url)
        self.conf = _Conf(registration=registration)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def issuer(self) -> str:
        return self.base

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.base}/jwks"

    @property
    def memberships_url(self) -> str:
        return f"{self.base}/contexts/{self.context_id}/memberships"

    @property
    def lineitems_url(self) -> str:
        return f"{self.base}/contexts/{self.context_id}/lineitems"

    @property
    def auth_url(self) -> str:
        return f"{self.base}/auth"

    @property
    def openid_configuration_url(self) -> str:
        return f"{self.base}/.well-known/openid-configuration"

    def login_url(self, user: str, message: str = "resource") -> str:
        """The tool's login URL as the platform opens it for ``user``."""
        query = {"iss": self.issuer, "login_hint": user, "target_link_uri": self.tool_launch_url,
                 "lti_message_hint": message, "client_id": self.client_id}
        return f"{self.tool_login_url}?{urlencode(query)}"

    def start_url(self, user: str, message: str = "resource") -> str:
        return f"{self.base}/start?{urlencode({'user': user, 'message': message})}"

    def course_page_url(self, user: str, message: str = "resource") -> str:
        return f"{self.base}/course?{urlencode({'user': user, 'message': message})}"

    def registration_url(self, tool_register_url: str) -> str:
        """The tool's registration URL as the platform opens it (Dynamic Registration)."""
        return f"{tool_register_url}?" + urlencode(
            {"openid_configuration": self.openid_configuration_url,
             "registration_token": self.registration_token})

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token["expires"] = 0.0

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        seen = Received(method, h.path, dict(h.headers), body)
        self.received.append(seen)
        try:
            status, payload, media, headers = self._route(method, h, body)
        except _Drop:
            seen.status = -1
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        except Refused as exc:
            status, payload, media, headers = exc.status, exc.body, "application/json", exc.headers
        seen.status = status
        data = b"" if payload is None else payload.encode("utf-8") if isinstance(
            payload, str) else json.dumps(payload).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", media)
        h.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, h, body: bytes):
        parts = urlsplit(h.path)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        context = f"/contexts/{self.context_id}"
        if path == "/jwks" and method == "GET":
            return 200, {"keys": self.conf.get_jwks()["keys"]}, "application/json", {}
        if path == "/token" and method == "POST":
            return self._token(h, body)
        if path == "/start" and method == "GET":
            return 302, None, "text/html", {"Location": self.login_url(
                query.get("user", ""), query.get("message", "resource"))}
        if path == "/course" and method == "GET":
            return 200, self._course_page(query.get("user", ""),
                                          query.get("message", "resource")), \
                "text/html; charset=utf-8", {}
        if path == "/auth" and method in ("GET", "POST"):
            if method == "POST":
                query = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
            return self._authorize_launch(query)
        if path == "/.well-known/openid-configuration" and method == "GET":
            return 200, self.openid_configuration(), "application/json", {}
        if path == "/register" and method == "POST":
            return self._register_tool(h, body)
        if path == "/deep_link_return" and method == "POST":
            return self._deep_link_return(body)
        if path == f"{context}/memberships" and method == "GET":
            self._authorize(h, {SCOPE_NRPS})
            return self._memberships(h, query)
        if path == f"{context}/lineitems":
            if method == "GET":
                self._authorize(h, {SCOPE_LINEITEM, SCOPE_LINEITEM_RO})
                return self._list_line_items(h, query)
            self._authorize(h, {SCOPE_LINEITEM})
            return self._create_line_item(h, body)
        if path.startswith(f"{context}/lineitems/"):
            rest = path[len(f"{context}/lineitems/"):].split("/")
            item = self.line_items.get(f"{self.lineitems_url}/{rest[0]}")
            if item is None:
                raise Refused(404, {"error": "no such line item"})
            if len(rest) == 1 and method == "GET":
                self._authorize(h, {SCOPE_LINEITEM, SCOPE_LINEITEM_RO})
                return 200, item, LINEITEM_TYPE, {}
            if rest[1:] == ["scores"] and method == "POST":
                self._authorize(h, {SCOPE_SCORE})
                return self._score(h, item, body)
            if rest[1:] == ["results"] and method == "GET":
                self._authorize(h, {SCOPE_RESULT})
                return self._results(h, item, query)
        raise Refused(404, {"error": f"no {method} {path}"})

    # -- the token endpoint -------------------------------------------------------------------
    def _token(self, h, body: bytes):
        if not h.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            raise Refused(400, {"error": "invalid_request", "error_description": "form expected"})
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
        self.token_requests.append(form)

        def invalid(error: str, why: str):
            return Refused(400 if error != "invalid_client" else 401,
                           {"error": error, "error_description": why})

        if form.get("grant_type") != "client_credentials":
            raise invalid("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise invalid("invalid_request", "client_assertion_type must be jwt-bearer")
        assertion = form.get("client_assertion", "")
        self.conf._registration.set_tool_key_set(None)   # fetch the tool's JWKS every time
        try:
            claims = self.conf.tool_validate_and_decode(assertion)
        except Exception as exc:                           # bad signature, unknown kid, ...
            raise invalid("invalid_client", f"client assertion not verified: "
                                            f"{type(exc).__name__}") from None
        now = time.time()
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            raise invalid("invalid_client", "unknown client")
        audience = claims.get("aud")
        if self.token_url not in (audience if isinstance(audience, list) else [audience]):
            raise invalid("invalid_client", "aud is not the token URL")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            raise invalid("invalid_client", "assertion expired or without exp")
        jti = claims.get("jti")
        with self.lock:
            if not jti or jti in self.seen_jti:
                raise invalid("invalid_client", "jti missing or used before")
            self.seen_jti.add(jti)
        requested = set(form.get("scope", "").split())
        granted = sorted(requested & self.allowed_scopes & ALL_SCOPES)
        if not granted:
            raise invalid("invalid_scope", "none of the requested scopes is allowed")
        token = self.conf._registration.platform_encode_and_sign(
            {"sub": self.client_id, "iss": self.issuer, "scopes": " ".join(granted),
             "jti": secrets.token_hex(8)}, expiration=max(self.token_ttl, 1))
        with self.lock:
            self.tokens[token] = {"scopes": set(granted), "expires": now + self.token_ttl}
        return 200, {"access_token": token, "token_type": "Bearer",
                     "expires_in": self.token_ttl, "scope": " ".join(granted)}, \
            "application/json", {"Cache-Control": "no-store"}

    def _authorize(self, h, scopes: set[str]) -> None:
        """401 without a valid, unexpired token; 403 if it lacks every one of ``scopes``."""
        auth = h.headers.get("Authorization", "").split()
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        if len(auth) != 2 or auth[0].lower() != "bearer":
            raise Refused(401, {"error": "invalid_token"}, challenge)
        token = auth[1]
        try:
            valid = self.conf.validate_token(token)   # signature, issuer, exp (the library)
        except Exception:
            valid = False
        known = self.tokens.get(token)
        if not valid or known is None or known["expires"] <= time.time():
            raise Refused(401, {"error": "invalid_token", "error_description": "expired"},
                          challenge)
        if not known["scopes"] & scopes:
            raise Refused(403, {"error": "insufficient_scope"})

    # -- paging -------------------------------------------------------------------------------
    def _page(self, items: list, query: dict, url: str) -> tuple[list, dict]:
        limit = int(query.get("limit") or self.page_size)
        page = int(query.get("page") or 1)
        chunk = items[(page - 1) * limit: page * limit]
        headers = {}
        if page * limit < len(items):
            nxt = {**query, "limit": limit, "page": page + 1}
            headers["Link"] = f'<{url}?{urlencode(nxt)}>; rel="next"'
        return chunk, headers

    @staticmethod
    def _accepts(h, media: str) -> None:
        accept = h.headers.get("Accept", "*/*")
        if media not in accept and "*/*" not in accept:
            raise Refused(406, {"error": f"Accept {accept!r} does not allow {media}"})

    # -- NRPS ---------------------------------------------------------------------------------
    def _memberships(self, h, query: dict):
        self._accepts(h, MEMBERS_TYPE)
        members, headers = self._page(self.members, query, self.memberships_url)
        return 200, {"id": self.memberships_url,
                     "context": {"id": self.context_id, "label": "RNN", "title": "RNN 101"},
                     "members": members}, MEMBERS_TYPE, headers

    # -- AGS ----------------------------------------------------------------------------------
    def _list_line_items(self, h, query: dict):
        self._accepts(h, LINEITEMS_TYPE)
        items = [i for i in self.line_items.values()
                 if all(i.get(key) == query[q] for q, key in (
                     ("resource_id", "resourceId"), ("tag", "tag"),
                     ("resource_link_id", "resourceLinkId")) if q in query)]
        chunk, headers = self._page(items, query, self.lineitems_url)
        return 200, chunk, LINEITEMS_TYPE, headers

    def _create_line_item(self, h, body: bytes):
        if h.headers.get("Content-Type", "").split(";")[0].strip() != LINEITEM_TYPE:
            raise Refused(415, {"error": f"Content-Type must be {LINEITEM_TYPE}"})
        item = json.loads(body)
        if not isinstance(item.get("label"), str) or not item["label"].strip():
            raise Refused(400, {"error": "label is required"})
        if not isinstance(item.get("scoreMaximum"), (int, float)) or item["scoreMaximum"] <= 0:
            raise Refused(400, {"error": "scoreMaximum must be a number > 0"})
        with self.lock:
            item["id"] = f"{self.lineitems_url}/{len(self.line_items) + 1}"
            self.line_items[item["id"]] = item
        return 201, item, LINEITEM_TYPE, {}

    def _score(self, h, item: dict, body: bytes):
        if h.headers.get("Content-Type", "").split(";")[0].strip() != SCORE_TYPE:
            raise Refused(415, {"error": f"Content-Type must be {SCORE_TYPE}"})
        if self.fail_after is not None and len(self.scores) >= self.fail_after:
            if self.fail_how == "drop":
                raise _Drop()
            raise Refused(500, {"error": "internal error"})
        score = json.loads(body)
        self._check_score(score)
        key = (item["id"], score["userId"])
        when = datetime.fromisoformat(score["timestamp"])
        with self.lock:
            last = self.last_timestamp.get(key)
            if last is not None and when.replace(microsecond=0) <= last.replace(microsecond=0):
                raise Refused(409, {"error": "timestamp not newer than the grade's last change"})
            self.last_timestamp[key] = when
            self.scores.append({"lineItem": item["id"], "contentType": h.headers["Content-Type"],
                                "score": score})
            given = score.get("scoreGiven")
            full = score["gradingProgress"] == "FullyGraded" and given is not None
            self.results[key] = {
                "id": f"{item['id']}/results/{score['userId']}", "scoreOf": item["id"],
                "userId": score["userId"], "resultMaximum": item["scoreMaximum"],
                "resultScore": given / score["scoreMaximum"] * item["scoreMaximum"]
                if full else None, "comment": score.get("comment")}
            expire = self.expire_after is not None and len(self.scores) == self.expire_after
        name = next((m.get("name") for m in self.members if m.get("user_id") == score["userId"]),
                    score["userId"])
        self.log(f"score: {name} {given if given is not None else '-'}/"
                 f"{score.get('scoreMaximum', '-')} ({item.get('label', item['id'])})")
        if expire:
            self.expire_tokens()
        return 200, None, "application/json", {}

    def _check_score(self, score: dict) -> None:
        """Every field as LTI AGS 2.0 (Score publish service) wants it; 400 otherwise."""
        def bad(why: str):
            return Refused(400, {"error": why})

        if not isinstance(score, dict):
            raise bad("a score is a JSON object")
        unknown = set(score) - SCORE_FIELDS
        if any(":" not in k for k in unknown):       # extensions are URLs
            raise bad(f"unknown fields {sorted(unknown)}")
        if not any(m.get("user_id") == score.get("userId") for m in self.members):
            raise bad("userId is not a member of the context")
        if score.get("activityProgress") not in ACTIVITY:
            raise bad("activityProgress missing or not a value of the spec")
        if score.get("gradingProgress") not in GRADING:
            raise bad("gradingProgress missing or not a value of the spec")
        try:
            when = datetime.fromisoformat(score["timestamp"])
        except (KeyError, TypeError, ValueError):
            raise bad("timestamp missing or not ISO 8601") from None
        if when.tzinfo is None:
            raise bad("timestamp without a time zone")
        given = score.get("scoreGiven")
        if given is not None:
            maximum = score.get("scoreMaximum")
            if not isinstance(given, (int, float)) or given < 0:
                raise bad("scoreGiven must be a number >= 0")
            if not isinstance(maximum, (int, float)) or maximum <= 0:
                raise bad("scoreMaximum is required with scoreGiven and must be > 0")
            if given > maximum and not self.allow_over_maximum:
                raise bad("scoreGiven is more than scoreMaximum")
        if "comment" in score and not isinstance(score["comment"], str):
            raise bad("comment must be a string")

    def _results(self, h, item: dict, query: dict):
        self._accepts(h, RESULTS_TYPE)
        rows = [r for (item_id, user), r in sorted(self.results.items())
                if item_id == item["id"] and (not query.get("user_id")
                                              or user == query["user_id"])]
        chunk, headers = self._page(rows, {k: v for k, v in query.items()},
                                    f"{item['id']}/results")
        return 200, chunk, RESULTS_TYPE, headers


class _Drop(Exception):
    """Close the connection without an answer."""


class ToolJwks:
    """The tool's public key set over HTTP on ``localhost`` (test_lti.py's services tests, which
    need no launch; ``lti serve`` serves the same at ``/jwks``):
    ``GET /jwks`` answers ``jwks()`` as it is at that moment."""

    def __init__(self, jwks):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                data = json.dumps(outer.jwks()).encode("utf-8")
                self.send_response(200 if self.path == "/jwks" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.jwks = jwks
        self.server = ThreadingHTTPServer(("localhost", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://localhost:{self.server.server_address[1]}/jwks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def member(user_id: str, *, name: str = "", email: str = "", roles=(LEARNER,),
           canvas_id: str = "", login: str = "") -> dict:
    """An NRPS member as Canvas or Moodle sends it (Canvas's ids in the member's message)."""
    m = {"user_id": user_id, "status": "Active", "roles": list(roles)}
    if name:
        m["name"] = name
    if email:
        m["email"] = email
    message = {}
    if canvas_id:
        message["https://www.instructure.com/canvas_user_id"] = int(canvas_id)
    if login:
        message["https://www.instructure.com/canvas_user_login_id"] = login
    if message:
        m["message"] = [{"https://purl.imsglobal.org/spec/lti/claim/message_type":
                         "LtiResourceLinkRequest", **message}]
    return m


# -- by hand: python tests/lti_platform.py --tool http://localhost:8765 -------------------------
def _sub(student: str) -> str:
    """A learner's opaque, stable ``sub`` (the same on every run: the tool keeps it)."""
    import hashlib
    return "user-" + hashlib.sha256(student.encode("utf-8")).hexdigest()[:12]


def course_students(course) -> tuple[list[tuple[str, str, str]], str]:
    """``([(id, name, e-mail)], where from)``: the course's gradebook students, else the sample
    class `rnn-course demo` grades (graders/course/samples/)."""
    from pathlib import Path

    from graders.grading import coursedir as cdir

    try:
        folder = cdir.find_course(course)
        url = cdir.db_url(cdir.load_config(folder))
        if not url.startswith("sqlite:///") or Path(url[len("sqlite:///"):]).is_file():
            from graders.grading.gradebook import open_gradebook   # (creates a missing one)
            with open_gradebook(url) as gb:
                found = [(s.id, " ".join(x for x in (s.first_name, s.last_name) if x) or s.id,
                          s.email or "") for s in gb.students]
            if found:
                return sorted(found), f"the gradebook of {folder}"
    except Exception as exc:                                      # no course, no gradebook
        why = f" ({type(exc).__name__}: {exc})"
    else:
        why = " (no graded student yet: run `make demo`)"
    from graders.course.verbs import SAMPLES
    return ([(p.name, p.name.replace("_", " ").title(), "") for p in sorted(Path(SAMPLES).iterdir())
             if p.is_dir()], f"the sample class{why}")


def main(argv=None) -> int:
    """The platform on 127.0.0.1 for trying the tool by hand (see README, "Trying it without an
    LMS"): the course's students plus one instructor, the tool registered by dynamic
    registration, one URL per user; serves until Ctrl-C."""
    import argparse
    import os
    import signal
    import sys

    import requests

    p = argparse.ArgumentParser(
        prog="python tests/lti_platform.py",
        description="A local LTI 1.3 platform (an LMS stand-in) for `rnn-course lti serve`.")
    p.add_argument("--tool", default="http://localhost:8765",
                   help="the tool's address, as `rnn-course lti serve` prints it "
                        "(default http://localhost:8765)")
    p.add_argument("--port", type=int, default=8766,
                   help="port of the platform on 127.0.0.1 (default 8766; 0: any free one)")
    p.add_argument("--course", default=".",
                   help="the course folder whose students are the class (default: here)")
    args = p.parse_args(argv)
    tool = args.tool.rstrip("/")
    course = os.path.abspath(args.course)

    students, source = course_students(course)
    members = [member(_sub(sid), name=name, email=email, login=sid)
               for sid, name, email in students]
    users = {"prof": {"sub": "instructor-0001", "roles": [INSTRUCTOR], "name": "Prof Teacher",
                      "email": "prof@platform.example"}}
    for sid, name, email in students:
        users.setdefault(sid, {"sub": _sub(sid), "roles": [LEARNER], "name": name,
                               "email": email, "login": sid})
    members.append(member("instructor-0001", name="Prof Teacher",
                          email="prof@platform.example", roles=[INSTRUCTOR]))

    def say(line: str) -> None:
        print(line, flush=True)

    # a new course site on every run: its line items live only as long as this process
    platform = LtiPlatform(tool_jwks_url=f"{tool}/jwks", tool_login_url=f"{tool}/login",
                           tool_launch_url=f"{tool}/lti", members=members, users=users,
                           context_id=f"rnn-101-{secrets.token_hex(3)}", page_size=50,
                           port=args.port, log=lambda line: say(f"  {line}"))
    try:
        platform.start()
    except OSError as exc:
        print(f"lti_platform: cannot listen on 127.0.0.1:{args.port}: {exc.strerror} "
              f"(another platform running? try --port 0)", file=sys.stderr)
        return 2

    def quiet(request, client_address):          # a browser dropping a connection, ...
        kind, exc, _ = sys.exc_info()
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            say(f"  (a request failed: {kind.__name__}: {exc})")
    platform.server.handle_error = quiet

    plural = "s" if len(students) != 1 else ""
    say(f"LTI 1.3 platform on {platform.base}: course RNN 101, {len(students)} student{plural} "
        f"from {source}, 1 instructor")
    try:
        page = requests.get(platform.registration_url(f"{tool}/register"), timeout=30)
    except requests.RequestException:
        page = None
    if page is not None and page.status_code == 200 and platform.registrations:
        say(f"Registered the tool at {tool} by dynamic registration "
            f"(client id {platform.client_id}, deployment {platform.deployment_id}).")
    else:
        if page is None:
            say(f"The tool is not running at {tool}: start `rnn-course lti serve` and run "
                f"this again, or register it by hand:")
        else:
            import re
            why = re.search(r'<p id="message">(.*?)</p>', page.text, re.S)
            say(f"The tool at {tool} refused the registration (HTTP {page.status_code}"
                + (f": {' '.join(why.group(1).split())}" if why else "")
                + "); register it by hand:")
        say(f"  rnn-course lti register --course {course} --issuer {platform.issuer} "
            f"--client-id {platform.client_id} --deployment-id {platform.deployment_id} "
            f"--token-url {platform.token_url} --jwks-url {platform.jwks_url} "
            f"--auth-url {platform.auth_url} --memberships-url {platform.memberships_url} "
            f"--lineitems-url {platform.lineitems_url}")
    say(f"open {platform.course_page_url('prof').split('&')[0]} as the instructor (first: "
        f"the launch gives the tool the course's roster and grade-book URLs)")
    for sid, *_ in students:
        say(f"open {platform.course_page_url(sid).split('&')[0]} as the student {sid}")
    say("Ctrl-C stops the platform (it keeps nothing: the grades it received go with it).")

    for number in (signal.SIGINT, signal.SIGTERM):   # also when started in the background
        signal.signal(number, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    platform.stop()
    say("platform stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
