# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.modules.sanitizers``.

Real file (univention/univention-corporate-server):
management/univention-management-console/src/univention/management/console/modules/sanitizers.py

Mirrors the UCS 5.x module: a ``Sanitizer(**kwargs)`` knows ``required``, ``default``,
``may_change_value``, ``allow_none`` and ``further_arguments``; ``sanitize(name, options)``
returns the default for a missing optional option, raises ``ValidationError`` ("Argument
required") for a missing required one, and otherwise returns ``_sanitize``'s value. Messages
are %-formatted with the sanitizer's attributes plus name and value, as in the original.
``DictSanitizer`` and ``ListSanitizer`` collect their fields' errors in a
``MultiValidationError`` whose ``result()`` maps each field (or list index) to its message.
Left out: ``SearchSanitizer``, ``LDAPSearchSanitizer``, ``PatternSanitizer``,
``EmailSanitizer`` and ``MappingSanitizer``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import ldap.dn

from univention.lib.i18n import Translation

_ = Translation("univention.management.console").translate


class UnformattedValidationError(Exception):
    def __init__(self, msg: str, kwargs: Mapping[str, Any]) -> None:
        self.msg = msg
        self.kwargs = kwargs

    def __str__(self) -> str:
        return self.msg


class ValidationError(Exception):
    def __init__(self, msg: str, name: str, value: Any) -> None:
        self.msg = msg
        self.name = name
        self.value = value

    def __str__(self) -> str:
        return self.msg

    def number_of_errors(self) -> int:
        return 1

    def result(self) -> Any:
        return self.msg


class MultiValidationError(ValidationError):
    def __init__(self) -> None:
        self.validation_errors: dict[int | str, ValidationError] = {}

    def add_error(self, e: ValidationError, name: int | str) -> None:
        self.validation_errors[name] = e

    def number_of_errors(self) -> int:
        return sum(error.number_of_errors() for error in self.validation_errors.values())

    def __str__(self) -> str:
        return _("%d error(s) occurred") % self.number_of_errors()

    def has_errors(self) -> bool:
        return bool(self.validation_errors)

    def result(self) -> dict[int | str, Any]:
        return {name: error.result() for name, error in self.validation_errors.items()}


class Sanitizer:
    def __init__(self, **kwargs: Any) -> None:
        self.further_arguments = kwargs.get("further_arguments")
        self.required = kwargs.get("required", False)
        self.default = kwargs.get("default")
        self.may_change_value = kwargs.get("may_change_value", True)
        self.allow_none = kwargs.get("allow_none", False)

    def sanitize(self, name: str, options: Mapping[str, Any]) -> Any:
        if name not in options:
            if self.required:
                self.raise_formatted_validation_error(_("Argument required"), name, None)
            return self.default
        value = options[name]
        if value is None and self.allow_none:
            return value
        further = {field: options.get(field) for field in self.further_arguments or ()}
        try:
            new_value = self._sanitize(value, name, further)
        except UnformattedValidationError as error:
            self.raise_formatted_validation_error(str(error), name, value, **error.kwargs)
        return new_value if self.may_change_value else value

    def _sanitize(self, value: Any, name: str, further_arguments: Mapping[str, Any]) -> Any:
        return value

    def raise_validation_error(self, msg: str, **kwargs: Any) -> NoReturn:
        raise UnformattedValidationError(msg, kwargs)

    def raise_formatted_validation_error(
        self, msg: str, name: str, value: Any, **kwargs: Any
    ) -> NoReturn:
        format_dict = {"value": value, "name": name, **kwargs, **self.__dict__}
        raise ValidationError(msg % format_dict, name, value)


class DictSanitizer(Sanitizer):
    def __init__(
        self,
        sanitizers: dict[str, Sanitizer],
        allow_other_keys: bool = True,
        default_sanitizer: Sanitizer | None = None,
        **kwargs: Any,
    ) -> None:
        self._copy_value = kwargs.pop("_copy_value", True)
        super().__init__(**kwargs)
        self.sanitizers = sanitizers
        self.default_sanitizer = default_sanitizer
        self.allow_other_keys = allow_other_keys

    def _sanitize(self, value: Any, name: str, further_arguments: Mapping[str, Any]) -> Any:
        if not isinstance(value, dict):
            self.raise_formatted_validation_error(_('Not a "dict"'), name, type(value).__name__)
        if not self.allow_other_keys and any(key not in self.sanitizers for key in value):
            self.raise_validation_error(_("Has more than the allowed keys"))
        altered = copy.deepcopy(value) if self._copy_value else value
        errors = MultiValidationError()
        for attr in set(value) | set(self.sanitizers):
            sanitizer = self.sanitizers.get(attr, self.default_sanitizer)
            try:
                if sanitizer:
                    altered[attr] = sanitizer.sanitize(attr, value)
            except ValidationError as error:
                errors.add_error(error, attr)
        if errors.has_errors():
            raise errors
        return altered


class ListSanitizer(Sanitizer):
    def __init__(
        self,
        sanitizer: Sanitizer | None = None,
        min_elements: int | None = None,
        max_elements: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sanitizer = sanitizer
        self.min_elements = min_elements
        self.max_elements = max_elements

    def _sanitize(self, value: Any, name: str, further_arguments: Mapping[str, Any]) -> Any:
        if not isinstance(value, list):
            self.raise_formatted_validation_error(_('Not a "list"'), name, type(value).__name__)
        if self.min_elements is not None and len(value) < self.min_elements:
            self.raise_validation_error(_("Must have at least %(min_elements)d element(s)"))
        if self.max_elements is not None and len(value) > self.max_elements:
            self.raise_validation_error(_("May have at most %(max_elements)d element(s)"))
        if self.sanitizer is None:
            return value
        errors = MultiValidationError()
        altered = []
        for index, item in enumerate(value):
            element = f"Element #{index}"
            try:
                altered.append(self.sanitizer.sanitize(element, {element: item}))
            except ValidationError as error:
                errors.add_error(error, index)
        if errors.has_errors():
            raise errors
        return altered


class BooleanSanitizer(Sanitizer):
    def _sanitize(self, value: Any, name: str, further_arguments: Mapping[str, Any]) -> bool:
        try:
            return bool(value)
        except Exception:
            self.raise_validation_error(_("Cannot be converted to a boolean"))


class IntegerSanitizer(Sanitizer):
    def __init__(
        self,
        minimum: int | None = None,
        maximum: int | None = None,
        minimum_strict: bool | None = None,
        maximum_strict: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum
        self.minimum_strict = minimum_strict
        self.maximum_strict = maximum_strict

    def _sanitize(self, value: Any, name: str, further_arguments: Mapping[str, Any]) -> int:
        try:
            number = int(value)
        except (ValueError, TypeError):
            self.raise_validation_error(_("Cannot be converted to a number"))
        if self.minimum is not None:
            if self.minimum_strict and not number > self.minimum:
                self.raise_validation_error(_("Should stay %s") % "> %(minimum)d")
            if not self.minimum_strict and not number >= self.minimum:
                self.raise_validation_error(_("Should stay %s") % ">= %(minimum)d")
        if self.maximum is not None:
            if self.maximum_strict and not number < self.maximum:
                self.raise_validation_error(_("Should stay %s") % "< %(maximum)d")
            if not self.maximum_strict and not number <= self.maximum:
                self.raise_validation_error(_("Should stay %s") % "<= %(maximum)d")
        return number


class StringSanitizer(Sanitizer):
    def __init__(
        self,
        regex_pattern: str | re.Pattern[str] | None = None,
        re_flags: int = 0,
        minimum: int | None = None,
        maximum: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(regex_pattern, str):
            regex_pattern = re.compile(regex_pattern, flags=re_flags)
        self.minimum = minimum
        self.maximum = maximum
        self.regex_pattern = regex_pattern

    def _sanitize(self, value: Any, name: str, further_arguments: Mapping[str, Any]) -> Any:
        if not isinstance(value, str):
            self.raise_validation_error(_("Value is not a string"))
        if self.minimum and len(value) < self.minimum:
            self.raise_validation_error(
                _("Value is too short, it has to be at least of length %(minimum)d")
            )
        if self.maximum and len(value) > self.maximum:
            self.raise_validation_error(
                _("Value is too long, it has to be at most of length %(maximum)d")
            )
        if self.regex_pattern and not self.regex_pattern.search(value):
            self.raise_validation_error(_("Value is invalid"))
        return value


class DNSanitizer(StringSanitizer):
    def _sanitize(self, value: Any, name: str, further_arguments: Mapping[str, Any]) -> Any:
        value = super()._sanitize(value, name, further_arguments)
        try:
            ldap.dn.str2dn(value)
        except ldap.DECODING_ERROR:
            self.raise_validation_error(_("Value is not a LDAP DN."))
        return value


class ChoicesSanitizer(Sanitizer):
    def __init__(self, choices: Iterable[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = list(choices)

    def _sanitize(self, value: Any, name: str, further_arguments: Mapping[str, Any]) -> Any:
        for choice in self.choices:
            if choice == value:
                return choice  # the choice, not the value: 1 == True
        self.raise_validation_error(_("Value has to be one of %(choices)r"))


__all__ = [
    "BooleanSanitizer",
    "ChoicesSanitizer",
    "DNSanitizer",
    "DictSanitizer",
    "IntegerSanitizer",
    "ListSanitizer",
    "MultiValidationError",
    "Sanitizer",
    "StringSanitizer",
    "UnformattedValidationError",
    "ValidationError",
]
