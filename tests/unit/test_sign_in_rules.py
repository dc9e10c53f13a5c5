"""I1, I2 without a database: which TOTP codes are accepted (drift, single use), how recovery codes are typed, when
a password sign-in goes on to a second step or is refused for single sign-on, and that no password matches a user
who holds none."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyotp

from grc.auth.mfa import accepted_step, new_recovery_codes, normalised_recovery_code
from grc.auth.models import SignInPolicy, User
from grc.auth.passwords import hash_secret, verify_secret
from grc.auth.policy import needs_second_factor, password_refused
from grc.tenants.models import Tenant

SECRET, OTHER_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
NOW = datetime(2026, 12, 5, 12, 0, 10, tzinfo=UTC)
STEP = pyotp.TOTP(SECRET).timecode(NOW)


def code_at(step: int) -> str:
    return pyotp.TOTP(SECRET).generate_otp(step)


def test_I2_a_code_of_the_step_before_now_or_after_is_accepted_and_none_further():
    assert [accepted_step(SECRET, code_at(STEP + d), NOW, None) for d in (-2, -1, 0, 1, 2)] == [
        None, STEP - 1, STEP, STEP + 1, None]


def test_I2_a_code_is_accepted_once_and_no_older_one_after_it():
    assert accepted_step(SECRET, code_at(STEP), NOW, last_used_step=STEP) is None
    assert accepted_step(SECRET, code_at(STEP - 1), NOW, last_used_step=STEP) is None
    assert accepted_step(SECRET, code_at(STEP + 1), NOW, last_used_step=STEP) == STEP + 1
    later = NOW + timedelta(seconds=30)
    assert accepted_step(SECRET, code_at(STEP + 1), later, last_used_step=STEP) == STEP + 1


def test_I2_a_wrong_code_and_another_secrets_code_are_refused():
    assert accepted_step(SECRET, "12345", NOW, None) is None
    assert accepted_step(OTHER_SECRET, code_at(STEP), NOW, None) is None
    assert accepted_step(SECRET, f" {code_at(STEP)} ", NOW, None) == STEP  # as pasted


def test_I2_ten_distinct_recovery_codes_typed_any_way():
    codes = new_recovery_codes()
    assert len(set(codes)) == 10 and all(len(c) == 11 and c[5] == "-" for c in codes)
    assert normalised_recovery_code(codes[0].upper().replace("-", " ")) == codes[0]


def _user(roles: list[str]) -> tuple[User, Tenant]:
    tenant = Tenant(id=uuid.uuid4(), name="CB A", slug="cb-a")
    return User(id=uuid.uuid4(), tenant_id=tenant.id, roles=roles, is_active=True), tenant


def test_I2_a_password_sign_in_needs_a_second_step_with_a_factor_or_when_the_tenant_requires_one():
    lax = SignInPolicy(require_mfa=False, require_sso=False, break_glass_user_ids=[])
    strict = SignInPolicy(require_mfa=True, require_sso=False, break_glass_user_ids=[])
    assert [needs_second_factor(lax, False), needs_second_factor(lax, True)] == [False, True]
    assert [needs_second_factor(strict, False), needs_second_factor(strict, True)] == [True, True]


def test_I1_required_sso_refuses_a_password_naming_the_start_endpoint_but_not_to_break_glass():
    auditor, tenant = _user(["auditor"])
    admin, _ = _user(["cb_admin"])
    policy = SignInPolicy(require_mfa=False, require_sso=True, break_glass_user_ids=[str(admin.id)])
    refusal = password_refused(policy, auditor, tenant)
    assert refusal is not None and "GET /api/v1/auth/sso/cb-a/start" in refusal
    assert password_refused(policy, admin, tenant) is None
    policy.require_sso = False
    assert password_refused(policy, auditor, tenant) is None


def test_I1_no_password_matches_a_user_who_holds_none():
    """Users made by single sign-on or SCIM may hold an empty or unusable hash: fail closed."""
    assert not verify_secret("", "grc-timing-equaliser")
    assert not verify_secret(None, "grc-timing-equaliser")
    assert not verify_secret("!", "anything")
    assert verify_secret(hash_secret("s3cret"), "s3cret")
