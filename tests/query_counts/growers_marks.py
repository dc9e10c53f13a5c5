"""Statement-count growers of certification marks: licences, a licence's domains (V4), and a badge resting on many
certificates."""
from __future__ import annotations

import uuid

from grc import tenancy
from grc.certification.models import Certificate
from grc.marks import domain_proofs
from grc.marks import service as marks
from grc.marks.models import MarkLicence, ProofMethod
from tests.query_counts.growers_certification import certificate, certificates
from tests.query_counts.registry import grows_hot_read, grows_list
from tests.query_counts.scene import CB_MANAGER, CLIENT_ADMIN, Read, Scene


@grows_list("GET /api/v1/mark-licences")
def grow_licences(scene: Scene, count: int) -> Read:
    """Licences of client-a, each on two certificates of its own."""
    for _ in range(count):
        own = [issued.id for issued in certificates(scene, 2)]
        with scene.acting(CB_MANAGER) as session:
            marks.grant(session, {"client_id": scene.tenant("client-a"), "certificate_ids": own,
                                  "permitted_uses": ["website"], "domains": ["shop.example"]}, caller=tenancy.current())
    return Read(CLIENT_ADMIN, "/api/v1/mark-licences")


@grows_list("GET /api/v1/mark-licences/{licence_id}/domains")
def grow_licence_domains(scene: Scene, count: int) -> Read:
    """A licence with the most domains a licence may have; ``count`` more of them get a proof row (a challenge).
    The list is bounded by the licence (``MAX_DOMAINS``), so it has no pages and 25 rows are the 20 there are."""
    domains = [f"shop-{n}.example" for n in range(marks.MAX_DOMAINS)]

    def build() -> uuid.UUID:
        issued = certificate(scene).id
        with scene.acting(CB_MANAGER) as session:
            return marks.grant(session, {"client_id": scene.tenant("client-a"), "certificate_ids": [issued],
                                         "permitted_uses": ["website"], "domains": domains},
                               caller=tenancy.current()).id

    licence_id = scene.once("licence with every domain", build)
    with scene.acting(CLIENT_ADMIN) as session:
        licence = session.get_one(MarkLicence, licence_id)
        start = len(licence.proofs)
        for domain in domains[start:start + count]:
            domain_proofs.new_challenge(session, licence, domain, ProofMethod.dns, caller=tenancy.current())
    return Read(CB_MANAGER, f"/api/v1/mark-licences/{licence_id}/domains")


@grows_hot_read("badge SVG")
def grow_badge(scene: Scene, count: int) -> Read:
    """A mark licence resting on ``count`` more certificates."""

    def build() -> tuple[uuid.UUID, str]:
        first = certificate(scene).id
        with scene.acting(CB_MANAGER) as session:
            licence = marks.grant(session, {"client_id": scene.tenant("client-a"), "certificate_ids": [first],
                                            "permitted_uses": ["website"], "domains": ["shop.example"]},
                                  caller=tenancy.current())
            return licence.id, licence.number

    licence_id, number = scene.once("licence", build)
    added = certificates(scene, count)
    with scene.system() as session:
        licence = session.get(MarkLicence, licence_id)
        licence.certificates.extend(session.get(Certificate, c.id) for c in added)
    return Read(None, f"/badges/{number}.svg")
