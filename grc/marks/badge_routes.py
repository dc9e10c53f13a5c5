"""Public badge and verification page of a mark licence (rule M3); no login, public fields only.

``GET /badges/<number>.svg`` is the badge a client embeds where it uses the mark; ``GET /badges/<number>`` is
the page a badge links to, saying in plain words whether the licence is valid, suspended or withdrawn and
linking the public check of each certificate (rule C10). Both are cached for five minutes at most, so a
suspension shows within minutes. The host the badge is shown on (``?domain=``, else the ``Referer``'s host)
must be one of the licence's domains or a subdomain of one; otherwise the badge says so.
"""
from __future__ import annotations

from html import escape as html_escape
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Response, request
from werkzeug.exceptions import TooManyRequests

from grc.certification.public import lookup_rate_limit
from grc.errors import NotFound
from grc.extensions import db, limiter
from grc.guard import public
from grc.marks import service

badges = Blueprint("badges", __name__)
CACHE = "public, max-age=300"
NOT_FOUND_CACHE = "public, max-age=60"
SVG = "image/svg+xml"
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
PAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
COLOURS = {"VALID": "#1a7f37", "SUSPENDED": "#b35900", "WITHDRAWN": "#b42318"}
NOT_LICENSED_COLOUR = "#b42318"
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
    host = _viewing_host()
    if host is not None and not licence.allows_host(host):
        state, colour = f"NOT LICENSED FOR {host}", NOT_LICENSED_COLOUR
    else:
        state, colour = licence.state_word, COLOURS[licence.state_word]
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
    host = _viewing_host()
    return _page(f"Mark licence {licence.number}", _page_body(licence, host), 200, CACHE)


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


def _viewing_host() -> str | None:
    """``?domain=`` if given, else the Referer's host; our own pages (which embed the badge) are not checked."""
    explicit = request.args.get("domain")
    if explicit:
        return service.host_of(explicit)
    referer = service.host_of(request.headers.get("Referer"))
    own = service.host_of(request.host)
    return None if referer is None or referer == own else referer


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


def _page_body(licence: service.PublicLicence, host: str | None) -> str:
    e = html_escape
    sentence = PLAIN_WORDS[licence.status].format(client=f"<strong>{e(licence.client_name)}</strong>",
                                                  cb=f"<strong>{e(licence.cb_name)}</strong>")
    parts = [
        f"<h1>Certification mark licence {e(licence.number)}</h1>",
        f'<p class="state {e(licence.status)}">This licence {sentence}</p>',
    ]
    if host is not None and not licence.allows_host(host):
        parts.append(f'<p class="warning">This licence does <strong>not</strong> cover {e(host)}: the mark is not '
                     f"licensed for use on that site (NOT LICENSED FOR {e(host)}).</p>")
    items = "".join(
        f'<li>{e(c.standard)}, certificate <a href="{e(c.verify_url)}">{e(c.number)}</a>: {e(c.status)}'
        f' (<a href="{e(c.verify_url)}">check this certificate</a>)</li>'
        for c in licence.certificates)
    parts.append(f"<h2>Certificates</h2><ul>{items}</ul>")
    parts.append("<h2>Permitted uses</h2><ul>" + "".join(f"<li>{e(u.replace('_', ' '))}</li>"
                                                          for u in licence.permitted_uses) + "</ul>")
    if licence.domains:
        parts.append("<h2>Websites</h2><p>The badge may appear on these domains and their subdomains:</p><ul>"
                     + "".join(f"<li>{e(d)}</li>" for d in licence.domains) + "</ul>")
    parts.append("<p>The mark is never licensed for products, packaging or test reports.</p>")
    parts.append(f'<p><img src="/badges/{quote(licence.number, safe="")}.svg" width="200" height="60" '
                 f'alt="Badge of licence {e(licence.number)}"></p>')
    return "".join(parts)


def _page(title: str, body: str, status: int, cache: str) -> Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html_escape(title)}</title>"
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
