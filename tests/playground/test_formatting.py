import pytest

from playground.formatting import EntityParseError, parse_html, utf16_len


def test_html_becomes_text_and_entities_with_utf16_offsets():
    text, entities = parse_html('🙂 <b>bold <i>both</i></b> &lt;3 <a href="https://x.org">link</a>')
    assert text == "🙂 bold both <3 link"
    # the emoji counts as 2 UTF-16 units, as in Telegram
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 16, "length": 4, "url": "https://x.org"},
    ]


@pytest.mark.parametrize("source", ["a < b", "<b>open", "<b>x</i>", "<blink>x</blink>", '<a href="">x</a>', "x <3"])
def test_invalid_html_is_refused_like_telegram(source):
    with pytest.raises(EntityParseError):
        parse_html(source)


def test_utf16_len_counts_surrogate_pairs():
    assert utf16_len("a🙂한") == 4
