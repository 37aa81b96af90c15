"""The embedding model is configurable: by name, or as a sentence-transformers directory, with
the levels of that model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from digest.matching import ranker, semantic
from digest.matching.lexical import Hit

semantic_installed = pytest.mark.skipif(
    not semantic.is_semantic(), reason="the semantic extra is not installed: pip install '.[semantic]'"
)


@pytest.fixture
def fresh_encoder() -> Iterator[None]:
    """A test that configures another model loads it afresh, and leaves the default loaded after."""
    semantic.load_encoder.cache_clear()
    yield
    semantic.load_encoder.cache_clear()


def test_a_directory_is_a_model_named_after_its_last_component(settings):
    assert semantic.model_location("/models/all-mpnet-base-v2") == "/models/all-mpnet-base-v2"
    assert semantic.model_location("~/models/all-mpnet-base-v2") == str(Path.home() / "models/all-mpnet-base-v2")
    assert semantic.model_name("/models/all-mpnet-base-v2/") == "all-mpnet-base-v2"
    assert semantic.model_name("./all-mpnet-base-v2") == "all-mpnet-base-v2"
    # A name is kept as typed: stored vectors of the default model keep their kind.
    assert semantic.model_name("all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    hub_name = "sentence-transformers/all-mpnet-base-v2"
    assert semantic.model_location(hub_name) == hub_name  # looked up in the Hugging Face cache
    settings.PAPERBOY_EMBEDDING_MODEL = "/models/all-mpnet-base-v2"
    assert semantic.model_name() == "all-mpnet-base-v2"


def test_each_model_says_close_in_meaning_from_its_own_level(settings):
    for name, level in [
        ("all-MiniLM-L6-v2", 3.0),
        ("sentence-transformers/all-MiniLM-L6-v2", 3.0),
        ("all-mpnet-base-v2", 4.0),
        ("sentence-transformers/all-mpnet-base-v2", 4.0),
        ("/models/all-mpnet-base-v2", 4.0),
        ("some-other-model", ranker.CLOSE_LEVEL),
    ]:
        settings.PAPERBOY_EMBEDDING_MODEL = name
        assert ranker.close_level() == level, name

    no_words = Hit(words=(), together=False, every_word=False, share=0.0)
    assert ranker.evidence_for(no_words, 3.5) == ((), ranker.CLOSE)
    assert ranker.evidence_for(no_words, 3.5, close=4.0) is None
    assert ranker.evidence_for(no_words, 4.0, close=4.0) == ((), ranker.CLOSE)


@semantic_installed
def test_the_default_model_loaded_from_a_directory_gives_the_same_vectors(settings, tmp_path, fresh_encoder):
    texts = ["retrieval-augmented generation", "diffusion models for video"]
    default = semantic.encode(texts)
    directory = tmp_path / "all-MiniLM-L6-v2"
    directory.symlink_to(semantic.model_location("all-MiniLM-L6-v2"), target_is_directory=True)
    settings.PAPERBOY_EMBEDDING_MODEL = str(directory)
    semantic.load_encoder.cache_clear()

    assert semantic.status().mode == semantic.SEMANTIC
    assert str(semantic.status()) == f"semantic + lexical ({directory})"
    assert semantic.vector_kind() == "st:all-MiniLM-L6-v2"  # the same space as the name's
    assert np.allclose(semantic.encode(texts), default, atol=1e-5)


def test_a_directory_without_a_model_falls_back_to_lexical(settings, tmp_path, fresh_encoder, caplog):
    settings.PAPERBOY_EMBEDDING_MODEL = str(tmp_path / "no-such-model")

    assert not semantic.is_semantic()
    assert semantic.status().mode == semantic.LEXICAL
