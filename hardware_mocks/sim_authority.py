"""The simulated issuing state and border authority: first-use provisioning of a data directory.

`appliance demo` and the simulated service play the *central system* here: an Ed25519 authority
key kept in `<data dir>/demo/` signs the decision policy and publishes a watchlist of the
simulator's stolen-document pool (republished when half its allowed age has passed, as the real
system does on a schedule); the authority's public key is installed as the trust anchor for
signed artefacts, and the simulated issuing state's CSCA and CRLs go into the trust store.

The product never does this: its policy, watchlist and anchors come from the real authority.
So the demo key is refused (`DEMO_AUTHORITY_REFUSED`) in a data directory that already trusts
another authority's key: running the simulation there must not make simulated signatures valid.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.emrtd.pki.importer import import_file
from appliance.emrtd.pki.trust_store import DEFAULT_FILE as TRUST_FILE
from appliance.emrtd.pki.trust_store import TrustStore
from appliance.errors import ApplianceError, Reason
from appliance.history import DocumentRef
from appliance.inspection.lane import load_installed_watchlist
from appliance.inspection.policy import POLICY_FILE, default_policy_toml, load_policy
from appliance.inspection.report import StepName
from appliance.signed import artefacts as sc
from appliance.signed.watchlist import WATCHLIST_FILE, build_watchlist, import_watchlist

DEMO_DIR = "demo"
AUTHORITY_KEY = "authority-ed25519.pem"
#: the name of the demo authority's public key among the artefact anchors
AUTHORITY_ANCHOR = "demo-authority"
TRUST_MARKER = "trust-imported"


class IssuingState(Protocol):
    """What the authority needs from the traveller simulator."""

    def stolen_documents(self) -> list[tuple[str, str, str, str]]: ...

    def trust_material(self) -> list[bytes]: ...


def _authority_key(demo_dir: Path) -> Ed25519PrivateKey:
    path = demo_dir / AUTHORITY_KEY
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ApplianceError(Reason.USAGE, "demo authority key is not Ed25519")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sc.write_private(path, pem)
    return key


def install_demo_anchor(directory: Path, key: Ed25519PrivateKey) -> bool:
    """Install the demo authority's public key as an artefact anchor; False when it already is.

    Raises `DEMO_AUTHORITY_REFUSED` when the directory trusts any other key: that is a real
    authority's data directory (or another simulation's), and simulated signatures must not
    become valid in it.
    """
    trusted = sc.TrustedKeys.load(directory / sc.KEYS_DIR)
    own = sc.key_id(key.public_key())
    if own in trusted.keys:
        return False
    if trusted.keys:
        raise ApplianceError(
            Reason.DEMO_AUTHORITY_REFUSED,
            f"{directory} already trusts {len(trusted.keys)} other authority key(s): the "
            "simulated authority's key is not installed there (use another data directory)",
        )
    sc.install_trusted_key(directory, key.public_key(), AUTHORITY_ANCHOR)
    return True


def provision(
    directory: Path,
    source: IssuingState,
    *,
    require_biometrics: bool,
    now: datetime,
    max_watchlist_age_h: float = 48.0,
    require_iris: bool = False,
) -> list[str]:
    """First-use set-up (and watchlist refresh); returns what it did, for the user."""
    done: list[str] = []
    demo_dir = directory / DEMO_DIR
    demo_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = _authority_key(demo_dir)
    if install_demo_anchor(directory, key):
        done.append("installed the demo authority's public key as signed-artefact anchor")
    if not (demo_dir / TRUST_MARKER).exists():
        material = source.trust_material()
        # The demo's issuing state is its own simulation, so it pins that state's CSCAs by
        # fingerprint: the decision an operator takes with `trust import --anchor SHA256`.
        pins = [hashlib.sha256(der).hexdigest() for der in material]
        with TrustStore(directory / TRUST_FILE) as store:
            for index, der in enumerate(material):
                report = import_file(der, store, f"simulated-issuer-{index}.der", anchors=pins)
                if not report.ok:
                    raise ApplianceError(report.reason, report.detail)
        sc.write_private(demo_dir / TRUST_MARKER, b"1\n")
        done.append("imported the simulated issuing state's CSCA and CRLs into the trust store")
    version = _policy_to_sign(directory, require_biometrics, require_iris)
    if version is not None:
        content = default_policy_toml(
            version, require_biometrics=require_biometrics, require_iris=require_iris
        )
        sc.write_signed(directory / POLICY_FILE, sc.ArtefactKind.POLICY, content, key)
        needs = "biometrics required" if require_biometrics else "no biometrics"
        needs += ", iris required" if require_iris else ""
        done.append(f"signed and installed the decision policy v{version} ({POLICY_FILE}, {needs})")
    watchlist, error = load_installed_watchlist(directory)
    stale = watchlist is not None and watchlist.age(now) > timedelta(hours=max_watchlist_age_h / 2)
    if error is None and (watchlist is None or stale):
        version = 1 if watchlist is None else watchlist.version + 1
        documents = [
            (DocumentRef(issuer, number, doc_type), category)
            for issuer, doc_type, number, category in source.stolen_documents()
        ]
        content = build_watchlist(documents, version, now)
        import_watchlist(directory, content, sc.sign(sc.ArtefactKind.WATCHLIST, content, key))
        done.append(
            f"published watchlist v{version} ({len(documents)} documents, {WATCHLIST_FILE})"
        )
    return done


def _policy_to_sign(directory: Path, require_biometrics: bool, require_iris: bool) -> int | None:
    """The version of a new policy when none is installed or the installed one disagrees
    with whether this run can verify faces or irises; None to keep it. A policy that does not
    verify is left alone, for the lane to refuse (the demo does not paper over tampering)."""
    if not (directory / POLICY_FILE).exists():
        return 1
    try:
        installed = load_policy(directory)
    except ApplianceError:
        return None
    required = installed.egate.required_steps
    same = (StepName.BIOMETRICS in required, StepName.IRIS in required) == (
        require_biometrics,
        require_iris,
    )
    return None if same else installed.version + 1
