# SPDX-FileCopyrightText: 2026 libvirt-static-ids developers
# SPDX-License-Identifier: AGPL-3.0-only
"""The C part of the build (pyproject.toml holds everything else)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "libvirt_static_ids.files._walk",
            sources=["src/libvirt_static_ids/files/_walk.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror"],
        )
    ]
)
