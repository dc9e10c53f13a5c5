"""The public HTML pages: certificate verification (C10) for people who follow a QR code or type a number.

Server-rendered, no JavaScript, nothing loaded from elsewhere. Not an API blueprint (it is registered on the
app, not on the smorest Api): the API guard, the unit of work and the OpenAPI spec leave it alone; every view
here is public and reads in system scope through ``grc.certification.public``, which returns only public fields.
The certificate page also checks the certificate's published credential (``grc.credentials``) as a stranger would
and shows that verdict next to the database status; a certificate that predates credentials gets its credential
then, so this view commits what it wrote.
"""
from __future__ import annotations

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as BaseResponse

from grc.certification.public import LOOKUP_LIMIT_SCOPE, STATUS_WORDS, find_public, lookup_rate_limit
from grc.credentials.published_check import check_published
from grc.extensions import db, limiter
from grc.guard import public

web = Blueprint("web", __name__, template_folder="templates")
CACHE_CONTROL = "public, max-age=60"
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'"


@web.get("/verify")
@public
def verify_form() -> BaseResponse:
    """A form asking for the certification body and the certificate number; it submits here with GET."""
    cb_slug = request.args.get("cb", "").strip()
    number = request.args.get("number", "").strip()
    if cb_slug and number:
        return redirect(url_for("web.verify_certificate", cb_slug=cb_slug, number=number), code=303)
    missing = bool(request.args) and not (cb_slug and number)
    response = make_response(render_template("verify_form.html", cb_slug=cb_slug, number=number, missing=missing))
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@web.get("/verify/<cb_slug>/<path:number>")
@public
@limiter.shared_limit(lookup_rate_limit, scope=LOOKUP_LIMIT_SCOPE)
def verify_certificate(cb_slug: str, number: str) -> Response:
    """Says in plain words whether the certificate is valid, suspended, withdrawn or expired (C10)."""
    found = find_public(db.session, cb_slug, number)
    if found is None:
        return make_response(render_template("verify_not_found.html", cb_slug=cb_slug, number=number), 404)
    word = STATUS_WORDS[found["status"]]
    credential = check_published(db.session, cb_slug, number)
    if db.session.in_transaction():
        db.session.commit()  # a first issue of the credential (the API's unit of work does this for the JSON)
    response = make_response(render_template("verify_certificate.html", c=found, word=word, credential=credential))
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


@web.errorhandler(TooManyRequests)
def too_many_lookups(error: TooManyRequests) -> Response:
    response = make_response(render_template("verify_limited.html"), 429)
    # flask-limiter adds Retry-After and the X-RateLimit headers to the response in its after_request hook.
    return response


@web.after_request
def _page_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response
