"""Statement-count growers of users and API clients: the user list, /me, a user's sign-ins and the API clients, the
second factor's status and the sign-in policy."""
from __future__ import annotations

from sqlalchemy import select

from grc.auth import mfa, sessions, users
from grc.auth.models import SessionEnd, User
from tests.query_counts.registry import grows_hot_read, grows_list
from tests.query_counts.scene import AUDITOR, CB_ADMIN, PASSWORD, Read, Scene


def add_users(scene: Scene, count: int) -> None:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            users.create_user(session, {"email": f"auditor{scene.serial('user')}@cb-a.test", "name": "auditor",
                                        "password": PASSWORD, "roles": ["auditor"]})


@grows_list("GET /api/v1/users")
def grow_users(scene: Scene, count: int) -> Read:
    add_users(scene, count)
    return Read(CB_ADMIN, "/api/v1/users")


@grows_list("GET /api/v1/me")
@grows_hot_read("GET /api/v1/me")
def grow_me(scene: Scene, count: int) -> Read:
    add_users(scene, count)
    return Read(CB_ADMIN, "/api/v1/me")


@grows_list("GET /api/v1/users/{user_id}/sessions")
def grow_sign_ins(scene: Scene, count: int) -> Read:
    """Sign-ins of the auditor, every other one ended, as login starts them and an admin ends them."""
    auditor = scene.user(AUDITOR)
    with scene.system() as session:
        user = session.get_one(User, auditor)
        for n in range(count):
            sign_in = sessions.start(session, user, sessions.Device("192.0.2.1", f"device {scene.serial('device')}"))
            if n % 2:
                sessions.end(sign_in, reason=SessionEnd.ended, by=None)
    return Read(CB_ADMIN, f"/api/v1/users/{auditor}/sessions")


@grows_list("GET /api/v1/api-clients")
def grow_api_clients(scene: Scene, count: int) -> Read:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            users.create_api_client(session, {"name": f"erp {scene.serial('api client')}", "roles": ["cb_viewer"]})
    return Read(CB_ADMIN, "/api/v1/api-clients")


@grows_list("GET /api/v1/me/mfa")
def grow_second_factors(scene: Scene, count: int) -> Read:
    """More users of the tenant, each with a second factor enrolled: the caller's status reads only its own."""
    add_users(scene, count)
    with scene.system() as session:
        for user in session.scalars(select(User).where(User.email.like("auditor%@cb-a.test"))).all():
            if mfa.factor_of(session, user) is None:
                mfa.enrol(session, user)
    return Read(CB_ADMIN, "/api/v1/me/mfa")


@grows_list("GET /api/v1/sign-in-policy")
def grow_sign_in_policy(scene: Scene, count: int) -> Read:
    """More users (break-glass candidates) in the tenant: the policy is one row whatever their number."""
    add_users(scene, count)
    return Read(CB_ADMIN, "/api/v1/sign-in-policy")
