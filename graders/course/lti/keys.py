"""The tool's RSA key pair: made on first use (mode 0600), its public JWKS, and rotation.

The private key is one PEM file (``c.LtiTool.key_file``); a rotation moves the old public key
to ``<key_file>.retired.json`` (public keys only) where it stays in the JWKS for
``c.LtiTool.key_grace_days``. Nothing here returns or prints a private key except
:func:`private_key`, which the service connector signs with.
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .settings import LtiError, LtiTool, tool_settings

ALGORITHM = "RS256"


def _write_secret(path: Path, data: bytes) -> None:
    """Write ``path`` atomically with mode 0600 from its first byte (mkstemp makes it so)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_jwk(pem: bytes) -> dict:
    """The public half of a PEM private key as a JWK (``kid``: its RFC 7638 thumbprint)."""
    from jwcrypto.jwk import JWK

    key = JWK.from_pem(pem)
    jwk = json.loads(key.export_public())
    jwk.update(kid=key.thumbprint(), alg=ALGORITHM, use="sig")
    return jwk


def _ignore_beside(path: Path) -> None:
    """A ``.gitignore`` in the key's folder naming the key (added to, never rewritten)."""
    ignore = path.parent / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.is_file() else []
    if path.name not in lines:
        ignore.write_text("\n".join([*lines, path.name]) + "\n", encoding="utf-8")


def _retired_path(key: Path) -> Path:
    return key.with_name(key.name + ".retired.json")


def _load_pem(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)  # readable by others: take it back before using it
    return path.read_bytes()


def ensure_key(course: Path, settings: LtiTool | None = None) -> tuple[Path, bool]:
    """The key file, made now if missing; ``(path, made)``."""
    settings = settings or tool_settings(course)
    path = settings.path(course, "key_file")
    if path.is_file():
        return path, False
    _write_secret(path, _new_pem())
    _ignore_beside(path)
    return path, True


def private_key(course: Path, settings: LtiTool | None = None) -> tuple[str, str]:
    """``(PEM text, kid)`` of the current key, for signing the client assertion."""
    path, _ = ensure_key(course, settings)
    pem = _load_pem(path)
    return pem.decode("ascii"), public_jwk(pem)["kid"]


def _retired(path: Path, settings: LtiTool, now: datetime) -> list[dict]:
    file = _retired_path(path)
    if not file.is_file():
        return []
    try:
        entries = json.loads(file.read_text(encoding="utf-8"))
    except ValueError:
        raise LtiError(f"{file} is damaged: delete it (it holds only old public keys)") from None
    grace = timedelta(days=settings.key_grace_days)
    return [e for e in entries if datetime.fromisoformat(e["retired"]) + grace > now]


def jwks(course: Path, settings: LtiTool | None = None, now: datetime | None = None) -> dict:
    """The tool's public key set: the current key, then retired ones still in their grace."""
    settings = settings or tool_settings(course)
    path, _ = ensure_key(course, settings)
    now = now or datetime.now(timezone.utc)
    return {"keys": [public_jwk(_load_pem(path))]
            + [e["jwk"] for e in _retired(path, settings, now)]}


@dataclass
class KeysReport:
    path: str
    kid: str
    made: bool = False
    rotated_from: str | None = None
    #: kids of retired keys still published, with the time each leaves the JWKS.
    retired: list = field(default_factory=list)
    jwks: dict | None = None

    def lines(self) -> list[str]:
        out = [f"tool key {self.path} (mode 0600, kid {self.kid})"
               + (": made now" if self.made else "")]
        if self.rotated_from:
            out.append(f"rotated: the old key {self.rotated_from} stays in the JWKS for the "
                       f"grace period; the new one signs from now on")
        out += [f"  still published: {kid} until {until}" for kid, until in self.retired]
        if self.jwks is not None:
            out.append(json.dumps(self.jwks, indent=1))
        return out


def keys(*, course: Path, rotate: bool = False, show_jwks: bool = False,
         now: datetime | None = None) -> KeysReport:
    """The tool's key: made if missing, rotated if asked; ``show_jwks`` adds the public JWKS
    (what the platform is given as the tool's public key set)."""
    settings = tool_settings(course)
    now = now or datetime.now(timezone.utc)
    path, made = ensure_key(course, settings)
    old = None
    if rotate and not made:
        old = public_jwk(_load_pem(path))
        entries = [*_retired(path, settings, now), {"jwk": old, "retired": now.isoformat()}]
        file = _retired_path(path)
        file.write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
        _write_secret(path, _new_pem())
    grace = timedelta(days=settings.key_grace_days)
    report = KeysReport(str(path), public_jwk(_load_pem(path))["kid"], made,
                        old["kid"] if old else None,
                        [(e["jwk"]["kid"], (datetime.fromisoformat(e["retired"]) + grace)
                          .isoformat(timespec="seconds")) for e in _retired(path, settings, now)])
    if show_jwks:
        report.jwks = jwks(course, settings, now)
    return report
