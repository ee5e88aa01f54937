"""The signing flow end to end: sign, email through real SMTP, confirm, count."""

from __future__ import annotations

import dataclasses
import re
import sqlite3

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from campaign import confirming, counting, signing
from campaign.extensions import db
from campaign.models import Campaign, Signature, SignatureStatus
from tests.factories import csrf_token, sign_form

CAMPAIGN = "/en/zhanaozen/"


@pytest.fixture
def config_overrides(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def sign(client, **overrides):
    page = client.get(CAMPAIGN)
    data = sign_form(**overrides)
    data.setdefault("csrf_token", csrf_token(page.get_data(as_text=True)))
    return client.post(CAMPAIGN, data=data)


def confirm_link(message) -> str:
    body = message.get_content()
    match = re.search(r"http://petition\.test(/\S+/confirm\?token=\S+)", body)
    assert match, body
    return match.group(1)


def count(app) -> int:
    from campaign.extensions import db

    with app.app_context():
        return counting.confirmed_count(db.session, 1)


def signatures(app) -> list[Signature]:
    from campaign.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(Signature)))


def test_campaign_page_shows_demands_count_and_form(client):
    page = client.get(CAMPAIGN)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Natalia Sokolova" in html
    assert "independent international inquiry" in html
    assert "ITUC" in html
    assert "0 signatures" in html
    assert '<progress max="10000" value="0"' in html
    for field in ("name", "email", "country", "city", "organisation", "comment", "display"):
        assert f'name="{field}"' in html
    assert 'name="website"' in html  # the honeypot


def test_a_refused_form_opens_on_a_summary_linking_to_each_field(client):
    page = client.get(CAMPAIGN)
    data = sign_form(email="not an address", country="", display="")
    data["csrf_token"] = csrf_token(page.get_data(as_text=True))
    response = client.post(CAMPAIGN, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r"<title>Error: ", html)
    # Focused on load (the form may be screens below the article on a phone), announced,
    # and a link to each field in trouble.
    summary = re.search(
        r'<div class="error-summary" id="error-summary" role="alert" tabindex="-1" autofocus>'
        r"(.*?)</div>",
        html,
        re.S,
    )
    assert summary
    targets = re.findall(r'<a href="#([\w-]+)">', summary.group(1))
    assert targets == ["email", "country", "display-0"]
    for target in targets:
        assert f'id="{target}"' in html
    assert "Email: Please enter a valid email address." in summary.group(1)
    assert 'value="Aigerim Test"' in html  # nothing typed is lost
    assert "autofocus" not in client.get(CAMPAIGN).get_data(as_text=True)


def test_campaign_page_labels_what_the_organisers_chose(client):
    html = client.get(CAMPAIGN).get_data(as_text=True)
    assert "(chosen by the campaign's organisers)" in html
    assert "The organisers of this petition address this demand to the ITUC" in html
    title = "Kazakhstan: Dictatorship uses brutal force against oil workers"
    assert f"<cite>{title}</cite> (language: English)" in html
    russian = client.get("/ru/zhanaozen/").get_data(as_text=True)
    assert f'<cite lang="en">{title}</cite> (язык: английский)' in russian
    kazakh = client.get("/kk/zhanaozen/").get_data(as_text=True)
    assert f'<cite lang="en">{title}</cite> (ағылшын тілі)' in kazakh
    # The background's headings sit below the section's own.
    assert "<h3>Eight months on strike</h3>" in html


def test_an_address_at_an_international_domain_gets_its_email_through_any_relay(app, client, smtp):
    # The test's mail server, like many relays, does not speak SMTPUTF8: the domain goes
    # to it spelled in ASCII, which reaches the same mailbox.
    response = sign(client, email="ivan@почта.рф")
    assert response.status_code == 303
    [message] = smtp.messages
    assert message["To"] == "ivan@xn--80a1acny.xn--p1ai"
    assert smtp.recipients == ["ivan@xn--80a1acny.xn--p1ai"]
    # The signature keeps the address in its own letters, as it was typed.
    assert [s.email for s in signatures(app)] == ["ivan@почта.рф"]
    assert client.get(confirm_link(message)).status_code == 200


def test_an_address_with_other_letters_before_the_at_is_refused_unless_the_server_takes_it(
    app, client, smtp
):
    # No ASCII spelling of "иван" reaches the same mailbox: only a mail server that speaks
    # SMTPUTF8 can write to it. Without one, the signer would wait for an email that never
    # comes; they are told so on the form instead.
    page = client.get("/ru/zhanaozen/").get_data(as_text=True)
    data = sign_form(csrf_token=csrf_token(page), email="иван@example.com")
    refused = client.post("/ru/zhanaozen/", data=data)
    assert refused.status_code == 400
    assert "кроме латинских" in refused.get_data(as_text=True)
    assert 'value="иван@example.com"' in refused.get_data(as_text=True)
    assert signatures(app) == []
    # An address wrong for another reason is told so, whatever its letters.
    for wrong in ("иван@", "иван@localhost"):
        page = client.post("/ru/zhanaozen/", data={**data, "email": wrong}).get_data(as_text=True)
        assert "кроме латинских" not in page and "Введите правильный адрес" in page

    from aiosmtpd.controller import Controller

    from tests.conftest import _Collector, free_port

    handler = _Collector()
    server = Controller(handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=True)
    server.start()
    try:
        app.config.update(MAIL_SMTPUTF8=True, MAIL_PORT=server.port)
        assert client.post("/ru/zhanaozen/", data=data).status_code == 303
        [message] = handler.wait_for(1)
        assert handler.recipients == ["иван@example.com"]
    finally:
        server.stop()
    assert client.get(confirm_link(message)).status_code == 200


def test_root_redirects_to_default_campaign_in_the_readers_language(client):
    response = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert response.status_code == 302
    assert response.location.endswith("/ru/zhanaozen/")


def test_full_flow_sign_email_confirm_count(app, client, smtp):
    response = sign(client)
    assert response.status_code == 303
    assert response.location.endswith("/en/zhanaozen/thanks?country=KZ")
    assert "Check your email" in client.get(response.location).get_data(as_text=True)
    assert [s.status for s in signatures(app)] == [SignatureStatus.PENDING]
    assert count(app) == 0

    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "aigerim@example.org"
    link = confirm_link(message)

    # Opening the link (as a mail scanner would) does not confirm.
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirm my signature" in page.get_data(as_text=True)
    assert count(app) == 0

    token = re.search(r"token=(\S+)", link).group(1)
    done = client.post(
        "/en/confirm", data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert done.status_code == 200
    assert "Your signature is confirmed" in done.get_data(as_text=True)
    assert count(app) == 1
    assert "1 signature" in client.get(CAMPAIGN).get_data(as_text=True)

    # Confirming twice is harmless.
    again = client.post(
        "/en/confirm", data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert again.status_code == 200
    assert count(app) == 1


def test_confirmation_requires_post_and_csrf(app, client, smtp):
    sign(client)
    link = confirm_link(smtp.messages[0])
    token = re.search(r"token=(\S+)", link).group(1)
    assert client.post("/en/confirm", data={"token": token}).status_code == 400
    assert count(app) == 0


def test_forged_or_expired_token_is_refused(app, client, smtp):
    sign(client)
    token = re.search(r"token=(\S+)", confirm_link(smtp.messages[0])).group(1)
    forged = client.get(f"/en/confirm?token={token[:-2]}xx")
    assert forged.status_code == 400
    assert "not valid" in forged.get_data(as_text=True)
    app.config["CONFIRM_MAX_AGE"] = -1
    expired = client.get(f"/en/confirm?token={token}")
    assert expired.status_code == 400
    assert "expired" in expired.get_data(as_text=True)


def test_duplicate_signing_gives_identical_response_and_tells_the_owner(app, client, smtp):
    first = sign(client)
    token = re.search(r"token=(\S+)", confirm_link(smtp.messages[0])).group(1)
    page = client.get(f"/en/confirm?token={token}")
    client.post(
        "/en/confirm", data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    second = sign(client, email="AIGERIM@Example.org", name="Someone Else")
    assert (second.status_code, second.location) == (first.status_code, first.location)
    assert len(signatures(app)) == 1
    assert len(smtp.messages) == 2
    assert "already signed" in smtp.messages[1]["Subject"]
    assert count(app) == 1


def test_a_repeated_submission_writes_as_a_new_one_does(app, session, backend):
    # A submission that stored nothing would commit without waiting for the disk, and its
    # quicker answer would tell that the address had signed. Both kinds write one row.
    campaign = session.scalar(select(Campaign))
    data = signing.SignatureInput(name="Aigerim", email="aigerim@example.org", country="KZ")
    first = signing.sign(session, campaign, data)
    session.commit()
    assert first.created
    if backend == "sqlite":
        # data_version moves when another connection has committed a change.
        observer = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[1])
        version = observer.execute("PRAGMA data_version").fetchone()
    else:
        xmin = text("SELECT xmin::text FROM signatures WHERE id = :id")
        version = session.scalar(xmin, {"id": first.signature_id})
    again = signing.sign(session, campaign, dataclasses.replace(data, name="Someone Else"))
    session.commit()
    assert again == signing.SignOutcome(first.signature_id, created=False)
    if backend == "sqlite":
        assert observer.execute("PRAGMA data_version").fetchone() != version
        observer.close()
    else:
        assert session.scalar(xmin, {"id": first.signature_id}) != version
    # The write changed nothing of the signature.
    stored = session.get(Signature, first.signature_id, populate_existing=True)
    assert (stored.name, stored.email, stored.emails_sent) == ("Aigerim", "aigerim@example.org", 0)


@pytest.mark.parametrize("repeated", [False, True])
def test_what_follows_the_answer_writes_nothing_for_either_kind(app, smtp, backend, repeated):
    # A write after the answer would hold SQLite's write lock while the signer's next
    # request came: only for one kind of submission, it would tell the two apart.
    client = FlaskClient(app, app.response_class, use_cookies=True)  # closes when told to
    if repeated:
        sign(client).close()
    [signature] = signatures(app) if repeated else [None]
    response = sign(client)
    assert response.status_code == 303
    [stored] = signatures(app)
    assert stored.emails_sent == 1 + int(repeated)  # counted before the answer
    if backend == "sqlite":
        observer = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[1])
        before = observer.execute("PRAGMA data_version").fetchone()
    else:
        with app.app_context():
            xmin = text("SELECT xmin::text FROM signatures WHERE id = :id")
            before = db.session.scalar(xmin, {"id": stored.id})
    response.close()  # what a server does after the last byte: the email goes out
    assert len(smtp.messages) == 1 + int(repeated)
    if backend == "sqlite":
        assert observer.execute("PRAGMA data_version").fetchone() == before
        observer.close()
    else:
        with app.app_context():
            assert db.session.scalar(xmin, {"id": stored.id}) == before
    assert signature is None or signature.id == stored.id


def test_duplicate_while_pending_resends_the_link_without_a_second_signature(app, client, smtp):
    sign(client)
    sign(client)
    assert len(signatures(app)) == 1
    assert ["Please confirm" in m["Subject"] for m in smtp.messages] == [True, True]


def test_emails_per_signature_are_capped(app, client, smtp):
    app.config["MAX_EMAILS_PER_SIGNATURE"] = 3
    for _ in range(6):
        assert sign(client).status_code == 303
    assert len(smtp.messages) == 3


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("a.b.c+news@gmail.com", "ABC@googlemail.com"),
        ("Name+tag@outlook.com", "name@outlook.com"),
        ("x@Example.org", "X@example.ORG"),
    ],
)
def test_canonical_addresses_are_one_signer(app, client, smtp, first, second):
    sign(client, email=first)
    sign(client, email=second)
    assert len(signatures(app)) == 1


def test_dots_matter_where_providers_keep_them(app, client, smtp):
    sign(client, email="a.b@example.org")
    sign(client, email="ab@example.org")
    assert len(signatures(app)) == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "Please enter your name."),
        ({"name": "\u200b\u202e"}, "name", "Please enter your name."),
        ({"name": "x" * 121}, "name", "at most 120 characters"),
        ({"email": ""}, "email", "Please enter your email address."),
        ({"email": "not-an-address"}, "email", "Please enter a valid email address."),
        ({"country": ""}, "country", "Please choose your country."),
        ({"country": "XX"}, "country", "Please choose your country."),
        ({"city": "c" * 101}, "city", "at most 100 characters"),
        ({"organisation": "o" * 151}, "organisation", "at most 150 characters"),
        ({"comment": "c" * 501}, "comment", "at most 500 characters"),
        # Within the limit as typed, three times as long once normalised (NFC), as stored.
        ({"name": "\ufb2c" * 100}, "name", "at most 120 characters"),
        ({"city": "\u0f73" * 60}, "city", "at most 100 characters"),
        ({"organisation": "\ufb2c" * 60}, "organisation", "at most 150 characters"),
        ({"display": "everyone"}, "display", "Not a valid choice"),
    ],
)
def test_each_validation_error_is_shown_and_input_kept(app, client, overrides, field, message):
    response = sign(client, **overrides)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    errors = re.search(rf'<ul class="errors" id="{field}-error">(.*?)</ul>', html, re.S)
    assert errors, html
    assert message in errors.group(1)
    assert 'aria-invalid="true"' in html
    # What the user typed in the other fields is still there.
    if field != "email":
        assert 'value="aigerim@example.org"' in html
    if field != "city":
        assert 'value="Aktau"' in html
    assert signatures(app) == []


def test_errors_are_in_the_pages_language(client):
    page = client.get("/ru/zhanaozen/")
    data = sign_form(name="", csrf_token=csrf_token(page.get_data(as_text=True)))
    html = client.post("/ru/zhanaozen/", data=data).get_data(as_text=True)
    assert "Please enter your name." not in html
    assert re.search(r'id="name-error">\s*<li>[\u0400-\u04ff]', html)


def test_missing_or_wrong_csrf_keeps_input_and_stores_nothing(app, client, smtp):
    for token in (None, "wrong"):
        data = sign_form(name="Kept Name")
        if token:
            data["csrf_token"] = token
        response = client.post(CAMPAIGN, data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert 'value="Kept Name"' in html
        assert "send it again" in html
    assert signatures(app) == []
    assert smtp.messages == []


def test_a_filled_trap_sends_the_form_back_instead_of_storing_it(app, client, smtp):
    # Software that fills every field fills the hidden trap; so may a person's browser,
    # and that person must not leave believing they signed.
    response = sign(client, website="http://spam.example")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert "filled in a field that should stay empty" in summary
    assert 'href="#website"' not in summary  # nothing to correct that a person can see
    # What was typed is kept; the trap comes back empty.
    assert 'value="aigerim@example.org"' in html and 'value="Aktau"' in html
    assert 'value="http://spam.example"' not in html
    assert signatures(app) == []
    assert smtp.messages == []
    # Sent again as it comes back, the form signs.
    again = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert sign(client, csrf_token=again).status_code == 303
    assert len(signatures(app)) == 1


def test_stored_signature_holds_the_choices_and_no_address(app, client, smtp):
    sign(
        client,
        name="  Zhanna \u202eSmith\u200b ",
        display="initial",
        exclude_from_delivery="y",
        wants_updates="y",
        comment="Solidarity!",
    )
    (signature,) = signatures(app)
    assert signature.name == "Zhanna Smith"
    assert signature.display == "initial"
    assert signature.exclude_from_delivery is True
    assert signature.wants_updates is True
    assert signature.comment_status == "pending"
    assert signature.locale == "en"
    assert signature.client_key and "127.0.0.1" not in signature.client_key
    assert signature.public_name() == "Zhanna S."


def test_only_confirmed_signers_who_chose_to_be_shown_are_listed(app, session):
    from tests.factories import make_signature

    campaign = session.get(Campaign, 1)
    make_signature(session, campaign, name="Shown Person", display="full")
    make_signature(session, campaign, name="Hidden Person", display="hidden")
    make_signature(session, campaign, name="Pending Person", display="full", confirmed=False)
    session.commit()
    html = app.test_client().get(CAMPAIGN).get_data(as_text=True)
    assert "Shown Person" in html
    assert "Hidden Person" not in html
    assert "Pending Person" not in html
    assert "2 signatures" in html


def test_resend_page_never_reveals_whether_an_address_signed(app, client, smtp):
    sign(client)
    page = client.get("/en/zhanaozen/resend")
    token = csrf_token(page.get_data(as_text=True))
    known = client.post(
        "/en/zhanaozen/resend", data={"email": "aigerim@example.org", "csrf_token": token}
    )
    unknown = client.post(
        "/en/zhanaozen/resend", data={"email": "nobody@example.org", "csrf_token": token}
    )
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace(token, "") == unknown.get_data(
        as_text=True
    ).replace(token, "")
    assert len(smtp.messages) == 2
    assert all(m["To"] == "aigerim@example.org" for m in smtp.messages)


def test_resend_asks_the_database_the_same_whether_or_not_the_address_signed(app, client, smtp):
    # After the answer, one statement finds and counts the email: a look-up that wrote only
    # for a signed address would hold the database's write lock only then, which other
    # writers could feel. (Sent inline here; with the mail queue the reads that write the
    # email happen in the mail worker.)
    from sqlalchemy import event

    sign(client)
    raw = FlaskClient(app, app.response_class, use_cookies=True)  # leaves closing to us
    token = csrf_token(raw.get("/en/zhanaozen/resend").get_data(as_text=True))
    engine = app.extensions["database"]

    def statements_after_answer(address: str) -> list[str]:
        response = raw.post("/en/zhanaozen/resend", data={"email": address, "csrf_token": token})
        executed: list[str] = []

        def record(_conn, _cursor, statement, *_args) -> None:
            executed.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            response.close()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return executed

    known = statements_after_answer("aigerim@example.org")
    unknown = statements_after_answer("nobody@example.org")
    assert len(unknown) == 1
    assert unknown[0].lstrip().upper().startswith("UPDATE SIGNATURES")
    # The same write first; for a signer, only reads follow, to write the email.
    assert known[0] == unknown[0]
    assert all(s.lstrip().upper().startswith("SELECT") for s in known[1:])
    assert [m["To"] for m in smtp.messages] == ["aigerim@example.org"] * 2
    assert [s.emails_sent for s in signatures(app)] == [2]


def test_resend_validation_error(client):
    page = client.get("/en/zhanaozen/resend")
    response = client.post(
        "/en/zhanaozen/resend",
        data={"email": "bad", "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert response.status_code == 400
    assert "Please enter a valid email address." in response.get_data(as_text=True)
    assert 'value="bad"' in response.get_data(as_text=True)
    # The field in error takes the focus, announced with its message.
    assert re.search(r'<input[^>]*autofocus[^>]*id="email"', response.get_data(as_text=True))
    # With a stale token as well, the page opens on that one alert: a page has one autofocus.
    both = client.post("/en/zhanaozen/resend", data={"email": "bad", "csrf_token": "stale"})
    html = both.get_data(as_text=True)
    assert both.status_code == 400
    assert html.count("autofocus") == 1
    assert re.search(r'<p class="errors" role="alert" tabindex="-1" autofocus>', html)


def test_concurrent_duplicates_end_in_one_signature(app, session):
    # Another request stores the same address (in another spelling) while this one is
    # under way: the database's constraint decides, and this one ends in the winner's row.
    import threading

    from sqlalchemy.orm import Session

    from campaign.extensions import db
    from campaign.models import Campaign

    data = signing.SignatureInput(name="Race", email="race@example.org", country="KZ")
    other = Session(db.engine)
    winner = signing.sign(other, other.get(Campaign, 1), data)
    assert winner.created is True
    # The winner has not committed yet: the second submission waits on it, not on a look-up.
    outcome: list[signing.SignOutcome] = []
    again = signing.SignatureInput(name="Race", email="Race@Example.org", country="KZ")

    def second() -> None:
        with app.app_context(), Session(db.engine) as mine:
            outcome.append(signing.sign(mine, mine.get(Campaign, 1), again))
            mine.commit()

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # held by the uncommitted row (PostgreSQL) or the write lock
    other.commit()
    other.close()
    thread.join(timeout=30)
    assert outcome[0].created is False
    assert outcome[0].signature_id == winner.signature_id
    assert session.scalar(select(func.count(Signature.id))) == 1


def test_resend_answers_before_it_looks_the_address_up(app, client, smtp):
    # The look-up, the write and the email happen once the answer has gone out, so the
    # answer's timing cannot tell a signed address from any other.
    from flask.testing import FlaskClient

    sign(client)
    raw = FlaskClient(app, app.response_class, use_cookies=True)
    token = csrf_token(raw.get("/en/zhanaozen/resend").get_data(as_text=True))
    response = raw.post(
        "/en/zhanaozen/resend", data={"email": "aigerim@example.org", "csrf_token": token}
    )
    assert response.status_code == 200
    assert len(smtp.messages) == 1
    assert [s.emails_sent for s in signatures(app)] == [1]
    response.close()
    assert len(smtp.messages) == 2
    assert [s.emails_sent for s in signatures(app)] == [2]


def test_signing_answers_before_any_email_is_written_signed_before_or_not(app, client, smtp):
    # Whether an address had signed decides whether an email is owed (the cap, an
    # invalidated signature); the answer goes out, with the signature stored and the email
    # counted, before any email is written or queued.
    from flask.testing import FlaskClient

    app.config["MAX_EMAILS_PER_SIGNATURE"] = 2
    sign(client)
    assert len(smtp.messages) == 1
    raw = FlaskClient(app, app.response_class, use_cookies=True)
    answers = [sign(raw), sign(raw), sign(raw, email="nurlan@example.org")]
    assert [a.status_code for a in answers] == [303, 303, 303]
    assert len({a.location for a in answers}) == 1
    assert len(smtp.messages) == 1
    # Counted with the answer: the first repeat claimed the second email, the next one
    # found the cap reached.
    stored = {s.email: s.emails_sent for s in signatures(app)}
    assert stored == {"aigerim@example.org": 2, "nurlan@example.org": 1}
    for answer in answers:
        answer.close()
    # The second repeat found the cap reached: one email again, and the new signer's first.
    assert sorted(m["To"] for m in smtp.messages[1:]) == [
        "aigerim@example.org",
        "nurlan@example.org",
    ]
    assert {s.email: s.emails_sent for s in signatures(app)} == {
        "aigerim@example.org": 2,
        "nurlan@example.org": 1,
    }


def test_a_signature_invalidated_while_pending_cannot_be_confirmed(app, client, smtp):
    sign(client)
    link = confirm_link(smtp.messages[0])
    from campaign.extensions import db

    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        signature.status = SignatureStatus.INVALIDATED
        db.session.commit()
    page = client.get(link)
    token = re.search(r"token=(\S+)", link).group(1)
    done = client.post(
        "/en/confirm", data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    html = done.get_data(as_text=True)
    assert done.status_code == 400
    assert "can no longer be confirmed" in html
    assert "confirmed. Thank you" not in html
    assert count(app) == 0


@pytest.mark.parametrize(
    ("lang", "message"),
    [("en", "Not a valid choice."), ("ru", "Неверный вариант."), ("kk", "Жарамды таңдау емес.")],
)
def test_the_form_librarys_own_messages_follow_the_page_language(client, lang, message):
    # WTForms' built-in messages come from its catalog, in the language of the page, and a
    # page in one language never leaves its catalog behind for the next request.
    for _ in range(2):
        page = client.get(f"/{lang}/zhanaozen/")
        data = sign_form(display="everyone", csrf_token=csrf_token(page.get_data(as_text=True)))
        response = client.post(f"/{lang}/zhanaozen/", data=data)
        assert response.status_code == 400
        errors = re.search(r'<ul class="errors" id="display-error">(.*?)</ul>', response.text, re.S)
        assert errors and message in errors.group(1)


def test_receipts_are_three_groups_of_four_from_the_unambiguous_alphabet():
    receipts = [signing.new_receipt() for _ in range(2000)]
    assert all(
        re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", r) for r in receipts
    )
    assert len(set(receipts)) == len(receipts)
    # Every letter turns up in every position: no position is stuck or short of letters.
    for position in range(14):
        if position in (4, 9):
            continue
        assert len({r[position] for r in receipts}) == 32


def test_a_failure_while_writing_the_email_after_commit_keeps_the_signature(
    app, client, smtp, monkeypatch
):
    # The email is written once the signature is committed; if the database fails then,
    # the signer still gets the thank-you page and the signature stays, without an email.
    from sqlalchemy.exc import OperationalError

    def database_gone(session, notice):
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(confirming, "compose", database_gone)
    response = sign(client)
    assert response.status_code == 303
    assert smtp.messages == []
    assert [s.email for s in signatures(app)] == ["aigerim@example.org"]


def test_a_form_without_any_country_says_so_once(client):
    page = client.get(CAMPAIGN)
    data = sign_form(csrf_token=csrf_token(page.get_data(as_text=True)))
    del data["country"]
    response = client.post(CAMPAIGN, data=data)
    assert response.status_code == 400
    errors = re.search(r'<ul class="errors" id="country-error">(.*?)</ul>', response.text, re.S)
    assert errors.group(1).count("Please choose your country.") == 1
