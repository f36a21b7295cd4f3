"""Checking one LTI 1.3 launch (OIDC login, then the ``id_token`` form post) as the LTI 1.3 core
specification and the IMS Security Framework require, for ``rnn-course lti serve``.

:mod:`pylti1p3` (pylti1p3next) does the message checks: state cookie, JWT format, registration
by issuer, signature against the platform's JWKS, deployment, the message type's required
claims. Its abstract request, cookie and session services are implemented here for tornado.
What it lacks is done here:

* the audience: the registered client id must be in ``aud``, and with several audiences
  ``azp`` must be it (the library looks at ``aud[0]`` only and skips ``aud`` in PyJWT);
* ``exp``/``iat`` required and checked (PyJWT, a minute of leeway);
* the nonce: one this tool's login issued, for this state, not expired, and accepted ONCE
  (:class:`NonceStore`, a file under ``lti/``; the library only asks the session);
* the platform's JWKS cached for ten minutes and fetched again for an unknown ``kid``;
* the cookies: the tool runs in the platform's iframe, another site, where its cookies are
  third-party cookies that browsers increasingly block (Safari, Firefox's Total Cookie
  Protection, Chrome's setting). The state cookie (and web.py's session cookie) are therefore
  partitioned (CHIPS: ``Partitioned; Secure; SameSite=None; HttpOnly``,
  :func:`set_partitioned_cookie`): kept for the platform's site, which is the top-level site
  of the login, the launch and the reports alike, and kept where third-party cookies are
  blocked. Only a browser blocking all cookies for the tool, or one without partitioned
  cookies that blocks third-party ones, refuses the launch (missing state cookie).

Every refusal is a :class:`LaunchRefused` saying why in a sentence.
"""
from __future__ import annotations

import functools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ...grading.records import write_atomically
from .registration import Platform
from .settings import LtiError, tool_settings

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = CLAIM + "message_type"
ROLES = CLAIM + "roles"
CONTEXT = CLAIM + "context"
DEPLOYMENT = CLAIM + "deployment_id"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINK_REQUEST = "LtiDeepLinkingRequest"
#: Context and institution roles that make a launch the instructor's (LIS vocabulary).
STAFF = ("#Instructor", "#TeachingAssistant", "#Administrator", "/Instructor",
         "/TeachingAssistant", "/Administrator", "#ContentDeveloper")
LEEWAY = 60
JWKS_TTL = 600.0
STATE_COOKIE = "lti1p3-"


class LaunchRefused(LtiError):
    """A login or launch that is not accepted: the message says why."""


# -- nonces -------------------------------------------------------------------------------------
class NonceStore:
    """``c.LtiTool.nonce_file``: nonce -> {state, expires, used}. A login issues, a launch
    consumes; a used or expired nonce is refused. One lock per file for the server's threads."""

    _locks: dict[str, threading.Lock] = {}

    def __init__(self, course: Path):
        settings = tool_settings(course)
        self.path = settings.path(course, "nonce_file")
        self.ttl = settings.launch_ttl
        self.lock = self._locks.setdefault(str(self.path), threading.Lock())

    def _read(self) -> dict:
        if not self.path.is_file():
            return {}
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))["nonces"]
        except (ValueError, KeyError, TypeError):
            return {}   # damaged: every outstanding login is simply started again

    def _write(self, nonces: dict) -> None:
        now = time.time()
        # a used nonce is kept until it expires (its token expires no later than that)
        keep = {n: v for n, v in nonces.items() if v["expires"] > now}
        write_atomically(self.path, json.dumps({"format": 1, "nonces": keep}) + "\n")

    def issue(self, state: str) -> str:
        nonce = secrets.token_urlsafe(24)
        with self.lock:
            nonces = self._read()
            nonces[nonce] = {"state": state, "expires": time.time() + self.ttl, "used": False}
            self._write(nonces)
        return nonce

    def check(self, nonce: str, state: str) -> str | None:
        """Why ``nonce`` is not acceptable with ``state`` now, or None."""
        entry = self._read().get(nonce)
        if entry is None or entry["expires"] <= time.time():
            return ("the nonce was not issued by this tool's login, or has expired: start the "
                    "launch again from the course page")
        if entry["used"]:
            return "this launch was already used (its nonce is accepted once): replay refused"
        if entry["state"] != state:
            return "the nonce belongs to another login (state mismatch)"
        return None

    def consume(self, nonce: str) -> bool:
        """Mark ``nonce`` used; False if it already was (two posts racing: one wins)."""
        with self.lock:
            nonces = self._read()
            entry = nonces.get(nonce)
            if entry is None or entry["used"] or entry["expires"] <= time.time():
                return False
            entry["used"] = True
            self._write(nonces)
            return True


# -- the cookies ----------------------------------------------------------------------------------
#: RFC 6265 cookie-octets: what a cookie value may hold unquoted.
_COOKIE_VALUE = re.compile(r"^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$")
_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def set_partitioned_cookie(handler, name: str, value: str, *,
                           expires: float | None = None) -> None:
    """Set the tool's cookie ``name`` on ``handler``'s answer as a partitioned (CHIPS)
    cookie: ``Path=/; Secure; HttpOnly; SameSite=None; Partitioned``, a session cookie
    unless ``expires`` (a timestamp; one in the past deletes the cookie).

    The tool runs in the platform's iframe, another site: the browser keeps the cookie in a
    jar of its own for the platform's (top-level) site, where it is set (the login, the
    launch) and read (the launch, the reports), and where a browser blocking third-party
    cookies still keeps it. Written by hand because tornado's ``set_cookie`` goes through
    :class:`http.cookies.Morsel`, which knows ``Partitioned`` only from Python 3.14. A cookie
    is deleted with the same attributes (a deletion without ``Partitioned`` would not reach
    the partitioned jar)."""
    from tornado.httputil import format_timestamp

    if not _COOKIE_NAME.match(name) or not _COOKIE_VALUE.match(value):
        raise ValueError(f"not a cookie name and value to write unquoted: {name!r}")
    parts = [f"{name}={value}"]
    if expires is not None:
        parts.append(f"Expires={format_timestamp(expires)}")
        if expires <= time.time():
            parts.append("Max-Age=0")
    parts += ["Path=/", "Secure", "HttpOnly", "SameSite=None", "Partitioned"]
    handler.add_header("Set-Cookie", "; ".join(parts))


def clear_partitioned_cookie(handler, name: str) -> None:
    """Delete the partitioned cookie ``name`` (:func:`set_partitioned_cookie`)."""
    set_partitioned_cookie(handler, name, "", expires=time.time() - 365 * 86400)


# -- the library's services, for tornado ----------------------------------------------------------
#: The platforms' JWKS by URL: (fetched again after this time, key set).
_JWKS_CACHE: dict[str, tuple[float, dict]] = {}


@functools.lru_cache(maxsize=None)
def _services():
    import jwt
    from pylti1p3.cookie import CookieService
    from pylti1p3.exception import LtiException, LtiKeyException
    from pylti1p3.message_launch import MessageLaunch
    from pylti1p3.request import Request
    from pylti1p3.session import SessionService

    class TornadoRequest(Request):
        """The launch's form fields, read from the tornado request before the checks run
        in a worker thread (the JWKS fetch must not block the server)."""

        def __init__(self, params: dict, secure: bool = False):
            self.params, self.secure = params, secure

        @property
        def session(self):
            return {}

        def is_secure(self) -> bool:
            return self.secure

        def get_param(self, key: str) -> str:
            return self.params.get(key, "")

    class TornadoCookies(CookieService):
        """The state cookie, partitioned (:func:`set_partitioned_cookie`): the launch is a
        cross-site POST into the platform's iframe. Set on the login's handler; read from the
        launch request's cookies."""

        def __init__(self, handler=None, ttl: float = 600, cookies: dict | None = None):
            self.handler, self.ttl, self.cookies = handler, ttl, cookies or {}

        def get_cookie(self, name: str):
            return self.cookies.get(STATE_COOKIE + name)

        def set_cookie(self, name, value, exp=None):
            set_partitioned_cookie(self.handler, STATE_COOKIE + name, str(value),
                                   expires=time.time() + (exp or self.ttl))

    class NonceSession(SessionService):
        """No server-side session: the state is checked against the cookie, the nonce
        against :class:`NonceStore`."""

        def __init__(self, store: NonceStore, state: str):
            self.store, self.state, self.why = store, state, None

        def check_state_is_valid(self, state, id_token_hash) -> bool:
            return False        # the library then compares the state with its cookie

        def check_nonce(self, nonce: str) -> bool:
            self.why = self.store.check(nonce, self.state)
            return self.why is None

        def save_launch_data(self, key, jwt_body) -> None:
            pass

        def set_state_valid(self, state, id_token_hash) -> None:
            pass

        def set_data_storage(self, data_storage) -> None:
            pass

        def set_launch_data_lifetime(self, time_sec) -> None:
            pass

    _jwks_cache = _JWKS_CACHE

    class TornadoLaunch(MessageLaunch):
        def _get_request_param(self, key: str) -> str:
            return self._request.get_param(key)

        def get_client_id(self) -> str:
            return self._tool_config.client_id

        def validate_registration(self):
            body = self._get_jwt_body()
            client_id = self._tool_config.client_id
            if body.get("iss") != self._tool_config.issuer:
                raise LaunchRefused(f"the launch comes from issuer {body.get('iss')!r}, not the "
                                    f"registered platform {self._tool_config.issuer!r}")
            aud = body.get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            if client_id not in auds:
                raise LaunchRefused(f"the launch is for another tool (aud {auds}), not this "
                                    f"tool's client id {client_id!r}")
            if len(auds) > 1 and body.get("azp") != client_id:
                raise LaunchRefused(f"the launch has several audiences and its azp "
                                    f"{body.get('azp')!r} is not this tool's client id")
            return super().validate_registration()

        def fetch_public_key(self, key_set_url: str):
            cached = _jwks_cache.get(key_set_url)
            if cached and cached[0] > time.time():
                return cached[1]
            keys = super().fetch_public_key(key_set_url)
            _jwks_cache[key_set_url] = (time.time() + JWKS_TTL, keys)
            return keys

        def get_public_key(self):
            try:
                return super().get_public_key()
            except LtiKeyException:
                # an unknown kid: the platform may have rotated its key; fetch once more
                _jwks_cache.pop(self._registration.get_key_set_url(), None)
                self._registration.set_key_set(None)
                return super().get_public_key()

        def validate_jwt_signature(self):
            public_key, alg = self.get_public_key()
            try:
                jwt.decode(self._get_id_token(), public_key, algorithms=[alg],
                           audience=self._tool_config.client_id, leeway=LEEWAY,
                           options={"require": ["exp", "iat", "iss", "aud", "nonce"]})
            except jwt.InvalidSignatureError:
                raise LaunchRefused("the launch's signature does not verify against the "
                                    "platform's public keys (its JWKS): refused") from None
            except jwt.ExpiredSignatureError:
                raise LaunchRefused("the launch's id_token has expired (exp): start it again "
                                    "from the course page") from None
            except jwt.InvalidTokenError as exc:
                raise LaunchRefused(f"the launch's id_token is not valid: {exc}") from None
            return self

    return TornadoRequest, TornadoCookies, NonceSession, TornadoLaunch, LtiException


def _tool_conf(course: Path, platform: Platform):
    """The registration as pylti1p3's tool configuration (ToolConfDict), with the tool's key;
    ``client_id`` and ``issuer`` set on it for the checks above."""
    from pylti1p3.tool_config import ToolConfDict

    from .keys import private_key

    conf = ToolConfDict({platform.issuer: {
        "client_id": platform.client_id, "auth_login_url": platform.auth_url,
        "auth_token_url": platform.token_url, "auth_audience": platform.audience or None,
        "key_set_url": platform.jwks_url, "key_set": None,
        "deployment_ids": [platform.deployment_id]}})
    pem, _ = private_key(course)
    conf.set_private_key(platform.issuer, pem, client_id=platform.client_id)
    conf.client_id, conf.issuer = platform.client_id, platform.issuer
    return conf


@dataclass
class Launch:
    """An accepted launch: its claims and what they say."""

    claims: dict
    platform: Platform

    @property
    def message_type(self) -> str:
        return self.claims.get(MESSAGE_TYPE, "")

    @property
    def roles(self) -> list[str]:
        return list(self.claims.get(ROLES) or [])

    @property
    def is_staff(self) -> bool:
        return any(r.endswith(STAFF) for r in self.roles)

    @property
    def is_learner(self) -> bool:
        return any(r.endswith(("#Learner", "/Learner")) or r == "Learner" for r in self.roles)

    @property
    def name(self) -> str:
        c = self.claims
        return c.get("name") or " ".join(x for x in (c.get("given_name"),
                                                      c.get("family_name")) if x) or ""

    @property
    def context_urls(self) -> dict:
        """``memberships_url``/``lineitems_url``/``lineitem_url`` the launch brings."""
        ags = self.claims.get(AGS_ENDPOINT) or {}
        nrps = self.claims.get(NRPS) or {}
        return {k: v for k, v in (("memberships_url", nrps.get("context_memberships_url")),
                                  ("lineitems_url", ags.get("lineitems")),
                                  ("lineitem_url", ags.get("lineitem"))) if v}


def login_redirect(handler, course: Path, platform: Platform, launch_url: str) -> str:
    """The OIDC login (third-party initiated): check ``iss``/``client_id``, issue state and
    nonce, set the state cookie on ``handler``; the platform's authorization URL to go to."""
    from urllib.parse import urlencode

    iss = handler.get_argument("iss", "")
    login_hint = handler.get_argument("login_hint", "")
    if not iss or not login_hint:
        raise LaunchRefused("an OIDC login needs iss and login_hint from the platform")
    if iss != platform.issuer:
        raise LaunchRefused(f"the login comes from issuer {iss!r}, not the registered "
                            f"platform {platform.issuer!r}")
    client_id = handler.get_argument("client_id", "")
    if client_id and client_id != platform.client_id:
        raise LaunchRefused(f"the login is for client id {client_id!r}, not this tool's "
                            f"{platform.client_id!r}")
    if not platform.auth_url:
        raise LaunchRefused("the registration has no OIDC authorization URL: run `rnn-course "
                            "lti register ... --auth-url URL` (or register dynamically)")
    _, TornadoCookies, *_ = _services()
    store = NonceStore(course)
    state = "state-" + secrets.token_urlsafe(24)
    nonce = store.issue(state)
    TornadoCookies(handler, store.ttl).set_cookie(state, state)
    query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
             "prompt": "none", "client_id": platform.client_id, "redirect_uri": launch_url,
             "login_hint": login_hint, "state": state, "nonce": nonce}
    hint = handler.get_argument("lti_message_hint", "")
    if hint:
        query["lti_message_hint"] = hint
    sep = "&" if "?" in platform.auth_url else "?"
    return f"{platform.auth_url}{sep}{urlencode(query)}"


def launch_fields(handler) -> tuple[dict, dict]:
    """What the launch request carries, read on the server's thread: ``(form, cookies)``."""
    form = {k: handler.get_argument(k, "") for k in ("id_token", "state")}
    cookies = {name: morsel.value for name, morsel in handler.request.cookies.items()
               if name.startswith(STATE_COOKIE)}
    return form, cookies


def validate(*, course: Path, form: dict, cookies: dict) -> Launch:
    """The launch (its ``form`` fields and state ``cookies``, :func:`launch_fields`) checked
    in full and its nonce consumed; or :class:`LaunchRefused`. Blocking (the platform's JWKS
    may be fetched): run it off the server's event loop."""
    TornadoRequest, TornadoCookies, NonceSession, TornadoLaunch, LtiException = _services()
    platform = Platform.load(course)
    if not form.get("id_token"):
        raise LaunchRefused("no id_token in the launch: open the tool from the course page")
    state = form.get("state", "")
    store = NonceStore(course)
    session = NonceSession(store, state)
    launch = TornadoLaunch(TornadoRequest(form), _tool_conf(course, platform),
                           session_service=session,
                           cookie_service=TornadoCookies(ttl=store.ttl, cookies=cookies))
    try:
        launch.validate()
    except LaunchRefused:
        raise
    except LtiException as exc:
        if session.why:
            raise LaunchRefused(session.why) from None
        text = str(exc)
        if text == "State not found":
            text = ("the state cookie of this launch is missing or does not match: the "
                    "browser did not keep the login's cookie, a partitioned (CHIPS) cookie "
                    "that browsers keep even where third-party cookies are blocked (are all "
                    "cookies blocked for the tool's site, or is the browser too old for "
                    "partitioned cookies and blocking third-party ones?), or the launch was "
                    "replayed")
        raise LaunchRefused(f"launch refused: {text}") from None
    claims = launch.get_launch_data()
    if not store.consume(claims["nonce"]):
        raise LaunchRefused("this launch was already used (its nonce is accepted once): "
                            "replay refused")
    return Launch(dict(claims), platform)
