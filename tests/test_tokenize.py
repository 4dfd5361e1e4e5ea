"""The tokenize stage and the packers, on real tokenizer files where ../shared/data has them."""

from pathlib import Path

import numpy as np
import pytest
from datatrove.data import Document

from pipeline.shared_data import shared_data_folder
from stages.mds.pack import pack_concatenated, pack_whole_documents
from stages.tokenize import TOKEN_COUNT_KEY, TOKEN_IDS_KEY, Tokenize, TokenizeOptions, TokenizerArtifact, TrainTokenizer

DATA = shared_data_folder()
GPT2 = DATA / "tokenizers" / "gpt2" / "tokenizer.json"
NEOX = DATA / "tokenizers" / "gpt-neox-20b" / "tokenizer.json"
needs_gpt2 = pytest.mark.skipif(not GPT2.exists(), reason=f"real tokenizer files not found under {DATA}")


def _tokenize(artifact: TokenizerArtifact, texts: list[str], batch_size: int = 2) -> list[Document]:
    step = Tokenize(artifact, batch_size=batch_size, source_key="source")
    docs = [Document(text=t, id=str(i), metadata={"source": "web" if i % 2 else "books"}) for i, t in enumerate(texts)]
    out = list(step.run(iter(docs)))
    return out, step


@needs_gpt2
def test_gpt2_file_encodes_as_published_with_eos_after_each_document():
    out, step = _tokenize(TokenizerArtifact(str(GPT2), "<|endoftext|>", None), ["Hello world", "Hello world", "a"])
    assert out[0].metadata[TOKEN_IDS_KEY] == [15496, 995, 50256]
    assert out[0].metadata[TOKEN_COUNT_KEY] == 3
    stats = step.stats.stats
    assert stats["tokens"].total == 3 + 3 + 2
    assert stats["tokens/books"].total == 3 + 2 and stats["tokens/web"].total == 3


@needs_gpt2
def test_an_end_of_text_marker_inside_a_document_is_text_not_a_boundary():
    out, _ = _tokenize(TokenizerArtifact(str(GPT2), "<|endoftext|>", None), ["before <|endoftext|> after"])
    ids = out[0].metadata[TOKEN_IDS_KEY]
    assert ids.count(50256) == 1 and ids[-1] == 50256


@pytest.mark.skipif(not NEOX.exists(), reason=f"real tokenizer files not found under {DATA}")
def test_neox_folder_path_and_bos():
    out, _ = _tokenize(TokenizerArtifact(str(NEOX.parent), "<|endoftext|>", "<|endoftext|>"), ["Hello world"])
    assert out[0].metadata[TOKEN_IDS_KEY] == [50279, 12092, 1533, 50279]


@needs_gpt2
def test_a_token_the_vocabulary_lacks_is_a_config_error_naming_it():
    options = TokenizeOptions(tokenizer=str(GPT2), eos_token="</s>")
    with pytest.raises(ValueError, match=r"eos_token: the tokenizer has no token '</s>'"):
        options.build(_context())


def test_a_missing_tokenizer_file_is_a_config_error_naming_the_path(tmp_path):
    with pytest.raises(ValueError, match="no tokenizer file at .*missing.json"):
        TokenizeOptions(tokenizer=str(tmp_path / "missing.json")).build(_context(tmp_path))


def test_exactly_one_of_tokenizer_and_train():
    with pytest.raises(ValueError, match="exactly one"):
        TokenizeOptions()
    with pytest.raises(ValueError, match="exactly one"):
        TokenizeOptions(tokenizer="gpt2", train={"vocab_size": 1000})


def _context(folder: Path = Path("/tmp")):
    from stages.base import StageContext

    return StageContext(work_folder=str(folder / "work"), output_folder=str(folder), tasks=1)


def _train(path: Path, docs: list[Document], max_bytes: int = 1 << 30) -> bytes:
    list(TrainTokenizer(str(path), 400, 2, max_bytes, ["<|endoftext|>"]).run(iter(docs)))
    return path.read_bytes()


def test_training_gives_the_same_tokenizer_whatever_the_document_order(tmp_path):
    words = ["Straße", "naïve", "データ", "tokens", "corpus", "shard"]
    docs = [Document(text=" ".join(words[(i * j) % 6] for j in range(40)), id=f"d{i}") for i in range(60)]
    forward = _train(tmp_path / "a.json", docs)
    assert _train(tmp_path / "b.json", docs[::-1]) == forward
    # past max_bytes, the hash-chosen subset is the same too
    assert _train(tmp_path / "c.json", docs, 3000) == _train(tmp_path / "d.json", docs[::-1], 3000)


def test_trained_tokenizer_round_trips_any_text(tmp_path):
    from tokenizers import Tokenizer

    docs = [Document(text="plain ascii text and more text " * 5, id=str(i)) for i in range(10)]
    _train(tmp_path / "t.json", docs)
    tokenizer = Tokenizer.from_file(str(tmp_path / "t.json"))
    for text in ["  leading spaces\n\ttabs", "Ünïcödé 日本語 🙂", "<|endoftext|> inline", ""]:
        assert tokenizer.decode(tokenizer.encode(text).ids, skip_special_tokens=False) == text


def test_concatenated_packing_cuts_every_max_seq_len_and_counts_the_tail():
    docs = [np.arange(n, dtype=np.uint32) + 100 * i for i, n in enumerate([5, 3, 9, 2])]
    packed = pack_concatenated(docs, 4, "uint16")
    assert packed.samples.shape == (4, 4)
    assert np.array_equal(packed.samples.reshape(-1), np.concatenate(docs)[:16])
    assert packed.documents == [[0], [0, 1], [2], [2]]  # doc 1 ends exactly at token 8
    assert (packed.tokens_in, packed.tokens_written, packed.tail_dropped) == (19, 16, 3)
    assert packed.accounted()


def test_whole_document_packing_never_splits_pads_and_truncates():
    docs = [np.full(n, i + 1, dtype=np.uint32) for i, n in enumerate([3, 2, 4, 6, 1])]
    packed = pack_whole_documents(docs, 5, "uint16", pad_id=0)
    assert packed.documents == [[0, 1], [2], [3], [4]]
    assert packed.samples.tolist() == [[1, 1, 1, 2, 2], [3, 3, 3, 3, 0], [4, 4, 4, 4, 4], [5, 0, 0, 0, 0]]
    assert (packed.tokens_in, packed.tokens_written, packed.truncated) == (16, 15, 1)
    assert packed.padding == 4 * 5 - 15
    assert packed.accounted()
    both = pack_whole_documents([np.ones(2, np.uint32), np.ones(3, np.uint32)], 5, "uint16", pad_id=0)
    assert both.documents == [[0, 1]] and both.padding == 0
