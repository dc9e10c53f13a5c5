"""G1: the IAF CertSearch CB upload API's documented rules, checked on a body before anything is sent
(``grc.registry.certsearch.validate``): the registry's own sample body passes, each broken rule is named by field."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from grc.certification.models import CertificateStatus
from grc.registry.certsearch import MISSING, Problem, validate
from grc.tenants.models import DEFAULT_REGISTRY_STATUSES
from grc.tenants.schemas import RegistryStatusesSchema

# The registry's sample certification (field glossary and upload page), as the v1 upload body.
SAMPLE: dict[str, Any] = {
    "certificate_number": "20897-A01",
    "certificate_identity_number": "UNIQUEID-CERT01",
    "certification_status": "active",
    "certificate_accreditation_status": "Accredited",
    "certification_type": "Management System",
    "certification_scope": "Manufacturing of instruments",
    "certification_original_issue_date": "20170203",
    "certification_issue_date": "20230223",
    "certification_expiry_date": "20260222",
    "certified_entity_name": "Test Food And Logistics Inc.",
    "certified_entity_unique_id": "UNIQUEID-COMPANY01",
    "certified_entity_street_address": "Suite 100, #3601 E Algonquin Road",
    "certified_entity_street_city": "Rolling Meadows",
    "certified_entity_state": "Illinois",
    "certified_entity_post_code": "60008",
    "certified_entity_country": "United States",
    "accreditation_body_name": "Test Accreditation Body",
    "accreditation_body_acronym_name": "TAB",
    "schemes": [{"scheme_name": "Quality Management Systems Scheme",
                 "standard_list": [{"standards_name": "ISO 9001:2015"}]}],
    "sites": [],
}


def changed(**fields: Any) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLE)
    body.update(fields)
    return body


def test_G1_the_registrys_own_sample_body_breaks_no_rule() -> None:
    assert validate(SAMPLE) == ()


@pytest.mark.parametrize("field", ["certificate_number", "certified_entity_unique_id", "certified_entity_street_city",
                                   "certified_entity_street_address", "certified_entity_country",
                                   "accreditation_body_acronym_name", "certification_issue_date"])
def test_G1_an_empty_mandatory_field_is_a_missing_required_field(field: str) -> None:
    assert validate(changed(**{field: ""})) == (Problem(field, MISSING),)


def test_G1_a_status_the_registry_does_not_accept_is_named() -> None:
    problems = validate(changed(certification_status="valid", certificate_accreditation_status="NoneAccredited"))
    assert [p.field for p in problems] == ["certification_status", "certificate_accreditation_status"]


@pytest.mark.parametrize("value", ["2023-02-23", "20230230", "2023022", "23/02/2023"])
def test_G1_a_date_not_in_yyyymmdd_is_named(value: str) -> None:
    assert [p.field for p in validate(changed(certification_issue_date=value))] == ["certification_issue_date"]


def test_G1_a_unique_id_longer_than_45_or_with_other_characters_is_named() -> None:
    assert [p.field for p in validate(changed(certified_entity_unique_id="x" * 46))] == ["certified_entity_unique_id"]
    assert [p.field for p in validate(changed(certified_entity_unique_id="ACME 01"))] == ["certified_entity_unique_id"]
    assert validate(changed(certified_entity_unique_id="会社-01@a#b+c=d\\e/f:g;h,i~j_k.l")) == ()


def test_G1_a_scheme_without_a_standard_is_named() -> None:
    problems = validate(changed(schemes=[{"scheme_name": "ISO 9001", "standard_list": [{"standards_name": ""}]}]))
    assert problems == (Problem("schemes[0].standard_list[0].standards_name", MISSING),)
    assert validate(changed(schemes=[])) == (Problem("schemes", MISSING),)


def test_G1_the_policys_status_mapping_names_every_certificate_status_and_only_those() -> None:
    assert set(RegistryStatusesSchema().fields) == {status.value for status in CertificateStatus}
    assert set(DEFAULT_REGISTRY_STATUSES) == {status.value for status in CertificateStatus}
