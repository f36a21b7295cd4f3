"""Deep linking (LTI Deep Linking 2.0): the signed ``LtiDeepLinkingResponse`` that adds the
assignment to a course as one ``ltiResourceLink`` with its line item, in one step.

The message is pylti1p3's (:class:`pylti1p3.deep_link.DeepLink`); it is signed here with the
tool's current key (``kid`` in the header, so the platform finds it in the tool's JWKS). The
line item's ``resourceId`` is the assignment's name and its ``tag`` is :data:`push.TAG`: the
same line item ``rnn-course lti push`` looks up, with ``scoreMaximum`` the gradebook's maximum.
"""
from __future__ import annotations

from pathlib import Path

from ...grading import coursedir as cdir
from .launch import DEEP_LINKING, DEPLOYMENT, LaunchRefused


def response(*, course: Path, assignment: str, launch, launch_url: str) -> tuple[str, str]:
    """``(deep_link_return_url, signed JWT)`` answering ``launch`` (a deep-linking request)."""
    import jwt
    from pylti1p3.deep_link import DeepLink
    from pylti1p3.deep_link_resource import DeepLinkResource
    from pylti1p3.lineitem import LineItem
    from pylti1p3.registration import Registration

    from ..lms.grades import _assignment_max
    from ..report import COURSE_TITLES
    from .keys import ALGORITHM, private_key
    from .push import TAG

    settings = launch.claims.get(DEEP_LINKING) or {}
    return_url = settings.get("deep_link_return_url")
    if not return_url:
        raise LaunchRefused("the deep-linking request has no deep_link_return_url")
    accepted = settings.get("accept_types") or []
    if "ltiResourceLink" not in accepted:
        raise LaunchRefused(f"the platform accepts {accepted} here, not an LTI resource link")
    title = COURSE_TITLES.get(assignment, assignment)
    maximum = _assignment_max(cdir.db_url(cdir.load_config(course)), assignment)
    item = (LineItem().set_score_maximum(maximum).set_label(title).set_resource_id(assignment)
            .set_tag(TAG))
    link = (DeepLinkResource().set_type("ltiResourceLink").set_title(title).set_url(launch_url)
            .set_lineitem(item))
    p = launch.platform
    registration = Registration().set_issuer(p.issuer).set_client_id(p.client_id)
    message = DeepLink(registration, launch.claims[DEPLOYMENT], settings).get_message_jwt([link])
    if message.get("https://purl.imsglobal.org/spec/lti-dl/claim/data") is None:
        message.pop("https://purl.imsglobal.org/spec/lti-dl/claim/data")
    pem, kid = private_key(course)
    return return_url, jwt.encode(message, pem, algorithm=ALGORITHM, headers={"kid": kid})
