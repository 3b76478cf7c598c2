# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.lib.i18n`` (gettext translations of UCS Python code).

Mirrors base/univention-lib/python/univention/lib/i18n.py of UCS 5.x:
``NullTranslation(namespace, locale_spec=None, localedir=None)`` turns the namespace into a
gettext domain ("/" and "." become "-") and translates with ``translate`` (alias ``_``);
``Translation`` shares one class-wide ``Locale`` between all instances, ``set_language``
loads ``<localedir>/<lang>/LC_MESSAGES/<domain>.mo`` (no catalogue: messages stay as they
are) and ``set_all_languages`` switches every instance. Without a language it falls back to
the process locale, else "C". Left out: codeset and modifier handling in ``Locale``.
"""

from __future__ import annotations

import gettext
import locale as _locale
import re
import weakref
from typing import Any, ClassVar


class I18N_Error(Exception):
    pass


class Locale:
    REGEX = re.compile(
        r"^(?P<language>([a-z]{2}|C|POSIX))(?:_(?P<territory>[A-Z]{2}))?"
        r"(?:\.(?P<codeset>[a-zA-Z-0-9]+))?(?:@(?P<modifier>.+))?$"
    )

    def __init__(self, locale: str | None = None) -> None:
        self.language = ""
        self.territory = ""
        self.codeset = ""
        self.modifier = ""
        if locale:
            self.parse(locale)

    def parse(self, locale: str) -> None:
        match = self.REGEX.match(locale)
        if not match:
            raise I18N_Error(
                "attribute does not match locale specification "
                "language[_territory][.codeset][@modifier]"
            )
        self.codeset = "UTF-8"
        for key, value in match.groupdict().items():
            if value is not None:
                setattr(self, key, value)

    def __bool__(self) -> bool:
        return bool(self.language)


class NullTranslation:
    def __init__(
        self, namespace: str | None, locale_spec: str | None = None, localedir: str | None = None
    ) -> None:
        self._domain = namespace.replace("/", "-").replace(".", "-") if namespace else None
        self._translation: gettext.NullTranslations | None = None
        self._localedir = localedir
        self._locale = locale_spec
        if not self._locale:
            self.set_language()

    def set_language(self, language: str = "") -> None:
        """The dummy translation has no languages."""

    def translate(self, message: str) -> str:
        if self._translation is None:
            return message
        return self._translation.gettext(message)

    _ = translate


class Translation(NullTranslation):
    _instances: ClassVar[list[weakref.ReferenceType[Translation]]] = []
    locale = Locale()

    def __new__(cls, *args: Any, **kwargs: Any) -> Translation:
        self = object.__new__(cls)
        cls._instances.append(weakref.ref(self))
        cls._instances = [ref for ref in cls._instances if ref() is not None]
        return self

    def set_language(self, language: str = "") -> None:
        if language:
            Translation.locale.parse(language)
        if not Translation.locale:
            try:
                current = _locale.getlocale(_locale.LC_MESSAGES)[0] or "C"
                Translation.locale.parse(current)
            except (_locale.Error, I18N_Error) as exc:
                raise I18N_Error(f"The given locale is not valid: {exc}") from exc
        if not self._domain:
            return
        current_locale = Translation.locale
        candidates = (
            (current_locale.language,),
            (f"{current_locale.language}_{current_locale.territory}",),
        )
        self._translation = None
        for languages in candidates:
            try:
                self._translation = gettext.translation(
                    self._domain, languages=languages, localedir=self._localedir
                )
                break
            except OSError:
                continue

    @classmethod
    def set_all_languages(cls, language: str) -> None:
        for ref in cls._instances:
            instance = ref()
            if instance is not None:
                instance.set_language(language)
