"""The embedder's precision: bfloat16 vectors agree with float32 ones closely enough to share a store."""

from __future__ import annotations

import numpy as np
import pytest

from citewire.settings import Settings
from ingest.embed import Embedder, native_bf16, resolve_precision

TEXTS = [
    "Russia launched hundreds of drones and missiles at the capital overnight.",
    "The central bank kept its interest rate unchanged on Wednesday, citing stubborn inflation.",
    "The rocket lifted off from Cape Canaveral shortly after dawn on its first orbital flight.",
    "Firefighters contained the wildfire after it burned through 2,000 acres of dry brush.",
    "How many people were injured?",
]


def test_precision_setting_is_resolved_and_checked():
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("bfloat16") == "bfloat16"
    assert resolve_precision("auto") == ("bfloat16" if native_bf16() else "float32")
    with pytest.raises(ValueError, match="valid are auto, float32, bfloat16"):
        resolve_precision("float16")
    with pytest.raises(ValueError, match="bfloat16"):
        Settings(embed_precision="half")


def test_bfloat16_vectors_match_float32_and_rank_alike():
    f32 = Embedder.load(Settings(embed_precision="float32"))
    b16 = Embedder.load(Settings(embed_precision="bfloat16"))
    assert (f32.precision, b16.precision) == ("float32", "bfloat16")
    assert f32.model is b16.model  # one model in memory, two ways of computing with it
    a, b = f32.encode(TEXTS), b16.encode(TEXTS)
    assert a.dtype == b.dtype == np.float32
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.999, cos
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-3)
    # the same nearest neighbours, whichever precision embedded the question or the documents
    q32, q16 = f32.encode_one(TEXTS[-1]), b16.encode_one(TEXTS[-1])
    assert np.argsort(-(a[:-1] @ q32)).tolist() == np.argsort(-(b[:-1] @ q16)).tolist()
    # chunks embedded from their word pieces equal encode() in either precision
    ids = b16.token_ids(TEXTS)
    assert np.allclose(b16.encode_tokens(TEXTS, ids), b, atol=2e-2)
    assert np.allclose(f32.encode_tokens(TEXTS, ids), a, atol=1e-5)
