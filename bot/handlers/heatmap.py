""""Where did you look?": send the photo's square back with the model's class-activation map over it, while the
result's photo is still in memory (`bot.result_cache`); afterwards, ask for the photo again."""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile, Update

from bot import heatmap
from bot.callbacks import ShowHeatmap
from bot.services import BotContext

logger = logging.getLogger(__name__)


async def show_heatmap(update: Update, context: BotContext, button: ShowHeatmap) -> None:
    """Draw and send the heatmap of the result the button belongs to, with one line on what it means."""
    s = context.services
    query = update.callback_query
    assert query is not None and query.message is not None
    lang = await context.language()
    entry = s.results.get(button.assessment_id, query.from_user.id)
    if entry is None:
        await query.answer(s.text(lang, "heatmap.expired"), show_alert=True)
        return
    await query.answer()
    try:
        picture = await asyncio.to_thread(heatmap.overlay, entry.square_jpeg, entry.cam)
    except heatmap.HeatmapError as exc:
        logger.warning("heatmap failed: %s", exc)
        await query.message.chat.send_message(s.text(lang, "heatmap.failed"))
        return
    await query.message.chat.send_photo(InputFile(picture, filename="heatmap.jpg"),
                                        caption=s.text(lang, "heatmap.caption"))
