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
"""
from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.registration import Registration

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM, SCOPE_LINEITEM_RO = AGS + "lineitem", AGS + "lineitem.readonly"
SCOPE_RESULT, SCOPE_SCORE = AGS + "result.readonly", AGS + "score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ALL_SCOPES = {SCOPE_LINEITEM, SCOPE_LINEITEM_RO, SCOPE_RESULT, SCOPE_SCORE, SCOPE_NRPS}
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"

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


@dataclass
class LtiPlatform:
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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        registration = (Registration().set_iss(self.issuer).set_client_id(self.client_id)
                        .set_deployment_id(self.deployment_id)
                        .set_platform_private_key(self.private_pem)
                        .set_platform_public_key(self.public_pem)
                        .set_tool_key_set_url(self.tool_jwks_url))
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
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
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
    """The tool's public key set over HTTP on ``localhost`` (``lti serve`` does not exist yet):
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
