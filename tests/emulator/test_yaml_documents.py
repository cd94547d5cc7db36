"""The catalog and the spec load through one YAML loader, with the documents PyYAML's own
pure-Python safe loader builds."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from upstack_pandas.emulator.engine import yaml_documents
from upstack_pandas.emulator.engine.yaml_documents import load_yaml


@pytest.mark.parametrize("name", ["catalog.yaml", "spec/openapi.yaml"])
def test_the_documents_are_those_of_the_pure_safe_loader(name: str) -> None:
    text = resources.files("upstack_pandas.emulator").joinpath(name).read_text("utf-8")
    assert load_yaml(text) == yaml.load(text, Loader=yaml.SafeLoader)


def test_libyaml_is_used_when_pyyaml_has_it() -> None:
    expected = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert yaml_documents._LOADER is expected


def test_it_stays_a_safe_loader() -> None:
    with pytest.raises(yaml.constructor.ConstructorError):
        load_yaml("!!python/object/apply:os.system ['true']")
