"""Mark licences (M1): granted by a manager on a client's active certificates, numbered as the service numbers
them but without a lookup per licence. ``LicenceHistory`` is the licences part of ``clients.ClientStory``."""
from __future__ import annotations

from bench.dataset.clock import day_of, iso_day
from bench.dataset.tenants import ClientBase
from bench.dataset.trail import stamped, user
from grc.marks.service import NUMBER_ALPHABET, NUMBER_LENGTH, NUMBER_PREFIX, PERMITTED_USES


def licence_number(seed: int, sequence: int) -> str:
    """M1's public number (``ML-`` and ten base32 letters): an odd multiplier permutes the 50-bit space, so
    numbers are unique without a lookup, and look as random as ``_new_number``'s."""
    value = (sequence * 0x2545F4914F6CDD1D + seed * 0x9E3779B97F4A7C15) % (1 << 50)
    letters = (NUMBER_ALPHABET[(value >> (5 * i)) & 31] for i in range(NUMBER_LENGTH))
    return NUMBER_PREFIX + "".join(letters)


class LicenceHistory(ClientBase):
    """The client's mark licences, each granted at its time in the CB's scheduler."""

    __slots__ = ()

    def grant_licence(self, arg: tuple[int, int]) -> None:
        """A manager licenses the mark on one active certificate (sometimes two) for permitted uses."""
        (k, when), rng, rec, office, run = arg, self.rng, self.run.rec, self.office, self.run
        active = self.plan.active
        covered = [self.certs[active[k]]]
        if len(active) > 1 and rng.random() < 0.3:
            covered.append(self.certs[rng.choice([i for i in active if i != active[k]])])
        uses = rng.sample(PERMITTED_USES, rng.randint(1, 3))
        domain = f"www.{self.org.name.lower().replace(' ', '-')}-{self.org.slug[-6:]}.example"
        manager = office.manager()
        licence_id = rec.ids.new(when)
        row = {"tenant_id": office.id, "client_tenant_id": self.id, "number": licence_number(run.seed, run.licences),
               "status": "active", "suspended_by_cb": False, "permitted_uses": uses,
               "domains": [domain] if "website" in uses else [], "granted_on": iso_day(day_of(when)),
               "granted_by": manager.id, "status_reason": None}
        run.licences += 1
        rec.created(office.chain, "mark_licences", stamped(row, licence_id, when, when), when, user(manager.id),
                    action="mark_licence.granted")
        for certificate in covered:
            rec.link("licence_certificates", licence_id, certificate.id)
        if office.plan.index == 0 and run.picks.licence is None:
            run.picks.licence = {"number": row["number"], "status": "active"}
