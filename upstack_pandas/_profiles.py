"""Named profiles of the config file (``~/.upstackrc`` sections), listed with masked keys.

A profile is a section of the config file (``[store-eu]``) holding ``api_key`` and
``pixel_id`` (and optionally ``base_url``), falling back to ``[default]`` for the keys it lacks.
``Client(profile="store-eu")`` uses one; :func:`profiles` lists them; ``sync``, the Dask reader
and the ``query`` command accept one profile name or a list of them.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from upstack_pandas._errors import ConfigurationError
from upstack_pandas._redact import mask_key
from upstack_pandas._transport.config import DEFAULT_SECTION, config_path, resolve_settings

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ProfilesArg", "normalise_profiles", "profile_names", "profiles"]

#: What ``profiles=`` accepts: None (the default settings), a name, or a list of names.
ProfilesArg = str | Sequence[str] | None

PROFILE_COLUMNS = ("pixel_id", "base_url", "api_key", "source", "problem")


def profile_names(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the profile names of the config file, in file order.

    ``[default]`` counts as a profile only when it holds both ``api_key`` and ``pixel_id``
    (otherwise it only supplies shared values, such as ``base_url``, to the others).

    Parameters
    ----------
    environ : mapping, optional
        Environment to read (default ``os.environ``).

    Returns
    -------
    list of str
        Empty when there is no config file.
    """
    path = config_path(os.environ if environ is None else environ)
    if not path.is_file():
        return []
    parser = configparser.ConfigParser(interpolation=None, default_section="__no_defaults__")
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigurationError(
            f"config file {path} is not a valid INI file ({type(exc).__name__})"
        ) from None
    names = []
    for section in parser.sections():
        if section == DEFAULT_SECTION:
            values = {k for k, v in parser.items(section) if v.strip()}
            if not {"api_key", "pixel_id"} <= values:
                continue
        names.append(section)
    return names


def profiles(*, as_frame: bool = True) -> pd.DataFrame | list[str]:
    """List the profiles of the config file (``~/.upstackrc`` or ``$UPSTACK_CONFIG``).

    Each profile is resolved as ``Client(profile=name)`` would resolve it (the section, then
    ``[default]`` for the keys it lacks); keys are shown masked, never in full.

    Parameters
    ----------
    as_frame : bool, default True
        Return a DataFrame; ``False`` returns the profile names only.

    Returns
    -------
    pandas.DataFrame or list of str
        Index ``profile``; columns ``pixel_id``, ``base_url``, ``api_key`` (masked:
        ``upstack_…a1b2``), ``source`` (the file and section) and ``problem`` (why the profile
        cannot be used, else None). Empty (with these columns) when there is no config file.

    Examples
    --------
    >>> import upstack_pandas as up
    >>> up.profiles()  # doctest: +SKIP
               pixel_id                  base_url         api_key  ...
    profile
    store-eu   5f1e6a4f-...  https://api.upstackdata.com  upstack_…a1b2  ...
    """
    names = profile_names()
    if not as_frame:
        return names
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for name in names:
        try:
            settings = resolve_settings(profile=name)
        except ConfigurationError as exc:
            rows.append(
                {
                    "pixel_id": None,
                    "base_url": None,
                    "api_key": None,
                    "source": None,
                    "problem": str(exc).split(". upstack-pandas looks")[0],
                }
            )
            continue
        rows.append(
            {
                "pixel_id": settings.pixel_id,
                "base_url": settings.base_url,
                "api_key": mask_key(settings.api_key),
                "source": settings.sources.get("api_key"),
                "problem": None,
            }
        )
    frame = pd.DataFrame(rows, columns=list(PROFILE_COLUMNS), index=pd.Index(names, name="profile"))
    return frame.astype(object).where(frame.notna(), None)


def normalise_profiles(value: ProfilesArg, *, parameter: str = "profiles") -> list[str | None]:
    """Turn a ``profiles=`` argument into a list of names (``[None]``: the default settings).

    Parameters
    ----------
    value : None, str or sequence of str
    parameter : str
        The parameter's name, for error messages.

    Returns
    -------
    list of str or None

    Raises
    ------
    TypeError, ValueError
        When ``value`` is not a name or a list of distinct, non-empty names.
    """
    if value is None:
        return [None]
    items: list[Any] = [value] if isinstance(value, str) else list(value)
    if not items:
        raise ValueError(
            f"{parameter} is empty; give a profile name, a list of them "
            "(see upstack_pandas.profiles()), or None for the default settings"
        )
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise TypeError(
                f"{parameter} must be profile names (sections of the config file, see "
                f"upstack_pandas.profiles()); got {item!r}"
            )
    names = [item.strip() for item in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{parameter} names {', '.join(duplicates)} more than once")
    return list(names)
