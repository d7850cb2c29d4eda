"""Every button tap goes through here: its callback data is parsed once, strictly (`bot.callbacks`), and the tap
is routed by what it names. Data the bot never made (forged, empty, from an older release) just stops the spinner."""

from __future__ import annotations

from telegram import Update

from bot import callbacks
from bot.handlers import commands, followup, heatmap, other, questionnaire, reminders, report, result
from bot.services import BotContext


async def on_button(update: Update, context: BotContext) -> None:
    """Route a tap to the handler of the button it names."""
    query = update.callback_query
    assert query is not None
    match callbacks.parse(query.data):
        case callbacks.StartQuestions() as button:
            await questionnaire.start_questions(update, context, button)
        case callbacks.SkipQuestions() as button:
            await questionnaire.skip_questions(update, context, button)
        case callbacks.AnswerQuestion() as button:
            await questionnaire.answer_question(update, context, button)
        case callbacks.ChooseLanguage() as button:
            await commands.language_chosen(update, context, button)
        case callbacks.ConfirmForget() as button:
            await commands.forget_chosen(update, context, button)
        case callbacks.ChooseReminder() as button:
            await reminders.remind_chosen(update, context, button)
        case callbacks.ExplainType() as button:
            await result.explain_type(update, context, button)
        case callbacks.ShowHeatmap() as button:
            await heatmap.show_heatmap(update, context, button)
        case callbacks.SendReport() as button:
            await report.report_button(update, context, button)
        case callbacks.SameSpot() as button:
            await followup.spot_chosen(update, context, button)
        case None:
            await other.stale_button(update, context)
