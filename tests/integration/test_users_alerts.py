"""A user's console alerts (issue #15): the volume and mute are the user's own, stored with the user (so every
console they sit at follows them), checked, and audited when they change."""

from __future__ import annotations


def test_alert_settings_are_the_users_own_and_checked(api):
    assert api("damkar").get("/api/v1/me/alerts").json() == {"volume": 70, "muted": False}
    r = api("damkar").put("/api/v1/me/alerts", json={"volume": 15, "muted": True})
    assert r.status_code == 200 and r.json() == {"volume": 15, "muted": True}
    assert api("damkar").get("/api/v1/me/alerts").json() == {"volume": 15, "muted": True}
    assert api("disp").get("/api/v1/me/alerts").json() == {"volume": 70, "muted": False}

    too_loud = api("damkar").put("/api/v1/me/alerts", json={"volume": 101, "muted": False},
                                 headers={"Accept-Language": "en"})
    assert too_loud.status_code == 422 and too_loud.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in too_loud.json()["errors"]] == ["body.volume"]
    assert api("damkar").get("/api/v1/me/alerts").json() == {"volume": 15, "muted": True}

    damkar_id = api("damkar").get("/api/v1/me").json()["id"]
    audit = api("admin").get("/api/v1/audit", params={"entity": "user", "entity_id": str(damkar_id)}).json()
    assert [(e["action"], e["data"]["to"]) for e in audit if e["action"] == "user.alerts"] == [
        ("user.alerts", {"volume": 15, "muted": True})]

def test_the_telephony_bridge_has_no_alert_settings_to_change(api):
    r = api("phone").put("/api/v1/me/alerts", json={"volume": 0, "muted": True})
    assert r.status_code == 403
