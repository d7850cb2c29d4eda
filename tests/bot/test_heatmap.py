""""Where did you look?": the palette is viridis, the map lands where the model's cells are, the spot's outline
stays readable, the photo lives only in a bounded in-memory cache, and the button sends the picture with its line."""

import io

import numpy as np
import pytest
from PIL import Image

from bot import heatmap
from bot.app import running
from bot.messages import LANGUAGES, load_catalog
from bot.result_cache import ResultCache
from inference.decode import decode
from inference.preprocess import to_model_input

from .conftest import make_config, make_env
from .fakes import FakeAnalyzer
from .v2 import peaked_cam, spot_photo, v2

CATALOG = load_catalog()


def pixels(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float64)


def test_palette_is_matplotlibs_viridis():
    colormaps = pytest.importorskip("matplotlib").colormaps  # installed with the train extra, as in CI
    x = np.linspace(0, 1, 257)
    expected = np.round(np.array([colormaps["viridis"](v)[:3] for v in x]) * 255)
    assert np.abs(heatmap.palette(x).astype(float) - expected).max() <= 5
    luminance = heatmap.palette(x).astype(float) @ [0.299, 0.587, 0.114]
    assert np.all(np.diff(luminance) > -1.0)  # brightness rises steadily: readable without colour vision


def test_the_kept_square_is_what_the_model_saw():
    photo = spot_photo(size=(900, 500), spot=(300, 250))
    square = pixels(heatmap.prepare(photo))
    assert square.shape == (500, 500, 3)
    decoded = decode(photo).image
    assert decoded is not None
    model = to_model_input(decoded, 224).astype(np.float64)
    shrunk = np.asarray(Image.fromarray(square.astype(np.uint8)).resize((224, 224), Image.Resampling.BILINEAR))
    assert np.abs(shrunk - model).mean() < 6  # same crop, only resampling differs


def test_the_map_is_brightest_where_its_peak_cell_is_and_the_outline_stays_readable():
    photo = heatmap.prepare(spot_photo(size=(512, 512), spot=(256, 256)))
    cam = peaked_cam(3, 3)  # the centre cell: on the spot
    picture = pixels(heatmap.overlay(photo, cam))
    side = 512
    assert picture.shape == (side + heatmap.LEGEND_PX, side, 3)
    square = picture[:side]
    original = pixels(photo)
    tint = np.abs(square - original).sum(axis=2)
    centre, corner = tint[230:280, 230:280].mean(), tint[:40, :40].mean()
    assert centre > corner  # the peak cell is coloured most
    lum = [0.299, 0.587, 0.114]
    before = original[:, :, :] @ lum
    after = square @ lum
    # The spot (dark disc of radius 64) against the skin next to it, before and after: most of the contrast is kept.
    contrast_before = before[256, 340:380].mean() - before[256, 236:276].mean()
    contrast_after = after[256, 340:380].mean() - after[256, 236:276].mean()
    assert contrast_after > 0.45 * contrast_before > 0


def test_a_flat_map_tints_evenly():
    photo = heatmap.prepare(spot_photo(size=(300, 300)))
    tint = np.abs(pixels(heatmap.overlay(photo, [[0.5] * 7] * 7))[:300] - pixels(photo)).sum(axis=2)
    assert tint[:50, :50].mean() == pytest.approx(tint[-50:, -50:].mean(), abs=4)


def test_bad_inputs_raise_heatmap_errors():
    with pytest.raises(heatmap.HeatmapError):
        heatmap.prepare(b"not an image")
    with pytest.raises(heatmap.HeatmapError):
        heatmap.overlay(heatmap.prepare(spot_photo()), [])


def test_cache_is_bounded_expires_and_keeps_users_apart():
    now = [0.0]
    cache = ResultCache(2, 60.0, clock=lambda: now[0])
    for key in (1, 2, 3):
        cache.put(key, 7, b"jpeg", ((0.0,),))
    assert cache.get(1, 7) is None and cache.get(2, 7) is not None and len(cache) == 2  # least recent dropped
    assert cache.get(3, 8) is None  # another user's result
    now[0] = 61.0
    assert cache.get(2, 7) is None and len(cache) == 1  # expired and dropped
    cache.put(4, 8, b"jpeg", ((0.0,),))
    assert cache.forget_user(8) == 1 and cache.get(4, 8) is None
    empty = ResultCache(0, 60.0)
    empty.put(1, 7, b"jpeg", ((0.0,),))
    assert len(empty) == 0


PHOTO, OTHER, FLAT = spot_photo(1), spot_photo(2), spot_photo(3)


def analyzer():
    return FakeAnalyzer(results={PHOTO: v2(PHOTO, "medium", 0.4, cam=peaked_cam(3, 3)),
                                 OTHER: v2(OTHER, "low", 0.1, cam=peaked_cam(1, 5)),
                                 FLAT: v2(FLAT, "low", 0.1)})  # no map: an older model


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_the_button_sends_the_picture_with_what_it_means(tmp_path, lang):
    env = make_env(make_config(tmp_path), analyzer())
    async with running(env.application):
        chat = env.chat(language_code=lang)
        await chat.photo(PHOTO)
        result = env.telegram.last_message_id(chat.user_id)
        await chat.press_label(CATALOG.text(lang, "buttons.heatmap"))
        ((picture, caption),) = env.telegram.uploads("sendPhoto")
        assert caption == CATALOG.text(lang, "heatmap.caption")
        assert pixels(picture).shape[1] == pixels(heatmap.prepare(PHOTO)).shape[1]
        # After the questions the advice offers it again, with the report.
        await chat.press_label(CATALOG.text(lang, "buttons.skip_questions"))
        labels = [label for label, _ in env.telegram.buttons(chat.user_id, result)]
        assert CATALOG.text(lang, "buttons.heatmap") in labels and CATALOG.text(lang, "buttons.report") in labels


async def test_an_old_result_asks_for_the_photo_again_and_nothing_is_written(tmp_path):
    env = make_env(make_config(tmp_path, result_cache_size=1), analyzer())
    async with running(env.application):
        chat = env.chat()
        await chat.photo(PHOTO)
        first = env.telegram.last_message_id(chat.user_id)
        await chat.photo(OTHER)  # the cache holds one result: the first photo is dropped
        (data,) = [d for label, d in env.telegram.buttons(chat.user_id, first) if d.startswith("cam:")]
        await chat.press(first, data)
        answer = env.telegram.sent("answerCallbackQuery")[-1].params
        assert answer["text"] == CATALOG.text("en", "heatmap.expired") and answer["show_alert"] is True
        assert env.telegram.uploads("sendPhoto") == []
        assert not (tmp_path / "photos").exists()  # keep_photos is off: no file anywhere


async def test_no_button_without_a_map_and_forget_drops_the_kept_photos(tmp_path):
    env = make_env(make_config(tmp_path), analyzer())
    async with running(env.application):
        chat = env.chat()
        await chat.photo(FLAT)
        labels = [label for label, _ in env.telegram.buttons(chat.user_id, env.telegram.last_message_id(chat.user_id))]
        assert "Where did you look?" not in labels
        await chat.photo(PHOTO)
        services = env.application.bot_data["skinbot.services"]
        assert len(services.results) == 1
        await chat.text("/forget")
        await chat.press_label("Yes, delete everything")
        assert len(services.results) == 0
