"""Text-encoder outputs beyond the hidden states: the pooled vector
(transformers' ``pooler_output``: the final-normed state at each sequence's
first EOS) and ``CLIPTextModelWithProjection``'s ``text_embeds`` (the pooled
vector through ``text_projection``), as SDXL's second encoder gives them.

Uses the tiny pipeline's text encoder (``Tests/Fixtures/pipeline/text_encoder``)
plus a random projection stored in the fixture.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import CLIPTextModelWithProjection


def make_text_encoder_fixtures(root: Path, write_fixture) -> None:
    folder = root / "pipeline" / "text_encoder"
    torch.manual_seed(2024)
    model = CLIPTextModelWithProjection.from_pretrained(folder)  # text_projection initialised below
    width, projection = model.config.hidden_size, model.config.projection_dim
    with torch.no_grad():
        model.text_projection.weight.copy_(torch.randn(projection, width) / width ** 0.5)
    model.eval()
    eos = model.config.eos_token_id
    # Sequences with the EOS at different places, padded with EOS after it.
    ids = torch.tensor([
        [model.config.bos_token_id, 5, 17, 300, eos] + [eos] * 72,
        [model.config.bos_token_id] + list(range(40, 75)) + [eos] * 41,
    ], dtype=torch.int64)
    with torch.no_grad():
        out = model(input_ids=ids)
        plain = model.text_model(input_ids=ids)
    write_fixture(root / "text_encoders", "pooled",
                  {"input_ids": ids, "text_projection.weight": model.text_projection.weight,
                   "pooler_output": plain.pooler_output, "text_embeds": out.text_embeds},
                  {"model": "pipeline/text_encoder", "eos_token_id": str(eos)})
