"""Signing organisers in: password, second factor, throttling, no account-existence leak."""

from __future__ import annotations

from tests.factories import log_in, make_organiser


def test_an_enrolled_organiser_signs_in_with_password_and_code(app, client, session):
    organiser = make_organiser(session, "ana@example.org")
    session.commit()
    response = log_in(client, organiser)
    assert response.status_code == 303
    assert response.location.endswith("/organisers/")
    page = client.get("/organisers/")
    assert page.status_code == 200
