"""Statement-count growers of risk management: registers, assessed risks, reviews, controls and their tests,
criteria versions, and a client's heat map and KPIs."""
from __future__ import annotations

import uuid
from datetime import timedelta

from grc import tenancy
from grc.actions import service as actions
from grc.risks import controls, criteria
from grc.risks import service as risks
from grc.risks.models import Control, Risk, RiskRegister
from tests.query_counts.registry import grows_hot_read, grows_list
from tests.query_counts.scene import CLIENT_ADMIN, RISK_MANAGER, TODAY, Read, Scene

# --------------------------------------------------------------------------- parents


def register(scene: Scene) -> uuid.UUID:
    """client-a's register, shared with cb-a."""

    def build() -> uuid.UUID:
        with scene.acting(CLIENT_ADMIN) as session:
            made = risks.create_register(session, {"name": "Shop risks", "scope": "shop",
                                                    "owner_id": scene.user(RISK_MANAGER)})
            risks.share(session, made, scene.tenant("cb-a"))
            return made.id

    return scene.once("register", build)


def control(scene: Scene) -> uuid.UUID:
    return scene.once("control", lambda: make_controls(scene, 1)[0])


def make_controls(scene: Scene, count: int) -> list[uuid.UUID]:
    with scene.acting(CLIENT_ADMIN) as session:
        return [controls.create_control(session, {
            "name": f"control {scene.serial('control')}", "type": "preventive", "nature": "manual",
            "owner_id": scene.user(RISK_MANAGER), "test_frequency_days": 90}).id for _ in range(count)]


def assessed_risks(scene: Scene, count: int) -> list[uuid.UUID]:
    """Risks in client-a's register, each assessed, linked to a control and given an overdue treatment action."""
    register_id, control_id = register(scene), control(scene)
    ratings = {"inherent": {"likelihood": 4, "consequence": 4}, "current": {"likelihood": 3, "consequence": 4},
               "target": {"likelihood": 2, "consequence": 3}, "rationale": "workshop"}
    with scene.acting(RISK_MANAGER) as session:
        in_register = session.get(RiskRegister, register_id)
        made = []
        for _ in range(count):
            risk = risks.create_risk(session, in_register, {"title": f"risk {scene.serial('risk')}",
                                                            "owner_id": scene.user(RISK_MANAGER)})
            risks.assess(session, risk, ratings)
            controls.link_controls(session, risk, [control_id])
            risks.decide_treatment(session, risk, ["change_likelihood"])
            actions.create_for_risk(session, risk, {"title": "treat", "owner_id": scene.user(RISK_MANAGER),
                                                    "due_date": TODAY - timedelta(days=1)}, caller=tenancy.current())
            made.append(risk.id)
        return made


def a_risk(scene: Scene) -> uuid.UUID:
    return scene.once("risk", lambda: assessed_risks(scene, 1)[0])


def criteria_versions(scene: Scene, count: int) -> None:
    with scene.acting(CLIENT_ADMIN) as session:
        for _ in range(count):
            criteria.save(session, criteria.DEFAULT)


# --------------------------------------------------------------------------- growers


@grows_list("GET /api/v1/risk-registers")
def grow_registers(scene: Scene, count: int) -> Read:
    with scene.acting(CLIENT_ADMIN) as session:
        for _ in range(count):
            risks.create_register(session, {"name": f"register {scene.serial('register')}", "scope": "s",
                                            "owner_id": scene.user(RISK_MANAGER)})
    return Read(CLIENT_ADMIN, "/api/v1/risk-registers")


@grows_list("GET /api/v1/risks")
def grow_risks(scene: Scene, count: int) -> Read:
    assessed_risks(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/risks")


@grows_list("GET /api/v1/risks/{risk_id}/reviews")
def grow_reviews(scene: Scene, count: int) -> Read:
    risk_id = a_risk(scene)
    with scene.acting(RISK_MANAGER) as session:
        risk = session.get(Risk, risk_id)
        for _ in range(count):
            risks.review(session, risk, "still relevant")
    return Read(CLIENT_ADMIN, f"/api/v1/risks/{risk_id}/reviews")


@grows_list("GET /api/v1/controls")
def grow_controls(scene: Scene, count: int) -> Read:
    make_controls(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/controls")


@grows_list("GET /api/v1/controls/{control_id}/tests")
def grow_control_tests(scene: Scene, count: int) -> Read:
    control_id = control(scene)
    with scene.acting(RISK_MANAGER) as session:
        tested = session.get(Control, control_id)
        for _ in range(count):
            controls.record_test(session, tested, {"result": "effective", "notes": "sampled"})
    return Read(CLIENT_ADMIN, f"/api/v1/controls/{control_id}/tests")


@grows_list("GET /api/v1/risk-criteria")
def grow_criteria(scene: Scene, count: int) -> Read:
    criteria_versions(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/risk-criteria")


@grows_list("GET /api/v1/risk-criteria/versions")
def grow_criteria_versions(scene: Scene, count: int) -> Read:
    criteria_versions(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/risk-criteria/versions")


@grows_list("GET /api/v1/kpis")
@grows_hot_read("KPIs of a client organisation")
def grow_kpis(scene: Scene, count: int) -> Read:
    """Assessed risks, each with a linked control and an overdue treatment action, and more controls."""
    assessed_risks(scene, count)
    make_controls(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/kpis")


@grows_hot_read("heat map")
def grow_heatmap(scene: Scene, count: int) -> Read:
    assessed_risks(scene, count)
    return Read("cb_viewer@cb-a.test", f"/api/v1/risk-registers/{register(scene)}/heatmap")
