"""The demo shop's own DNS zone, served on 127.0.0.1 while its domain is proven (V4).

``shop.example`` sits under ``.example``, which RFC 2606 reserves: nobody on the internet can publish records for
it, so the demo publishes them itself, the way the shop would at its DNS provider. The real check
(``grc.marks.domain_proofs.check``) then asks this server (as ``GRC_DNS_NAMESERVERS`` would name it) for the TXT
record at ``_grc-mark.shop.example`` and finds the token or not: nothing is recorded that the check did not see.
The server answers only while the proof is taken; the scheduled re-check a week later asks the operator's
nameservers, which know no ``.example`` name, and the proof lapses as V4 says (after 14 days of failures).
"""
from __future__ import annotations

import socket
import threading
from types import TracebackType

import dns.exception
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

MAX_QUERY = 512  # plain DNS over UDP
POLL_SECONDS = 0.05  # how soon the server notices it is to stop (a closed socket does not wake a blocked read)


class LoopbackZone:
    """TXT records (name -> value) answered over UDP on 127.0.0.1 inside a ``with`` block; any other name is
    NXDOMAIN. ``nameserver`` is the ``host:port`` to hand to the resolver."""

    def __init__(self, txt: dict[str, str]) -> None:
        self.txt = {name.rstrip(".").lower(): value for name, value in txt.items()}
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.settimeout(POLL_SECONDS)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="grc-demo-dns", daemon=True)

    @property
    def nameserver(self) -> str:
        host, port = self.socket.getsockname()
        return f"{host}:{port}"

    def __enter__(self) -> LoopbackZone:
        self.socket.bind(("127.0.0.1", 0))
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stopping.set()
        self.thread.join()
        self.socket.close()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                query, sender = self.socket.recvfrom(MAX_QUERY)
            except TimeoutError:
                continue
            try:
                self.socket.sendto(self._answer(query), sender)
            except (OSError, dns.exception.DNSException):
                continue  # a malformed query gets no answer, as from any server

    def _answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        for question in query.question:
            value = self.txt.get(question.name.to_text(omit_final_dot=True).lower())
            if value is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT:
                response.answer.append(dns.rrset.from_text(question.name, 0, dns.rdataclass.IN, dns.rdatatype.TXT,
                                                           f'"{value}"'))
        return response.to_wire()
