"""The platform's services over HTTP, through pylti1p3's ``ServiceConnector``: access tokens
(client credentials with an RS256 client assertion), NRPS memberships, AGS line items, scores
and results.

pylti1p3 builds the assertion, the requests and the ``Link: rel="next"`` paging. What it
leaves to the tool is done here: the token cache (its cache methods are abstract), a time-out
on every request (it sets none), one new token and one retry after a 401 (a token the platform
expired early), and errors that say whose move it is: refused credentials or a missing scope
are :class:`~.settings.LtiError` (the instructor's), an unreachable or failing platform is
:class:`~.settings.PlatformError`. No message carries a token or a key.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.registration import Registration
from pylti1p3.service_connector import ServiceConnector

from .keys import private_key
from .registration import Platform
from .settings import LtiError, PlatformError, tool_settings

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_MEMBERSHIPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = [SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE]
USER_AGENT = "rnn-course-lti"


class StaleScore(LtiError):
    """409: the platform holds a change of this grade at or after the score's timestamp."""


class _Session(requests.Session):
    """A requests session whose every request has a time-out."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class Connector(ServiceConnector):
    """pylti1p3's connector with its token cache filled in: in memory, per scope set, until
    shortly before ``expires_in`` runs out; :meth:`forget_tokens` after a 401."""

    def __init__(self, registration: Registration, session: requests.Session):
        super().__init__(registration, session)
        self._tokens: dict[str, tuple[str, float]] = {}
        #: How many tokens were fetched (the tests count them).
        self.fetched = 0

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        token, until = self._tokens.get(scope_key, (None, 0.0))
        return token if token and time.monotonic() < until else None

    def _cache_access_token(self, scope_key: str, access_token: str, expires_in: float):
        self.fetched += 1
        expires_in = float(expires_in or 0)
        self._tokens[scope_key] = (access_token,
                                   time.monotonic() + expires_in - min(30.0, expires_in / 10))

    def forget_tokens(self) -> None:
        self._tokens.clear()


def _platform_says(response: requests.Response) -> str:
    """The platform's own words about a refusal (OAuth ``error``/``error_description``, else
    the start of the body), on one line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("error") or body.get("error_description")):
        text = ": ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))
    else:
        text = " ".join((response.text or "").split())[:200]
    return text or response.reason or ""


class Services:
    """The services of the course's platform, with the tool's key and one token cache."""

    def __init__(self, course: Path, platform: Platform | None = None):
        from cryptography.hazmat.primitives import serialization

        settings = tool_settings(course)
        self.platform = platform or Platform.load(course)
        pem, _kid = private_key(course, settings)
        public = serialization.load_pem_private_key(pem.encode("ascii"), None).public_key()
        registration = (Registration().set_issuer(self.platform.issuer)
                        .set_client_id(self.platform.client_id)
                        .set_auth_token_url(self.platform.token_url)
                        .set_key_set_url(self.platform.jwks_url)
                        .set_tool_private_key(pem)
                        .set_tool_public_key(public.public_bytes(
                            serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")))
        if self.platform.audience:
            registration.set_auth_audience(self.platform.audience)
        self.connector = Connector(registration, _Session(settings.timeout))

    # -- calls ------------------------------------------------------------------------------
    def _call(self, what: str, fn):
        """``fn()``, once more with a new token after a 401; failures as LtiError or
        PlatformError saying ``what`` failed."""
        for attempt in (1, 2):
            try:
                return fn()
            except LtiServiceException as exc:
                response = exc.response
                if response.url.split("?")[0] == self.platform.token_url.split("?")[0]:
                    raise self._token_refused(response) from None
                if response.status_code == 401 and attempt == 1:
                    self.connector.forget_tokens()
                    continue
                raise self._failed(what, response) from None
            except requests.RequestException as exc:
                host = urlsplit(self.platform.token_url).netloc
                raise PlatformError(f"{what}: the platform ({host}) did not answer "
                                    f"({type(exc).__name__})") from None
            except LtiException as exc:
                raise LtiError(f"{what}: {exc}") from None

    def _token_refused(self, response: requests.Response) -> Exception:
        if response.status_code >= 500:
            return PlatformError(f"the platform's token endpoint failed ({response.status_code}"
                                 f" {_platform_says(response)})")
        return LtiError(
            f"the platform refused the tool's credentials ({response.status_code} "
            f"{_platform_says(response)}) at {self.platform.token_url}: check the client id "
            f"({self.platform.client_id}) in `rnn-course lti register`, and that the platform "
            f"has the tool's current public key (`rnn-course lti keys --jwks`)")

    def _failed(self, what: str, response: requests.Response) -> Exception:
        code, says = response.status_code, _platform_says(response)
        if code == 409:
            return StaleScore(f"{what}: the platform has a newer change of this grade ({says})")
        if code >= 500:
            return PlatformError(f"{what}: the platform failed ({code} {says})")
        if code in (401, 403):
            return LtiError(f"{what}: the platform refused access ({code} {says}): allow the "
                            f"tool the names-and-roles and grade services on the platform")
        if code == 404:
            return LtiError(f"{what}: not found ({response.url}): check the URLs given to "
                            f"`rnn-course lti register`")
        return LtiError(f"{what}: the platform answered {code} ({says})")

    def _ags(self) -> AssignmentsGradesService:
        if not self.platform.lineitems_url:
            raise LtiError("no line-items URL (AGS) in the registration: give "
                           "`rnn-course lti register --lineitems-url URL`")
        return AssignmentsGradesService(self.connector, {
            "scope": AGS_SCOPES, "lineitems": self.platform.lineitems_url})

    # -- NRPS -------------------------------------------------------------------------------
    def members(self) -> list[dict]:
        """Every member of the context, all pages (``Link: <...>; rel="next"``)."""
        if not self.platform.memberships_url:
            raise LtiError("no memberships URL (NRPS) in the registration: give "
                           "`rnn-course lti register --memberships-url URL`")
        nrps = NamesRolesProvisioningService(self.connector, {
            "context_memberships_url": self.platform.memberships_url})
        return self._call("reading the course's members", nrps.get_members)

    # -- AGS --------------------------------------------------------------------------------
    def find_line_item(self, *, resource_id: str, tag: str) -> dict | None:
        """The line item with this ``resourceId`` and ``tag``, if the platform has one."""
        ags = self._ags()
        found = self._call("reading the line items", lambda: ags.find_lineitem_satisfying(
            lambda item: item.get("resourceId") == resource_id and item.get("tag") == tag))
        return json.loads(found.get_value()) if found else None

    def create_line_item(self, *, resource_id: str, tag: str, label: str,
                         score_maximum: float) -> dict:
        ags = self._ags()
        item = (LineItem().set_label(label).set_score_maximum(score_maximum)
                .set_resource_id(resource_id).set_tag(tag))
        created = self._call("creating the line item", lambda: ags.create_lineitem(item))
        value = json.loads(created.get_value())
        if not value.get("id"):
            raise LtiError("the platform created a line item without an id")
        return value

    def post_score(self, line_item_id: str, score: dict) -> None:
        """POST one score (``application/vnd.ims.lis.v1.score+json``) to the line item."""
        grade = (Grade().set_user_id(score["userId"]).set_score_given(score["scoreGiven"])
                 .set_score_maximum(score["scoreMaximum"])
                 .set_activity_progress(score["activityProgress"])
                 .set_grading_progress(score["gradingProgress"])
                 .set_timestamp(score["timestamp"]).set_comment(score["comment"]))
        ags = self._ags()
        self._call(f"posting the score of user {score['userId']}",
                   lambda: ags.put_grade(grade, LineItem({"id": line_item_id})))

    def results(self, line_item_id: str) -> list[dict]:
        """The line item's results (Result service), all pages."""
        ags = self._ags()
        return self._call("reading the results", lambda: list(
            ags.get_grades(LineItem({"id": line_item_id}))))
