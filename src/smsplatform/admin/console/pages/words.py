"""The sensitive-word list: search it, add words, import a list file, remove words."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import words
from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.console import forms
from smsplatform.admin.console.site import console_of, tr
from smsplatform.admin.console.views import done, posted_form, view

PAGE_SIZE = 200
# A list file larger than this is refused: the list is read in one piece and kept in every process.
MAX_IMPORT_BYTES = 8 * 1024 * 1024


@view()
async def word_list(request: Request, actor: Actor) -> Response:
    query = request.query_params
    needle = forms.text(query, "q").casefold()
    listed = await console_of(request).read(words.list_words, actor)
    shown = [w for w in listed if needle in w.word.casefold()] if needle else listed
    offset = max(forms.optional_int(query, "offset") or 0, 0)
    return console_of(request).render(
        request,
        "words.html",
        {
            "total": len(listed),
            "matching": len(shown),
            "words": shown[offset : offset + PAGE_SIZE],
            "q": forms.text(query, "q"),
            "next_offset": offset + PAGE_SIZE if offset + PAGE_SIZE < len(shown) else None,
            "prev_offset": max(offset - PAGE_SIZE, 0) if offset else None,
        },
    )


def _changed(request: Request, key: str, change: words.WordsChange) -> Response:
    text = tr(request, key, count=len(change.changed))
    if change.unchanged:
        text += " " + tr(request, "words.unchanged", words="、".join(change.unchanged[:20]))
    return done(request, "/words", text)


@view(Permission.MANAGE)
async def add_words(request: Request, actor: Actor) -> Response:
    given = words.lines_of(forms.text(await posted_form(request), "words"))
    return _changed(request, "words.added", await console_of(request).write(words.add_words, actor, given))


@view(Permission.MANAGE)
async def import_words(request: Request, actor: Actor) -> Response:
    upload = (await posted_form(request)).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValueError(tr(request, "words.no_file"))
    data = await upload.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise ValueError(tr(request, "words.file_too_large", mb=MAX_IMPORT_BYTES // (1024 * 1024)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # list files made on Chinese Windows
        except UnicodeDecodeError:
            raise ValueError(tr(request, "words.not_text")) from None
    change = await console_of(request).write(words.import_words, actor, text)
    return _changed(request, "words.added", change)


@view(Permission.MANAGE)
async def remove_words(request: Request, actor: Actor) -> Response:
    form = await posted_form(request)
    given = [w for w in form.getlist("word") if isinstance(w, str)]
    change = await console_of(request).write(words.remove_words, actor, given)
    return _changed(request, "words.removed", change)


def routes() -> list[BaseRoute]:
    return [
        Route("/words", word_list, methods=["GET"]),
        Route("/words", add_words, methods=["POST"]),
        Route("/words/import", import_words, methods=["POST"]),
        Route("/words/remove", remove_words, methods=["POST"]),
    ]
