"""Tokenization with Hugging Face `tokenizers`: a tokenizer file, a hub name, or one trained on the corpus.

The token ids travel with the document in `metadata["token_ids"]` to the stages after this one (the
MDS writer packs them); the document writer leaves them out of the kept documents, which keep only
`metadata["token_count"]`.
"""

from __future__ import annotations

import hashlib
import heapq
import os
from dataclasses import dataclass
from typing import Literal

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stages.base import CorpusStep, Pass, StageContext, StageOptions

TOKEN_IDS_KEY = "token_ids"
TOKEN_COUNT_KEY = "token_count"
TOKENIZER_ARTIFACT = "tokenizer"


class TokenizerError(ValueError):
    """A tokenizer that cannot be loaded or lacks a token the config names; the message says what to do."""


def load_tokenizer(path_or_name: str):
    """A `tokenizers.Tokenizer` from a tokenizer.json file, a folder holding one, or a hub name.

    The hub is tried only for a name that is not a local path, and fails with instructions offline.
    """
    from tokenizers import Tokenizer

    if os.path.isdir(path_or_name):
        path_or_name = os.path.join(path_or_name, "tokenizer.json")
    if os.path.isfile(path_or_name):
        try:
            return Tokenizer.from_file(path_or_name)
        except Exception as error:
            raise TokenizerError(f"{path_or_name} is not a tokenizers tokenizer.json file ({error})") from error
    if path_or_name.endswith(".json") or path_or_name.startswith((".", "/", "~")):  # a path, not a hub name
        raise TokenizerError(f"no tokenizer file at {path_or_name} (relative to {os.getcwd()})")
    try:
        return Tokenizer.from_pretrained(path_or_name)
    except Exception as error:
        raise TokenizerError(
            f"could not load tokenizer {path_or_name!r} from the Hugging Face hub ({type(error).__name__}). "
            "Where there is no network, download its tokenizer.json elsewhere and set `tokenizer:` to the file's path."
        ) from error


@dataclass(frozen=True)
class TokenizerArtifact:
    """Where a run's tokenizer comes from, and the special tokens around each document.

    Published by the tokenize stage for the stages after it (`StageContext.artifacts["tokenizer"]`).
    """

    path_or_name: str
    eos_token: str | None
    bos_token: str | None

    def load(self):
        return load_tokenizer(self.path_or_name)

    def special_ids(self, tokenizer) -> tuple[int | None, int | None]:
        """(bos id, eos id), each None when not configured; an error names a token the vocabulary lacks."""
        ids = []
        for role, token in (("bos_token", self.bos_token), ("eos_token", self.eos_token)):
            token_id = None if token is None else tokenizer.token_to_id(token)
            if token is not None and token_id is None:
                specials = [t.content for t in tokenizer.get_added_tokens_decoder().values()][:10]
                raise TokenizerError(
                    f"tokenize.{role}: the tokenizer has no token {token!r}; "
                    f"its special tokens include {specials or 'none'}. Set {role} to one of them, or null."
                )
            ids.append(token_id)
        return ids[0], ids[1]


def training_key(doc_id: str) -> bytes:
    return hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()


class TrainTokenizer(PipelineStep):
    """Reads every document; trains a byte-level BPE tokenizer and writes it to `path` (tokenizer.json).

    Byte-level BPE with no normalizer, so decoding reproduces any text exactly. Past `max_bytes` of text
    it trains on the documents with the smallest hash of their id: the same subset, and so the same
    tokenizer, whatever order the documents arrive in. Stats: `documents`, `training_documents`,
    `training_bytes`, `vocab_size`.
    """

    type = "corpus-prep"
    name = "tokenize.train"

    def __init__(self, path: str, vocab_size: int, min_frequency: int, max_bytes: int, special_tokens: list[str]):
        super().__init__()
        self.path = path
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.max_bytes = max_bytes
        self.special_tokens = special_tokens

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        heap: list[tuple[int, str, str]] = []  # (-key, id, text): a max-heap on the key
        held_bytes = 0
        for doc in data or ():
            self.stat_update("documents")
            size = len(doc.text.encode("utf-8", "surrogatepass"))
            key = int.from_bytes(training_key(doc.id), "big")
            heapq.heappush(heap, (-key, doc.id, doc.text))
            held_bytes += size
            while held_bytes > self.max_bytes and len(heap) > 1:
                _, _, dropped_text = heapq.heappop(heap)  # the largest key leaves first
                held_bytes -= len(dropped_text.encode("utf-8", "surrogatepass"))
        chosen = sorted((doc_id, text) for _, doc_id, text in heap)
        self.stat_update("training_documents", value=len(chosen))
        self.stat_update("training_bytes", value=held_bytes)

        with self.track_time():
            self._train(chosen)
        yield from ()

    def _train(self, chosen: list[tuple[str, str]]) -> None:
        tokenizer = train_byte_level_bpe(
            (text for _, text in chosen), self.vocab_size, self.min_frequency, self.special_tokens, len(chosen)
        )
        self.stat_update("vocab_size", value=tokenizer.get_vocab_size())
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        partial = self.path + ".partial"
        tokenizer.save(partial)
        os.replace(partial, self.path)  # a killed trainer leaves no tokenizer that looks finished


def train_byte_level_bpe(
    texts, vocab_size: int, min_frequency: int, special_tokens: list[str], length: int | None = None
):
    """A GPT-2-style byte-level BPE `tokenizers.Tokenizer` trained on `texts` (the full byte alphabet,
    so any text encodes)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer, length=length)
    return tokenizer


class Tokenize(CorpusStep):
    """Reads `doc.text`; writes `metadata["token_ids"]` (with BOS/EOS as configured) and
    `metadata["token_count"]`. Encodes `batch_size` documents at a time with `encode_batch_fast`.

    Stats: the base step's counts, `tokens`, and `tokens/<source>` (`metadata[source_key]`, else `all`).
    A text the tokenizer rejects is quarantined; the rest of its batch goes on.
    """

    name = "tokenize"

    def __init__(self, artifact: TokenizerArtifact, batch_size: int, source_key: str):
        super().__init__()
        self.artifact = artifact
        self.batch_size = batch_size
        self.source_key = source_key
        self._tokenizer = None
        self._bos: list[int] = []
        self._eos: list[int] = []

    def _load(self) -> None:
        self._tokenizer = self.artifact.load()
        # "<|endoftext|>" written in a document is text, not a document boundary: encode it as text.
        self._tokenizer.encode_special_tokens = True
        bos, eos = self.artifact.special_ids(self._tokenizer)
        self._bos = [] if bos is None else [bos]
        self._eos = [] if eos is None else [eos]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if self._tokenizer is None:
            self._load()
        yield from super().run(data, rank, world_size)

    def process_batch(self, docs: list[Document]) -> list[Document | Exception]:
        # encode_batch_fast skips the character offsets we never use: about 30% faster, same ids.
        # One bad text fails the whole batch; the base step then encodes each alone to find it.
        encodings = self._tokenizer.encode_batch_fast([doc.text for doc in docs], add_special_tokens=False)
        return [self._with_ids(doc, encoding.ids) for doc, encoding in zip(docs, encodings, strict=True)]

    def process(self, doc: Document) -> Document:
        return self._with_ids(doc, self._tokenizer.encode(doc.text, add_special_tokens=False).ids)

    def _with_ids(self, doc: Document, ids: list[int]) -> Document:
        ids = self._bos + ids + self._eos
        doc.metadata[TOKEN_IDS_KEY] = ids
        doc.metadata[TOKEN_COUNT_KEY] = len(ids)
        self.stat_update("tokens", value=len(ids))
        self.stat_update(f"tokens/{doc.metadata.get(self.source_key, 'all')}", value=len(ids))
        return doc


class TrainSettings(BaseModel):
    """Train a byte-level BPE tokenizer on the corpus (after the stages before `tokenize`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    vocab_size: int = Field(8192, ge=300, le=1 << 20, description="vocabulary size, special tokens included")
    min_frequency: int = Field(2, ge=1, description="a merge must occur this often to be learnt")
    max_bytes: int = Field(1 << 30, gt=0, description="train on at most this much text (a hash-chosen subset)")


class TokenizeOptions(StageOptions):
    """`tokenize`: encode each document with a Hugging Face `tokenizers` tokenizer."""

    stage: Literal["tokenize"] = "tokenize"
    tokenizer: str | None = Field(
        None, description="tokenizer.json path, a folder holding one, or a hub name (needs network)"
    )
    train: TrainSettings | None = Field(None, description="train a tokenizer on the corpus instead")
    batch_size: int = Field(1024, ge=1, description="documents per encode_batch call")
    bos_token: str | None = Field(None, description="token put before each document; null for none")
    eos_token: str | None = Field("<|endoftext|>", description="token put after each document; null for none")
    source_key: str = Field("source", description="metadata key whose value groups the token stats")

    @model_validator(mode="after")
    def _one_tokenizer(self) -> TokenizeOptions:
        if (self.tokenizer is None) == (self.train is None):
            raise ValueError("set exactly one of `tokenizer` (a path or hub name) or `train` (train on the corpus)")
        return self

    def build(self, context: StageContext) -> list:
        steps: list = []
        if self.train is not None:
            path = os.path.join(context.work_folder, "tokenizer.json")
            specials = [t for t in (self.eos_token, self.bos_token) if t is not None]
            steps.append(
                Pass(
                    "tokenize.train",
                    [
                        TrainTokenizer(
                            path, self.train.vocab_size, self.train.min_frequency, self.train.max_bytes, specials
                        )
                    ],
                    reads_documents=True,
                )
            )
            artifact = TokenizerArtifact(path, self.eos_token, self.bos_token)
        else:
            artifact = TokenizerArtifact(self.tokenizer, self.eos_token, self.bos_token)
            artifact.special_ids(artifact.load())  # fail now, not in every task, on a missing file or token
        context.artifacts[TOKENIZER_ARTIFACT] = artifact
        steps.append(Tokenize(artifact, self.batch_size, self.source_key))
        return steps
