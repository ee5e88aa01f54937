"""Campaigns and the embassy directory load from seeds/; loading twice changes nothing."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from campaign import counting, seeding
from campaign.models import Campaign, CampaignText, Embassy, EmbassyCountry, SignatureCount


def _counts(session):
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Campaign, CampaignText, Embassy, EmbassyCountry, SignatureCount)
    )


def test_seed_command_twice_is_idempotent(runner, session):
    before = _counts(session)
    first = runner.invoke(args=["seed"])
    second = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "zhanaozen" in second.output
    session.expire_all()
    assert _counts(session) == before
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    assert campaign.is_default
    assert {t.locale for t in campaign.texts} == {"en", "ru", "kk"}
    english = next(t for t in campaign.texts if t.locale == "en")
    assert english.demands[0]["title"].startswith("Free Natalia Sokolova")
    assert len(english.demands) == 3
    assert "16,000" in english.background_html
    assert session.scalar(select(func.count()).select_from(SignatureCount)) == counting.SHARDS


def test_seed_updates_changed_content_and_adds_a_campaign(app, session, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(app.config["SEEDS_DIR"], seeds)
    text = seeds / "campaigns" / "zhanaozen" / "en.md"
    text.write_text(text.read_text().replace("Solidarity with", "Stand with"))
    second = seeds / "campaigns" / "second"
    second.mkdir()
    (second / "campaign.yaml").write_text("slug: second\ngoal: 500\n")
    (second / "en.md").write_text(
        "---\ntitle: Second\nsummary: Another\ndemands:\n  - title: One\n    text: Two\n---\nBody\n"
    )
    seeding.load_all(session, seeds, ("en", "ru", "kk"))
    session.commit()
    titles = {
        t.title for t in session.scalars(select(CampaignText).where(CampaignText.locale == "en"))
    }
    assert "Stand with the oil workers of Zhanaozen" in titles
    assert "Second" in titles
    default = session.scalar(select(Campaign).where(Campaign.is_default))
    assert default.slug == "zhanaozen"
    assert app.test_client().get("/en/second/").status_code == 200


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("slug: confirm\ngoal: 1\n", "cannot be used"),
        ("slug: ok\n", "goal is required"),
    ],
)
def test_bad_seed_is_refused_with_the_file_named(session, tmp_path, settings, message):
    folder = tmp_path / "campaigns" / "bad"
    folder.mkdir(parents=True)
    (folder / "campaign.yaml").write_text(settings)
    (folder / "en.md").write_text("---\ntitle: T\nsummary: S\n---\n")
    with pytest.raises(seeding.SeedError, match=message):
        seeding.load_all(session, tmp_path, ("en",))


def test_embassy_directory_maps_each_country_once(session):
    embassies = list(session.scalars(select(Embassy)))
    assert len(embassies) > 50
    assert not any(e.verified for e in embassies)
    gb = session.get(EmbassyCountry, "GB")
    assert gb is not None and gb.embassy.city == "London"
    assert session.get(EmbassyCountry, "IE").embassy.key == gb.embassy.key
