"""LTI Dynamic Registration 1.0, the tool's side: the administrator pastes the tool's
``/register`` URL into the platform; the platform opens it with ``openid_configuration`` and
``registration_token``; the tool reads the platform's configuration, posts its own client
registration (login, launch and JWKS URLs, AGS and NRPS scopes, the LTI messages it takes)
and keeps the answer (client id, deployment) in the course's registration file.

Once registered, only the same issuer may register again (a new client id, say): anyone can
open ``/register``, and another platform must not take the course over.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .registration import LOOPBACK, Platform
from .settings import LtiError, PlatformError, tool_settings

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
SCOPES = ("https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
          "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
          "https://purl.imsglobal.org/spec/lti-ags/scope/score",
          "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly")
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email")


def _secure(url: str) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)


def client_registration(tool_url: str, title: str = "RNN course autograder") -> dict:
    """The tool's client registration (OpenID Connect Dynamic Registration + LTI's claim)."""
    launch = f"{tool_url}/lti"
    return {
        "application_type": "web", "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{tool_url}/login", "redirect_uris": [launch],
        "client_name": title, "jwks_uri": f"{tool_url}/jwks",
        "token_endpoint_auth_method": "private_key_jwt", "scope": " ".join(SCOPES),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(tool_url).netloc, "target_link_uri": launch,
            "claims": list(CLAIMS),
            "messages": [{"type": "LtiResourceLinkRequest", "target_link_uri": launch,
                          "label": title},
                         {"type": "LtiDeepLinkingRequest", "target_link_uri": launch,
                          "label": f"Add: {title}",
                          "placements": ["ContentArea", "link_selection",
                                         "assignment_selection"],
                          "supported_types": ["ltiResourceLink"]}]}}


def register_dynamically(*, course: Path, openid_configuration: str, registration_token: str,
                         tool_url: str) -> Platform:
    """Read the platform's configuration, register the tool with it, save the registration."""
    import requests

    timeout = tool_settings(course).timeout
    if not _secure(openid_configuration):
        raise LtiError(f"openid_configuration {openid_configuration!r} is not https://")
    try:
        answer = requests.get(openid_configuration, timeout=timeout,
                              headers={"Accept": "application/json"})
        answer.raise_for_status()
        config = answer.json()
    except (requests.RequestException, ValueError) as exc:
        raise PlatformError(f"the platform's configuration could not be read from "
                            f"{openid_configuration}: {type(exc).__name__}") from None
    issuer = config.get("issuer", "")
    if not issuer or not openid_configuration.startswith(issuer.rstrip("/")):
        raise LtiError(f"the platform's configuration names issuer {issuer!r}, which is not "
                       f"where it was read from ({openid_configuration})")
    try:
        before = Platform.load(course)
    except LtiError:
        before = None
    if before is not None and before.issuer != issuer:
        raise LtiError(f"the tool is registered with {before.issuer} already; a registration "
                       f"by {issuer} is refused (delete lti/registration.json to move the "
                       f"course to another platform)")
    for name in ("registration_endpoint", "authorization_endpoint", "token_endpoint",
                 "jwks_uri"):
        if not _secure(config.get(name, "")):
            raise LtiError(f"the platform's configuration has no https {name}")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        answer = requests.post(config["registration_endpoint"], json=client_registration(
            tool_url), headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise PlatformError(f"the platform's registration endpoint could not be reached: "
                            f"{type(exc).__name__}") from None
    if answer.status_code >= 400:
        raise LtiError(f"the platform refused the registration (HTTP {answer.status_code}): "
                       f"{answer.text[:200]}")
    try:
        client = answer.json()
    except ValueError:
        raise PlatformError("the platform answered the registration with no JSON") from None
    deployment = (client.get(TOOL_CONFIGURATION) or {}).get("deployment_id", "")
    if not client.get("client_id") or not deployment:
        raise LtiError("the platform's answer has no client_id or deployment_id: finish the "
                       "registration on the platform, then `rnn-course lti register`")
    audience = config.get("authorization_server", "")
    context = before.context if before is not None else {}
    platform = Platform(issuer=issuer, client_id=str(client["client_id"]),
                        deployment_id=str(deployment), token_url=config["token_endpoint"],
                        jwks_url=config["jwks_uri"], auth_url=config["authorization_endpoint"],
                        audience=audience if audience != config["token_endpoint"] else "",
                        context={**context, "source": "dynamic registration"})
    platform.save(course)
    return platform
