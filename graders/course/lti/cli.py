"""``rnn-course lti register|roster|push|grades|keys|serve``: a thin layer over the verbs. The
``rnn-course`` parser attaches it with :func:`configure_parser` and :func:`run` (which says
"the platform failed", not "the grading machinery failed", for a :class:`MachineryError`);
the verbs' modules, and the optional ``lti`` extra they need, load only when a verb runs."""
from __future__ import annotations

import argparse
import sys

from ...errors import CourseError, MachineryError
from ...grading import coursedir as cdir
from ..lms.cli import _print

EXTRA = "pip install 'rnn-course[lti]'  (make install installs it)"


def _needs_extra() -> None:
    try:
        import jwcrypto  # noqa: F401
        import pylti1p3  # noqa: F401
    except ImportError as exc:
        from .settings import LtiError

        raise LtiError(f"the LTI extra is not installed ({exc.name}): {EXTRA}") from None


def configure_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``register|roster|push|grades|keys|serve`` to ``p`` (the ``rnn-course lti`` parser)."""
    from ..cli import _course_options as common

    sub = p.add_subparsers(dest="lti_verb", required=True, metavar="VERB")

    s = sub.add_parser("register", help="save the platform's settings for this course "
                       "(lti/registration.json, never nbgrader_config.py)")
    common(s, assignment=False)
    for flag, what in (("--issuer", "the platform's issuer (iss)"),
                       ("--client-id", "the tool's client id on the platform"),
                       ("--deployment-id", "the deployment id"),
                       ("--token-url", "the platform's OAuth2 token URL"),
                       ("--jwks-url", "the platform's public key set URL")):
        s.add_argument(flag, required=True, help=what)
    s.add_argument("--memberships-url", default="",
                   help="the context's NRPS memberships URL (a launch's namesroleservice claim)")
    s.add_argument("--lineitems-url", default="",
                   help="the context's AGS line-items URL (a launch's endpoint claim)")
    s.add_argument("--auth-url", default="",
                   help="the platform's OIDC authorization URL (needed by `lti serve` launches)")
    s.add_argument("--audience", default="",
                   help="aud of the client assertion if the platform wants other than the "
                        "token URL")
    s.set_defaults(lti_func=_cmd_register)

    s = sub.add_parser("roster", help="the platform's members (NRPS) -> nbgrader ids, by "
                       "e-mail or login; reports who could not be matched")
    common(s, assignment=False)
    s.set_defaults(lti_func=_cmd_roster)

    s = sub.add_parser("push", help="post each learner's changed score to the platform "
                       "(AGS), creating the line item if it has none; resumable")
    common(s)
    s.add_argument("--confirm", action="append", default=[], metavar="STUDENT",
                   help="send this held-back student (on the review list: their score; no "
                        "submission: 0); repeat for several")
    s.add_argument("--dry-run", action="store_true", help="say what would be sent, send nothing")
    s.set_defaults(lti_func=_cmd_push)

    s = sub.add_parser("grades", help="what the platform holds (Result service) beside the "
                       "gradebook, and the differences")
    common(s)
    s.add_argument("--all", action="store_true", dest="show_all",
                   help="list every student with the platform's score and comment, not only "
                        "the differences")
    s.set_defaults(lti_func=_cmd_grades)

    s = sub.add_parser("keys", help="the tool's key pair (made on first use, mode 0600): "
                       "its kid, the public JWKS, rotation")
    common(s, assignment=False)
    s.add_argument("--jwks", action="store_true",
                   help="print the public key set to give the platform")
    s.add_argument("--rotate", action="store_true",
                   help="a new key signs from now on; the old public key stays in the JWKS "
                        "for c.LtiTool.key_grace_days")
    s.set_defaults(lti_func=_cmd_keys)

    s = sub.add_parser("serve", help="the tool's web side: OIDC launch, class page, students' "
                       "own reports, JWKS, dynamic registration, deep linking")
    common(s)
    s.add_argument("--host", default="localhost", help="address to listen on (localhost)")
    s.add_argument("--port", type=int, default=8765, help="port to listen on (8765)")
    s.add_argument("--url", default="", help="the address the platform reaches the tool by, "
                   "when not http://HOST:PORT (e.g. https://... behind a proxy)")
    s.set_defaults(lti_func=_cmd_serve)
    return p


def _cmd_register(args) -> int:
    from .registration import register

    return _print(register(course=cdir.find_course(args.course), issuer=args.issuer,
                           client_id=args.client_id, deployment_id=args.deployment_id,
                           token_url=args.token_url, jwks_url=args.jwks_url,
                           memberships_url=args.memberships_url,
                           lineitems_url=args.lineitems_url, audience=args.audience,
                           auth_url=args.auth_url))


def _cmd_roster(args) -> int:
    _needs_extra()
    from .roster import roster

    return _print(roster(course=cdir.find_course(args.course)))


def _cmd_push(args) -> int:
    _needs_extra()
    from .push import push

    report = push(course=cdir.find_course(args.course), assignment=args.assignment,
                  confirm=args.confirm, dry_run=args.dry_run)
    _print(report)
    return 1 if report.refused else 0


def _cmd_grades(args) -> int:
    _needs_extra()
    from .grades import grades

    return _print(grades(course=cdir.find_course(args.course), assignment=args.assignment,
                         show_all=args.show_all))


def _cmd_keys(args) -> int:
    _needs_extra()
    from .keys import keys

    return _print(keys(course=cdir.find_course(args.course), rotate=args.rotate,
                       show_jwks=args.jwks))


def _cmd_serve(args) -> int:
    _needs_extra()
    from .web import serve

    course = cdir.find_course(args.course)

    def ready(url: str) -> None:
        print(f"LTI tool of {course} on {url}: login {url}/login, launch {url}/lti, JWKS "
              f"{url}/jwks, dynamic registration {url}/register (Ctrl-C stops; requests are "
              f"logged in lti/serve.log)", flush=True)

    serve(course=course, host=args.host, port=args.port, assignment=args.assignment,
          public_url=args.url, ready=ready)
    print("LTI tool stopped")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run parsed ``rnn-course lti`` arguments: the instructor's move exits 2, a failing
    platform 3, each with one line saying what to do."""
    try:
        return args.lti_func(args)
    except CourseError as exc:
        print(f"rnn-course lti {args.lti_verb}: {exc}", file=sys.stderr)
        return 2
    except MachineryError as exc:
        print(f"rnn-course lti {args.lti_verb}: {exc}", file=sys.stderr)
        return 3

