"""Country lists in the reader's alphabetical order."""

from __future__ import annotations

import re

from campaign import countries


def _names(locale: str) -> list[str]:
    return [name for _code, name in countries.choices(locale)]


def test_kazakh_letters_sit_in_the_kazakh_alphabet_not_after_ya():
    names = _names("kk")
    assert names.index("Кюрасао") < names.index("Қазақстан") < names.index("Қырғызстан")
    assert names.index("Парагвай") < names.index("Пәкістан") < names.index("Перу")
    assert names.index("Түркия") < names.index("Ұлыбритания") < names.index("Ямайка")
    assert names[-1] == "Ямайка"


def test_latin_letters_with_marks_sort_with_their_base_letter():
    names = _names("en")
    ivory_coast = "Côte d’Ivoire"  # noqa: RUF001 - CLDR's apostrophe
    assert names.index("Costa Rica") < names.index(ivory_coast) < names.index("Croatia")
    assert names.index("Afghanistan") < names.index("Åland Islands") < names.index("Albania")
    assert names[-1] == "Zimbabwe"


def test_russian_keeps_yo_and_short_i_as_letters_of_their_own():
    key = countries.sort_key("ru")
    letters = "ЖЁЕЙИК"
    assert "".join(sorted(letters, key=key)) == "ЕЁЖИЙК"


def test_the_sign_forms_country_list_follows_the_pages_language(client):
    html = client.get("/kk/zhanaozen/").get_data(as_text=True)
    options = re.findall(r'<option value="([A-Z]{2})"', html)
    shown = [countries.name(code, "kk") for code in options]
    assert shown.index("Қазақстан") < shown.index("Латвия")
