"""Public badge and verification page of a mark licence (rules M3, V4); no login, public fields only.

``GET /badges/<number>.svg`` is the badge a client embeds where it uses the mark; ``GET /badges/<number>`` is
the page a badge links to, saying in plain words whether the licence is valid, suspended or withdrawn, which of
its domains the licensee proved, and linking the public check of each certificate (rule C10); it embeds the
licence as schema.org ``Certification`` JSON-LD. Both are cached for five minutes at most, so a suspension shows
within minutes.

Where the badge is shown: the ``Referer``'s host, which the visitor's browser sets and no page can set to another
site's; without one (a page with ``referrerpolicy="no-referrer"``, an e-mail, a PDF), ``?domain=``, which is only
the embedder's claim, so a VALID badge then names the domain it is valid for, for the visitor to compare with the
address bar. The host must be one of the licence's domains or a subdomain of one (M3: otherwise NOT LICENSED FOR
it), and the licence active; VALID also needs the licensee to have proven that domain (V4), else the badge says
DOMAIN NOT VERIFIED, as it does when nothing says where it is shown. Our own page, which embeds the badge, shows
the licence's state.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape as html_escape
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Response, request
from werkzeug.exceptions import TooManyRequests

from grc.certification.public import lookup_rate_limit
from grc.errors import NotFound
from grc.extensions import db, limiter
from grc.guard import public
from grc.marks import service
from grc.marks.models import ProofMethod, ProofState

badges = Blueprint("badges", __name__)
CACHE = "public, max-age=300"
NOT_FOUND_CACHE = "public, max-age=60"
SVG = "image/svg+xml"
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
PAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
COLOURS = {"VALID": "#1a7f37", "SUSPENDED": "#b35900", "WITHDRAWN": "#b42318"}
NOT_LICENSED_COLOUR = "#b42318"
NOT_VERIFIED, NOT_VERIFIED_COLOUR = "DOMAIN NOT VERIFIED", "#9a6700"
SCHEMA_STATUS = {"active": "https://schema.org/CertificationActive"}
INACTIVE = "https://schema.org/CertificationInactive"
WIDTH, HEIGHT = 200, 60


@badges.route("/badges/<number>.svg", methods=["GET"])
@public
@limiter.shared_limit(lookup_rate_limit, scope=service.LOOKUP_LIMIT_SCOPE)
def badge_svg(number: str) -> Response:
    """The badge: CB name, the scheme(s), and VALID / SUSPENDED / WITHDRAWN or NOT LICENSED FOR <host>."""
    try:
        licence = service.public_licence(db.session, number)
    except NotFound:
        return _svg(_badge("Unknown mark licence", "No such number", "NOT FOUND", "#57606a"), 404, NOT_FOUND_CACHE)
    state, colour = _badge_state(licence, _viewing_host())
    return _svg(_badge(licence.cb_name, ", ".join(licence.standards), state, colour,
                       title=f"Certification mark licence {licence.number}: {state}"), 200, CACHE)


@badges.route("/badges/<number>", methods=["GET"])
@public
@limiter.shared_limit(lookup_rate_limit, scope=service.LOOKUP_LIMIT_SCOPE)
def badge_page(number: str) -> Response:
    """The verification page: the licence's state in plain words and a link to each certificate's check."""
    try:
        licence = service.public_licence(db.session, number)
    except NotFound:
        body = ("<h1>No such mark licence</h1><p>No certification mark licence has the number "
                f"<strong>{html_escape(number[:60])}</strong>. A badge showing this number is not genuine.</p>")
        return _page("Unknown mark licence", body, 404, NOT_FOUND_CACHE)
    return _page(f"Mark licence {licence.number}", _page_body(licence, _viewing_host()), 200, CACHE,
                 head=_json_ld(licence))


@badges.errorhandler(TooManyRequests)
def _too_many(error: TooManyRequests) -> Response:
    """Over the lookup budget: a badge or page that says so (an image cannot show problem+json)."""
    if request.path.endswith(".svg"):
        response = _svg(_badge("Too many requests", "Try again in a minute", "UNAVAILABLE", "#57606a"), 429, "no-store")
    else:
        response = _page("Too many requests", "<h1>Too many requests</h1><p>Try again in a minute.</p>", 429,
                         "no-store")
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@dataclass(frozen=True)
class Viewing:
    """Where the badge is shown, as far as the request says (see the module docstring)."""

    host: str | None  # None: nothing says
    claimed: bool = False  # from ?domain= only: the embedder's word, not the browser's
    own_page: bool = False  # our own badge page


def _viewing_host() -> Viewing:
    """The Referer's host, else ``?domain=``; our own pages (which embed the badge) are not checked."""
    referer = service.host_of(request.headers.get("Referer"))
    if referer is not None:
        return Viewing(None, own_page=True) if referer == service.host_of(request.host) else Viewing(referer)
    explicit = service.host_of(request.args.get("domain"))
    return Viewing(explicit, claimed=explicit is not None)


def _badge_state(licence: service.PublicLicence, viewing: Viewing) -> tuple[str, str]:
    """M3 then V4: not licensed for the host, the licence's own bad news, an unproven host, or VALID."""
    host = viewing.host
    if host is not None and not licence.allows_host(host):
        return f"NOT LICENSED FOR {host}", NOT_LICENSED_COLOUR
    if licence.state_word != "VALID" or viewing.own_page:
        return licence.state_word, COLOURS[licence.state_word]
    if host is None or not licence.is_proven(host):
        return NOT_VERIFIED, NOT_VERIFIED_COLOUR
    return (f"VALID FOR {host}" if viewing.claimed else "VALID"), COLOURS["VALID"]


# --------------------------------------------------------------------------- SVG


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(text: str) -> str:
    """XML-escaped for text and attribute values alike."""
    return xml_escape(text, {'"': "&quot;", "'": "&apos;"})


def _badge(top: str, middle: str, state: str, colour: str, *, title: str | None = None) -> str:
    """A 200x60 SVG; every text is cut to fit first, then XML-escaped (attributes too)."""
    label = title or f"{top}: {state}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(label)}">'
        f"<title>{esc(label)}</title>"
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{HEIGHT - 1}" rx="4" fill="#ffffff" stroke="{colour}"/>'
        f'<rect x="0" y="40" width="{WIDTH}" height="20" rx="0" fill="{colour}"/>'
        '<g font-family="Verdana,DejaVu Sans,sans-serif" text-anchor="middle">'
        f'<text x="100" y="16" font-size="11" font-weight="bold" fill="#24292f">{esc(_fit(top, 30))}</text>'
        f'<text x="100" y="32" font-size="9" fill="#24292f">{esc(_fit(middle, 38))}</text>'
        f'<text x="100" y="54" font-size="{10 if len(state) <= 28 else 8}" font-weight="bold" '
        f'fill="#ffffff">{esc(_fit(state, 40))}</text>'
        "</g></svg>"
    )


def _svg(body: str, status: int, cache: str) -> Response:
    response = Response(body, status=status, mimetype=SVG)
    response.headers["Cache-Control"] = cache
    response.headers["Vary"] = "Referer"
    response.headers["Content-Security-Policy"] = SVG_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------- HTML page

PLAIN_WORDS = {
    "active": "is valid: {client} may use the certification mark of {cb} for the uses listed below.",
    "suspended": "is suspended: {client} may not use the certification mark of {cb} until the suspension is lifted.",
    "withdrawn": "has been withdrawn: {client} may no longer use the certification mark of {cb}.",
}


def _page_body(licence: service.PublicLicence, viewing: Viewing) -> str:
    e, host = html_escape, viewing.host
    sentence = PLAIN_WORDS[licence.status].format(client=f"<strong>{e(licence.client_name)}</strong>",
                                                  cb=f"<strong>{e(licence.cb_name)}</strong>")
    parts = [
        f"<h1>Certification mark licence {e(licence.number)}</h1>",
        f'<p class="state {e(licence.status)}">This licence {sentence}</p>',
    ]
    if host is not None and not licence.allows_host(host):
        parts.append(f'<p class="warning">This licence does <strong>not</strong> cover {e(host)}: the mark is not '
                     f"licensed for use on that site (NOT LICENSED FOR {e(host)}).</p>")
    elif host is not None and not licence.is_proven(host):
        parts.append(f'<p class="warning">{e(licence.client_name)} has not proven that it controls {e(host)}: the '
                     f"badge is not valid on that site ({NOT_VERIFIED}).</p>")
    items = "".join(
        f'<li>{e(c.standard)}, certificate <a href="{e(c.verify_url)}">{e(c.number)}</a>: {e(c.status)}'
        f' (<a href="{e(c.verify_url)}">check this certificate</a>)</li>'
        for c in licence.certificates)
    parts.append(f"<h2>Certificates</h2><ul>{items}</ul>")
    parts.append("<h2>Permitted uses</h2><ul>" + "".join(f"<li>{e(u.replace('_', ' '))}</li>"
                                                          for u in licence.permitted_uses) + "</ul>")
    if licence.domain_proofs:
        parts.append("<h2>Websites</h2><p>The badge may appear on these domains and their subdomains, and is valid "
                     "on those the licensee proved it controls:</p><ul>"
                     + "".join(f"<li>{e(p.domain)}: {_proof_words(p)}</li>" for p in licence.domain_proofs) + "</ul>")
    parts.append("<p>The mark is never licensed for products, packaging or test reports.</p>")
    parts.append(f'<p><img src="/badges/{quote(licence.number, safe="")}.svg" width="200" height="60" '
                 f'alt="Badge of licence {e(licence.number)}"></p>')
    return "".join(parts)


def _proof_words(proof: service.PublicDomainProof) -> str:
    if proof.state != ProofState.proven or proof.proven_at is None:
        return f'<span class="warning">not verified ({NOT_VERIFIED})</span>'
    checked = proof.last_checked_at or proof.proven_at
    return (f"proven by {'a DNS record' if proof.method == ProofMethod.dns else 'its web server'} on "
            f"{proof.proven_at.date().isoformat()}, last checked {checked.date().isoformat()}")


def _json_ld(licence: service.PublicLicence) -> str:
    """The licence as a schema.org ``Certification``, for search engines and machine readers; ``<`` escaped, so no
    text of the licence can close the script element."""
    document: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "Certification",
        "name": f"Certification mark licence {licence.number} ({', '.join(licence.standards)})",
        "certificationIdentification": licence.number,
        "certificationStatus": SCHEMA_STATUS.get(licence.status, INACTIVE),
        "issuedBy": {"@type": "Organization", "name": licence.cb_name},
        "about": {"@type": "Organization", "name": licence.client_name,
                  "url": [f"https://{p.domain}" for p in licence.domain_proofs if p.state == ProofState.proven]},
        "validFrom": licence.granted_on.isoformat(),
        "url": request.base_url,
    }
    if licence.valid_until is not None:
        document["expires"] = licence.valid_until.isoformat()
    text = json.dumps(document, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return f'<script type="application/ld+json">{text}</script>'


def _page(title: str, body: str, status: int, cache: str, head: str = "") -> Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html_escape(title)}</title>{head}"
        "<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
        ".active{color:#1a7f37}.suspended{color:#b35900}.withdrawn,.warning{color:#b42318}</style>"
        f"</head><body>{body}</body></html>"
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = cache
    response.headers["Vary"] = "Referer"
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
