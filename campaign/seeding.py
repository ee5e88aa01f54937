"""Loading campaigns and the embassy directory from the data files in ``seeds/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import markdown
import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from campaign import counting, countries
from campaign.models import Campaign, CampaignText, Embassy, EmbassyCountry

# Path segments that public pages use next to campaign slugs.
RESERVED_SLUGS = {"confirm", "privacy", "embassies", "embed", "static", "s", "links", "healthz"}
_CAMPAIGN_FIELDS = ("goal", "is_default", "comments_enabled", "source", "source_language")


class SeedError(ValueError):
    """A seed file that cannot be loaded, with the file named."""


@dataclass
class SeedReport:
    """What a load changed, for the command line."""

    campaigns: list[str] = field(default_factory=list)
    embassies: int = 0


def load_all(session: Session, seeds_dir: str | Path, languages: tuple[str, ...]) -> SeedReport:
    """Create or update every campaign and the embassy directory; safe to run again."""
    root = Path(seeds_dir)
    report = SeedReport()
    for folder in sorted(p for p in (root / "campaigns").iterdir() if p.is_dir()):
        report.campaigns.append(load_campaign(session, folder, languages).slug)
    directory = root / "embassies.yaml"
    if directory.exists():
        report.embassies = load_embassies(session, directory)
    session.flush()
    return report


def load_campaign(session: Session, folder: Path, languages: tuple[str, ...]) -> Campaign:
    """Create or update one campaign from its folder."""
    settings = _yaml(folder / "campaign.yaml")
    slug = str(settings.get("slug") or folder.name)
    if slug in RESERVED_SLUGS or not slug.replace("-", "").isalnum():
        raise SeedError(f"{folder}: slug {slug!r} cannot be used")
    if "goal" not in settings:
        raise SeedError(f"{folder}/campaign.yaml: goal is required")

    campaign = session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        campaign = Campaign(slug=slug, goal=int(settings["goal"]))
        session.add(campaign)
    for name in _CAMPAIGN_FIELDS:
        if name in settings:
            setattr(campaign, name, settings[name])
    session.flush()
    counting.ensure_slices(session, campaign.id)
    if campaign.is_default:
        for other in session.scalars(select(Campaign).where(Campaign.id != campaign.id)):
            other.is_default = False

    existing = {text.locale: text for text in campaign.texts}
    for lang in languages:
        path = folder / f"{lang}.md"
        if not path.exists():
            continue
        values = _text_values(path)
        text = existing.get(lang)
        if text is None:
            campaign.texts.append(CampaignText(locale=lang, **values))
        else:
            for name, value in values.items():
                setattr(text, name, value)
    if languages[0] not in {t.locale for t in campaign.texts}:
        raise SeedError(f"{folder}: {languages[0]}.md is required")
    session.flush()
    return campaign


def _text_values(path: Path) -> dict[str, Any]:
    try:
        post = frontmatter.load(str(path))
    except (yaml.YAMLError, ValueError) as error:
        raise SeedError(f"{path}: {error}") from error
    meta = post.metadata
    demands = meta.get("demands") or []
    if not all(isinstance(d, dict) and d.get("title") for d in demands):
        raise SeedError(f"{path}: each demand needs a title and a text")
    for name in ("title", "summary"):
        if not meta.get(name):
            raise SeedError(f"{path}: {name} is required")
    return {
        "title": str(meta["title"]),
        "summary": str(meta["summary"]),
        "addressed_to": str(meta.get("addressed_to", "")),
        "share_text": str(meta.get("share_text", "")),
        "demands": [{"title": str(d["title"]), "text": str(d.get("text", ""))} for d in demands],
        # The files are the organisers' own; Markdown's HTML is trusted as theirs.
        "background_html": markdown.markdown(post.content),
    }


def load_embassies(session: Session, path: Path) -> int:
    """Replace the country mapping and create or update embassies from the directory file."""
    entries = _yaml(path).get("embassies") or []
    known = countries.codes()
    by_key = {e.key: e for e in session.scalars(select(Embassy))}
    session.execute(delete(EmbassyCountry))
    claimed: dict[str, str] = {}
    for entry in entries:
        key = str(entry["key"])
        embassy = by_key.get(key) or Embassy(key=key, name="", country="")
        if embassy.id is None:
            session.add(embassy)
        for name in ("name", "city", "country", "address", "phone", "email", "website", "source"):
            setattr(embassy, name, str(entry.get(name) or ""))
        embassy.verified = bool(entry.get("verified", False))
        session.flush()
        for code in entry.get("accredited") or [embassy.country]:
            if code not in known:
                raise SeedError(f"{path}: {key}: {code!r} is not an ISO 3166 country code")
            if code in claimed:
                raise SeedError(f"{path}: {code} is claimed by {claimed[code]} and {key}")
            claimed[code] = key
            session.add(EmbassyCountry(country=code, embassy_id=embassy.id))
    session.flush()
    return len(entries)


def _yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as error:
        raise SeedError(f"{path}: {error}") from error
    if not isinstance(data, dict):
        raise SeedError(f"{path}: expected a mapping")
    return data
