"""How much the data set holds: the full-size defaults, the small preset the tests seed, and the rules any sizes
must meet before a row is written. Apart so that the seed command, the load runner and the tests can name a size
without loading the generator."""
from __future__ import annotations

from dataclasses import asdict, dataclass

MAX_CERTIFICATES_PER_CLIENT = 9  # one per shipped scheme: a client holds one certificate per scheme (C4)
REGISTER_EVERY = 4  # one client in four keeps a risk register


@dataclass(frozen=True)
class Sizes:
    """How much to write. The defaults are the full benchmark set."""

    cbs: int = 1_000
    clients: int = 200_000
    certificates: int = 1_100_000
    big_cb_certificates: int = 1_000_000
    small_cb_certificates: int = 10_000
    findings: int = 300_000
    risks: int = 1_000_000
    big_register_risks: int = 100_000
    licences: int = 100_000

    def scaled(self, factor: float) -> Sizes:
        """Every size times ``factor`` (at least one of each, and the big and small CB)."""
        scaled = {name: max(1, round(value * factor)) for name, value in asdict(self).items()}
        return Sizes(**{**scaled, "cbs": max(2, scaled["cbs"])})

    def check(self) -> None:
        """Refuse sizes no data set can satisfy, before anything is written."""
        named = self.big_cb_certificates + self.small_cb_certificates
        rules = [
            (self.cbs < 2, "at least 2 CBs (the big and the small one)"),
            (self.certificates < named, "certificates must cover the big and the small CB's"),
            (self.cbs == 2 and self.certificates != named, "with 2 CBs, certificates must equal big + small"),
            (self.clients * MAX_CERTIFICATES_PER_CLIENT < self.certificates, "at most 9 certificates per client"),
            (self.risks < self.big_register_risks, "risks must cover the big register's"),
            (self.risks > self.big_register_risks and self.clients <= REGISTER_EVERY,
             "risks beyond the big register need more registers (one per 4 clients)"),
        ]
        problems = [message for failed, message in rules if failed]
        if problems:
            raise ValueError("; ".join(problems))


SMALL = Sizes(cbs=3, clients=40, certificates=300, big_cb_certificates=200, small_cb_certificates=60, findings=200,
              risks=300, big_register_risks=150, licences=40)
