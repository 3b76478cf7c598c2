# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""Test stand-in for ``univention.management.console.modules.decorators``.

Real file (univention/univention-corporate-server):
management/univention-management-console/src/univention/management/console/modules/decorators.py

Mirrors the UCS 5.x module:
- ``sanitize(**sanitizers)`` (or ``sanitize(sanitizer)`` for a list of options) replaces
  ``request.options`` with the sanitized options before the command runs; a failed sanitizer
  raises ``UnprocessableEntity(str(error), result=error.result())``, the result mapping each
  option name to its message.
- ``simple_response(function=None, with_flavor=None, with_progress=False,
  with_request=False)``: the command is called with its options as arguments (an argument
  without a default is required, "Argument required" otherwise) and its return value is the
  result. ``with_flavor``/``with_request`` pass the flavor/the request as the argument named
  "flavor"/"request" (or the given name). ``with_progress`` creates a ``Progress`` with
  ``self.new_progress()``, answers at once with ``progress.initialised()`` and runs the
  command in a thread, with the progress as argument "progress"; its result or exception
  goes to the progress (``finish_with_result``/``exception``), validation included.
- ``threaded``: runs the command ``(self, request)`` in a thread; its return value or
  exception is passed to ``self.thread_finished_callback(thread, result, request)``.
The original runs threads on tornado's executor; these are plain daemon threads.
Left out: ``multi_response``, ``log``, ``file_upload``, ``reloading_ucr``,
``require_password``, ``allow_get_request``.
"""

from __future__ import annotations

import inspect
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from univention.management.console.error import UnprocessableEntity
from univention.management.console.modules.sanitizers import (
    DictSanitizer,
    ListSanitizer,
    MultiValidationError,
    Sanitizer,
    ValidationError,
)


def sanitize(*args: Sanitizer, **kwargs: Sanitizer) -> Callable[[Callable], Callable]:
    if args:
        return sanitize_list(args[0], **kwargs)
    return sanitize_dict(kwargs)


def sanitize_list(sanitizer: Sanitizer, **kwargs: Any) -> Callable[[Callable], Callable]:
    parameters = {"default": [], "required": True, "may_change_value": True, **kwargs}
    return lambda function: _sanitize(function, ListSanitizer(sanitizer, **parameters))


def sanitize_dict(sanitized_attrs: dict[str, Sanitizer], **kwargs: Any) -> Callable:
    parameters = {"default": {}, "required": True, "may_change_value": True, **kwargs}
    return lambda function: _sanitize(function, DictSanitizer(sanitized_attrs, **parameters))


def _sanitize(function: Callable, sanitizer: Sanitizer) -> Callable:
    def _response(self: Any, request: Any) -> Any:
        request.options = sanitize_args(
            sanitizer, "request.options", {"request.options": request.options}
        )
        return function(self, request)

    copy_function_meta_data(function, _response)
    return _response


def sanitize_args(sanitizer: Sanitizer, name: str, args: dict[str, Any]) -> Any:
    try:
        try:
            return sanitizer.sanitize(name, args)
        except MultiValidationError:
            raise
        except ValidationError as exc:
            multi_error = MultiValidationError()
            multi_error.add_error(exc, name)
            raise multi_error from exc
    except MultiValidationError as exc:
        raise UnprocessableEntity(str(exc), result=exc.result()) from exc


class SimpleThread:
    """Run ``function`` in a thread; ``callback(thread, result_or_exception)`` when done."""

    def __init__(self, name: str, function: Callable, callback: Callable) -> None:
        self._name = name
        self._function = function
        self._callback = callback
        self._result: Any = None
        self._trace: list[str] | None = None
        self._exc_info: tuple[Any, ...] | None = None
        self._finished = False

    def run(self, *args: Any, **kwargs: Any) -> None:
        threading.Thread(target=self._run, args=args, kwargs=kwargs, daemon=True).start()

    def _run(self, *args: Any, **kwargs: Any) -> None:
        try:
            self._result = self._function(*args, **kwargs)
        except BaseException as exc:
            etype, value, tb = sys.exc_info()
            self._trace = traceback.format_tb(tb)
            self._exc_info = (etype, value, None)
            self._result = exc
        self._finished = True
        self._callback(self, self._result)

    @property
    def name(self) -> str:
        return self._name

    @property
    def result(self) -> Any:
        return self._result

    @property
    def trace(self) -> list[str] | None:
        return self._trace

    @property
    def exc_info(self) -> tuple[Any, ...] | None:
        return self._exc_info

    @property
    def finished(self) -> bool:
        return self._finished


def threaded(function: Callable) -> Callable:
    def _response(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        thread = SimpleThread(
            "@threaded",
            function,
            lambda thread, result: self.thread_finished_callback(thread, result, request),
        )
        thread.run(self, request, *args, **kwargs)

    copy_function_meta_data(function, _response)
    return _response


def simple_response(
    function: Callable | None = None,
    with_flavor: bool | str | None = None,
    with_progress: bool | str = False,
    with_request: bool | str = False,
) -> Any:
    if function is None:
        return lambda f: simple_response(f, with_flavor, with_progress, with_request)
    flavor_name = "flavor" if with_flavor is True else with_flavor
    progress_name = "progress" if with_progress is True else with_progress
    request_name = "request" if with_request is True else with_request
    names, defaults = arginspect(function)
    names = names[1:]  # self
    optional = set(defaults) | {flavor_name, request_name}
    checker = DictSanitizer(
        {
            name: Sanitizer(required=name not in optional, default=defaults.get(name))
            for name in names
        },
        _copy_value=False,
    )

    def call(self: Any, request: Any) -> Any:
        options = request.options
        if flavor_name:
            options[flavor_name] = request.flavor or defaults.get(flavor_name)
        if request_name:
            options[request_name] = request
        options = sanitize_args(checker, "request.options", {"request.options": options})
        return function(self, *(options[name] for name in names))

    def _response(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        if not progress_name:
            self.finished(request.id, call(self, request))
            return
        progress = self.new_progress()
        request.options[progress_name] = progress

        def work() -> None:
            try:
                result = call(self, request)
            except Exception:
                progress.exception(sys.exc_info())
            else:
                progress.finish_with_result(result)

        threading.Thread(target=work, daemon=True).start()
        self.finished(request.id, progress.initialised())

    if progress_name:
        _response = sanitize_dict({})(_response)
    copy_function_meta_data(function, _response)
    return _response


def arginspect(function: Callable) -> tuple[list[str], dict[str, Any]]:
    """Argument names (with self) and defaults by name, also through other decorators."""
    if hasattr(function, "_original_argument_names"):
        wrapped: Any = function  # copy_function_meta_data set both attributes
        return list(wrapped._original_argument_names), dict(wrapped._original_defaults)
    spec = inspect.getfullargspec(function)
    values = spec.defaults or ()
    defaults = dict(zip(spec.args[len(spec.args) - len(values) :], values, strict=True))
    return list(spec.args), defaults


def copy_function_meta_data(
    original_function: Callable, new_function: Callable, copy_arg_inspect: bool = False
) -> None:
    if copy_arg_inspect:
        names, defaults = arginspect(original_function)
        new_function._original_argument_names = names  # type: ignore[attr-defined]
        new_function._original_defaults = defaults  # type: ignore[attr-defined]
    new_function.__doc__ = original_function.__doc__
    new_function.__name__ = original_function.__name__
    new_function.__module__ = original_function.__module__


__all__ = ["sanitize", "sanitize_dict", "sanitize_list", "simple_response", "threaded"]
